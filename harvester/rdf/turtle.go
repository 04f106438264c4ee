package rdf

import (
	"io"
	"strings"
	"unicode/utf8"
)

// ParseTurtle parses a Turtle document, resolving relative IRIs against
// base, and calls h for each triple as soon as it is known.
func ParseTurtle(r io.Reader, base string, h Handler) error {
	p := &turtleParser{
		s:        newScanner(r, "turtle"),
		h:        h,
		bn:       newBnodeScope(),
		base:     base,
		prefixes: make(map[string]string),
	}
	return p.parse()
}

type turtleParser struct {
	s        *scanner
	h        Handler
	bn       *bnodeScope
	base     string
	prefixes map[string]string
	depth    int
}

func (p *turtleParser) emit(s, pr, o Term) error {
	return p.h(Triple{S: s, P: pr, O: o})
}

// ws skips white space and comments.
func (p *turtleParser) ws() error {
	s := p.s
	for {
		switch s.peek() {
		case ' ', '\t', '\n', '\r':
			s.next()
		case '#':
			for {
				c := s.peek()
				if c == '\n' || c == '\r' || c == runeEOF {
					break
				}
				if c == runeBad {
					return s.unexpected("")
				}
				s.next()
			}
		default:
			return nil
		}
	}
}

func (p *turtleParser) parse() error {
	s := p.s
	for {
		if err := p.ws(); err != nil {
			return err
		}
		c := s.peek()
		if c == runeEOF {
			if s.ioErr != nil {
				return s.unexpected("")
			}
			return nil
		}
		if c == '@' {
			if err := p.atDirective(); err != nil {
				return err
			}
			continue
		}
		if kw := p.sparqlKeyword(); kw != "" {
			if err := p.directive(kw, false); err != nil {
				return err
			}
			continue
		}
		if err := p.triples(); err != nil {
			return err
		}
		if err := p.ws(); err != nil {
			return err
		}
		if err := s.expect('.', "expected '.' at end of statement"); err != nil {
			return err
		}
	}
}

// sparqlKeyword detects case-insensitive PREFIX / BASE at statement start.
func (p *turtleParser) sparqlKeyword() string {
	s := p.s
	if !isAlpha(s.peek()) {
		return ""
	}
	var w [7]rune
	n := 0
	for n < 7 && isAlpha(s.peekAt(n)) {
		w[n] = s.peekAt(n)
		n++
	}
	if n == 7 {
		return ""
	}
	after := s.peekAt(n)
	if isPNChars(after) || after == ':' || after == '.' {
		return ""
	}
	word := strings.ToLower(string(w[:n]))
	if word == "prefix" || word == "base" {
		for i := 0; i < n; i++ {
			s.next()
		}
		return word
	}
	return ""
}

func (p *turtleParser) atDirective() error {
	s := p.s
	s.next() // '@'
	var b strings.Builder
	for isAlpha(s.peek()) && b.Len() < 16 {
		b.WriteRune(s.next())
	}
	switch b.String() {
	case "prefix":
		return p.directive("prefix", true)
	case "base":
		return p.directive("base", true)
	}
	return s.errorf("unknown directive @%s", b.String())
}

func (p *turtleParser) directive(kw string, at bool) error {
	s := p.s
	if err := p.ws(); err != nil {
		return err
	}
	if kw == "prefix" {
		prefix := ""
		if isPNCharsBase(s.peek()) {
			var err error
			if prefix, err = p.readPrefix(); err != nil {
				return err
			}
		}
		if err := s.expect(':', "expected ':' after prefix name"); err != nil {
			return err
		}
		if err := p.ws(); err != nil {
			return err
		}
		v, err := s.readIRIRef()
		if err != nil {
			return err
		}
		p.prefixes[prefix] = resolveIRI(p.base, v)
	} else {
		v, err := s.readIRIRef()
		if err != nil {
			return err
		}
		p.base = resolveIRI(p.base, v)
	}
	if at {
		if err := p.ws(); err != nil {
			return err
		}
		return s.expect('.', "expected '.' after directive")
	}
	return nil
}

// readPrefix reads PN_PREFIX (without the colon).
func (p *turtleParser) readPrefix() (string, error) {
	s := p.s
	s.buf = append(s.buf[:0], string(s.next())...)
	for {
		r := s.peek()
		if isPNChars(r) {
			s.next()
			if err := s.addRune(r); err != nil {
				return "", err
			}
			continue
		}
		if r == '.' {
			k := 1
			for s.peekAt(k) == '.' && k < maxTokenSize {
				k++
			}
			if !isPNChars(s.peekAt(k)) {
				break
			}
			for ; k > 0; k-- {
				s.next()
				s.buf = append(s.buf, '.')
			}
			continue
		}
		break
	}
	return string(s.buf), nil
}

func isLocalCont(r rune) bool {
	return isPNChars(r) || r == ':' || r == '%' || r == '\\'
}

// readPName reads a prefixed name and returns the expanded IRI.
func (p *turtleParser) readPName() (Term, error) {
	if t, ok := p.fastPName(); ok {
		return t, nil
	}
	s := p.s
	prefix := ""
	if isPNCharsBase(s.peek()) {
		var err error
		if prefix, err = p.readPrefix(); err != nil {
			return Term{}, err
		}
	}
	if s.peek() != ':' {
		if prefix != "" {
			return Term{}, s.errorf("unexpected word %q (missing ':' of a prefixed name?)", prefix)
		}
		return Term{}, s.unexpected("expected IRI, blank node or literal")
	}
	ns, ok := p.prefixes[prefix]
	if !ok {
		return Term{}, s.errorf("undefined prefix %q", prefix)
	}
	s.next() // ':'
	s.buf = append(s.buf[:0], ns...)
	first := true
	for {
		r := s.peek()
		switch {
		case r == '%':
			if !isHex(s.peekAt(1)) || !isHex(s.peekAt(2)) {
				s.next()
				return Term{}, s.unexpected("invalid percent escape in local name")
			}
			s.buf = append(s.buf, byte(s.next()), byte(s.next()), byte(s.next()))
		case r == '\\':
			s.next()
			c := s.peek()
			if c < 0 || !strings.ContainsRune("_~.-!$&'()*+,;=/?#@%", c) {
				return Term{}, s.unexpected("invalid escape in local name")
			}
			s.buf = append(s.buf, byte(s.next()))
		case r == ':' || isPNChars(r) && (!first || isPNCharsU(r) || isDigit(r)):
			s.next()
			if err := s.addRune(r); err != nil {
				return Term{}, err
			}
		case r == '.' && !first:
			k := 1
			for s.peekAt(k) == '.' && k < maxTokenSize {
				k++
			}
			if !isLocalCont(s.peekAt(k)) {
				return iriTerm(string(s.buf)), nil
			}
			for ; k > 0; k-- {
				s.next()
				s.buf = append(s.buf, '.')
			}
		default:
			return iriTerm(string(s.buf)), nil
		}
		if len(s.buf) > maxTokenSize {
			return Term{}, s.errorf("token exceeds %d bytes limit", maxTokenSize)
		}
		first = false
	}
}

// fastPName is readPName for the common shape, taken whole from the runes
// looked ahead and the read buffer: an ASCII "prefix:local" of letters,
// digits, '_' and '-', its prefix declared, ended by a byte that cannot
// continue a name. ok false: nothing is consumed.
func (p *turtleParser) fastPName() (t Term, ok bool) {
	s := p.s
	n := len(s.la) - s.head
	if n == 0 || n > 8 {
		return t, false
	}
	var ahead [8]byte
	for i, r := range s.la[s.head:] {
		if r < 0 || r >= utf8.RuneSelf {
			return t, false
		}
		ahead[i] = byte(r)
	}
	b, _ := s.br.Peek(s.br.Buffered())
	at := func(k int) (byte, bool) {
		if k < n {
			return ahead[k], true
		}
		if k -= n; k < len(b) {
			return b[k], true
		}
		return 0, false
	}
	name := func(k int) (int, bool) { // the end of a run of name bytes from k
		for {
			c, ok := at(k)
			if !ok {
				return k, false
			}
			if !isAlpha(rune(c)) && !isDigit(rune(c)) && c != '_' && c != '-' {
				return k, true
			}
			k++
		}
	}
	if c, _ := at(0); !isAlpha(rune(c)) {
		return t, false
	}
	colon, ok := name(1)
	if c, _ := at(colon); !ok || c != ':' {
		return t, false
	}
	if c, ok := at(colon + 1); !ok || c == '-' {
		return t, false
	}
	end, ok := name(colon + 1)
	if c, _ := at(end); !ok || end < n || c >= utf8.RuneSelf || c == '.' || c == ':' || c == '%' || c == '\\' {
		return t, false
	}
	var local []byte
	if colon+1 < n {
		local = append(local, ahead[colon+1:n]...)
		local = append(local, b[:end-n]...)
	} else {
		local = b[colon+1-n : end-n]
	}
	var prefix []byte
	if colon <= n {
		prefix = ahead[:colon]
	} else {
		prefix = append(ahead[:n:n], b[:colon-n]...)
	}
	ns, ok := p.prefixes[string(prefix)]
	if !ok {
		return t, false
	}
	t = iriTerm(ns + string(local))
	s.head = len(s.la)
	s.br.Discard(end - n)
	s.col += end
	return t, true
}

func (p *turtleParser) iri() (Term, error) {
	if p.s.peek() == '<' {
		v, err := p.s.readIRIRef()
		if err != nil {
			return Term{}, err
		}
		return iriTerm(resolveIRI(p.base, v)), nil
	}
	return p.readPName()
}

// keyword reports whether the bare word w starts at the current position and
// is not followed by name characters.
func (p *turtleParser) keyword(w string) bool {
	s := p.s
	for i, c := range w {
		if s.peekAt(i) != c {
			return false
		}
	}
	after := s.peekAt(len(w))
	return !isPNChars(after) && after != ':' && after != '.' || after == '.' && !isLocalCont(s.peekAt(len(w)+1))
}

func (p *turtleParser) enter() error {
	p.depth++
	if p.depth > maxNestingDeep {
		return p.s.errorf("nesting deeper than %d levels", maxNestingDeep)
	}
	return nil
}

func (p *turtleParser) triples() error {
	s := p.s
	var subj Term
	var err error
	switch c := s.peek(); c {
	case '[':
		s.next()
		if err := p.ws(); err != nil {
			return err
		}
		subj = p.bn.fresh()
		if s.peek() == ']' {
			s.next()
			if err := p.ws(); err != nil {
				return err
			}
			return p.predicateObjectList(subj)
		}
		if err := p.enter(); err != nil {
			return err
		}
		if err := p.predicateObjectList(subj); err != nil {
			return err
		}
		p.depth--
		if err := p.ws(); err != nil {
			return err
		}
		if err := s.expect(']', "expected ']'"); err != nil {
			return err
		}
		if err := p.ws(); err != nil {
			return err
		}
		if s.peek() == '.' {
			return nil
		}
		return p.predicateObjectList(subj)
	case '<':
		subj, err = p.iri()
	case '_':
		var l string
		l, err = s.readBlankLabel()
		subj = p.bn.named(l)
	case '(':
		subj, err = p.collection()
	default:
		subj, err = p.readPName()
	}
	if err != nil {
		return err
	}
	if err := p.ws(); err != nil {
		return err
	}
	return p.predicateObjectList(subj)
}

func (p *turtleParser) predicateObjectList(subj Term) error {
	s := p.s
	for {
		var pred Term
		if p.keyword("a") {
			s.next()
			pred = iriTerm(RDFType)
		} else {
			c := s.peek()
			if c != '<' && c != ':' && !isPNCharsBase(c) {
				return s.unexpected("expected predicate")
			}
			var err error
			if pred, err = p.iri(); err != nil {
				return err
			}
		}
		if err := p.ws(); err != nil {
			return err
		}
		if err := p.objectList(subj, pred); err != nil {
			return err
		}
		if err := p.ws(); err != nil {
			return err
		}
		if s.peek() != ';' {
			return nil
		}
		for s.peek() == ';' {
			s.next()
			if err := p.ws(); err != nil {
				return err
			}
		}
		if c := s.peek(); c == '.' || c == ']' || c == runeEOF {
			return nil
		}
	}
}

func (p *turtleParser) objectList(subj, pred Term) error {
	s := p.s
	for {
		o, err := p.object()
		if err != nil {
			return err
		}
		if err := p.emit(subj, pred, o); err != nil {
			return err
		}
		if err := p.ws(); err != nil {
			return err
		}
		if s.peek() != ',' {
			return nil
		}
		s.next()
		if err := p.ws(); err != nil {
			return err
		}
	}
}

func (p *turtleParser) collection() (Term, error) {
	s := p.s
	s.next() // '('
	if err := p.enter(); err != nil {
		return Term{}, err
	}
	head := iriTerm(rdfNil)
	var prev Term
	for {
		if err := p.ws(); err != nil {
			return Term{}, err
		}
		if s.peek() == ')' {
			s.next()
			break
		}
		o, err := p.object()
		if err != nil {
			return Term{}, err
		}
		node := p.bn.fresh()
		if prev.Kind == 0 {
			head = node
		} else if err := p.emit(prev, iriTerm(rdfRest), node); err != nil {
			return Term{}, err
		}
		if err := p.emit(node, iriTerm(rdfFirst), o); err != nil {
			return Term{}, err
		}
		prev = node
	}
	if prev.Kind != 0 {
		if err := p.emit(prev, iriTerm(rdfRest), iriTerm(rdfNil)); err != nil {
			return Term{}, err
		}
	}
	p.depth--
	return head, nil
}

func (p *turtleParser) object() (Term, error) {
	s := p.s
	switch c := s.peek(); {
	case c == '<':
		return p.iri()
	case c == '_':
		l, err := s.readBlankLabel()
		return p.bn.named(l), err
	case c == '(':
		return p.collection()
	case c == '[':
		s.next()
		if err := p.ws(); err != nil {
			return Term{}, err
		}
		b := p.bn.fresh()
		if s.peek() == ']' {
			s.next()
			return b, nil
		}
		if err := p.enter(); err != nil {
			return Term{}, err
		}
		if err := p.predicateObjectList(b); err != nil {
			return Term{}, err
		}
		p.depth--
		if err := p.ws(); err != nil {
			return Term{}, err
		}
		return b, s.expect(']', "expected ']' at end of blank node property list")
	case c == '"' || c == '\'':
		return p.literal()
	case isDigit(c) || c == '+' || c == '-' || c == '.' && isDigit(s.peekAt(1)):
		return p.number()
	case p.keyword("true"):
		for range 4 {
			s.next()
		}
		return Term{Kind: Literal, Value: "true", Datatype: xsdBoolean}, nil
	case p.keyword("false"):
		for range 5 {
			s.next()
		}
		return Term{Kind: Literal, Value: "false", Datatype: xsdBoolean}, nil
	case c == ':' || isPNCharsBase(c):
		return p.readPName()
	}
	return Term{}, s.unexpected("expected object")
}

func (p *turtleParser) literal() (Term, error) {
	s := p.s
	v, err := s.readString(true)
	if err != nil {
		return Term{}, err
	}
	t := Term{Kind: Literal, Value: v, Datatype: XSDString}
	switch s.peek() {
	case '@':
		t.Lang, err = s.readLangTag()
		t.Datatype = RDFLangString
	case '^':
		s.next()
		if err := s.expect('^', "expected '^^'"); err != nil {
			return Term{}, err
		}
		var dt Term
		c := s.peek()
		if c != '<' && c != ':' && !isPNCharsBase(c) {
			return Term{}, s.unexpected("expected datatype IRI")
		}
		dt, err = p.iri()
		t.Datatype = dt.Value
	}
	return t, err
}

func isExpStart(s *scanner, k int) bool {
	c := s.peekAt(k)
	if c != 'e' && c != 'E' {
		return false
	}
	c = s.peekAt(k + 1)
	if c == '+' || c == '-' {
		c = s.peekAt(k + 2)
	}
	return isDigit(c)
}

func (p *turtleParser) number() (Term, error) {
	s := p.s
	s.buf = s.buf[:0]
	if c := s.peek(); c == '+' || c == '-' {
		s.buf = append(s.buf, byte(s.next()))
	}
	digits := 0
	for isDigit(s.peek()) && len(s.buf) <= maxTokenSize {
		s.buf = append(s.buf, byte(s.next()))
		digits++
	}
	dt := xsdInteger
	if s.peek() == '.' && (isDigit(s.peekAt(1)) || digits > 0 && isExpStart(s, 1)) {
		dt = xsdDecimal
		s.buf = append(s.buf, byte(s.next()))
		for isDigit(s.peek()) && len(s.buf) <= maxTokenSize {
			s.buf = append(s.buf, byte(s.next()))
			digits++
		}
	}
	if digits == 0 {
		return Term{}, s.unexpected("expected digits in number")
	}
	if isExpStart(s, 0) {
		dt = xsdDouble
		s.buf = append(s.buf, byte(s.next()))
		if c := s.peek(); c == '+' || c == '-' {
			s.buf = append(s.buf, byte(s.next()))
		}
		for isDigit(s.peek()) && len(s.buf) <= maxTokenSize {
			s.buf = append(s.buf, byte(s.next()))
		}
	}
	if len(s.buf) > maxTokenSize {
		return Term{}, s.errorf("token exceeds %d bytes limit", maxTokenSize)
	}
	return Term{Kind: Literal, Value: string(s.buf), Datatype: dt}, nil
}
