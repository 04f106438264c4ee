package dcat

import (
	"slices"
	"strings"
	"testing"

	"github.com/opendatafrance/moisson/harvester/source"
)

// Every dct:identifier, adms:identifier (with its skos:notation) and
// owl:sameAs of a dataset lands in Dataset.identifiers, in RDF/XML as in
// Turtle (the streaming assembler keeps those predicates).
func TestIdentifiers(t *testing.T) {
	ttl := `@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
@prefix adms: <http://www.w3.org/ns/adms#> . @prefix skos: <http://www.w3.org/2004/02/skos/core#> . @prefix owl: <http://www.w3.org/2002/07/owl#> .
<https://geo.example.fr/records/1> a dcat:Dataset ; dct:title "Arbres" ;
  dct:identifier "fr-120066022-ldd-56fce164-04b2-41ae-be87-9f256f39dd44", "https://data.example.fr/dataset/arbres" ;
  adms:identifier [ a adms:Identifier ; skos:notation "ARB-2024" ] ;
  owl:sameAs <https://www.data.gouv.fr/datasets/arbres/> .
`
	rdfxml := `<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dcat="http://www.w3.org/ns/dcat#" xmlns:dct="http://purl.org/dc/terms/"
  xmlns:adms="http://www.w3.org/ns/adms#" xmlns:skos="http://www.w3.org/2004/02/skos/core#" xmlns:owl="http://www.w3.org/2002/07/owl#">
  <dcat:Dataset rdf:about="https://geo.example.fr/records/1">
    <dct:title>Arbres</dct:title>
    <dct:identifier>fr-120066022-ldd-56fce164-04b2-41ae-be87-9f256f39dd44</dct:identifier>
    <dct:identifier>https://data.example.fr/dataset/arbres</dct:identifier>
    <adms:identifier><adms:Identifier><skos:notation>ARB-2024</skos:notation></adms:Identifier></adms:identifier>
    <owl:sameAs rdf:resource="https://www.data.gouv.fr/datasets/arbres/"/>
  </dcat:Dataset>
</rdf:RDF>`
	want := []string{"https://data.example.fr/dataset/arbres", "ARB-2024", "https://www.data.gouv.fr/datasets/arbres/"}
	for _, c := range []struct{ syntax, doc string }{{Turtle, ttl}, {RDFXML, rdfxml}} {
		var recs []source.Record
		if _, err := Read(strings.NewReader(c.doc), c.syntax, "", func(r source.Record) error { recs = append(recs, r); return nil }, nil); err != nil {
			t.Fatalf("%s: %v", c.syntax, err)
		}
		if len(recs) != 1 {
			t.Fatalf("%s: %d records", c.syntax, len(recs))
		}
		d := recs[0].Dataset
		if d.GetOriginalId() != "fr-120066022-ldd-56fce164-04b2-41ae-be87-9f256f39dd44" {
			t.Errorf("%s: original id %q", c.syntax, d.GetOriginalId())
		}
		got := slices.Clone(d.GetIdentifiers())
		if !slices.Equal(got, want) {
			t.Errorf("%s: identifiers %q, want %q", c.syntax, got, want)
		}
	}
}
