package server

// DCAT-AP serialisation of records, streamed: Turtle, RDF/XML and JSON-LD.
// Each dataset is written as one tree of nodes (the dataset, its
// distributions, publisher, contact point…), followed by the statement that
// the catalogue holds it, so nothing but the current dataset is in memory.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
)

// Vocabularies.
const (
	nsRDF    = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
	nsRDFS   = "http://www.w3.org/2000/01/rdf-schema#"
	nsDCAT   = "http://www.w3.org/ns/dcat#"
	nsDCT    = "http://purl.org/dc/terms/"
	nsFOAF   = "http://xmlns.com/foaf/0.1/"
	nsVCARD  = "http://www.w3.org/2006/vcard/ns#"
	nsSKOS   = "http://www.w3.org/2004/02/skos/core#"
	nsHydra  = "http://www.w3.org/ns/hydra/core#"
	nsXSD    = "http://www.w3.org/2001/XMLSchema#"
	nsADMS   = "http://www.w3.org/ns/adms#"
	nsOWL    = "http://www.w3.org/2002/07/owl#"
	euTheme  = "http://publications.europa.eu/resource/authority/data-theme/"
	euLang   = "http://publications.europa.eu/resource/authority/language/"
	ianaType = "https://www.iana.org/assignments/media-types/"
)

var prefixes = []struct{ prefix, ns string }{
	{"rdf", nsRDF}, {"rdfs", nsRDFS}, {"dcat", nsDCAT}, {"dct", nsDCT}, {"foaf", nsFOAF}, {"vcard", nsVCARD},
	{"skos", nsSKOS}, {"hydra", nsHydra}, {"xsd", nsXSD}, {"adms", nsADMS}, {"owl", nsOWL},
}

// rdfNode is a resource (IRI, or blank when IRI is "") with its properties.
type rdfNode struct {
	IRI   string
	Types []string
	Props []rdfProp
}

type rdfProp struct {
	Pred string
	// One of:
	Node     *rdfNode
	IRI      string
	Lit      string
	Datatype string
	isLit    bool
}

func (n *rdfNode) iri(p, v string) {
	if v != "" {
		n.Props = append(n.Props, rdfProp{Pred: p, IRI: v})
	}
}

func (n *rdfNode) lit(p, v string) {
	if strings.TrimSpace(v) != "" {
		n.Props = append(n.Props, rdfProp{Pred: p, Lit: v, isLit: true})
	}
}

func (n *rdfNode) typed(p, v, dt string) {
	n.Props = append(n.Props, rdfProp{Pred: p, Lit: v, Datatype: dt, isLit: true})
}

func (n *rdfNode) node(p string, c *rdfNode) { n.Props = append(n.Props, rdfProp{Pred: p, Node: c}) }

func httpIRI(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && !strings.ContainsAny(s, " <>\"{}|\\^`")
}

// licenceIRIs are the licence documents of the normalised ids.
var licenceIRIs = map[string]string{
	"etalab-2.0": "https://www.etalab.gouv.fr/licence-ouverte-open-licence",
	"etalab-1.0": "https://www.etalab.gouv.fr/wp-content/uploads/2014/05/Licence_Ouverte.pdf",
	"odbl-1.0":   "https://opendatacommons.org/licenses/odbl/1-0/",
	"odc-by-1.0": "https://opendatacommons.org/licenses/by/1-0/",
	"pddl-1.0":   "https://opendatacommons.org/licenses/pddl/1-0/",
	"cc0-1.0":    "https://creativecommons.org/publicdomain/zero/1.0/",
}

func licenceIRI(id string) string {
	if v, ok := licenceIRIs[id]; ok {
		return v
	}
	if rest, ok := strings.CutPrefix(id, "cc-"); ok {
		if i := strings.LastIndex(rest, "-"); i > 0 {
			return "https://creativecommons.org/licenses/" + rest[:i] + "/" + rest[i+1:] + "/"
		}
	}
	return ""
}

func stamp(t interface{ AsTime() time.Time }) string {
	return t.AsTime().UTC().Format(time.RFC3339)
}

// datasetNode maps a record to DCAT-AP. iri is the dataset's IRI in the
// catalogue (Moisson's own: records of several portals may share a URI).
func datasetNode(d *moissonv1.Dataset, iri string) *rdfNode {
	n := &rdfNode{IRI: iri, Types: []string{nsDCAT + "Dataset"}}
	n.lit(nsDCT+"identifier", d.GetId())
	n.lit(nsDCT+"title", htmlSafe(d.GetTitle()))
	n.lit(nsDCT+"description", htmlSafe(d.GetDescription()))
	for _, k := range d.GetKeywords() {
		n.lit(nsDCAT+"keyword", k)
	}
	for _, t := range d.GetThemes() {
		n.iri(nsDCAT+"theme", euTheme+t)
	}
	if httpIRI(d.GetLandingPage()) {
		n.iri(nsDCAT+"landingPage", d.GetLandingPage())
	}
	if httpIRI(d.GetUri()) {
		n.iri(nsOWL+"sameAs", d.GetUri())
	}
	switch d.GetLanguage() {
	case "fr":
		n.iri(nsDCT+"language", euLang+"FRA")
	case "en":
		n.iri(nsDCT+"language", euLang+"ENG")
	case "de":
		n.iri(nsDCT+"language", euLang+"DEU")
	}
	if p := d.GetPublisher(); p.GetName() != "" || p.GetUri() != "" {
		pn := &rdfNode{Types: []string{nsFOAF + "Agent"}}
		if httpIRI(p.GetUri()) {
			pn.IRI = p.GetUri()
		}
		pn.lit(nsFOAF+"name", p.GetName())
		if p.GetSiren() != "" {
			pn.lit(nsDCT+"identifier", p.GetSiren())
		}
		n.node(nsDCT+"publisher", pn)
	}
	if c := d.GetContactPoint(); c.GetName() != "" || c.GetEmail() != "" || c.GetUrl() != "" {
		cn := &rdfNode{Types: []string{nsVCARD + "Kind"}}
		cn.lit(nsVCARD+"fn", c.GetName())
		if c.GetEmail() != "" && !strings.ContainsAny(c.GetEmail(), " <>\"") {
			cn.iri(nsVCARD+"hasEmail", "mailto:"+c.GetEmail())
		}
		if httpIRI(c.GetUrl()) {
			cn.iri(nsVCARD+"hasURL", c.GetUrl())
		}
		n.node(nsDCAT+"contactPoint", cn)
	}
	if d.GetIssued() != nil {
		n.typed(nsDCT+"issued", stamp(d.GetIssued()), nsXSD+"dateTime")
	}
	if d.GetModified() != nil {
		n.typed(nsDCT+"modified", stamp(d.GetModified()), nsXSD+"dateTime")
	}
	if v := d.GetAccrualPeriodicity(); v != "" {
		if httpIRI(v) {
			n.iri(nsDCT+"accrualPeriodicity", v)
		} else {
			n.lit(nsDCT+"accrualPeriodicity", v)
		}
	}
	if t := d.GetTemporal(); t.GetStart() != nil || t.GetEnd() != nil {
		tn := &rdfNode{Types: []string{nsDCT + "PeriodOfTime"}}
		if t.GetStart() != nil {
			tn.typed(nsDCAT+"startDate", stamp(t.GetStart()), nsXSD+"dateTime")
		}
		if t.GetEnd() != nil {
			tn.typed(nsDCAT+"endDate", stamp(t.GetEnd()), nsXSD+"dateTime")
		}
		n.node(nsDCT+"temporal", tn)
	}
	if s := d.GetSpatial(); s.GetUri() != "" || s.GetLabel() != "" {
		sn := &rdfNode{Types: []string{nsDCT + "Location"}}
		if httpIRI(s.GetUri()) {
			sn.IRI = s.GetUri()
		}
		sn.lit(nsSKOS+"prefLabel", s.GetLabel())
		n.node(nsDCT+"spatial", sn)
	}
	for _, c := range d.GetConformsTo() {
		n.node(nsDCT+"conformsTo", standard(c))
	}
	lic := d.GetLicense()
	switch {
	case licenceIRI(lic.GetNormalized()) != "":
		n.iri(nsDCT+"license", licenceIRI(lic.GetNormalized()))
	case lic.GetNormalized() == "other" && lic.GetRaw() != "":
		ln := &rdfNode{Types: []string{nsDCT + "LicenseDocument"}}
		ln.lit(nsRDFS+"label", lic.GetRaw())
		n.node(nsDCT+"license", ln)
	}
	for i, x := range d.GetDistributions() {
		dn := &rdfNode{IRI: iri + "#distribution-" + strconv.Itoa(i+1), Types: []string{nsDCAT + "Distribution"}}
		dn.lit(nsDCT+"title", x.GetTitle())
		if httpIRI(x.GetUrl()) {
			dn.iri(nsDCAT+"accessURL", x.GetUrl())
		}
		if httpIRI(x.GetDownloadUrl()) {
			dn.iri(nsDCAT+"downloadURL", x.GetDownloadUrl())
		}
		if x.GetFormat() != "" {
			fn := &rdfNode{Types: []string{nsDCT + "MediaTypeOrExtent"}}
			fn.lit(nsRDFS+"label", x.GetFormat())
			dn.node(nsDCT+"format", fn)
		}
		if mt := x.GetMediaType(); mt != "" && httpIRI(ianaType+mt) {
			dn.iri(nsDCAT+"mediaType", ianaType+mt)
		}
		if x.GetByteSize() > 0 {
			dn.typed(nsDCAT+"byteSize", strconv.FormatInt(x.GetByteSize(), 10), nsXSD+"nonNegativeInteger")
		}
		for _, c := range x.GetConformsTo() {
			dn.node(nsDCT+"conformsTo", standard(c))
		}
		n.node(nsDCAT+"distribution", dn)
	}
	return n
}

// tagLike is what HTML-aware harvesters (udata, CKAN, Moisson) take for a
// tag and drop: "<" then a letter, "/", "!" or "?".
var tagLike = regexp.MustCompile(`<([a-zA-Z/!?])`)

// htmlSafe escapes what such harvesters would drop or decode: a "<" that
// starts a tag-like run and an "&" that starts an entity-like run; the text
// stays plain text otherwise ("a < b" and "A & B" are left as they are).
func htmlSafe(s string) string {
	s = entityLike.ReplaceAllString(s, "&amp;$1")
	return tagLike.ReplaceAllString(s, "&lt;$1")
}

var entityLike = regexp.MustCompile(`&([#a-zA-Z0-9]+;)`)

func standard(c string) *rdfNode {
	if httpIRI(c) {
		return &rdfNode{IRI: c, Types: []string{nsDCT + "Standard"}}
	}
	s := &rdfNode{Types: []string{nsDCT + "Standard"}}
	s.lit(nsRDFS+"label", c)
	return s
}

// rdfWriter writes a stream of nodes in one syntax.
type rdfWriter interface {
	begin() error
	// write writes a node and the statement "subject pred node".
	write(n *rdfNode) error
	link(subject, pred, object string) error
	end() error
}

func newRDFWriter(syntax string, w io.Writer) rdfWriter {
	bw := bufio.NewWriterSize(w, 32<<10)
	switch syntax {
	case "ttl":
		return &turtleWriter{w: bw}
	case "rdf":
		return &xmlWriter{w: bw}
	default:
		return &jsonldWriter{w: bw}
	}
}

// Turtle.

type turtleWriter struct{ w *bufio.Writer }

func (t *turtleWriter) begin() error {
	for _, p := range prefixes {
		fmt.Fprintf(t.w, "@prefix %s: <%s> .\n", p.prefix, p.ns)
	}
	_, err := t.w.WriteString("\n")
	return err
}

func ttlIRI(s string) string {
	for _, p := range prefixes {
		if local, ok := strings.CutPrefix(s, p.ns); ok && local != "" && isLocalName(local) {
			return p.prefix + ":" + local
		}
	}
	return "<" + escIRI(s) + ">"
}

func isLocalName(s string) bool {
	for i, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || (i > 0 && (r >= '0' && r <= '9' || r == '_' || r == '-'))) {
			return false
		}
	}
	return true
}

func escIRI(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r <= 0x20 || strings.ContainsRune("<>\"{}|^`\\", r) {
			fmt.Fprintf(&b, "\\u%04X", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func ttlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(&b, "\\u%04X", r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

func (t *turtleWriter) body(n *rdfNode, indent string) {
	first := true
	sep := func() {
		if !first {
			t.w.WriteString(" ;\n" + indent)
		}
		first = false
	}
	if len(n.Types) > 0 {
		sep()
		t.w.WriteString("a ")
		for i, ty := range n.Types {
			if i > 0 {
				t.w.WriteString(", ")
			}
			t.w.WriteString(ttlIRI(ty))
		}
	}
	for _, p := range n.Props {
		sep()
		t.w.WriteString(ttlIRI(p.Pred) + " ")
		switch {
		case p.Node != nil && p.Node.IRI != "":
			t.w.WriteString(ttlIRI(p.Node.IRI))
		case p.Node != nil:
			t.w.WriteString("[ ")
			t.body(p.Node, indent+"    ")
			t.w.WriteString(" ]")
		case p.isLit:
			t.w.WriteString(ttlString(p.Lit))
			if p.Datatype != "" {
				t.w.WriteString("^^" + ttlIRI(p.Datatype))
			}
		default:
			t.w.WriteString(ttlIRI(p.IRI))
		}
	}
}

func (t *turtleWriter) write(n *rdfNode) error {
	t.w.WriteString(ttlIRI(n.IRI) + "\n    ")
	t.body(n, "    ")
	t.w.WriteString(" .\n")
	// Named nested nodes get their own description.
	for _, p := range n.Props {
		if p.Node != nil && p.Node.IRI != "" {
			if err := t.write(p.Node); err != nil {
				return err
			}
		}
	}
	return t.flushIfBig()
}

func (t *turtleWriter) flushIfBig() error {
	if t.w.Buffered() > 16<<10 {
		return t.w.Flush()
	}
	return nil
}

func (t *turtleWriter) link(s, p, o string) error {
	_, err := fmt.Fprintf(t.w, "%s %s %s .\n\n", ttlIRI(s), ttlIRI(p), ttlIRI(o))
	return err
}

func (t *turtleWriter) end() error { return t.w.Flush() }

// RDF/XML.

type xmlWriter struct{ w *bufio.Writer }

func (x *xmlWriter) begin() error {
	x.w.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n<rdf:RDF")
	for _, p := range prefixes {
		fmt.Fprintf(x.w, "\n    xmlns:%s=\"%s\"", p.prefix, p.ns)
	}
	_, err := x.w.WriteString(">\n")
	return err
}

func xmlEsc(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&quot;")
		case '\r':
			b.WriteString("&#13;")
		default:
			if r < 0x20 && r != '\n' && r != '\t' || r == 0xFFFE || r == 0xFFFF {
				continue // not allowed in XML 1.0
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

// qname gives the element name of a property (all are in the prefixes).
func qname(iri string) string {
	best := ""
	for _, p := range prefixes {
		if local, ok := strings.CutPrefix(iri, p.ns); ok && isLocalName(local) {
			best = p.prefix + ":" + local
		}
	}
	return best
}

func (x *xmlWriter) node(n *rdfNode, indent string) {
	x.w.WriteString(indent + "<rdf:Description")
	if n.IRI != "" {
		x.w.WriteString(` rdf:about="` + xmlEsc(n.IRI) + `"`)
	}
	x.w.WriteString(">\n")
	for _, ty := range n.Types {
		x.w.WriteString(indent + `  <rdf:type rdf:resource="` + xmlEsc(ty) + `"/>` + "\n")
	}
	for _, p := range n.Props {
		q := qname(p.Pred)
		if q == "" {
			continue
		}
		switch {
		case p.Node != nil:
			x.w.WriteString(indent + "  <" + q + ">\n")
			x.node(p.Node, indent+"    ")
			x.w.WriteString(indent + "  </" + q + ">\n")
		case p.isLit && p.Datatype != "":
			x.w.WriteString(indent + "  <" + q + ` rdf:datatype="` + xmlEsc(p.Datatype) + `">` + xmlEsc(p.Lit) + "</" + q + ">\n")
		case p.isLit:
			x.w.WriteString(indent + "  <" + q + ">" + xmlEsc(p.Lit) + "</" + q + ">\n")
		default:
			x.w.WriteString(indent + "  <" + q + ` rdf:resource="` + xmlEsc(p.IRI) + `"/>` + "\n")
		}
	}
	x.w.WriteString(indent + "</rdf:Description>\n")
}

func (x *xmlWriter) write(n *rdfNode) error {
	x.node(n, "  ")
	if x.w.Buffered() > 16<<10 {
		return x.w.Flush()
	}
	return nil
}

func (x *xmlWriter) link(s, p, o string) error {
	_, err := fmt.Fprintf(x.w, "  <rdf:Description rdf:about=\"%s\"><%s rdf:resource=\"%s\"/></rdf:Description>\n", xmlEsc(s), qname(p), xmlEsc(o))
	return err
}

func (x *xmlWriter) end() error {
	x.w.WriteString("</rdf:RDF>\n")
	return x.w.Flush()
}

// JSON-LD: one @graph, each node with full IRIs (compacted by a context of
// the prefixes).

type jsonldWriter struct {
	w     *bufio.Writer
	count int
}

func (j *jsonldWriter) begin() error {
	ctx := map[string]string{}
	for _, p := range prefixes {
		ctx[p.prefix] = p.ns
	}
	b, _ := json.Marshal(ctx)
	_, err := j.w.WriteString(`{"@context":` + string(b) + `,"@graph":[` + "\n")
	return err
}

func compact(iri string) string {
	if q := qname(iri); q != "" {
		return q
	}
	return iri
}

func jsonNode(n *rdfNode) map[string]any {
	m := map[string]any{}
	if n.IRI != "" {
		m["@id"] = n.IRI
	}
	if len(n.Types) > 0 {
		var ts []string
		for _, t := range n.Types {
			ts = append(ts, compact(t))
		}
		m["@type"] = ts
	}
	for _, p := range n.Props {
		k := compact(p.Pred)
		var v any
		switch {
		case p.Node != nil:
			v = jsonNode(p.Node)
		case p.isLit && p.Datatype != "":
			v = map[string]string{"@value": p.Lit, "@type": p.Datatype}
		case p.isLit:
			v = map[string]string{"@value": p.Lit}
		default:
			v = map[string]string{"@id": p.IRI}
		}
		list, _ := m[k].([]any)
		m[k] = append(list, v)
	}
	return m
}

func (j *jsonldWriter) emit(v any) error {
	if j.count > 0 {
		j.w.WriteString(",\n")
	}
	j.count++
	enc := json.NewEncoder(j.w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	if j.w.Buffered() > 16<<10 {
		return j.w.Flush()
	}
	return nil
}

func (j *jsonldWriter) write(n *rdfNode) error { return j.emit(jsonNode(n)) }

func (j *jsonldWriter) link(s, p, o string) error {
	return j.emit(map[string]any{"@id": s, compact(p): map[string]string{"@id": o}})
}

func (j *jsonldWriter) end() error {
	j.w.WriteString("]}\n")
	return j.w.Flush()
}
