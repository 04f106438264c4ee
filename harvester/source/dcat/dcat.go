// Package dcat reads DCAT catalogues (DCAT-AP 2/3, DCAT-AP-FR) in RDF/XML,
// Turtle, N-Triples or JSON-LD, following Hydra paging (hydra:next,
// hydra:nextPage) as ckanext-dcat and udata serve it.
package dcat

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/url"
	"strconv"
	"strings"

	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/fetch"
	"github.com/opendatafrance/moisson/harvester/normalize"
	"github.com/opendatafrance/moisson/harvester/rdf"
	"github.com/opendatafrance/moisson/harvester/source"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Syntaxes.
const (
	RDFXML   = "rdfxml"
	Turtle   = "turtle"
	NTriples = "ntriples"
	JSONLD   = "jsonld"
)

// Accept is sent when the source does not fix a syntax.
const Accept = "application/rdf+xml, text/turtle;q=0.9, application/ld+json;q=0.8, application/n-triples;q=0.7, */*;q=0.1"

// MaxPages bounds a walk, against portals whose next link loops.
const MaxPages = 100000

// Source reads one DCAT catalogue endpoint.
type Source struct {
	endpoint string
	syntax   string // forced syntax, or "" to detect
	env      source.Env
}

// New is the source.Factory of DCAT.
func New(src *config.Source, env source.Env) (source.Source, error) {
	s := &Source{endpoint: src.Endpoint, env: env, syntax: src.Params["format"]}
	switch s.syntax {
	case "", RDFXML, Turtle, NTriples, JSONLD:
	default:
		return nil, fmt.Errorf("dcat source %s: format %q is not one of rdfxml, turtle, ntriples, jsonld", src.ID, s.syntax)
	}
	return s, nil
}

// Harvest walks the catalogue and its Hydra pages.
func (s *Source) Harvest(ctx context.Context, sink source.Sink) error {
	next := s.endpoint
	visited := map[string]bool{}
	var declared int64 = -1
	seen := int64(0)
	for page := 1; next != ""; page++ {
		if visited[next] {
			return &source.Error{Kind: source.KindPaging, URL: next, Err: errors.New("the next page is one already read (paging loop)")}
		}
		if page > MaxPages {
			return &source.Error{Kind: source.KindPaging, URL: next, Err: fmt.Errorf("more than %d pages", MaxPages)}
		}
		visited[next] = true
		u := next
		resp, err := s.env.Client.Get(ctx, fetch.Request{URL: u, Accept: s.accept()})
		if err != nil {
			return &source.Error{Kind: fetch.KindOf(err), URL: u, Err: err}
		}
		syntax := s.syntax
		if syntax == "" {
			syntax = Detect(resp.Header.Get("Content-Type"), resp.URL)
		}
		var n int
		paging, err := Read(resp.Body, syntax, resp.URL, func(r source.Record) error {
			n++
			return sink.Record(ctx, r)
		}, func(id, msg string) {
			sink.Problem(source.Problem{Kind: source.KindNormalise, URL: u, DatasetID: id, Message: msg})
		})
		resp.Close()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var pe *rdf.ParseError
			if errors.As(err, &pe) || errors.Is(err, ErrSyntax) {
				return &source.Error{Kind: source.KindParse, URL: u, Err: err}
			}
			var se *source.Error
			if errors.As(err, &se) {
				return err
			}
			return &source.Error{Kind: fetch.KindOf(err), URL: u, Err: err}
		}
		seen += int64(n)
		if paging.TotalItems >= 0 {
			declared = paging.TotalItems
		}
		sink.Page(u, declared)
		if paging.Next != "" && n == 0 {
			return &source.Error{Kind: source.KindPaging, URL: u, Err: errors.New("empty page that announces a next page")}
		}
		next = paging.Next
	}
	if declared >= 0 && seen < declared {
		return &source.Error{Kind: source.KindPaging, URL: s.endpoint,
			Err: fmt.Errorf("the catalogue declares %d datasets but its pages held %d", declared, seen)}
	}
	return nil
}

func (s *Source) accept() string {
	switch s.syntax {
	case RDFXML:
		return "application/rdf+xml"
	case Turtle:
		return "text/turtle"
	case NTriples:
		return "application/n-triples"
	case JSONLD:
		return "application/ld+json"
	}
	return Accept
}

// ErrSyntax is returned when the syntax cannot be told.
var ErrSyntax = errors.New("unknown RDF syntax")

// Detect tells the syntax from a Content-Type, else from the URL's suffix.
func Detect(contentType, rawURL string) string {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch mt {
	case "application/rdf+xml", "application/xml", "text/xml":
		return RDFXML
	case "text/turtle", "application/x-turtle", "text/n3":
		return Turtle
	case "application/n-triples":
		return NTriples
	case "application/ld+json", "application/json":
		return JSONLD
	}
	p := rawURL
	if u, err := url.Parse(rawURL); err == nil {
		p = u.Path
	}
	p = strings.ToLower(p)
	switch {
	case strings.HasSuffix(p, ".ttl") || strings.HasSuffix(p, "/ttl") || strings.HasSuffix(p, "/turtle"):
		return Turtle
	case strings.HasSuffix(p, ".nt") || strings.HasSuffix(p, "/nt"):
		return NTriples
	case strings.HasSuffix(p, ".jsonld") || strings.HasSuffix(p, ".json") || strings.HasSuffix(p, "/jsonld"):
		return JSONLD
	case strings.HasSuffix(p, ".rdf") || strings.HasSuffix(p, ".xml") || strings.HasSuffix(p, "/rdf") || strings.HasSuffix(p, "/dcat"):
		return RDFXML
	}
	return ""
}

// Paging is what a page says of the catalogue.
type Paging struct {
	Next       string // the next page, "" on the last
	TotalItems int64  // hydra:totalItems, -1 when absent
}

// Read parses one catalogue document and hands each dcat:Dataset to fn,
// normalised; problem receives datasets that could not be normalised.
func Read(r io.Reader, syntax, base string, fn func(source.Record) error, problem func(id, msg string)) (Paging, error) {
	sp := newSpooler()
	defer sp.close()
	return sp.read(r, syntax, base, fn, problem)
}

// read is Read with this spooler.
func (sp *spooler) read(r io.Reader, syntax, base string, fn func(source.Record) error, problem func(id, msg string)) (Paging, error) {
	er := &errReader{r: r}
	r = er
	var err error
	switch syntax {
	case RDFXML:
		var repairs int
		var first *rdf.ParseError
		opt := rdf.Options{Lenient: true, Warn: func(pe *rdf.ParseError) {
			if repairs++; first == nil {
				first = pe
			}
		}}
		err = sp.pass1(func(h rdf.Handler) error { return rdf.ParseRDFXMLOpts(r, base, opt, h) })
		if repairs > 0 && problem != nil {
			problem("", fmt.Sprintf("invalid RDF/XML read leniently (%d repairs), first: %v", repairs, first))
		}
	case Turtle:
		err = sp.pass1(func(h rdf.Handler) error { return rdf.ParseTurtle(r, base, h) })
	case NTriples:
		err = sp.pass1(func(h rdf.Handler) error { return rdf.ParseNTriples(r, h) })
	case JSONLD:
		br := bufio.NewReaderSize(r, 64<<10)
		head, _ := br.Peek(16 << 10)
		if IsPOD(head) {
			if err := readPOD(br, fn, problem); err != nil && er.err != nil {
				return Paging{TotalItems: -1}, fmt.Errorf("dcat: reading the document: %w", er.err)
			} else if err != nil {
				return Paging{TotalItems: -1}, err
			}
			return Paging{TotalItems: -1}, nil
		}
		err = sp.pass1(func(h rdf.Handler) error { return parseJSONLD(br, base, h) })
	default:
		return Paging{TotalItems: -1}, fmt.Errorf("%w (Content-Type and URL say nothing; set params.format)", ErrSyntax)
	}
	if err == nil {
		err = sp.err
	}
	if err != nil {
		if er.err != nil {
			// the transport failed (body limit, connection): not a syntax error
			return Paging{TotalItems: -1}, fmt.Errorf("dcat: reading the document: %w", er.err)
		}
		return Paging{TotalItems: -1}, err
	}
	return sp.replay(base, fn, problem)
}

// errReader remembers its reader's first error other than EOF.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// paging reads the Hydra view of the page, if any.
func (g *graph) paging(base string) Paging {
	p := Paging{TotalItems: -1}
	for _, class := range []string{nsHydra + "PagedCollection", nsHydra + "PartialCollectionView", nsHydra + "Collection"} {
		for _, s := range g.subjectsOfType(class) {
			g.readPaging(s, base, &p)
		}
	}
	// Untyped views (hydra:view [ hydra:next ... ]) and catalogues carrying
	// the paging properties directly.
	for _, s := range g.order {
		for _, x := range g.bySubject[s] {
			switch x.p {
			case nsHydra + "next", nsHydra + "nextPage", nsHydra + "totalItems":
				g.readPaging(s, base, &p)
			}
		}
	}
	return p
}

func (g *graph) readPaging(s, base string, p *Paging) {
	if t, ok := g.first(s, nsHydra+"next", nsHydra+"nextPage"); ok && p.Next == "" {
		if v := strings.TrimSpace(t.Value); v != "" {
			p.Next = resolve(base, v)
		}
	}
	if t, ok := g.first(s, nsHydra+"totalItems"); ok && p.TotalItems < 0 {
		if n, err := strconv.ParseInt(strings.TrimSpace(t.Value), 10, 64); err == nil {
			p.TotalItems = n
		}
	}
}

func resolve(base, ref string) string {
	b, err := url.Parse(base)
	if err != nil {
		return ref
	}
	r, err := url.Parse(ref)
	if err != nil {
		return ref
	}
	return b.ResolveReference(r).String()
}

// nsOWL is the OWL namespace (owl:sameAs).
const nsOWL = "http://www.w3.org/2002/07/owl#"

// identifiers lists the other identifiers of the dataset s: every
// dct:identifier, adms:identifier (a literal, or a node with its
// skos:notation, as DCAT-AP writes it) and owl:sameAs, literal or IRI.
func (g *graph) identifiers(s string, own ...string) []string {
	var vals []string
	for _, p := range []string{nsDCT + "identifier", nsADMS + "identifier", nsOWL + "sameAs"} {
		for _, o := range g.objects(s, p) {
			if o.Kind == rdf.Literal || o.Kind == rdf.IRI && p != nsADMS+"identifier" {
				vals = append(vals, o.Value)
			}
			if p == nsADMS+"identifier" && o.Kind != rdf.Literal {
				for _, n := range g.objects(key(o), nsSKOS+"notation") {
					if n.Kind == rdf.Literal {
						vals = append(vals, n.Value)
					}
				}
			}
		}
	}
	return normalize.Identifiers(own, vals...)
}

// dataset normalises the dcat:Dataset s.
func (g *graph) dataset(s string) (source.Record, error) {
	d := &moissonv1.Dataset{}
	if !strings.HasPrefix(s, "_:") {
		d.Uri = s
	}
	d.OriginalId = g.literal(s, nsDCT+"identifier", nsADMS+"identifier")
	if d.OriginalId == "" {
		d.OriginalId = d.Uri
	}
	if d.OriginalId == "" {
		return source.Record{}, errors.New("dataset without dct:identifier nor IRI")
	}
	d.Identifiers = g.identifiers(s, d.OriginalId, d.Uri)
	d.Title = normalize.Text(g.literal(s, nsDCT+"title"))
	if d.Title == "" {
		return source.Record{}, fmt.Errorf("dataset %s has no dct:title", d.OriginalId)
	}
	d.Description = normalize.Text(g.literal(s, nsDCT+"description"))
	d.Keywords = g.literals(s, nsDCAT+"keyword")
	for _, t := range g.objects(s, nsDCAT+"theme") {
		if v := g.label(t); v != "" {
			d.RawThemes = append(d.RawThemes, v)
		}
		if t.Kind == rdf.IRI && t.Value != g.label(t) {
			d.RawThemes = append(d.RawThemes, t.Value)
		}
	}
	d.Themes = g.m.themes.of(d.RawThemes, d.Keywords)
	if t, ok := g.first(s, nsDCAT+"landingPage", nsFOAF+"page"); ok {
		d.LandingPage = iri(t)
		if d.LandingPage == "" {
			d.LandingPage = g.literal(key(t), nsSchema+"url", nsFOAF+"homepage")
		}
	}
	if t, ok := g.first(s, nsDCT+"language"); ok {
		d.Language = languageCode(g.label(t))
	}
	if t, ok := g.first(s, nsDCT+"publisher"); ok {
		d.Publisher = &moissonv1.Publisher{Name: g.label(t), Uri: iri(t)}
		if d.Publisher.Name == d.Publisher.Uri {
			d.Publisher.Name = ""
		}
		d.Publisher.Siren = normalize.SIREN(d.Publisher.Uri + " " + g.literal(key(t), nsDCT+"identifier"))
	}
	if t, ok := g.first(s, nsDCAT+"contactPoint"); ok {
		k := key(t)
		cp := &moissonv1.ContactPoint{Name: g.literal(k, nsVCARD+"fn", nsVCARD+"organization-name", nsFOAF+"name")}
		if e, ok := g.first(k, nsVCARD+"hasEmail", nsFOAF+"mbox"); ok {
			cp.Email = strings.TrimPrefix(e.Value, "mailto:")
		}
		if u, ok := g.first(k, nsVCARD+"hasURL"); ok {
			cp.Url = u.Value
		}
		d.ContactPoint = cp
	}
	if t, ok := normalize.Date(d, "issued", g.literal(s, nsDCT+"issued")); ok {
		d.Issued = timestamppb.New(t)
	}
	if t, ok := normalize.Date(d, "modified", g.literal(s, nsDCT+"modified")); ok {
		d.Modified = timestamppb.New(t)
	}
	if t, ok := g.first(s, nsDCT+"accrualPeriodicity"); ok {
		d.AccrualPeriodicity = g.label(t)
	}
	if t, ok := g.first(s, nsDCT+"temporal"); ok {
		k := key(t)
		tp := &moissonv1.Temporal{}
		if v, ok := normalize.Date(d, "temporal_start", g.literal(k, nsDCAT+"startDate", nsSchema+"startDate")); ok {
			tp.Start = timestamppb.New(v)
		}
		if v, ok := normalize.Date(d, "temporal_end", g.literal(k, nsDCAT+"endDate", nsSchema+"endDate")); ok {
			tp.End = timestamppb.New(v)
		}
		if tp.Start != nil || tp.End != nil {
			d.Temporal = tp
		}
	}
	if t, ok := g.first(s, nsDCT+"spatial"); ok {
		sp := &moissonv1.Spatial{Uri: iri(t), Label: g.label(t)}
		if sp.Label == sp.Uri {
			sp.Label = ""
		}
		sp.InseeCode = g.memoised('i', sp.Uri, normalize.INSEE)
		d.Spatial = sp
	}
	for _, t := range g.objects(s, nsDCT+"conformsTo") {
		if v := iri(t); v != "" {
			d.ConformsTo = append(d.ConformsTo, v)
		} else if v := g.label(t); v != "" {
			d.ConformsTo = append(d.ConformsTo, v)
		}
	}
	// Licence: on the dataset, else on its distributions (DCAT-AP puts it there).
	licence := ""
	if t, ok := g.first(s, nsDCT+"license", nsDCT+"rights"); ok {
		licence = licenceOf(g, t)
	}
	for _, t := range g.objects(s, nsDCAT+"distribution") {
		dist := g.distribution(key(t))
		if licence == "" {
			if lt, ok := g.first(key(t), nsDCT+"license"); ok {
				licence = licenceOf(g, lt)
			}
		}
		d.ConformsTo = append(d.ConformsTo, dist.ConformsTo...)
		d.Distributions = append(d.Distributions, dist)
	}
	d.ConformsTo = normalize.Unique(d.ConformsTo)
	d.License = &moissonv1.License{Raw: licence, Normalized: g.memoised('l', licence, normalize.License)}
	return source.Record{Dataset: d}, nil
}

func licenceOf(g *graph, t rdf.Term) string {
	if t.Kind == rdf.IRI {
		return t.Value
	}
	return g.label(t)
}

func (g *graph) distribution(k string) *moissonv1.Distribution {
	dist := &moissonv1.Distribution{Title: normalize.Text(g.literal(k, nsDCT+"title"))}
	if t, ok := g.first(k, nsDCAT+"accessURL"); ok {
		dist.Url = iri(t)
	}
	if t, ok := g.first(k, nsDCAT+"downloadURL"); ok {
		dist.DownloadUrl = iri(t)
	}
	if dist.Url == "" {
		dist.Url = dist.DownloadUrl
	}
	if t, ok := g.first(k, nsDCAT+"mediaType"); ok {
		dist.MediaType = strings.TrimPrefix(strings.TrimPrefix(g.label(t), "https://www.iana.org/assignments/media-types/"), "http://www.iana.org/assignments/media-types/")
	}
	if t, ok := g.first(k, nsDCT+"format"); ok {
		dist.Format = normalize.Format(g.label(t))
		if dist.Format == "" && t.Kind == rdf.IRI {
			dist.Format = normalize.Format(t.Value)
		}
	}
	if dist.Format == "" && dist.MediaType != "" {
		dist.Format = normalize.Format(dist.MediaType)
	}
	if dist.Format == "" {
		dist.Format = normalize.FormatFromURL(normalize.First(dist.DownloadUrl, dist.Url))
	}
	if dist.MediaType == "" {
		dist.MediaType = normalize.MediaType(dist.Format)
	}
	if v := g.literal(k, nsDCAT+"byteSize"); v != "" {
		if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && f > 0 {
			dist.ByteSize = int64(f)
		}
	}
	for _, t := range g.objects(k, nsDCT+"conformsTo") {
		if v := iri(t); v != "" {
			dist.ConformsTo = append(dist.ConformsTo, v)
		} else if v := g.label(t); v != "" {
			dist.ConformsTo = append(dist.ConformsTo, v)
		}
	}
	return dist
}

// languageCode turns http://publications.europa.eu/resource/authority/language/FRA into "fr".
func languageCode(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.LastIndexAny(v, "/#"); i >= 0 {
		v = v[i+1:]
	}
	switch strings.ToUpper(v) {
	case "FRA", "FRE", "FR":
		return "fr"
	case "ENG", "EN":
		return "en"
	case "DEU", "GER", "DE":
		return "de"
	}
	return strings.ToLower(v)
}

// Protocol is the DCAT adapter.
var Protocol = source.Protocol{Name: "dcat", New: New, Read: ReadDocument, Sniff: sniff}

// ReadDocument reads one saved DCAT document; its syntax is told from the
// base's suffix, else from its first bytes.
func ReadDocument(ctx context.Context, r io.Reader, base string, sink source.Sink) error {
	br := bufio.NewReader(r)
	syntax := Detect("", base)
	if syntax == "" {
		head, _ := br.Peek(4096)
		syntax = Sniff(head)
	}
	paging, err := Read(br, syntax, base, func(rec source.Record) error {
		return sink.Record(ctx, rec)
	}, func(id, msg string) {
		sink.Problem(source.Problem{Kind: source.KindNormalise, URL: base, DatasetID: id, Message: msg})
	})
	if err != nil {
		return err
	}
	sink.Page(base, paging.TotalItems)
	return nil
}

// Sniff tells an RDF syntax from a document's first bytes ("" if none).
func Sniff(head []byte) string {
	s := strings.TrimSpace(strings.TrimPrefix(string(head), "\ufeff"))
	switch {
	case strings.HasPrefix(s, "<?xml") || strings.HasPrefix(s, "<rdf:RDF") || strings.Contains(s, "<rdf:RDF"):
		return RDFXML
	case strings.HasPrefix(s, "{") || strings.HasPrefix(s, "["):
		return JSONLD
	case strings.HasPrefix(s, "@prefix") || strings.HasPrefix(s, "@base") || strings.HasPrefix(s, "PREFIX") || strings.HasPrefix(s, "prefix"):
		return Turtle
	case strings.HasPrefix(s, "<http") || strings.HasPrefix(s, "_:"):
		if strings.Contains(s, "\n") && !strings.Contains(s, ";") {
			return NTriples
		}
		return Turtle
	}
	return ""
}

func sniff(head []byte) bool {
	s := string(head)
	syn := Sniff(head)
	if syn == JSONLD {
		return strings.Contains(s, "dcat") || strings.Contains(s, "@context") || strings.Contains(s, "@graph")
	}
	return syn != ""
}
