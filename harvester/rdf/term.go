// Package rdf provides streaming parsers for N-Triples, Turtle and RDF/XML.
//
// All parsers emit triples through a Handler as soon as they are known and
// never build the whole graph in memory. Blank node labels are scoped per
// parse: every call allocates a fresh label prefix so that graphs produced by
// two different parses never share blank nodes by accident.
package rdf

import (
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
)

// Well known IRIs.
const (
	RDFType        = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
	XSDString      = "http://www.w3.org/2001/XMLSchema#string"
	RDFLangString  = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
	rdfNS          = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
	xsdNS          = "http://www.w3.org/2001/XMLSchema#"
	rdfFirst       = rdfNS + "first"
	rdfRest        = rdfNS + "rest"
	rdfNil         = rdfNS + "nil"
	rdfXMLLiteral  = rdfNS + "XMLLiteral"
	rdfStatement   = rdfNS + "Statement"
	rdfSubject     = rdfNS + "subject"
	rdfPredicate   = rdfNS + "predicate"
	rdfObject      = rdfNS + "object"
	xsdInteger     = xsdNS + "integer"
	xsdDecimal     = xsdNS + "decimal"
	xsdDouble      = xsdNS + "double"
	xsdBoolean     = xsdNS + "boolean"
	maxTokenSize   = 16 << 20 // 16 MiB: maximum size of a single token / literal
	maxNestingDeep = 512      // maximum nesting depth of brackets / XML elements
)

// TermKind is the kind of an RDF term.
type TermKind uint8

// Term kinds.
const (
	IRI TermKind = iota + 1
	BlankNode
	Literal
)

// Term is an RDF term. Value holds the IRI, the blank node label (without
// "_:") or the lexical form of a literal. For literals, Datatype is the
// datatype IRI (it may be empty for simple and language-tagged strings) and
// Lang the language tag.
type Term struct {
	Kind     TermKind
	Value    string
	Datatype string
	Lang     string
}

// String returns the canonical N-Triples representation of the term.
func (t Term) String() string {
	var b strings.Builder
	switch t.Kind {
	case IRI:
		b.Grow(len(t.Value) + 2)
		b.WriteByte('<')
		writeEscapedIRI(&b, t.Value)
		b.WriteByte('>')
	case BlankNode:
		b.WriteString("_:")
		b.WriteString(t.Value)
	case Literal:
		b.Grow(len(t.Value) + 2)
		b.WriteByte('"')
		writeEscapedLiteral(&b, t.Value)
		b.WriteByte('"')
		if t.Lang != "" {
			b.WriteByte('@')
			b.WriteString(t.Lang)
		} else if t.Datatype != "" && t.Datatype != XSDString {
			b.WriteString("^^<")
			writeEscapedIRI(&b, t.Datatype)
			b.WriteByte('>')
		}
	default:
		return "<invalid term>"
	}
	return b.String()
}

func writeEscapedIRI(b *strings.Builder, s string) {
	for _, r := range s {
		switch {
		case r <= 0x20, r == '<', r == '>', r == '"', r == '{', r == '}', r == '|', r == '^', r == '`', r == '\\':
			fmt.Fprintf(b, "\\u%04X", r)
		default:
			b.WriteRune(r)
		}
	}
}

func writeEscapedLiteral(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		default:
			b.WriteByte(c)
		}
	}
}

// Triple is an RDF triple.
type Triple struct{ S, P, O Term }

// String returns the triple as an N-Triples line (without newline).
func (t Triple) String() string {
	return t.S.String() + " " + t.P.String() + " " + t.O.String() + " ."
}

// Handler receives triples. A non-nil error stops parsing and is returned by
// the parse function unchanged.
type Handler func(Triple) error

// ParseError reports malformed input.
type ParseError struct {
	Syntax    string // "n-triples", "turtle" or "rdf/xml"
	Line, Col int    // 1-based position (Col counts characters)
	Msg       string
}

func (e *ParseError) Error() string {
	return e.Syntax + ": line " + strconv.Itoa(e.Line) + ", col " + strconv.Itoa(e.Col) + ": " + e.Msg
}

var parseCounter atomic.Uint64

// bnodeScope generates blank node labels unique to one parse.
type bnodeScope struct {
	prefix string // "b<N>"
	n      uint64
}

func newBnodeScope() *bnodeScope {
	return &bnodeScope{prefix: "b" + strconv.FormatUint(parseCounter.Add(1), 10)}
}

// fresh returns a new anonymous blank node.
func (s *bnodeScope) fresh() Term {
	s.n++
	return Term{Kind: BlankNode, Value: s.prefix + "-" + strconv.FormatUint(s.n, 10)}
}

// named maps a document label to a parse-scoped label.
func (s *bnodeScope) named(label string) Term {
	return Term{Kind: BlankNode, Value: s.prefix + "_" + label}
}

func iriTerm(v string) Term { return Term{Kind: IRI, Value: v} }
