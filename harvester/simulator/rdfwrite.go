package simulator

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// A small RDF model and four streaming serialisers (RDF/XML, Turtle,
// N-Triples, expanded JSON-LD). A catalogue is written as: start(catalog),
// dataset(node) for each dataset, finish(extra top-level nodes); only one
// dataset's tree is in memory at a time.

const (
	nsRDF   = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
	nsXSD   = "http://www.w3.org/2001/XMLSchema#"
	nsDCAT  = "http://www.w3.org/ns/dcat#"
	nsDCT   = "http://purl.org/dc/terms/"
	nsFOAF  = "http://xmlns.com/foaf/0.1/"
	nsVCARD = "http://www.w3.org/2006/vcard/ns#"
	nsHydra = "http://www.w3.org/ns/hydra/core#"
	nsSKOS  = "http://www.w3.org/2004/02/skos/core#"
	nsLOCN  = "http://www.w3.org/ns/locn#"
)

// prefixes, in the order they are declared.
var prefixes = []struct{ p, ns string }{
	{"rdf", nsRDF}, {"xsd", nsXSD}, {"dcat", nsDCAT}, {"dct", nsDCT}, {"foaf", nsFOAF},
	{"vcard", nsVCARD}, {"hydra", nsHydra}, {"skos", nsSKOS}, {"locn", nsLOCN},
}

// qname splits a known-namespace IRI into prefix:local; ok is false for
// other IRIs.
func qname(iri string) (string, bool) {
	for _, p := range prefixes {
		if local, ok := strings.CutPrefix(iri, p.ns); ok && isNCName(local) {
			return p.p + ":" + local, true
		}
	}
	return "", false
}

func isNCName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		letter := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !letter && (i == 0 || !(c == '-' || c == '.' || (c >= '0' && c <= '9'))) {
			return false
		}
	}
	return !strings.HasSuffix(s, ".")
}

type termKind uint8

const (
	tIRI termKind = iota
	tLit
	tNode // nested node (blank node or IRI node with its own properties)
)

// term is an object: an IRI, a literal or a nested node.
type term struct {
	kind     termKind
	val      string
	lang, dt string
	node     *rnode
}

type prop struct {
	pred string
	obj  term
}

// rnode is a subject with its properties. iri "" means a blank node.
type rnode struct {
	iri   string
	types []string
	props []prop
}

func (n *rnode) add(pred string, obj term) { n.props = append(n.props, prop{pred, obj}) }

func iriT(v string) term             { return term{kind: tIRI, val: v} }
func litT(v string) term             { return term{kind: tLit, val: v} }
func langT(v, lang string) term      { return term{kind: tLit, val: v, lang: lang} }
func typedT(v, dt string) term       { return term{kind: tLit, val: v, dt: dt} }
func nodeT(n *rnode) term            { return term{kind: tNode, node: n} }
func (n *rnode) lit(pred, v string)  { n.add(pred, litT(v)) }
func (n *rnode) link(pred, v string) { n.add(pred, iriT(v)) }

// rdfWriter serialises a catalogue.
type rdfWriter interface {
	start(catalog *rnode)
	dataset(n *rnode)
	finish(extra []*rnode) error
}

// errWriter remembers the first write error; later writes are dropped.
type errWriter struct {
	w   *bufio.Writer
	err error
}

func newErrWriter(w io.Writer) *errWriter { return &errWriter{w: bufio.NewWriterSize(w, 32<<10)} }

func (e *errWriter) s(parts ...string) {
	if e.err != nil {
		return
	}
	for _, p := range parts {
		if _, err := e.w.WriteString(p); err != nil {
			e.err = err
			return
		}
	}
}

func (e *errWriter) flush() error {
	if e.err != nil {
		return e.err
	}
	return e.w.Flush()
}

// validChars replaces characters that no serialisation may carry (invalid
// UTF-8, XML-forbidden controls) with U+FFFD.
func validChars(s string) string {
	ok := true
	for _, c := range s {
		if c == utf8.RuneError || (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0xFFFE || c == 0xFFFF {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	return strings.Map(func(c rune) rune {
		if c == utf8.RuneError || (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0xFFFE || c == 0xFFFF {
			return '\uFFFD'
		}
		return c
	}, s)
}

// ---- N-Triples / Turtle escaping ------------------------------------------

// escapeString escapes a literal's lexical form for "…" in N-Triples/Turtle.
func escapeString(s string) string {
	s = validChars(s)
	if !strings.ContainsAny(s, "\"\\\n\r\t") {
		return s
	}
	var b strings.Builder
	for _, c := range s {
		switch c {
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
			b.WriteRune(c)
		}
	}
	return b.String()
}

// escapeIRI writes an IRI for <…>: characters an IRI may not contain
// (spaces, <>"{}|^`\\, controls) are percent-encoded, as an IRI parser would
// reject them even as \\u escapes.
func escapeIRI(s string) string { return cleanIRI(s) }

// cleanIRI percent-encodes the characters no IRI may contain; every
// serialisation writes IRIs through it.
func cleanIRI(s string) string {
	s = validChars(s)
	if !strings.ContainsFunc(s, badIRIChar) {
		return s
	}
	var b strings.Builder
	for _, c := range s {
		if badIRIChar(c) {
			var buf [4]byte
			for _, x := range buf[:utf8.EncodeRune(buf[:], c)] {
				fmt.Fprintf(&b, "%%%02X", x)
			}
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

func badIRIChar(c rune) bool {
	switch c {
	case '<', '>', '"', '{', '}', '|', '^', '`', '\\':
		return true
	}
	return c <= 0x20
}

func ntTerm(t term) string {
	switch t.kind {
	case tIRI:
		return "<" + escapeIRI(t.val) + ">"
	default:
		s := `"` + escapeString(t.val) + `"`
		if t.lang != "" {
			return s + "@" + t.lang
		}
		if t.dt != "" {
			return s + "^^<" + escapeIRI(t.dt) + ">"
		}
		return s
	}
}

// ---- N-Triples -------------------------------------------------------------

type ntWriter struct {
	e      *errWriter
	cat    string
	bnodes int
}

func (w *ntWriter) subj(n *rnode) string {
	if n.iri == "" {
		w.bnodes++
		return fmt.Sprintf("_:b%d", w.bnodes)
	}
	return "<" + escapeIRI(n.iri) + ">"
}

func (w *ntWriter) node(n *rnode) string {
	s := w.subj(n)
	for _, t := range n.types {
		w.e.s(s, " <", nsRDF, "type> <", escapeIRI(t), "> .\n")
	}
	for _, p := range n.props {
		o := ""
		if p.obj.kind == tNode {
			o = w.node(p.obj.node)
		} else {
			o = ntTerm(p.obj)
		}
		w.e.s(s, " <", escapeIRI(p.pred), "> ", o, " .\n")
	}
	return s
}

func (w *ntWriter) start(c *rnode) { w.cat = w.node(c) }
func (w *ntWriter) dataset(n *rnode) {
	s := w.node(n)
	w.e.s(w.cat, " <", nsDCAT, "dataset> ", s, " .\n")
}
func (w *ntWriter) finish(extra []*rnode) error {
	for _, n := range extra {
		w.node(n)
	}
	return w.e.flush()
}

// ---- Turtle ---------------------------------------------------------------

type ttlWriter struct {
	e   *errWriter
	cat string
}

func ttlPred(iri string) string {
	if iri == nsRDF+"type" {
		return "a"
	}
	if q, ok := qname(iri); ok {
		return q
	}
	return "<" + escapeIRI(iri) + ">"
}

func ttlObj(t term) string {
	if t.kind == tIRI {
		return "<" + escapeIRI(t.val) + ">"
	}
	s := `"` + escapeString(t.val) + `"`
	if t.lang != "" {
		return s + "@" + t.lang
	}
	if t.dt != "" {
		return s + "^^" + ttlPred(t.dt)
	}
	return s
}

// body writes "a T ; p o ; p o" at the given indentation; IRI nodes met as
// objects are returned to be written afterwards as their own statements.
func (w *ttlWriter) body(n *rnode, indent string) (later []*rnode) {
	first := true
	sep := func() {
		if !first {
			w.e.s(" ;\n", indent)
		}
		first = false
	}
	if len(n.types) > 0 {
		sep()
		w.e.s("a ")
		for i, t := range n.types {
			if i > 0 {
				w.e.s(", ")
			}
			w.e.s(ttlPred(t))
		}
	}
	for _, p := range n.props {
		sep()
		w.e.s(ttlPred(p.pred), " ")
		switch {
		case p.obj.kind != tNode:
			w.e.s(ttlObj(p.obj))
		case p.obj.node.iri != "":
			w.e.s("<", escapeIRI(p.obj.node.iri), ">")
			later = append(later, p.obj.node)
		default:
			w.e.s("[\n", indent, "    ")
			later = append(later, w.body(p.obj.node, indent+"    ")...)
			w.e.s("\n", indent, "]")
		}
	}
	return later
}

func (w *ttlWriter) statement(n *rnode) {
	queue := []*rnode{n}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if n.iri == "" {
			w.e.s("[] ")
		} else {
			w.e.s("<", escapeIRI(n.iri), "> ")
		}
		if len(n.types) == 0 && len(n.props) == 0 {
			// a subject alone is not a statement: give it a type-less triple-free skip
			w.e.s("a <", nsRDF, "Resource> .\n\n")
			continue
		}
		queue = append(queue, w.body(n, "    ")...)
		w.e.s(" .\n\n")
	}
}

func (w *ttlWriter) start(c *rnode) {
	for _, p := range prefixes {
		w.e.s("@prefix ", p.p, ": <", p.ns, "> .\n")
	}
	w.e.s("\n")
	w.cat = "<" + escapeIRI(c.iri) + ">"
	w.statement(c)
}

func (w *ttlWriter) dataset(n *rnode) {
	w.e.s(w.cat, " dcat:dataset <", escapeIRI(n.iri), "> .\n")
	w.statement(n)
}

func (w *ttlWriter) finish(extra []*rnode) error {
	for _, n := range extra {
		w.statement(n)
	}
	return w.e.flush()
}

// ---- RDF/XML --------------------------------------------------------------

type xmlWriter struct {
	e     *errWriter
	catEl string
}

var xmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "\r", "&#xD;", "\t", "&#x9;", "\n", "&#xA;")
var xmlTextEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#xD;")

func xmlIRI(s string) string  { return xmlEscaper.Replace(cleanIRI(s)) }
func xmlText(s string) string { return xmlTextEscaper.Replace(validChars(s)) }

// elName is the element name of a predicate or type; every predicate the
// simulator writes is in a declared namespace.
func elName(iri string) string {
	if q, ok := qname(iri); ok {
		return q
	}
	panic("simulator: no qname for " + iri)
}

// open writes a node element's start tag and its properties, and returns
// its end tag.
func (w *xmlWriter) open(n *rnode, indent string) string {
	el := "rdf:Description"
	types := n.types
	if len(types) > 0 {
		if q, ok := qname(types[0]); ok {
			el, types = q, types[1:]
		}
	}
	w.e.s(indent, "<", el)
	if n.iri != "" {
		w.e.s(` rdf:about="`, xmlIRI(n.iri), `"`)
	}
	w.e.s(">\n")
	in := indent + "  "
	for _, t := range types {
		w.e.s(in, `<rdf:type rdf:resource="`, xmlIRI(t), "\"/>\n")
	}
	for _, p := range n.props {
		pe := elName(p.pred)
		switch p.obj.kind {
		case tIRI:
			w.e.s(in, "<", pe, ` rdf:resource="`, xmlIRI(p.obj.val), "\"/>\n")
		case tLit:
			w.e.s(in, "<", pe)
			if p.obj.lang != "" {
				w.e.s(` xml:lang="`, p.obj.lang, `"`)
			} else if p.obj.dt != "" {
				w.e.s(` rdf:datatype="`, xmlIRI(p.obj.dt), `"`)
			}
			w.e.s(">", xmlText(p.obj.val), "</", pe, ">\n")
		case tNode:
			w.e.s(in, "<", pe, ">\n")
			w.close(w.open(p.obj.node, in+"  "), in+"  ")
			w.e.s(in, "</", pe, ">\n")
		}
	}
	return el
}

func (w *xmlWriter) close(el, indent string) { w.e.s(indent, "</", el, ">\n") }

func (w *xmlWriter) start(c *rnode) {
	w.e.s(`<?xml version="1.0" encoding="utf-8"?>`, "\n<rdf:RDF")
	for _, p := range prefixes {
		w.e.s("\n  xmlns:", p.p, `="`, p.ns, `"`)
	}
	w.e.s(">\n")
	w.catEl = w.open(c, "  ")
}

func (w *xmlWriter) dataset(n *rnode) {
	w.e.s("    <dcat:dataset>\n")
	w.close(w.open(n, "      "), "      ")
	w.e.s("    </dcat:dataset>\n")
}

func (w *xmlWriter) finish(extra []*rnode) error {
	w.close(w.catEl, "  ")
	for _, n := range extra {
		w.close(w.open(n, "  "), "  ")
	}
	w.e.s("</rdf:RDF>\n")
	return w.e.flush()
}

// ---- JSON-LD (expanded form, like ckanext-dcat's catalog.jsonld) ----------

type jsonldWriter struct {
	e     *errWriter
	first bool
}

func jstr(s string) string {
	b, _ := json.Marshal(validChars(s))
	return string(b)
}

// object writes a node object; if open, the object is left open (for the
// catalogue, whose dcat:dataset array is streamed).
func (w *jsonldWriter) object(n *rnode, open bool) {
	w.e.s("{")
	comma := false
	if n.iri != "" {
		w.e.s(`"@id":`, jstr(cleanIRI(n.iri)))
		comma = true
	}
	if len(n.types) > 0 {
		if comma {
			w.e.s(",")
		}
		w.e.s(`"@type":[`)
		for i, t := range n.types {
			if i > 0 {
				w.e.s(",")
			}
			w.e.s(jstr(t))
		}
		w.e.s("]")
		comma = true
	}
	// group values by predicate, in first-appearance order
	var order []string
	groups := map[string][]term{}
	for _, p := range n.props {
		if _, ok := groups[p.pred]; !ok {
			order = append(order, p.pred)
		}
		groups[p.pred] = append(groups[p.pred], p.obj)
	}
	for _, pred := range order {
		if comma {
			w.e.s(",")
		}
		comma = true
		w.e.s(jstr(pred), ":[")
		for i, t := range groups[pred] {
			if i > 0 {
				w.e.s(",")
			}
			switch t.kind {
			case tIRI:
				w.e.s(`{"@id":`, jstr(cleanIRI(t.val)), "}")
			case tLit:
				w.e.s(`{"@value":`, jstr(t.val))
				if t.lang != "" {
					w.e.s(`,"@language":`, jstr(t.lang))
				} else if t.dt != "" {
					w.e.s(`,"@type":`, jstr(t.dt))
				}
				w.e.s("}")
			case tNode:
				w.object(t.node, false)
			}
		}
		w.e.s("]")
	}
	if open {
		if comma {
			w.e.s(",")
		}
		return
	}
	w.e.s("}")
}

func (w *jsonldWriter) start(c *rnode) {
	w.e.s("[\n")
	w.object(c, true)
	w.e.s(jstr(nsDCAT+"dataset"), ":[\n")
	w.first = true
}

func (w *jsonldWriter) dataset(n *rnode) {
	if !w.first {
		w.e.s(",\n")
	}
	w.first = false
	w.object(n, false)
}

func (w *jsonldWriter) finish(extra []*rnode) error {
	w.e.s("\n]}")
	for _, n := range extra {
		w.e.s(",\n")
		w.object(n, false)
	}
	w.e.s("\n]\n")
	return w.e.flush()
}
