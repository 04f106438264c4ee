package rdf

import (
	"errors"
	"strings"
	"testing"
)

const geonetworkTheme = `<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dcat="http://www.w3.org/ns/dcat#">
<dcat:Dataset rdf:about="http://x/a">
  <dcat:theme rdf:resource="http://inspire.ec.europa.eu/theme/ef">Environmental monitoring facilities</dcat:theme>
  <dcat:theme rdf:nodeID="n1">label</dcat:theme>
</dcat:Dataset>
</rdf:RDF>`

func TestRDFXMLLenient(t *testing.T) {
	// strict: an error at the first offending element
	err := ParseRDFXML(strings.NewReader(geonetworkTheme), "", func(Triple) error { return nil })
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 4 || !strings.Contains(pe.Msg, "must be empty") {
		t.Fatalf("strict: %v", err)
	}
	// lenient: the resource kept, the text ignored, each repair reported
	var got []Triple
	var warns []*ParseError
	err = ParseRDFXMLOpts(strings.NewReader(geonetworkTheme), "", Options{Lenient: true, Warn: func(w *ParseError) { warns = append(warns, w) }},
		func(tr Triple) error { got = append(got, tr); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[1].O != (Term{Kind: IRI, Value: "http://inspire.ec.europa.eu/theme/ef"}) || got[2].O.Kind != BlankNode {
		t.Errorf("triples %v", got)
	}
	if len(warns) != 2 || warns[0].Line != 4 || warns[1].Line != 5 || !strings.Contains(warns[0].Msg, "text ignored") {
		t.Errorf("warnings %v", warns)
	}
	// lenient mode does not excuse other errors
	bad := strings.Replace(geonetworkTheme, `rdf:nodeID="n1"`, `rdf:nodeID="n1" rdf:resource="http://y"`, 1)
	if err := ParseRDFXMLOpts(strings.NewReader(bad), "", Options{Lenient: true}, func(Triple) error { return nil }); err == nil {
		t.Error("rdf:resource with rdf:nodeID accepted in lenient mode")
	}
}
