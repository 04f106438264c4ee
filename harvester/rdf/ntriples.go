package rdf

import "io"

// ParseNTriples parses an N-Triples document and calls h for each triple.
func ParseNTriples(r io.Reader, h Handler) error {
	s := newScanner(r, "n-triples")
	bn := newBnodeScope()
	ws := func() {
		for c := s.peek(); c == ' ' || c == '\t'; c = s.peek() {
			s.next()
		}
	}
	iri := func() (Term, error) {
		v, err := s.readIRIRef()
		if err != nil {
			return Term{}, err
		}
		if !isAbsoluteIRI(v) {
			return Term{}, s.errorf("relative IRI <%s> not allowed in N-Triples", v)
		}
		return iriTerm(v), nil
	}
	for {
		ws()
		switch c := s.peek(); c {
		case runeEOF:
			if s.ioErr != nil {
				return s.unexpected("")
			}
			return nil
		case '#':
			for c := s.peek(); c != '\n' && c != '\r'; c = s.peek() {
				if c < 0 {
					if c == runeEOF && s.ioErr == nil {
						return nil
					}
					return s.unexpected("in comment")
				}
				s.next()
			}
			continue
		case '\n', '\r':
			s.next()
			continue
		}
		var t Triple
		var err error
		switch s.peek() {
		case '<':
			t.S, err = iri()
		case '_':
			var l string
			l, err = s.readBlankLabel()
			t.S = bn.named(l)
		default:
			return s.unexpected("expected subject IRI or blank node")
		}
		if err != nil {
			return err
		}
		ws()
		if s.peek() != '<' {
			return s.unexpected("expected predicate IRI")
		}
		if t.P, err = iri(); err != nil {
			return err
		}
		ws()
		switch s.peek() {
		case '<':
			t.O, err = iri()
		case '_':
			var l string
			l, err = s.readBlankLabel()
			t.O = bn.named(l)
		case '"':
			var v string
			if v, err = s.readString(false); err != nil {
				return err
			}
			t.O = Term{Kind: Literal, Value: v, Datatype: XSDString}
			switch s.peek() {
			case '@':
				t.O.Lang, err = s.readLangTag()
				t.O.Datatype = RDFLangString
			case '^':
				s.next()
				if err = s.expect('^', "expected '^^'"); err != nil {
					return err
				}
				var dt Term
				dt, err = iri()
				t.O.Datatype = dt.Value
			}
		default:
			return s.unexpected("expected object")
		}
		if err != nil {
			return err
		}
		ws()
		if err := s.expect('.', "expected '.' at end of triple"); err != nil {
			return err
		}
		ws()
		switch c := s.peek(); c {
		case '#', '\n', '\r', runeEOF:
		default:
			return s.unexpected("expected end of line after triple")
		}
		if err := h(t); err != nil {
			return err
		}
	}
}
