package csw

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/opendatafrance/moisson/harvester/rdf"
	"github.com/opendatafrance/moisson/harvester/source"
	"github.com/opendatafrance/moisson/harvester/source/dcat"
	"github.com/opendatafrance/moisson/harvester/xmltok"
)

// Namespaces.
const (
	nsCSW   = "http://www.opengis.net/cat/csw/2.0.2"
	nsRDF   = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
	nsGMD   = "http://www.isotc211.org/2005/gmd"
	nsMDB   = "http://standards.iso.org/iso/19115/-3/mdb/"
	nsOWS   = "http://www.opengis.net/ows"
	nsDC    = "http://purl.org/dc/elements/1.1/"
	nsDCT   = "http://purl.org/dc/terms/"
	nsXLink = "http://www.w3.org/1999/xlink"
)

// Limits against hostile documents.
const (
	maxDepth      = 256
	maxNodes      = 500000 // elements of one record
	maxRecordSize = 64 << 20
)

// Options of ReadResponse.
type Options struct {
	Base    string // the URL the answer came from (relative links, RDF base)
	Landing string // landing page prefix, the record id is appended ("" for none)
}

// Result is what a CSW answer says of the walk.
type Result struct {
	Root     string // local name of the root element
	Matched  int64  // numberOfRecordsMatched, -1 when absent
	Returned int64  // numberOfRecordsReturned, -1 when absent
	Next     int64  // nextRecord, -1 when absent
	Records  int    // records in the answer (elements under SearchResults)
}

// ParseError is a malformed or unexpected document.
type ParseError struct {
	Line int
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("csw: line %d: %s", e.Line, e.Msg)
	}
	return "csw: " + e.Msg
}

// ExceptionError is an OWS exception report.
type ExceptionError struct {
	Code    string
	Locator string
	Text    string
}

func (e *ExceptionError) Error() string {
	msg := "csw: the server answered an exception report"
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Locator != "" {
		msg += " (locator " + e.Locator + ")"
	}
	if e.Text != "" {
		msg += ": " + e.Text
	}
	return msg
}

// ReadResponse streams a CSW answer: each record is normalised and handed to
// fn as soon as it is read; records that cannot be normalised go to problem.
func ReadResponse(r io.Reader, opt Options, fn func(source.Record) error, problem func(source.Problem)) (Result, error) {
	res := Result{Matched: -1, Returned: -1, Next: -1}
	p := &parser{z: xmltok.New(r), opt: opt, fn: fn, problem: problem, res: &res}
	err := p.run()
	return res, err
}

type nsDecl struct{ prefix, uri string }

// frame is an open element.
type frame struct {
	name  xmltok.Name
	decls int // len(parser.decls) before its own declarations
}

// element is a start tag, its name resolved.
type element struct {
	space, local string
	self         bool // an empty-element tag: no end tag follows
	line         int
}

type parser struct {
	z       *xmltok.Tokenizer
	opt     Options
	fn      func(source.Record) error
	problem func(source.Problem)
	res     *Result
	open    []frame  // the open elements
	decls   []nsDecl // the xmlns declarations of the open elements
	popSelf bool     // the last start tag was an empty-element tag, still on open
	nodes   nodeArena
}

func (p *parser) errorf(format string, args ...any) *ParseError {
	line, _ := p.z.Position()
	return &ParseError{Line: line, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) syntaxErr(err error) error {
	var se *xmltok.SyntaxError
	if errors.As(err, &se) {
		msg := se.Msg
		switch {
		case errors.Is(err, xmltok.ErrKeptTooLarge):
			msg = fmt.Sprintf("a record exceeds %d bytes", maxRecordSize)
		case strings.Contains(msg, "UTF-8"):
			msg += " (wrong encoding? the XML declaration must name it)"
		case strings.Contains(msg, "unexpected EOF"):
			msg += " (truncated document)"
		}
		return &ParseError{Line: se.Line, Msg: "malformed XML: " + msg}
	}
	return p.errorf("%v", err)
}

// next reads the next token: comments and processing instructions are
// skipped, DTDs refused, end tags checked against the open elements.
func (p *parser) next() (xmltok.Kind, error) {
	z := p.z
	if p.popSelf {
		p.pop()
		p.popSelf = false
	}
	for {
		k, err := z.Next()
		if err != nil {
			return k, p.syntaxErr(err)
		}
		switch k {
		case xmltok.ProcInst:
			continue
		case xmltok.Directive:
			s := strings.TrimSpace(string(z.Text))
			if len(s) >= 7 && strings.EqualFold(s[:7], "DOCTYPE") || strings.Contains(s, "ENTITY") {
				return k, p.errorf("DTD refused (document type declarations and entities are not accepted)")
			}
			continue
		case xmltok.Start:
			if len(p.open) >= maxDepth {
				return k, p.errorf("elements nested deeper than %d levels", maxDepth)
			}
			f := frame{name: z.Name, decls: len(p.decls)}
			for i := range z.Attrs {
				a := &z.Attrs[i]
				if prefix, ok := a.Name.NSDecl(); ok {
					p.decls = append(p.decls, nsDecl{prefix, string(z.Value(a))})
				}
			}
			p.open = append(p.open, f)
			p.popSelf = z.SelfClose
		case xmltok.End:
			if len(p.open) == 0 {
				return k, p.errorf("unexpected end tag </%s>", z.Name)
			}
			if top := p.open[len(p.open)-1].name; top != z.Name {
				return k, p.errorf("element <%s> closed by </%s>", top, z.Name)
			}
			p.pop()
		case xmltok.EOF:
			if len(p.open) > 0 {
				return k, p.errorf("unexpected EOF: <%s> not closed (truncated document)", p.open[len(p.open)-1].name)
			}
		}
		return k, nil
	}
}

func (p *parser) pop() {
	f := p.open[len(p.open)-1]
	p.open = p.open[:len(p.open)-1]
	p.decls = p.decls[:f.decls]
}

// space resolves a prefix in the open elements' declarations; an
// undeclared prefix is kept as it is (as encoding/xml does).
func (p *parser) space(prefix string) string {
	if prefix == "xml" {
		return "http://www.w3.org/XML/1998/namespace"
	}
	for i := len(p.decls) - 1; i >= 0; i-- {
		if p.decls[i].prefix == prefix {
			return p.decls[i].uri
		}
	}
	return prefix
}

// element is the start tag just read.
func (p *parser) element() element {
	line, _ := p.z.Position()
	return element{space: p.space(p.z.Name.Prefix), local: p.z.Name.Local, self: p.z.SelfClose, line: line}
}

// attr is the value of the attribute with a local name of the start tag
// just read, and whether it has one.
func (p *parser) attr(local string) (string, bool) {
	z := p.z
	for i := range z.Attrs {
		if _, decl := z.Attrs[i].Name.NSDecl(); z.Attrs[i].Name.Local == local && !decl {
			return string(z.Value(&z.Attrs[i])), true
		}
	}
	return "", false
}

// skip reads through the end of the element whose start tag was just read.
func (p *parser) skip(el element) error {
	if el.self {
		return nil
	}
	depth := len(p.open)
	for len(p.open) >= depth {
		if _, err := p.next(); err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) run() error {
	// The root element.
	for {
		p.z.Mark(maxRecordSize) // a root rdf:RDF record is cut out from here
		k, err := p.next()
		if err != nil {
			return err
		}
		if k == xmltok.EOF {
			return &ParseError{Line: 1, Msg: "empty document: no root element"}
		}
		if k == xmltok.CharData && len(bytes.TrimSpace(p.z.Text)) > 0 {
			return p.errorf("text before the root element: not XML")
		}
		if k == xmltok.Start {
			break
		}
	}
	root := p.element()
	p.res.Root = root.local
	switch root.local {
	case "ExceptionReport":
		return p.exception(root)
	case "GetRecordsResponse", "GetRecordByIdResponse":
		if err := p.response(root); err != nil {
			return err
		}
	case "MD_Metadata", "RDF", "Record", "SummaryRecord", "BriefRecord":
		p.res.Records = 1
		if err := p.record(root); err != nil {
			return err
		}
	default:
		return &ParseError{Line: 1, Msg: fmt.Sprintf("not a CSW answer: the root element is <%s> (%s)", root.local, root.space)}
	}
	// Nothing but comments and spaces may follow.
	for {
		k, err := p.next()
		if err != nil {
			return err
		}
		switch k {
		case xmltok.EOF:
			return nil
		case xmltok.Start:
			return p.errorf("a second root element")
		}
	}
}

// response reads GetRecordsResponse / GetRecordByIdResponse children.
func (p *parser) response(root element) error {
	byID := root.local == "GetRecordByIdResponse"
	return p.children(root, func(el element) error {
		switch {
		case el.local == "SearchResults":
			return p.searchResults(el)
		case byID:
			p.res.Records++
			return p.record(el)
		}
		return p.skip(el)
	})
}

// children calls fn with each child element of parent, whose start tag was
// just read; fn reads it through its end. The input is kept from each
// child's start tag on, for records to be cut out of it.
func (p *parser) children(parent element, fn func(element) error) error {
	if parent.self {
		return nil
	}
	depth := len(p.open)
	for {
		p.z.Mark(maxRecordSize)
		k, err := p.next()
		if err != nil {
			return err
		}
		switch {
		case len(p.open) < depth:
			return nil // parent's end tag
		case k == xmltok.Start:
			if err := fn(p.element()); err != nil {
				return err
			}
		}
	}
}

func (p *parser) searchResults(el element) error {
	for _, a := range []struct {
		name string
		dst  *int64
	}{{"numberOfRecordsMatched", &p.res.Matched}, {"numberOfRecordsReturned", &p.res.Returned}, {"nextRecord", &p.res.Next}} {
		v, ok := p.attr(a.name)
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 0 {
			return &ParseError{Line: el.line, Msg: fmt.Sprintf("SearchResults: %s=%q is not a count", a.name, v)}
		}
		*a.dst = n
	}
	return p.children(el, func(rec element) error {
		p.res.Records++
		return p.record(rec)
	})
}

// record reads one record whose start tag was just read; the input is kept
// from its start tag on.
func (p *parser) record(el element) error {
	switch {
	case el.local == "RDF" && el.space == nsRDF:
		mark := p.open[len(p.open)-1].decls
		own := slices.Clone(p.decls[mark:])
		ancestors := slices.Clone(p.decls[:mark])
		if err := p.skip(el); err != nil {
			return err
		}
		return p.rdfRecord(skipProlog(p.z.Kept()), own, ancestors, el.line)
	case el.local == "MD_Metadata", el.local == "Record", el.local == "SummaryRecord", el.local == "BriefRecord":
		n, err := p.tree(el)
		if err != nil {
			return err
		}
		var rec source.Record
		var nerr error
		id := ""
		if el.local == "MD_Metadata" {
			id, rec, nerr = isoRecord(n, p.opt)
		} else {
			id, rec, nerr = dcRecord(n, p.opt)
		}
		if nerr != nil {
			p.problem(source.Problem{Kind: source.KindNormalise, DatasetID: id, Message: fmt.Sprintf("record at line %d: %v", el.line, nerr)})
			return nil
		}
		return p.fn(rec)
	default:
		if err := p.skip(el); err != nil {
			return err
		}
		p.problem(source.Problem{Kind: source.KindNormalise,
			Message: fmt.Sprintf("record at line %d: unknown record type <%s> (%s)", el.line, el.local, el.space)})
		return nil
	}
}

// skipProlog drops what may precede a record's start tag in the input
// kept for it: spaces, comments, processing instructions, and the XML
// declaration of a document that is one record, whose encoding the text
// kept (decoded) no longer has.
func skipProlog(raw []byte) []byte {
	for {
		raw = bytes.TrimLeft(raw, " \t\r\n")
		end := ""
		switch {
		case bytes.HasPrefix(raw, []byte("<?")):
			end = "?>"
		case bytes.HasPrefix(raw, []byte("<!--")):
			end = "-->"
		default:
			return raw
		}
		i := bytes.Index(raw, []byte(end))
		if i < 0 {
			return nil
		}
		raw = raw[i+len(end):]
	}
}

// rdfRecord hands an rdf:RDF record to the dcat package, with the namespace
// declarations of its ancestors copied onto it.
func (p *parser) rdfRecord(raw []byte, own, ancestors []nsDecl, line int) error {
	if len(raw) == 0 {
		return &ParseError{Line: line, Msg: "could not cut the RDF record out of the stream"}
	}
	declared := map[string]bool{}
	for _, d := range own {
		declared[d.prefix] = true
	}
	var extra strings.Builder
	for i := len(ancestors) - 1; i >= 0; i-- {
		d := ancestors[i]
		if declared[d.prefix] {
			continue
		}
		declared[d.prefix] = true
		if d.prefix == "" {
			extra.WriteString(` xmlns="`)
		} else {
			extra.WriteString(` xmlns:` + d.prefix + `="`)
		}
		xml.EscapeText(&extra, []byte(d.uri))
		extra.WriteString(`"`)
	}
	// Insert after the element name of the start tag.
	k := 1
	for k < len(raw) && !strings.ContainsRune(" \t\r\n/>", rune(raw[k])) {
		k++
	}
	doc := make([]byte, 0, len(raw)+extra.Len())
	doc = append(doc, raw[:k]...)
	doc = append(doc, extra.String()...)
	doc = append(doc, raw[k:]...)
	n := 0
	_, err := dcat.Read(bytes.NewReader(doc), dcat.RDFXML, p.opt.Base, func(r source.Record) error {
		n++
		return p.fn(r)
	}, func(id, msg string) {
		p.problem(source.Problem{Kind: source.KindNormalise, DatasetID: id, Message: fmt.Sprintf("RDF record at line %d: %s", line, msg)})
	})
	if err != nil {
		var pe *rdf.ParseError
		if errors.As(err, &pe) {
			p.problem(source.Problem{Kind: source.KindParse, Message: fmt.Sprintf("RDF record at line %d: %v", line, err)})
			return nil
		}
		return err
	}
	if n == 0 {
		p.problem(source.Problem{Kind: source.KindNormalise, Message: fmt.Sprintf("RDF record at line %d holds no dcat:Dataset", line)})
	}
	return nil
}

func (p *parser) exception(root element) error {
	n, err := p.tree(root)
	if err != nil {
		return err
	}
	e := &ExceptionError{}
	if ex := n.find("Exception"); ex != nil {
		e.Code = ex.attr("exceptionCode")
		e.Locator = ex.attr("locator")
		var texts []string
		for _, t := range ex.findAll("ExceptionText") {
			if v := t.text(); v != "" {
				texts = append(texts, v)
			}
		}
		e.Text = strings.Join(texts, "; ")
	}
	if e.Text == "" && e.Code == "" {
		e.Text = strings.TrimSpace(n.allText())
	}
	if len(e.Text) > 2000 {
		e.Text = e.Text[:2000] + "…"
	}
	return e
}

// ---- a small element tree, one record at a time --------------------------------

type node struct {
	local string
	attrs []attr
	body  []byte
	kids  []*node
}

type attr struct{ local, value string }

// nodeArena hands out the nodes of one tree; a new tree takes them over
// (the one before is done with: what a record keeps of it is copied), with
// the room of their lists. A record of ISO 19139 is hundreds of elements:
// allocating each was a third of reading one.
type nodeArena struct {
	chunks [][]node
	used   int
}

const arenaChunk = 256

func (a *nodeArena) reset() { a.used = 0 }

func (a *nodeArena) alloc() *node {
	c, i := a.used/arenaChunk, a.used%arenaChunk
	if c == len(a.chunks) {
		a.chunks = append(a.chunks, make([]node, arenaChunk))
	}
	a.used++
	n := &a.chunks[c][i]
	clear(n.kids) // the nodes of the tree before
	n.attrs, n.body, n.kids = n.attrs[:0], n.body[:0], n.kids[:0]
	return n
}

// node is the element whose start tag was just read, without its children.
func (p *parser) node() *node {
	z := p.z
	n := p.nodes.alloc()
	n.local = z.Name.Local
	for i := range z.Attrs {
		a := &z.Attrs[i]
		if _, decl := a.Name.NSDecl(); !decl {
			n.attrs = append(n.attrs, attr{a.Name.Local, string(z.Value(a))})
		}
	}
	return n
}

// tree reads the element whose start tag was just read into a node tree,
// valid until the next call.
func (p *parser) tree(el element) (*node, error) {
	p.nodes.reset()
	root := p.node()
	if el.self {
		return root, nil
	}
	stack := []*node{root}
	depth := len(p.open)
	count := 1
	for {
		k, err := p.next()
		if err != nil {
			return nil, err
		}
		if len(p.open) < depth {
			return root, nil // its end tag
		}
		top := stack[len(stack)-1]
		switch k {
		case xmltok.Start:
			count++
			if count > maxNodes {
				return nil, p.errorf("record too large: more than %d elements", maxNodes)
			}
			n := p.node()
			top.kids = append(top.kids, n)
			if !p.z.SelfClose {
				stack = append(stack, n)
			}
		case xmltok.End:
			stack = stack[:len(stack)-1]
		case xmltok.CharData:
			top.body = append(top.body, p.z.Text...)
		}
	}
}

func (n *node) attr(local string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.attrs {
		if a.local == local {
			return a.value
		}
	}
	return ""
}

// child returns the first child with one of the local names.
func (n *node) child(locals ...string) *node {
	if n == nil {
		return nil
	}
	for _, k := range n.kids {
		for _, l := range locals {
			if k.local == l {
				return k
			}
		}
	}
	return nil
}

// path follows children by local name.
func (n *node) path(locals ...string) *node {
	for _, l := range locals {
		n = n.child(strings.Split(l, "|")...)
		if n == nil {
			return nil
		}
	}
	return n
}

// find is the first descendant (depth first) with a local name.
func (n *node) find(local string) *node {
	if n == nil {
		return nil
	}
	for _, k := range n.kids {
		if k.local == local {
			return k
		}
		if f := k.find(local); f != nil {
			return f
		}
	}
	return nil
}

// findAll lists the descendants with a local name (not below a match).
func (n *node) findAll(local string) []*node {
	var out []*node
	if n == nil {
		return nil
	}
	for _, k := range n.kids {
		if k.local == local {
			out = append(out, k)
			continue
		}
		out = append(out, k.findAll(local)...)
	}
	return out
}

func (n *node) children(local string) []*node {
	var out []*node
	if n == nil {
		return nil
	}
	for _, k := range n.kids {
		if k.local == local {
			out = append(out, k)
		}
	}
	return out
}

// text is the value of an ISO property: its CharacterString, Anchor,
// LocalisedCharacterString, Date, DateTime, Decimal... child, or its own text.
func (n *node) text() string {
	if n == nil {
		return ""
	}
	if s := strings.TrimSpace(string(n.body)); s != "" {
		return s
	}
	for _, k := range n.kids {
		switch k.local {
		case "CharacterString", "Anchor", "Date", "DateTime", "Decimal", "Integer", "Real", "Boolean", "URL",
			"LocalisedCharacterString", "FileName", "MimeFileType":
			if s := strings.TrimSpace(string(k.body)); s != "" {
				return s
			}
		case "PT_FreeText":
			if s := k.allText(); s != "" {
				return strings.TrimSpace(s)
			}
		}
	}
	if len(n.kids) == 1 {
		return n.kids[0].text()
	}
	return ""
}

func (n *node) allText() string {
	if n == nil {
		return ""
	}
	var b strings.Builder
	var walk func(*node)
	walk = func(x *node) {
		if s := strings.TrimSpace(string(x.body)); s != "" {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(s)
		}
		for _, k := range x.kids {
			walk(k)
		}
	}
	walk(n)
	return b.String()
}
