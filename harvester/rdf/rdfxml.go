package rdf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/opendatafrance/moisson/harvester/xmltok"
)

const xmlNS = "http://www.w3.org/XML/1998/namespace"

type nsBinding struct{ prefix, uri string }

type frameKind uint8

const (
	fRDF        frameKind = iota + 1 // rdf:RDF: children are node elements
	fNode                            // node element or parseType=Resource: children are property elements
	fProp                            // property element without parseType (content not yet known)
	fCollection                      // parseType=Collection
	fLiteral                         // parseType=Literal property element or element inside the literal
)

type xattr struct {
	prefix, ns, local, value string
}

type xframe struct {
	kind   frameKind
	name   xmltok.Name // raw (prefix, local) to check the end tag
	nsMark int
	base   string
	lang   string
	subj   Term // fNode: subject; fProp/fCollection/fLiteral: subject of the triple
	pred   Term
	li     int
	reify  string // rdf:ID of a property element (resolved), or ""
	// fProp: the text is p.tbuf[textStart:] while the frame is on top
	textStart   int
	hasChild    bool
	childDone   bool
	datatype    string
	hasDatatype bool
	object      Term // rdf:resource / rdf:nodeID object
	pattrs      []xattr
	// fCollection
	prev Term
	// fLiteral
	litTop  bool // the property element itself (not an element inside the literal)
	litMark int
}

// Options tune the RDF/XML parser. The zero value is the strict,
// W3C-conformant parser.
type Options struct {
	// Lenient accepts what real catalogues emit although the RDF/XML
	// grammar forbids it, and reports each such repair to Warn instead of
	// failing. Repairs: a property element with rdf:resource or rdf:nodeID
	// that also holds text (GeoNetwork writes
	// <dcat:theme rdf:resource="...">label</dcat:theme>): the resource is
	// kept, the text ignored.
	Lenient bool
	// Warn receives the repairs of lenient mode (position and reason). May be nil.
	Warn func(*ParseError)
}

type xmlParser struct {
	opt  Options
	z    *xmltok.Tokenizer
	h    Handler
	bn   *bnodeScope
	base string
	ns   []nsBinding
	// nsStamp changes with ns (it starts at 1, Entry.Stamp's zero being
	// never current); memo is lookupNS's last answer, valid at its stamp.
	nsStamp uint64
	memo    struct {
		prefix, uri string
		stamp       uint64
	}
	stack  []xframe
	ids    map[string]struct{}
	lit    []byte      // XML literal under construction
	litNS  []nsBinding // namespaces rendered in the literal
	attrs  []xattr
	seenEl bool
	tbuf   []byte            // text of the open property elements
	strs   map[string]string // interned namespace names, languages, datatypes...
}

// maxInterned bounds the string tables of the parser; past it a table
// starts over.
const maxInterned = 1 << 12

func (p *xmlParser) intern(b []byte) string {
	if s, ok := p.strs[string(b)]; ok {
		return s
	}
	if len(p.strs) >= maxInterned {
		clear(p.strs)
	}
	s := string(b)
	p.strs[s] = s
	return s
}

// ParseRDFXML parses an RDF/XML document, resolving relative IRIs against
// base (and xml:base), and calls h for each triple as soon as it is known.
// The document is streamed token by token: memory use does not depend on the
// document size (apart from the set of rdf:ID values, which must be unique).
func ParseRDFXML(r io.Reader, base string, h Handler) error {
	return ParseRDFXMLOpts(r, base, Options{}, h)
}

// ParseRDFXMLOpts is ParseRDFXML with options (lenient mode).
func ParseRDFXMLOpts(r io.Reader, base string, opt Options, h Handler) error {
	p := &xmlParser{opt: opt, z: xmltok.New(r), h: h, bn: newBnodeScope(), base: base,
		strs: map[string]string{}, nsStamp: 1}
	return p.parse()
}

// warn reports a lenient repair.
func (p *xmlParser) warn(format string, args ...any) {
	if p.opt.Warn != nil {
		p.opt.Warn(p.errorf(format, args...))
	}
}

func (p *xmlParser) errorf(format string, args ...any) *ParseError {
	line, col := p.z.Position()
	return &ParseError{Syntax: "rdf/xml", Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

func (p *xmlParser) emit(s, pr, o Term) error { return p.h(Triple{S: s, P: pr, O: o}) }

func (p *xmlParser) parse() error {
	z := p.z
	for {
		kind, err := z.Next()
		if err != nil {
			var se *xmltok.SyntaxError
			if errors.As(err, &se) {
				return &ParseError{Syntax: "rdf/xml", Line: se.Line, Col: se.Col, Msg: se.Msg}
			}
			return err
		}
		switch kind {
		case xmltok.EOF:
			if len(p.stack) > 0 {
				return p.errorf("unexpected end of input: element <%s> not closed", p.stack[len(p.stack)-1].name.String())
			}
			if !p.seenEl {
				return p.errorf("no root element")
			}
			return nil
		case xmltok.Start:
			err = p.start()
			if err == nil && z.SelfClose {
				err = p.end(z.Name)
			}
		case xmltok.End:
			err = p.end(z.Name)
		case xmltok.CharData:
			err = p.text(z.Text)
		case xmltok.ProcInst:
			if len(p.stack) > 0 && p.stack[len(p.stack)-1].kind == fLiteral {
				p.lit = append(p.lit, "<?"...)
				p.lit = append(p.lit, z.Name.Local...)
				if len(z.Text) > 0 {
					p.lit = append(p.lit, ' ')
					p.lit = append(p.lit, z.Text...)
				}
				p.lit = append(p.lit, "?>"...)
			}
		case xmltok.Directive:
			if bytes.Contains(z.Text, []byte("ENTITY")) {
				return p.errorf("DTD entity declarations are not supported (refusing to expand custom entities)")
			}
		}
		if err != nil {
			return err
		}
	}
}

func (p *xmlParser) lookupNS(prefix string) (string, bool) {
	if prefix == "xml" {
		return xmlNS, true
	}
	if p.memo.stamp == p.nsStamp && p.memo.prefix == prefix {
		return p.memo.uri, true
	}
	for i := len(p.ns) - 1; i >= 0; i-- {
		if p.ns[i].prefix == prefix {
			p.memo.prefix, p.memo.uri, p.memo.stamp = prefix, p.ns[i].uri, p.nsStamp
			return p.ns[i].uri, true
		}
	}
	return "", prefix == ""
}

func (p *xmlParser) top() *xframe {
	if len(p.stack) == 0 {
		return nil
	}
	return &p.stack[len(p.stack)-1]
}

func (p *xmlParser) start() error {
	z := p.z
	if len(p.stack) >= maxNestingDeep {
		return p.errorf("XML nesting deeper than %d levels", maxNestingDeep)
	}
	if len(p.stack) == 0 && p.seenEl {
		return p.errorf("more than one root element")
	}
	p.seenEl = true
	nsMark := len(p.ns)
	for i := range z.Attrs {
		a := &z.Attrs[i]
		prefix, ok := a.Name.NSDecl()
		if !ok {
			continue
		}
		if a.Name.Prefix == "xmlns" { // xmlns:prefix
			if prefix == "xml" || prefix == "xmlns" {
				continue
			}
			if len(z.Value(a)) == 0 {
				return p.errorf("empty namespace name for prefix %q", prefix)
			}
		}
		p.ns = append(p.ns, nsBinding{prefix, p.intern(z.Value(a))})
	}
	if len(p.ns) != nsMark {
		p.nsStamp++
	}
	parent := p.top()
	base, lang := p.base, ""
	if parent != nil {
		base, lang = parent.base, parent.lang
	}
	// Resolve attributes.
	p.attrs = p.attrs[:0]
	for i := range z.Attrs {
		a := &z.Attrs[i]
		if _, decl := a.Name.NSDecl(); decl {
			continue
		}
		ns, ok := p.lookupNS(a.Name.Prefix)
		if !ok {
			return p.errorf("undeclared namespace prefix %q in attribute %s", a.Name.Prefix, a.Name.String())
		}
		if a.Name.Prefix == "" {
			ns = ""
		}
		var value string
		switch {
		case ns == xmlNS:
			switch a.Name.Local {
			case "base":
				value = string(z.Value(a))
				base = resolveIRI(base, value)
				if i := strings.IndexByte(base, '#'); i >= 0 {
					base = base[:i]
				}
			case "lang":
				value = p.intern(z.Value(a))
				lang = value
			default:
				value = string(z.Value(a))
			}
		case ns == rdfNS && (a.Name.Local == "datatype" || a.Name.Local == "parseType"):
			value = p.intern(z.Value(a)) // a handful of values, on many elements
		default:
			value = string(z.Value(a))
		}
		p.attrs = append(p.attrs, xattr{prefix: a.Name.Prefix, ns: ns, local: a.Name.Local, value: value})
	}
	name := z.Name
	e := z.Entry
	elNS := e.NS
	if e.Stamp != p.nsStamp {
		var ok bool
		if elNS, ok = p.lookupNS(name.Prefix); !ok {
			return p.errorf("undeclared namespace prefix %q in element <%s>", name.Prefix, name.String())
		}
		e.NS, e.URI, e.Stamp = elNS, elNS+name.Local, p.nsStamp
	}
	// The frame is built in place on the stack (it is large: copying it
	// was a tenth of a catalogue's parse); parent moves with the stack.
	p.stack = append(p.stack, xframe{name: name, nsMark: nsMark, base: base, lang: lang, textStart: len(p.tbuf)})
	f := &p.stack[len(p.stack)-1]
	if parent != nil {
		parent = &p.stack[len(p.stack)-2]
	}
	if parent != nil && parent.kind == fLiteral {
		return p.literalStart(f, name, elNS)
	}
	if elNS == "" {
		return p.errorf("element <%s> has no namespace", name.String())
	}
	uri := e.URI
	if parent == nil && uri == rdfNS+"RDF" {
		for _, a := range p.attrs {
			if a.ns == rdfNS {
				return p.errorf("attribute rdf:%s not allowed on rdf:RDF", a.local)
			}
		}
		f.kind = fRDF
		return nil
	}
	if parent == nil || parent.kind == fRDF || parent.kind == fProp || parent.kind == fCollection {
		subj, err := p.nodeElement(f, uri)
		if err != nil {
			return err
		}
		if parent != nil {
			if err := p.linkChild(parent, subj); err != nil {
				return err
			}
		}
		return nil
	}
	// parent is fNode: this is a property element
	return p.propertyElement(f, parent, uri)
}

// linkChild connects a node element to its parent property element.
func (p *xmlParser) linkChild(parent *xframe, subj Term) error {
	switch parent.kind {
	case fProp:
		if parent.hasChild {
			return p.errorf("property element <%s> has more than one node element", parent.name.String())
		}
		if len(bytes.TrimSpace(p.tbuf[parent.textStart:])) > 0 {
			return p.errorf("property element <%s> mixes text and elements", parent.name.String())
		}
		if parent.object.Kind != 0 || len(parent.pattrs) > 0 || parent.hasDatatype {
			return p.errorf("property element <%s> with rdf:resource, rdf:nodeID, rdf:datatype or property attributes must be empty", parent.name.String())
		}
		parent.hasChild = true
		return p.emitReified(parent.subj, parent.pred, subj, parent.reify)
	case fCollection:
		node := p.bn.fresh()
		if parent.prev.Kind == 0 {
			if err := p.emitReified(parent.subj, parent.pred, node, parent.reify); err != nil {
				return err
			}
		} else if err := p.emit(parent.prev, iriTerm(rdfRest), node); err != nil {
			return err
		}
		parent.prev = node
		return p.emit(node, iriTerm(rdfFirst), subj)
	}
	return nil
}

func (p *xmlParser) emitReified(s, pr, o Term, id string) error {
	if err := p.emit(s, pr, o); err != nil {
		return err
	}
	if id == "" {
		return nil
	}
	r := iriTerm(id)
	if err := p.emit(r, iriTerm(RDFType), iriTerm(rdfStatement)); err != nil {
		return err
	}
	if err := p.emit(r, iriTerm(rdfSubject), s); err != nil {
		return err
	}
	if err := p.emit(r, iriTerm(rdfPredicate), pr); err != nil {
		return err
	}
	return p.emit(r, iriTerm(rdfObject), o)
}

func isCoreSyntaxTerm(local string) bool {
	switch local {
	case "RDF", "ID", "about", "parseType", "resource", "nodeID", "datatype":
		return true
	}
	return false
}

func isOldTerm(local string) bool {
	return local == "aboutEach" || local == "aboutEachPrefix" || local == "bagID"
}

func isNCName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == '_' || unicode.IsLetter(r) {
			continue
		}
		if i > 0 && (r == '.' || r == '-' || unicode.IsDigit(r) || r == 0xB7 ||
			unicode.In(r, unicode.Mn, unicode.Mc, unicode.Nl, unicode.Lm)) {
			continue
		}
		return false
	}
	return true
}

// rdfAttr returns the rdf: local name of an attribute (mapping the legacy
// unqualified forms), or "" if it is not an RDF syntax attribute.
func rdfAttr(a *xattr) string {
	if a.ns == rdfNS {
		return a.local
	}
	return ""
}

func (p *xmlParser) checkID(id, base string) (string, error) {
	if !isNCName(id) {
		return "", p.errorf("rdf:ID %q is not a valid XML NCName", id)
	}
	iri := resolveIRI(base, "#"+id)
	if p.ids == nil {
		p.ids = make(map[string]struct{})
	}
	if _, dup := p.ids[iri]; dup {
		return "", p.errorf("rdf:ID %q used twice with the same base", id)
	}
	p.ids[iri] = struct{}{}
	return iri, nil
}

func (p *xmlParser) literalFor(value, lang string) Term {
	if lang != "" {
		return Term{Kind: Literal, Value: value, Lang: lang, Datatype: RDFLangString}
	}
	return Term{Kind: Literal, Value: value, Datatype: XSDString}
}

func (p *xmlParser) nodeElement(f *xframe, uri string) (Term, error) {
	if strings.HasPrefix(uri, rdfNS) {
		l := uri[len(rdfNS):]
		if isCoreSyntaxTerm(l) || l == "li" || isOldTerm(l) {
			return Term{}, p.errorf("rdf:%s is not allowed as a node element", l)
		}
	}
	var subj Term
	set := 0
	for i := range p.attrs {
		a := &p.attrs[i]
		switch rdfAttr(a) {
		case "ID":
			iri, err := p.checkID(a.value, f.base)
			if err != nil {
				return Term{}, err
			}
			subj = iriTerm(iri)
			set++
		case "nodeID":
			if !isNCName(a.value) {
				return Term{}, p.errorf("rdf:nodeID %q is not a valid XML NCName", a.value)
			}
			subj = p.bn.named(a.value)
			set++
		case "about":
			subj = iriTerm(resolveIRI(f.base, a.value))
			set++
		}
	}
	if set > 1 {
		return Term{}, p.errorf("at most one of rdf:ID, rdf:about and rdf:nodeID is allowed on a node element")
	}
	if set == 0 {
		subj = p.bn.fresh()
	}
	f.kind = fNode
	f.subj = subj
	if uri != rdfNS+"Description" {
		if err := p.emit(subj, iriTerm(RDFType), iriTerm(uri)); err != nil {
			return Term{}, err
		}
	}
	for i := range p.attrs {
		a := &p.attrs[i]
		if err := p.propertyAttr(subj, a, f); err != nil {
			return Term{}, err
		}
	}
	return subj, nil
}

// propertyAttr emits the triple of a property attribute; RDF syntax
// attributes other than rdf:type are skipped (or rejected when illegal).
func (p *xmlParser) propertyAttr(subj Term, a *xattr, f *xframe) error {
	if a.ns == "" || a.ns == xmlNS || strings.HasPrefix(strings.ToLower(a.local), "xml") && a.ns == "" {
		return nil
	}
	if a.ns == rdfNS {
		switch l := a.local; {
		case l == "ID" || l == "about" || l == "nodeID":
			return nil
		case l == "type":
			return p.emit(subj, iriTerm(RDFType), iriTerm(resolveIRI(f.base, a.value)))
		case isCoreSyntaxTerm(l) || l == "li" || l == "Description" || isOldTerm(l):
			return p.errorf("rdf:%s is not allowed as an attribute here", l)
		}
	}
	return p.emit(subj, iriTerm(a.ns+a.local), p.literalFor(a.value, f.lang))
}

// propertyElement fills f, the frame pushed for a property element.
func (p *xmlParser) propertyElement(f *xframe, parent *xframe, uri string) error {
	if parent.kind != fNode {
		return p.errorf("unexpected element <%s>", f.name.String())
	}
	if strings.HasPrefix(uri, rdfNS) {
		l := uri[len(rdfNS):]
		if isCoreSyntaxTerm(l) || l == "Description" || isOldTerm(l) {
			return p.errorf("rdf:%s is not allowed as a property element", l)
		}
		if l == "li" {
			parent.li++
			uri = rdfNS + "_" + strconv.Itoa(parent.li)
		}
	}
	f.subj = parent.subj
	f.pred = iriTerm(uri)
	parseType := ""
	hasParseType := false
	hasResource := false
	for i := range p.attrs {
		a := &p.attrs[i]
		if a.ns != rdfNS {
			if a.ns != "" && a.ns != xmlNS {
				f.pattrs = append(f.pattrs, *a)
			}
			continue
		}
		switch a.local {
		case "ID":
			iri, err := p.checkID(a.value, f.base)
			if err != nil {
				return err
			}
			f.reify = iri
		case "parseType":
			parseType, hasParseType = a.value, true
		case "resource":
			if f.object.Kind != 0 {
				return p.errorf("rdf:resource and rdf:nodeID cannot be used together")
			}
			f.object = iriTerm(resolveIRI(f.base, a.value))
			hasResource = true
		case "nodeID":
			if f.object.Kind != 0 {
				return p.errorf("rdf:resource and rdf:nodeID cannot be used together")
			}
			if !isNCName(a.value) {
				return p.errorf("rdf:nodeID %q is not a valid XML NCName", a.value)
			}
			f.object = p.bn.named(a.value)
		case "datatype":
			f.datatype, f.hasDatatype = resolveIRI(f.base, a.value), true
		case "type":
			f.pattrs = append(f.pattrs, *a)
		default:
			return p.errorf("rdf:%s is not allowed as an attribute of a property element", a.local)
		}
	}
	_ = hasResource
	if hasParseType {
		if f.object.Kind != 0 || f.hasDatatype || len(f.pattrs) > 0 {
			return p.errorf("rdf:parseType cannot be combined with rdf:resource, rdf:nodeID, rdf:datatype or property attributes")
		}
		switch parseType {
		case "Resource":
			n := p.bn.fresh()
			if err := p.emitReified(f.subj, f.pred, n, f.reify); err != nil {
				return err
			}
			f.kind = fNode
			f.subj = n
			f.reify = ""
		case "Collection":
			f.kind = fCollection
		default: // "Literal" and any other value
			f.kind = fLiteral
			f.litTop = true
			p.lit = p.lit[:0]
			p.litNS = p.litNS[:0]
		}
	} else {
		f.kind = fProp
		if f.hasDatatype && (f.object.Kind != 0 || len(f.pattrs) > 0) {
			return p.errorf("rdf:datatype cannot be combined with rdf:resource, rdf:nodeID or property attributes")
		}
	}
	return nil
}

func (p *xmlParser) text(t []byte) error {
	f := p.top()
	if f == nil {
		return nil
	}
	switch f.kind {
	case fProp:
		if f.hasChild && len(bytes.TrimSpace(t)) > 0 {
			return p.errorf("property element <%s> mixes text and elements", f.name.String())
		}
		if len(p.tbuf)-f.textStart+len(t) > maxTokenSize {
			return p.errorf("literal exceeds %d bytes limit", maxTokenSize)
		}
		p.tbuf = append(p.tbuf, t...)
	case fLiteral:
		if len(p.lit)+len(t) > maxTokenSize {
			return p.errorf("XML literal exceeds %d bytes limit", maxTokenSize)
		}
		p.lit = appendEscapedText(p.lit, t)
	default:
		if len(bytes.TrimSpace(t)) > 0 {
			return p.errorf("unexpected text %q in <%s>", truncate(string(bytes.TrimSpace(t)), 40), f.name.String())
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func (p *xmlParser) end(name xmltok.Name) error {
	f := p.top()
	if f == nil || f.name != name {
		return p.errorf("unexpected end element </%s>", name.String())
	}
	var err error
	switch f.kind {
	case fProp:
		err = p.endProp(f)
	case fCollection:
		if f.prev.Kind == 0 {
			err = p.emitReified(f.subj, f.pred, iriTerm(rdfNil), f.reify)
		} else {
			err = p.emit(f.prev, iriTerm(rdfRest), iriTerm(rdfNil))
		}
	case fLiteral:
		if f.litTop {
			o := Term{Kind: Literal, Value: string(p.lit), Datatype: rdfXMLLiteral}
			err = p.emitReified(f.subj, f.pred, o, f.reify)
		} else {
			p.lit = append(p.lit, "</"...)
			p.lit = append(p.lit, f.name.String()...)
			p.lit = append(p.lit, '>')
			p.litNS = p.litNS[:f.litMark]
		}
	}
	if len(p.ns) != f.nsMark {
		p.ns = p.ns[:f.nsMark]
		p.nsStamp++
	}
	p.tbuf = p.tbuf[:f.textStart]
	p.stack = p.stack[:len(p.stack)-1]
	return err
}

func (p *xmlParser) endProp(f *xframe) error {
	if f.hasChild {
		return nil
	}
	text := p.tbuf[f.textStart:]
	if f.object.Kind != 0 || len(f.pattrs) > 0 {
		if len(text) > 0 {
			if !p.opt.Lenient || f.object.Kind == 0 {
				return p.errorf("property element <%s> with rdf:resource, rdf:nodeID or property attributes must be empty", f.name.String())
			}
			p.warn("property element <%s> has rdf:resource and text %q: text ignored", f.name.String(), truncate(strings.TrimSpace(string(text)), 40))
		}
		o := f.object
		if o.Kind == 0 {
			o = p.bn.fresh()
		}
		if err := p.emitReified(f.subj, f.pred, o, f.reify); err != nil {
			return err
		}
		for i := range f.pattrs {
			if err := p.propertyAttr(o, &f.pattrs[i], f); err != nil {
				return err
			}
		}
		return nil
	}
	var o Term
	if f.hasDatatype {
		o = Term{Kind: Literal, Value: string(text), Datatype: f.datatype}
	} else {
		o = p.literalFor(string(text), f.lang)
	}
	return p.emitReified(f.subj, f.pred, o, f.reify)
}

// literalStart renders a start tag inside an rdf:parseType="Literal" value in
// exclusive canonical XML form; f is its frame, pushed.
func (p *xmlParser) literalStart(f *xframe, name xmltok.Name, elNS string) error {
	f.kind = fLiteral
	f.litMark = len(p.litNS)
	// namespace declarations visibly utilized by the element and attributes
	var decls []nsBinding
	need := func(prefix, uri string) {
		if prefix == "xml" {
			return
		}
		for _, d := range decls {
			if d.prefix == prefix {
				return
			}
		}
		rendered, found := "", false
		for i := len(p.litNS) - 1; i >= 0; i-- {
			if p.litNS[i].prefix == prefix {
				rendered, found = p.litNS[i].uri, true
				break
			}
		}
		if prefix == "" {
			if rendered != uri {
				decls = append(decls, nsBinding{"", uri})
			}
			return
		}
		if !found || rendered != uri {
			decls = append(decls, nsBinding{prefix, uri})
		}
	}
	need(name.Prefix, elNS)
	for _, a := range p.attrs {
		if a.prefix != "" {
			need(a.prefix, a.ns)
		}
	}
	sort.Slice(decls, func(i, j int) bool { return decls[i].prefix < decls[j].prefix })
	attrs := append([]xattr(nil), p.attrs...)
	sort.Slice(attrs, func(i, j int) bool {
		if attrs[i].ns != attrs[j].ns {
			return attrs[i].ns < attrs[j].ns
		}
		return attrs[i].local < attrs[j].local
	})
	b := p.lit
	b = append(b, '<')
	b = append(b, name.String()...)
	for _, d := range decls {
		if d.prefix == "" {
			b = append(b, " xmlns=\""...)
		} else {
			b = append(b, " xmlns:"...)
			b = append(b, d.prefix...)
			b = append(b, "=\""...)
		}
		b = appendEscapedAttr(b, d.uri)
		b = append(b, '"')
	}
	for _, a := range attrs {
		b = append(b, ' ')
		if a.prefix != "" {
			b = append(b, a.prefix...)
			b = append(b, ':')
		}
		b = append(b, a.local...)
		b = append(b, "=\""...)
		b = appendEscapedAttr(b, a.value)
		b = append(b, '"')
	}
	b = append(b, '>')
	if len(b) > maxTokenSize {
		return p.errorf("XML literal exceeds %d bytes limit", maxTokenSize)
	}
	p.lit = b
	p.litNS = append(p.litNS, decls...)
	return nil
}

func appendEscapedText(b, s []byte) []byte {
	for _, c := range s {
		switch c {
		case '&':
			b = append(b, "&amp;"...)
		case '<':
			b = append(b, "&lt;"...)
		case '>':
			b = append(b, "&gt;"...)
		case '\r':
			b = append(b, "&#xD;"...)
		default:
			b = append(b, c)
		}
	}
	return b
}

func appendEscapedAttr(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '&':
			b = append(b, "&amp;"...)
		case '<':
			b = append(b, "&lt;"...)
		case '"':
			b = append(b, "&quot;"...)
		case '\t':
			b = append(b, "&#x9;"...)
		case '\n':
			b = append(b, "&#xA;"...)
		case '\r':
			b = append(b, "&#xD;"...)
		default:
			b = append(b, c)
		}
	}
	return b
}
