package simulator

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// DCAT catalogues, as OpenDataSoft exports them (/exports/rdf, /exports/ttl,
// ...) and as ckanext-dcat pages them (catalog.rdf?page=N with a
// hydra:PagedCollection).

type dcatProtocol struct{}

type rdfSyntax struct {
	name, contentType string
	writer            func(w io.Writer) rdfWriter
}

var (
	synRDFXML = rdfSyntax{"rdfxml", "application/rdf+xml; charset=utf-8",
		func(w io.Writer) rdfWriter { return &xmlWriter{e: newErrWriter(w)} }}
	synTurtle = rdfSyntax{"turtle", "text/turtle; charset=utf-8",
		func(w io.Writer) rdfWriter { return &ttlWriter{e: newErrWriter(w)} }}
	synNT = rdfSyntax{"ntriples", "application/n-triples",
		func(w io.Writer) rdfWriter { return &ntWriter{e: newErrWriter(w)} }}
	synJSONLD = rdfSyntax{"jsonld", "application/ld+json",
		func(w io.Writer) rdfWriter { return &jsonldWriter{e: newErrWriter(w)} }}
)

// syntaxByName maps a path's last segment or extension to a syntax.
var syntaxByName = map[string]rdfSyntax{
	"rdf": synRDFXML, "dcat": synRDFXML, "xml": synRDFXML, "rdfxml": synRDFXML,
	"ttl": synTurtle, "turtle": synTurtle,
	"nt": synNT, "ntriples": synNT,
	"jsonld": synJSONLD, "json-ld": synJSONLD,
}

var syntaxByMedia = map[string]rdfSyntax{
	"application/rdf+xml": synRDFXML, "application/xml": synRDFXML, "text/xml": synRDFXML,
	"text/turtle": synTurtle, "application/x-turtle": synTurtle,
	"application/n-triples": synNT, "text/plain": synNT,
	"application/ld+json": synJSONLD, "application/json": synJSONLD,
}

// pathSyntax returns the syntax a path implies ("…/exports/ttl",
// "catalog.jsonld"), if any.
func pathSyntax(p string) (rdfSyntax, bool) {
	last := path.Base(p)
	if s, ok := syntaxByName[strings.ToLower(last)]; ok {
		return s, true
	}
	if ext := path.Ext(last); ext != "" {
		s, ok := syntaxByName[strings.ToLower(ext[1:])]
		return s, ok
	}
	return rdfSyntax{}, false
}

// acceptSyntax picks a syntax by the Accept header (highest q first);
// RDF/XML by default.
func acceptSyntax(accept string) rdfSyntax {
	type cand struct {
		s rdfSyntax
		q float64
	}
	var cands []cand
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, err := strconv.ParseFloat(params["q"], 64); err == nil {
			q = v
		}
		if s, ok := syntaxByMedia[mt]; ok && q > 0 {
			cands = append(cands, cand{s, q})
		}
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].q > cands[j].q })
	if len(cands) > 0 {
		return cands[0].s
	}
	return synRDFXML
}

func (dcatProtocol) serve(src *source, r *http.Request, rest string) *reply {
	syn, ok := pathSyntax(rest)
	if !ok {
		syn = acceptSyntax(r.Header.Get("Accept"))
	}
	q := r.URL.Query()
	ds := src.datasets()

	paged := false
	pageSize, page := 100, 1
	if v := src.cfg.Params["page_size"]; v != "" {
		if n, err := parseNat(v); err == nil && n > 0 {
			pageSize, paged = n, true
		}
	}
	if v := q.Get("page"); v != "" {
		n, err := parseNat(v)
		if err != nil || n == 0 {
			body := []byte(`{"error": {"code": "bad_request", "message": "page must be a positive integer"}}` + "\n")
			return jsonReply(http.StatusBadRequest, body, time.Time{})
		}
		page, paged = n, true
	}
	total := len(ds)
	lastPage := 1
	var extra []*rnode
	if paged {
		lastPage = max(1, (total+pageSize-1)/pageSize)
		if page > lastPage {
			return nil
		}
		ds = ds[(page-1)*pageSize : min(page*pageSize, total)]
		extra = append(extra, hydraNode(r, page, lastPage, pageSize, total))
	}
	lastMod := maxModified(ds)
	cat := catalogNode(src, lastMod)
	replyPage := 0
	if paged {
		replyPage = page
	} else {
		replyPage = 1 // an unpaged catalogue is one page
	}
	return &reply{status: http.StatusOK, contentType: syn.contentType, page: replyPage, lastMod: lastMod,
		render: func(w io.Writer) error {
			rw := syn.writer(w)
			rw.start(cat)
			for i := range ds {
				rw.dataset(dcatDataset(&ds[i]))
			}
			return rw.finish(extra)
		}}
}

func pageURL(r *http.Request, page int) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	q := r.URL.Query()
	q.Set("page", strconv.Itoa(page))
	return scheme + "://" + r.Host + r.URL.EscapedPath() + "?" + q.Encode()
}

func hydraNode(r *http.Request, page, last, size, total int) *rnode {
	n := &rnode{iri: pageURL(r, page), types: []string{nsHydra + "PagedCollection"}}
	n.add(nsHydra+"totalItems", typedT(strconv.Itoa(total), nsXSD+"integer"))
	n.add(nsHydra+"itemsPerPage", typedT(strconv.Itoa(size), nsXSD+"integer"))
	n.lit(nsHydra+"firstPage", pageURL(r, 1))
	n.lit(nsHydra+"lastPage", pageURL(r, last))
	if page > 1 {
		n.lit(nsHydra+"previousPage", pageURL(r, page-1))
	}
	if page < last {
		n.lit(nsHydra+"nextPage", pageURL(r, page+1))
	}
	return n
}

const xsdDateTime = nsXSD + "dateTime"

func rdfTime(t time.Time) string { return t.Format("2006-01-02T15:04:05-07:00") }

func catalogNode(src *source, modified time.Time) *rnode {
	c := &rnode{iri: src.portalURL(), types: []string{nsDCAT + "Catalog"}}
	c.add(nsDCT+"title", langT(portalName(src), "fr"))
	c.add(nsDCT+"description", langT("Catalogue des données ouvertes de "+portalName(src), "fr"))
	c.link(nsDCT+"language", "http://publications.europa.eu/resource/authority/language/FRA")
	c.link(nsFOAF+"homepage", src.portalURL())
	if src.cfg.Member != nil {
		pub := &rnode{types: []string{nsFOAF + "Organization"}}
		pub.lit(nsFOAF+"name", src.cfg.Member.Name)
		c.add(nsDCT+"publisher", nodeT(pub))
	}
	c.add(nsDCT+"modified", typedT(rdfTime(modified), xsdDateTime))
	return c
}

// dcatDataset is the DCAT-AP description of a dataset.
func dcatDataset(d *Dataset) *rnode {
	n := &rnode{iri: d.URI, types: []string{nsDCAT + "Dataset"}}
	n.lit(nsDCT+"identifier", d.ID)
	n.add(nsDCT+"title", langT(d.Title, "fr"))
	n.add(nsDCT+"description", langT(d.Description, "fr"))
	for _, k := range d.Keywords {
		n.add(nsDCAT+"keyword", langT(k, "fr"))
	}
	for _, t := range d.Themes {
		n.lit(nsDCAT+"theme", t)
	}
	pub := &rnode{types: []string{nsFOAF + "Organization"}}
	if d.PublisherSiren != "" {
		// DCAT-AP-FR names an organisation by an IRI holding its SIREN.
		pub.iri = "https://annuaire-entreprises.data.gouv.fr/entreprise/" + d.PublisherSiren
	}
	pub.lit(nsFOAF+"name", d.Publisher)
	n.add(nsDCT+"publisher", nodeT(pub))
	if strings.HasPrefix(d.License, "http") {
		n.link(nsDCT+"license", d.License)
	} else if d.License != "" {
		n.lit(nsDCT+"license", d.License)
	}
	n.add(nsDCT+"issued", typedT(rdfTime(d.Created), xsdDateTime))
	n.add(nsDCT+"modified", typedT(rdfTime(d.Modified), xsdDateTime))
	n.link(nsDCAT+"landingPage", d.LandingPage)
	cp := &rnode{types: []string{nsVCARD + "Organization"}}
	cp.lit(nsVCARD+"fn", d.Publisher)
	cp.link(nsVCARD+"hasEmail", "mailto:"+d.Contact)
	n.add(nsDCAT+"contactPoint", nodeT(cp))
	if d.SpatialLabel != "" {
		sp := &rnode{types: []string{nsDCT + "Location"}}
		if d.SpatialINSEE != "" {
			sp.iri = "http://id.insee.fr/geo/commune/" + d.SpatialINSEE
		}
		sp.add(nsSKOS+"prefLabel", langT(d.SpatialLabel, "fr"))
		n.add(nsDCT+"spatial", nodeT(sp))
	}
	for _, c := range d.ConformsTo {
		n.link(nsDCT+"conformsTo", c)
	}
	for _, r := range d.Resources {
		dist := &rnode{types: []string{nsDCAT + "Distribution"}}
		if !r.BlankNode {
			dist.iri = d.URI + "#distribution-" + r.ID
		}
		dist.lit(nsDCT+"identifier", r.ID)
		dist.add(nsDCT+"title", langT(r.Title, "fr"))
		dist.link(nsDCAT+"accessURL", r.URL)
		dist.link(nsDCAT+"downloadURL", r.URL)
		dist.lit(nsDCT+"format", r.Format)
		if r.MediaType != "" {
			dist.lit(nsDCAT+"mediaType", r.MediaType)
		}
		if r.Size > 0 {
			dist.add(nsDCAT+"byteSize", typedT(fmt.Sprint(r.Size), nsXSD+"decimal"))
		}
		if r.Schema != "" {
			dist.link(nsDCT+"conformsTo", SchemaURL(r.Schema))
		}
		dist.add(nsDCT+"modified", typedT(rdfTime(r.Modified), xsdDateTime))
		n.add(nsDCAT+"distribution", nodeT(dist))
	}
	return n
}
