package csw

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/opendatafrance/moisson/harvester/rdf"
	"github.com/opendatafrance/moisson/harvester/source"
	"github.com/opendatafrance/moisson/harvester/source/dcat"
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
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(512)
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	var in io.ByteReader = br
	enc := declaredEncoding(head)
	switch enc {
	case "", "utf-8", "utf8":
	case "iso-8859-1", "latin1", "latin-1", "windows-1252", "cp1252", "us-ascii", "ascii":
		in = rdf.NewSingleByteReader(br, &rdf.Windows1252)
	case "iso-8859-15", "latin-9", "latin9":
		in = rdf.NewSingleByteReader(br, &rdf.Latin9)
	default:
		return res, &ParseError{Line: 1, Msg: fmt.Sprintf("unsupported encoding %q (supported: UTF-8, ISO-8859-1/15, windows-1252)", enc)}
	}
	rec := &recorder{r: in}
	d := xml.NewDecoder(rec)
	d.Strict = true
	d.CharsetReader = func(label string, input io.Reader) (io.Reader, error) {
		return input, nil // converted below the decoder already
	}
	p := &parser{d: d, rec: rec, opt: opt, fn: fn, problem: problem, res: &res}
	err := p.run()
	return res, err
}

var encodingRe = regexp.MustCompile(`^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']`)

func declaredEncoding(head []byte) string {
	if m := encodingRe.FindSubmatch(head); m != nil {
		return strings.ToLower(string(m[1]))
	}
	return ""
}

// recorder is the decoder's byte source; it keeps the bytes read since the
// last mark, so that a record's raw text can be cut out of the stream.
type recorder struct {
	r    io.ByteReader
	n    int64  // bytes read
	buf  []byte // bytes [base, n)
	base int64
}

func (x *recorder) ReadByte() (byte, error) {
	b, err := x.r.ReadByte()
	if err == nil {
		x.n++
		x.buf = append(x.buf, b)
		if len(x.buf) > maxRecordSize {
			return 0, fmt.Errorf("a record exceeds %d bytes", maxRecordSize)
		}
	}
	return b, err
}

func (x *recorder) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		b, err := x.ReadByte()
		if err != nil {
			if n > 0 && err == io.EOF {
				return n, nil
			}
			return n, err
		}
		p[n] = b
		n++
	}
	return n, nil
}

// mark drops the bytes before offset off.
func (x *recorder) mark(off int64) {
	if off < x.base || off > x.n {
		return
	}
	k := int(off - x.base)
	x.buf = append(x.buf[:0], x.buf[k:]...)
	x.base = off
}

// slice returns bytes [from, to).
func (x *recorder) slice(from, to int64) []byte {
	if from < x.base || to > x.n || from > to {
		return nil
	}
	return x.buf[from-x.base : to-x.base]
}

type nsDecl struct{ prefix, uri string }

type parser struct {
	d       *xml.Decoder
	rec     *recorder
	opt     Options
	fn      func(source.Record) error
	problem func(source.Problem)
	res     *Result
	ns      [][]nsDecl // xmlns declarations of the open ancestors
}

func (p *parser) syntaxErr(err error) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		msg := se.Msg
		if strings.Contains(msg, "UTF-8") {
			msg += " (wrong encoding? the XML declaration must name it)"
		}
		if strings.Contains(msg, "unexpected EOF") {
			msg += " (truncated document)"
		}
		return &ParseError{Line: se.Line, Msg: "malformed XML: " + msg}
	}
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		line, _ := p.d.InputPos()
		return &ParseError{Line: line, Msg: "truncated document"}
	}
	line, _ := p.d.InputPos()
	return &ParseError{Line: line, Msg: err.Error()}
}

// token reads the next token, refusing DTDs.
func (p *parser) token() (xml.Token, error) {
	tok, err := p.d.Token()
	if err != nil {
		return nil, err
	}
	if dir, ok := tok.(xml.Directive); ok {
		line, _ := p.d.InputPos()
		s := strings.TrimSpace(string(dir))
		if len(s) >= 7 && strings.EqualFold(s[:7], "DOCTYPE") || strings.Contains(s, "ENTITY") {
			return nil, &ParseError{Line: line, Msg: "DTD refused (document type declarations and entities are not accepted)"}
		}
	}
	return tok, nil
}

func declsOf(se xml.StartElement) []nsDecl {
	var out []nsDecl
	for _, a := range se.Attr {
		switch {
		case a.Name.Space == "xmlns":
			out = append(out, nsDecl{a.Name.Local, a.Value})
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			out = append(out, nsDecl{"", a.Value})
		}
	}
	return out
}

func (p *parser) run() error {
	// The root element.
	var root xml.StartElement
	for {
		tok, err := p.token()
		if err == io.EOF {
			return &ParseError{Line: 1, Msg: "empty document: no root element"}
		}
		if err != nil {
			return p.syntaxErr(err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			root = se
			break
		}
		if cd, ok := tok.(xml.CharData); ok && len(bytes.TrimSpace(cd)) > 0 {
			line, _ := p.d.InputPos()
			return &ParseError{Line: line, Msg: "text before the root element: not XML"}
		}
	}
	p.res.Root = root.Name.Local
	switch root.Name.Local {
	case "ExceptionReport":
		return p.exception(root)
	case "GetRecordsResponse", "GetRecordByIdResponse":
		p.ns = append(p.ns, declsOf(root))
		if err := p.response(root); err != nil {
			return err
		}
	case "MD_Metadata", "RDF", "Record", "SummaryRecord", "BriefRecord":
		p.res.Records = 1
		if err := p.record(root, 0); err != nil {
			return err
		}
	default:
		return &ParseError{Line: 1, Msg: fmt.Sprintf("not a CSW answer: the root element is <%s> (%s)", root.Name.Local, root.Name.Space)}
	}
	// Nothing but comments and spaces may follow.
	for {
		tok, err := p.token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return p.syntaxErr(err)
		}
		if _, ok := tok.(xml.StartElement); ok {
			line, _ := p.d.InputPos()
			return &ParseError{Line: line, Msg: "a second root element"}
		}
	}
}

// response reads GetRecordsResponse / GetRecordByIdResponse children.
func (p *parser) response(root xml.StartElement) error {
	byID := root.Name.Local == "GetRecordByIdResponse"
	for {
		p.rec.mark(p.d.InputOffset())
		off := p.d.InputOffset()
		tok, err := p.token()
		if err != nil {
			return p.syntaxErr(err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.StartElement:
			switch {
			case t.Name.Local == "SearchResults":
				if err := p.searchResults(t); err != nil {
					return err
				}
			case byID:
				p.res.Records++
				if err := p.record(t, off); err != nil {
					return err
				}
			default:
				if err := p.d.Skip(); err != nil {
					return p.syntaxErr(err)
				}
			}
		}
	}
}

func attrInt(se xml.StartElement, name string) (int64, bool, error) {
	for _, a := range se.Attr {
		if a.Name.Local == name {
			v, err := strconv.ParseInt(strings.TrimSpace(a.Value), 10, 64)
			if err != nil || v < 0 {
				return 0, true, fmt.Errorf("%s=%q is not a count", name, a.Value)
			}
			return v, true, nil
		}
	}
	return -1, false, nil
}

func (p *parser) searchResults(se xml.StartElement) error {
	line, _ := p.d.InputPos()
	for _, a := range []struct {
		name string
		dst  *int64
	}{{"numberOfRecordsMatched", &p.res.Matched}, {"numberOfRecordsReturned", &p.res.Returned}, {"nextRecord", &p.res.Next}} {
		v, _, err := attrInt(se, a.name)
		if err != nil {
			return &ParseError{Line: line, Msg: "SearchResults: " + err.Error()}
		}
		*a.dst = v
	}
	p.ns = append(p.ns, declsOf(se))
	defer func() { p.ns = p.ns[:len(p.ns)-1] }()
	for {
		p.rec.mark(p.d.InputOffset())
		off := p.d.InputOffset()
		tok, err := p.token()
		if err != nil {
			return p.syntaxErr(err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.StartElement:
			p.res.Records++
			if err := p.record(t, off); err != nil {
				return err
			}
		}
	}
}

// record reads one record whose start tag was just read (at byte offset off).
func (p *parser) record(se xml.StartElement, off int64) error {
	line, _ := p.d.InputPos()
	switch {
	case se.Name.Local == "RDF" && se.Name.Space == nsRDF:
		if err := p.d.Skip(); err != nil {
			return p.syntaxErr(err)
		}
		raw := p.rec.slice(off, p.d.InputOffset())
		return p.rdfRecord(se, raw, line)
	case se.Name.Local == "MD_Metadata", se.Name.Local == "Record", se.Name.Local == "SummaryRecord", se.Name.Local == "BriefRecord":
		n, err := p.tree(se)
		if err != nil {
			return err
		}
		var rec source.Record
		var nerr error
		id := ""
		if se.Name.Local == "MD_Metadata" {
			id, rec, nerr = isoRecord(n, p.opt)
		} else {
			id, rec, nerr = dcRecord(n, p.opt)
		}
		if nerr != nil {
			p.problem(source.Problem{Kind: source.KindNormalise, DatasetID: id, Message: fmt.Sprintf("record at line %d: %v", line, nerr)})
			return nil
		}
		return p.fn(rec)
	default:
		if err := p.d.Skip(); err != nil {
			return p.syntaxErr(err)
		}
		p.problem(source.Problem{Kind: source.KindNormalise,
			Message: fmt.Sprintf("record at line %d: unknown record type <%s> (%s)", line, se.Name.Local, se.Name.Space)})
		return nil
	}
}

// rdfRecord hands an rdf:RDF record to the dcat package, with the namespace
// declarations of its ancestors copied onto it.
func (p *parser) rdfRecord(se xml.StartElement, raw []byte, line int) error {
	if len(raw) == 0 {
		return &ParseError{Line: line, Msg: "could not cut the RDF record out of the stream"}
	}
	own := map[string]bool{}
	for _, d := range declsOf(se) {
		own[d.prefix] = true
	}
	var extra strings.Builder
	for i := len(p.ns) - 1; i >= 0; i-- {
		for _, d := range p.ns[i] {
			if own[d.prefix] {
				continue
			}
			own[d.prefix] = true
			if d.prefix == "" {
				extra.WriteString(` xmlns="`)
			} else {
				extra.WriteString(` xmlns:` + d.prefix + `="`)
			}
			xml.EscapeText(&extra, []byte(d.uri))
			extra.WriteString(`"`)
		}
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

func (p *parser) exception(root xml.StartElement) error {
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
	space, local string
	attrs        []xml.Attr
	body         []byte
	kids         []*node
}

// tree reads the element whose start tag was just read into a node tree.
func (p *parser) tree(se xml.StartElement) (*node, error) {
	root := &node{space: se.Name.Space, local: se.Name.Local, attrs: se.Attr}
	stack := []*node{root}
	count := 1
	for len(stack) > 0 {
		tok, err := p.token()
		if err != nil {
			return nil, p.syntaxErr(err)
		}
		top := stack[len(stack)-1]
		switch t := tok.(type) {
		case xml.StartElement:
			count++
			if count > maxNodes || len(stack) >= maxDepth {
				line, _ := p.d.InputPos()
				return nil, &ParseError{Line: line, Msg: "record too large or too deeply nested"}
			}
			n := &node{space: t.Name.Space, local: t.Name.Local, attrs: t.Attr}
			top.kids = append(top.kids, n)
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			top.body = append(top.body, t...)
		}
	}
	return root, nil
}

func (n *node) attr(local string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.attrs {
		if a.Name.Local == local {
			return a.Value
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
