package rdf

import (
	"bufio"
	"fmt"
	"io"
)

// Synthetic DCAT catalogues used by benchmarks and memory tests. Each dataset
// yields 16 triples (15 describing the dataset + the dcat:dataset link).
const triplesPerDataset = 16

func writeCatalogueTurtle(w io.Writer, n int) error {
	bw := bufio.NewWriter(w)
	fmt.Fprint(bw, `@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@base <https://data.example.fr/> .

<catalogue> a dcat:Catalog .
`)
	for i := 0; i < n; i++ {
		fmt.Fprintf(bw, `<catalogue> dcat:dataset <dataset/%[1]d> .
<dataset/%[1]d> a dcat:Dataset ;
  dct:title "Jeu de données n°%[1]d"@fr ;
  dct:description """Description du jeu de données %[1]d : horaires, arrêts et "lignes" de transport.
Mise à jour quotidienne."""@fr ;
  dcat:keyword "transport", "mobilité", "commune-%[2]d" ;
  dct:publisher [ a foaf:Organization ; foaf:name "Commune %[2]d" ] ;
  dcat:distribution [
    a dcat:Distribution ;
    dcat:accessURL <https://data.example.fr/files/%[1]d.csv> ;
    dct:format "CSV" ;
    dct:license <https://www.etalab.gouv.fr/licence-ouverte-open-licence>
  ] ;
  dct:modified "2024-01-%02[3]dT03:04:05Z"^^xsd:dateTime .
`, i, i%977, i%28+1)
	}
	return bw.Flush()
}

func writeCatalogueRDFXML(w io.Writer, n int) error {
	bw := bufio.NewWriter(w)
	fmt.Fprint(bw, `<?xml version="1.0" encoding="UTF-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns:dcat="http://www.w3.org/ns/dcat#"
         xmlns:dct="http://purl.org/dc/terms/"
         xmlns:foaf="http://xmlns.com/foaf/0.1/"
         xml:base="https://data.example.fr/">
<dcat:Catalog rdf:about="catalogue">
`)
	for i := 0; i < n; i++ {
		fmt.Fprintf(bw, `<dcat:dataset>
  <dcat:Dataset rdf:about="dataset/%[1]d">
    <dct:title xml:lang="fr">Jeu de données n°%[1]d</dct:title>
    <dct:description xml:lang="fr">Description du jeu de données %[1]d : horaires, arrêts &amp; "lignes" de transport.
Mise à jour quotidienne.</dct:description>
    <dcat:keyword>transport</dcat:keyword>
    <dcat:keyword>mobilité</dcat:keyword>
    <dcat:keyword>commune-%[2]d</dcat:keyword>
    <dct:publisher>
      <foaf:Organization><foaf:name>Commune %[2]d</foaf:name></foaf:Organization>
    </dct:publisher>
    <dcat:distribution>
      <dcat:Distribution>
        <dcat:accessURL rdf:resource="https://data.example.fr/files/%[1]d.csv"/>
        <dct:format>CSV</dct:format>
        <dct:license rdf:resource="https://www.etalab.gouv.fr/licence-ouverte-open-licence"/>
      </dcat:Distribution>
    </dcat:distribution>
    <dct:modified rdf:datatype="http://www.w3.org/2001/XMLSchema#dateTime">2024-01-%02[3]dT03:04:05Z</dct:modified>
  </dcat:Dataset>
</dcat:dataset>
`, i, i%977, i%28+1)
	}
	fmt.Fprint(bw, "</dcat:Catalog>\n</rdf:RDF>\n")
	return bw.Flush()
}
