package rdf

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opendatafrance/moisson/harvester/internal/sharedtest"
)

var errFuzzStop = errors.New("fuzz handler stop")

// addSeeds adds suite files as fuzz seeds (when the shared material exists)
// plus a few inline documents.
func addSeeds(f *testing.F, suite string, files []string, inline ...string) {
	for _, s := range inline {
		f.Add([]byte(s))
	}
	dir := sharedtest.Path("w3c-rdf-tests", suite)
	if dir == "" {
		return
	}
	for _, name := range files {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
			f.Add(b)
		}
	}
}

func runFuzz(t *testing.T, data []byte, parse func([]byte, Handler) error) []Triple {
	var g []Triple
	err := parse(data, func(tr Triple) error {
		if tr.S.Kind != IRI && tr.S.Kind != BlankNode || tr.P.Kind != IRI || tr.O.Kind == 0 {
			t.Fatalf("malformed triple %#v", tr)
		}
		g = append(g, tr)
		if len(g) >= 500 {
			return errFuzzStop
		}
		return nil
	})
	var pe *ParseError
	if err != nil && err != errFuzzStop && !errors.As(err, &pe) {
		t.Fatalf("error is neither *ParseError nor the handler error: %T %v", err, err)
	}
	if pe != nil && (pe.Line < 1 || pe.Msg == "") {
		t.Fatalf("bad ParseError %#v", pe)
	}
	return g
}

func FuzzNTriples(f *testing.F) {
	addSeeds(f, "rdf-n-triples", []string{"literal_all_controls.nt", "langtagged_string.nt", "nt-syntax-bnode-03.nt", "literal_with_numeric_escape8.nt", "nt-syntax-bad-string-06.nt"},
		"<http://s> <http://p> \"x\"^^<http://d> .\n_:a <http://p> _:b .\n")
	f.Fuzz(func(t *testing.T, data []byte) {
		sameOneByteAtATime(t, "input", data, ParseNTriples)
		g := runFuzz(t, data, func(b []byte, h Handler) error { return ParseNTriples(bytes.NewReader(b), h) })
		if len(g) == 0 || len(g) >= 500 {
			return
		}
		// what we emit must be valid N-Triples describing the same graph
		var out strings.Builder
		for _, tr := range g {
			out.WriteString(tr.String() + "\n")
		}
		g2, err := collect(func(h Handler) error { return ParseNTriples(strings.NewReader(out.String()), h) })
		if err != nil {
			t.Fatalf("re-parsing our own output: %v\n%s", err, out.String())
		}
		if ok, why := isomorphic(g, g2); !ok {
			t.Fatalf("round trip changed the graph: %s", why)
		}
	})
}

func FuzzTurtle(f *testing.F) {
	addSeeds(f, "rdf-turtle", []string{"turtle-subm-27.ttl", "turtle-syntax-ln-dots.ttl", "LITERAL_LONG2_with_REVERSE_SOLIDUS.ttl", "turtle-eval-lists-05.ttl", "IRI-resolution-01.ttl", "turtle-syntax-number-11.ttl", "turtle-syntax-bad-struct-10.ttl"},
		"@prefix : <http://e/> . :s :p ( 1 2.5 -3e4 [ :q \"x\"@fr ] ) ; a :T .")
	f.Fuzz(func(t *testing.T, data []byte) {
		sameOneByteAtATime(t, "input", data, func(r io.Reader, h Handler) error {
			return ParseTurtle(r, "http://example.org/base/doc.ttl", h)
		})
		runFuzz(t, data, func(b []byte, h Handler) error {
			return ParseTurtle(bytes.NewReader(b), "http://example.org/base/doc.ttl", h)
		})
	})
}

func FuzzRDFXML(f *testing.F) {
	addSeeds(f, "rdf-xml", []string{"xml-canon/test002.rdf", "rdfms-empty-property-elements/test005.rdf", "rdf-containers-syntax-vs-schema/test004.rdf", "xmlbase/test004.rdf", "rdfms-syntax-incomplete/test004.rdf", "rdfms-rdf-id/error003.rdf"},
		`<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:e="http://e/"><e:T rdf:about="x"><e:l rdf:parseType="Collection"><e:A/></e:l></e:T></rdf:RDF>`,
		// what the tokeniser handles: declaration and charset, DOCTYPE,
		// comments, PIs, CDATA, references, normalised attribute values
		"<?xml version=\"1.0\" encoding=\"windows-1252\"?>\r\n<!DOCTYPE rdf:RDF [<!ELEMENT r ANY><!-- c -->]>\r\n"+
			`<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:e="http://e/"><!-- x --><?pi y?>`+
			"<e:T rdf:about=\"a&amp;b\" e:a=\"l\x92\xe9\n&#9;&#x20AC;\"><e:p xml:lang=\"fr\"><![CDATA[<c>&]]>&lt;\x80</e:p>"+
			`<e:q rdf:parseType="Literal"><b xmlns="http://b/" a='&quot;'>t<?p i?><!-- k --></b></e:q></e:T></rdf:RDF>`)
	f.Fuzz(func(t *testing.T, data []byte) {
		runFuzz(t, data, func(b []byte, h Handler) error {
			return ParseRDFXML(bytes.NewReader(b), "http://example.org/base/doc.rdf", h)
		})
	})
}
