package dcat

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Generated catalogues for the memory test and the benchmarks: a realistic
// DCAT-AP export (title, description of a few hundred bytes, keywords,
// theme, publisher, contact point, dates, licence, place, two
// distributions), about 30 triples per dataset, with the nodes real exports
// share between datasets: the publisher (one of 50, described again under
// each dataset by RDF/XML and JSON-LD, once by Turtle), the place (one
// dct:Location IRI under every dataset, described again each time, as the
// ODS exports do), the contact point (one blank node for all datasets), and
// a landing page that is the dataset's own IRI.

const genDesc = "Jeu de données publié par la collectivité dans le cadre de l'ouverture des données publiques. " +
	"Il est mis à jour régulièrement et décrit les équipements, les services et les lieux du territoire, " +
	"avec leur localisation et leurs caractéristiques principales (horaires, accessibilité, contact)."

// genLayout says where distributions are described.
type genLayout int

const (
	nested   genLayout = iota // inside their dataset (ckanext-dcat, ODS, udata)
	flatTail                  // all distributions after all datasets, by IRI
)

func genRDFXML(w io.Writer, n int, layout genLayout) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }
	p(`<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dcat="http://www.w3.org/ns/dcat#"
 xmlns:dct="http://purl.org/dc/terms/" xmlns:foaf="http://xmlns.com/foaf/0.1/" xmlns:vcard="http://www.w3.org/2006/vcard/ns#"
 xmlns:xsd="http://www.w3.org/2001/XMLSchema#" xmlns:skos="http://www.w3.org/2004/02/skos/core#">
`)
	p(`<dcat:Catalog rdf:about="https://data.example.fr/catalog">
  <dct:title>Catalogue</dct:title>
`)
	for i := 0; i < n; i++ {
		p(`  <dcat:dataset>
    <dcat:Dataset rdf:about="https://data.example.fr/explore/dataset/ds-%d/">
      <dct:identifier>ds-%d</dct:identifier>
      <dct:title xml:lang="fr">Équipements publics n°%d</dct:title>
      <dct:description xml:lang="fr">%s</dct:description>
      <dcat:keyword>équipements</dcat:keyword><dcat:keyword>services</dcat:keyword><dcat:keyword>k%d</dcat:keyword>
      <dcat:theme rdf:resource="http://publications.europa.eu/resource/authority/data-theme/GOVE"/>
      <dct:publisher><foaf:Organization rdf:about="https://data.example.fr/org/%d"><foaf:name>Organisation %d</foaf:name></foaf:Organization></dct:publisher>
      <dcat:contactPoint><vcard:Kind rdf:nodeID="sig"><vcard:fn>Service SIG</vcard:fn><vcard:hasEmail rdf:resource="mailto:sig@example.fr"/></vcard:Kind></dcat:contactPoint>
      <dct:issued rdf:datatype="http://www.w3.org/2001/XMLSchema#dateTime">2021-03-04T10:00:00</dct:issued>
      <dct:modified rdf:datatype="http://www.w3.org/2001/XMLSchema#dateTime">2024-05-%02dT08:30:00</dct:modified>
      <dct:spatial><dct:Location rdf:about="http://id.insee.fr/geo/commune/35238"><skos:prefLabel xml:lang="fr">Rennes</skos:prefLabel></dct:Location></dct:spatial>
      <dcat:landingPage rdf:resource="https://data.example.fr/explore/dataset/ds-%d/"/>
`, i, i, i, genDesc, i%100, i%50, i%50, 1+i%28, i)
		for j := 0; j < 2; j++ {
			if layout == flatTail {
				p(`      <dcat:distribution rdf:resource="https://data.example.fr/dataset/ds-%d/d%d"/>
`, i, j)
				continue
			}
			genDistXML(p, i, j, true)
		}
		p("    </dcat:Dataset>\n  </dcat:dataset>\n")
	}
	p("</dcat:Catalog>\n")
	if layout == flatTail {
		for i := 0; i < n; i++ {
			for j := 0; j < 2; j++ {
				genDistXML(p, i, j, false)
			}
		}
	}
	p("</rdf:RDF>\n")
	return bw.Flush()
}

func genDistXML(p func(string, ...any), i, j int, wrapped bool) {
	ext, mt := "csv", "text/csv"
	if j == 1 {
		ext, mt = "geojson", "application/geo+json"
	}
	if wrapped {
		p("      <dcat:distribution>\n")
	}
	p(`        <dcat:Distribution rdf:about="https://data.example.fr/dataset/ds-%d/d%d">
          <dct:title>Export %s</dct:title>
          <dcat:accessURL rdf:resource="https://data.example.fr/explore/dataset/ds-%d/export/"/>
          <dcat:downloadURL rdf:resource="https://data.example.fr/api/ds-%d/exports/%s"/>
          <dcat:mediaType>%s</dcat:mediaType>
          <dct:format>%s</dct:format>
          <dct:license rdf:resource="https://www.etalab.gouv.fr/licence-ouverte-open-licence"/>
        </dcat:Distribution>
`, i, j, ext, i, i, ext, mt, strings.ToUpper(ext))
	if wrapped {
		p("      </dcat:distribution>\n")
	}
}

func genTurtle(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }
	p(`@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix vcard: <http://www.w3.org/2006/vcard/ns#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .

<https://data.example.fr/catalog> a dcat:Catalog ; dct:title "Catalogue" .
_:sig a vcard:Kind ; vcard:fn "Service SIG" ; vcard:hasEmail <mailto:sig@example.fr> .
`)
	for o := 0; o < 50 && o < n; o++ {
		p("<https://data.example.fr/org/%d> a foaf:Organization ; foaf:name \"Organisation %d\" .\n", o, o)
	}
	for i := 0; i < n; i++ {
		p(`
<https://data.example.fr/explore/dataset/ds-%d/> a dcat:Dataset ;
  dct:identifier "ds-%d" ;
  dct:title "Équipements publics n°%d"@fr ;
  dct:description "%s"@fr ;
  dcat:keyword "équipements", "services", "k%d" ;
  dcat:theme <http://publications.europa.eu/resource/authority/data-theme/GOVE> ;
  dct:publisher <https://data.example.fr/org/%d> ;
  dcat:contactPoint _:sig ;
  dct:issued "2021-03-04T10:00:00"^^xsd:dateTime ;
  dct:modified "2024-05-%02dT08:30:00"^^xsd:dateTime ;
  dct:spatial <http://id.insee.fr/geo/commune/35238> ;
  dcat:landingPage <https://data.example.fr/explore/dataset/ds-%d/> ;
  dcat:distribution <https://data.example.fr/dataset/ds-%d/d0>, <https://data.example.fr/dataset/ds-%d/d1> .
<http://id.insee.fr/geo/commune/35238> a dct:Location ; skos:prefLabel "Rennes"@fr .
`, i, i, i, strings.ReplaceAll(genDesc, `"`, `\"`), i%100, i%50, 1+i%28, i, i, i)
		for j, ext := range []string{"csv", "geojson"} {
			mt := map[string]string{"csv": "text/csv", "geojson": "application/geo+json"}[ext]
			p(`<https://data.example.fr/dataset/ds-%d/d%d> a dcat:Distribution ;
  dct:title "Export %s" ;
  dcat:accessURL <https://data.example.fr/explore/dataset/ds-%d/export/> ;
  dcat:downloadURL <https://data.example.fr/api/ds-%d/exports/%s> ;
  dcat:mediaType "%s" ; dct:format "%s" ;
  dct:license <https://www.etalab.gouv.fr/licence-ouverte-open-licence> .
`, i, j, ext, i, i, ext, mt, strings.ToUpper(ext))
		}
	}
	return bw.Flush()
}

func genJSONLD(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }
	p(`{"@context": {"dcat": "http://www.w3.org/ns/dcat#", "dct": "http://purl.org/dc/terms/", "foaf": "http://xmlns.com/foaf/0.1/",
 "vcard": "http://www.w3.org/2006/vcard/ns#", "xsd": "http://www.w3.org/2001/XMLSchema#",
 "skos": "http://www.w3.org/2004/02/skos/core#"},
 "@graph": [`)
	for i := 0; i < n; i++ {
		if i > 0 {
			p(",")
		}
		p(`
 {"@id": "https://data.example.fr/explore/dataset/ds-%d/", "@type": "dcat:Dataset", "dct:identifier": "ds-%d",
  "dct:title": {"@value": "Équipements publics n°%d", "@language": "fr"}, "dct:description": {"@value": "%s", "@language": "fr"},
  "dcat:keyword": ["équipements", "services", "k%d"],
  "dcat:theme": {"@id": "http://publications.europa.eu/resource/authority/data-theme/GOVE"},
  "dct:publisher": {"@id": "https://data.example.fr/org/%d", "@type": "foaf:Organization", "foaf:name": "Organisation %d"},
  "dcat:contactPoint": {"@id": "_:sig", "@type": "vcard:Kind", "vcard:fn": "Service SIG", "vcard:hasEmail": {"@id": "mailto:sig@example.fr"}},
  "dct:spatial": {"@id": "http://id.insee.fr/geo/commune/35238", "@type": "dct:Location", "skos:prefLabel": {"@value": "Rennes", "@language": "fr"}},
  "dct:issued": {"@value": "2021-03-04T10:00:00", "@type": "xsd:dateTime"},
  "dct:modified": {"@value": "2024-05-%02dT08:30:00", "@type": "xsd:dateTime"},
  "dcat:landingPage": {"@id": "https://data.example.fr/explore/dataset/ds-%d/"},
  "dcat:distribution": [`, i, i, i, genDesc, i%100, i%50, i%50, 1+i%28, i)
		for j, ext := range []string{"csv", "geojson"} {
			mt := map[string]string{"csv": "text/csv", "geojson": "application/geo+json"}[ext]
			if j > 0 {
				p(",")
			}
			p(`{"@id": "https://data.example.fr/dataset/ds-%d/d%d", "@type": "dcat:Distribution", "dct:title": "Export %s",
    "dcat:accessURL": {"@id": "https://data.example.fr/explore/dataset/ds-%d/export/"},
    "dcat:downloadURL": {"@id": "https://data.example.fr/api/ds-%d/exports/%s"}, "dcat:mediaType": "%s", "dct:format": "%s",
    "dct:license": {"@id": "https://www.etalab.gouv.fr/licence-ouverte-open-licence"}}`, i, j, ext, i, i, ext, mt, strings.ToUpper(ext))
		}
		p("]}")
	}
	p("\n]}\n")
	return bw.Flush()
}

// genNTriples writes the catalogue of genTurtle as N-Triples, the place and
// the contact point described again after each dataset.
func genNTriples(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	const (
		dcat = "http://www.w3.org/ns/dcat#"
		dct  = "http://purl.org/dc/terms/"
		typ  = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
		xsd  = "^^<http://www.w3.org/2001/XMLSchema#dateTime>"
	)
	t := func(s, p, o string) { fmt.Fprintf(bw, "%s %s %s .\n", s, p, o) }
	for i := 0; i < n; i++ {
		ds := fmt.Sprintf("<https://data.example.fr/explore/dataset/ds-%d/>", i)
		t(ds, typ, "<"+dcat+"Dataset>")
		t(ds, "<"+dct+"identifier>", fmt.Sprintf(`"ds-%d"`, i))
		t(ds, "<"+dct+"title>", fmt.Sprintf(`"Équipements publics n°%d"@fr`, i))
		t(ds, "<"+dct+"description>", `"`+genDesc+`"@fr`)
		for _, k := range []string{"équipements", "services", fmt.Sprintf("k%d", i%100)} {
			t(ds, "<"+dcat+"keyword>", `"`+k+`"`)
		}
		t(ds, "<"+dcat+"theme>", "<http://publications.europa.eu/resource/authority/data-theme/GOVE>")
		t(ds, "<"+dct+"publisher>", fmt.Sprintf("<https://data.example.fr/org/%d>", i%50))
		t(ds, "<"+dcat+"contactPoint>", "_:sig")
		t(ds, "<"+dct+"issued>", `"2021-03-04T10:00:00"`+xsd)
		t(ds, "<"+dct+"modified>", fmt.Sprintf(`"2024-05-%02dT08:30:00"`, 1+i%28)+xsd)
		t(ds, "<"+dct+"spatial>", "<http://id.insee.fr/geo/commune/35238>")
		t(ds, "<"+dcat+"landingPage>", ds)
		for j, ext := range []string{"csv", "geojson"} {
			d := fmt.Sprintf("<https://data.example.fr/dataset/ds-%d/d%d>", i, j)
			t(ds, "<"+dcat+"distribution>", d)
			t(d, typ, "<"+dcat+"Distribution>")
			t(d, "<"+dct+"title>", `"Export `+ext+`"`)
			t(d, "<"+dcat+"downloadURL>", fmt.Sprintf("<https://data.example.fr/api/ds-%d/exports/%s>", i, ext))
			t(d, "<"+dct+"format>", `"`+strings.ToUpper(ext)+`"`)
			t(d, "<"+dct+"license>", "<https://www.etalab.gouv.fr/licence-ouverte-open-licence>")
		}
		t(fmt.Sprintf("<https://data.example.fr/org/%d>", i%50), "<http://xmlns.com/foaf/0.1/name>", fmt.Sprintf(`"Organisation %d"`, i%50))
		t("<http://id.insee.fr/geo/commune/35238>", "<http://www.w3.org/2004/02/skos/core#prefLabel>", `"Rennes"@fr`)
		t("_:sig", "<http://www.w3.org/2006/vcard/ns#fn>", `"Service SIG"`)
	}
	return bw.Flush()
}

// genReader streams a generated document without holding it.
func genReader(gen func(io.Writer) error) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(gen(pw)) }()
	return pr
}
