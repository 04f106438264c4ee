package dcat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/opendatafrance/moisson/harvester/internal/sharedtest"
	"github.com/opendatafrance/moisson/harvester/source/sourcetest"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/fetch"
	"github.com/opendatafrance/moisson/harvester/rdf"
	"github.com/opendatafrance/moisson/harvester/source"
	"go.uber.org/zap"
)

// sink records what the adapter hands over.
type sink = sourcetest.Sink

func TestPOD(t *testing.T) {
	doc := `{"@context": "https://project-open-data.cio.gov/v1.1/schema/catalog.jsonld", "@type": "dcat:Catalog",
	"conformsTo": "https://project-open-data.cio.gov/v1.1/schema", "dataset": [
	 {"@type": "dcat:Dataset", "identifier": "https://hub.example/ds/1", "title": "Défibrillateurs",
	  "description": "<p>DAE de la ville</p>", "keyword": ["santé", "dae"], "modified": "2023-03-13T14:34:36.923Z",
	  "publisher": {"name": "Ville d'Evian"}, "contactPoint": {"fn": "SIG", "hasEmail": "mailto:sig@evian.fr"},
	  "landingPage": "https://hub.example/ds/1", "license": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
	  "spatial": "6.57,46.38,6.61,46.40",
	  "distribution": [{"title": "CSV", "format": "CSV", "mediaType": "text/csv", "downloadURL": "https://hub.example/ds/1.csv"},
	                   {"title": "API", "accessURL": "https://hub.example/ds/1/api", "mediaType": "application/json"}]},
	 {"identifier": "2", "title": ""},
	 {"identifier": "  ", "title": "Identifiant blanc"},
	 {"identifier": "3", "title": "Sans distribution", "publisher": "Mairie", "keyword": "unique"}
	]}`
	var s sink
	if err := ReadDocument(context.Background(), strings.NewReader(doc), "data.json", &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Recs) != 2 || len(s.Problems) != 2 {
		t.Fatalf("%d records, %d problems, want 2 and 2 (the untitled one, the one whose identifier is blank)", len(s.Recs), len(s.Problems))
	}
	d := s.Recs[0].Dataset
	if d.GetTitle() != "Défibrillateurs" || d.GetDescription() != "DAE de la ville" || d.GetLicense().GetNormalized() != "etalab-2.0" ||
		d.GetPublisher().GetName() != "Ville d'Evian" || d.GetContactPoint().GetEmail() != "sig@evian.fr" ||
		d.GetSpatial().GetBbox().GetWest() != 6.57 || len(d.GetDistributions()) != 2 ||
		d.GetDistributions()[0].GetFormat() != "CSV" || d.GetDistributions()[0].GetDownloadUrl() != "https://hub.example/ds/1.csv" ||
		d.GetDistributions()[1].GetFormat() != "JSON" || d.GetModified() == nil {
		t.Errorf("record %v", d)
	}
	if d := s.Recs[1].Dataset; d.GetPublisher().GetName() != "Mairie" || len(d.GetKeywords()) != 1 {
		t.Errorf("record %v", d)
	}
	// JSON-LD that is not POD still goes through json-gold.
	if IsPOD([]byte(`{"@context": {}, "@graph": [{"@id": "x", "dataset": []}]}`)) {
		t.Error("a JSON-LD @graph is not POD")
	}
}

func TestLenientGeoNetwork(t *testing.T) {
	doc := `<?xml version="1.0" encoding="UTF-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dct="http://purl.org/dc/terms/" xmlns:dcat="http://www.w3.org/ns/dcat#">
<dcat:Dataset rdf:about="http://x/a"><dct:title>A</dct:title>
<dcat:theme rdf:resource="http://inspire.ec.europa.eu/theme/ef">Environmental monitoring facilities</dcat:theme>
</dcat:Dataset></rdf:RDF>`
	var s sink
	if err := ReadDocument(context.Background(), strings.NewReader(doc), "a.rdf", &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Recs) != 1 || len(s.Problems) != 1 || !strings.Contains(s.Problems[0].Message, "line 4") {
		t.Fatalf("records %d, problems %+v", len(s.Recs), s.Problems)
	}
	if th := s.Recs[0].Dataset.GetRawThemes(); len(th) == 0 || th[0] != "http://inspire.ec.europa.eu/theme/ef" {
		t.Errorf("themes %q", th)
	}
	// The strict parser still refuses it.
	err := rdf.ParseRDFXML(strings.NewReader(doc), "", func(rdf.Triple) error { return nil })
	var pe *rdf.ParseError
	if !errors.As(err, &pe) || pe.Line != 4 {
		t.Errorf("strict parser: %v", err)
	}
}

func TestHarvestTooLarge(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rdf+xml")
		genRDFXML(w, 2000, nested)
	}))
	defer srv.Close()
	client := fetch.New(fetch.Options{AllowPrivate: true, Retries: -1, MaxBodyBytes: 256 << 10})
	src, err := New(&config.Source{ID: "t", Protocol: "dcat", Endpoint: srv.URL + "/catalog.rdf"}, source.Env{Client: client, Log: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	var s sink
	err = src.Harvest(context.Background(), &s)
	if !errors.Is(err, fetch.ErrTooLarge) {
		t.Fatalf("error %v, want fetch.ErrTooLarge", err)
	}
	if len(s.Recs) != 0 {
		t.Errorf("%d datasets from a document cut by the limit (the catalogue is incomplete)", len(s.Recs))
	}
}

func dcatFixtures(tb testing.TB) [][]byte {
	dir := sharedtest.Path("fixtures", "real")
	if dir == "" {
		return nil
	}
	var out [][]byte
	filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() && strings.Contains(p, "/dcat/") {
			if b, err := os.ReadFile(p); err == nil && len(b) < 64<<10 {
				out = append(out, b)
			}
		}
		return nil
	})
	return out
}

func FuzzDCATRead(f *testing.F) {
	for _, b := range dcatFixtures(f) {
		f.Add(b)
	}
	var b bytes.Buffer
	genTurtle(&b, 2)
	f.Add(b.Bytes())
	f.Add([]byte(`{"conformsTo": "https://project-open-data.cio.gov/v1.1/schema", "dataset": [{"identifier": "a", "title": "A"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		syntax := Sniff(data[:min(len(data), 4096)])
		if syntax == "" {
			syntax = Turtle
		}
		n := 0
		_, err := Read(bytes.NewReader(data), syntax, "http://example.org/catalog", func(r source.Record) error {
			if r.Dataset.GetOriginalId() == "" || r.Dataset.GetTitle() == "" || r.Dataset.GetLicense() == nil {
				t.Fatalf("incomplete record %v", r.Dataset)
			}
			if n++; n > 1000 {
				return io.EOF
			}
			return nil
		}, nil)
		if err != nil && err != io.EOF {
			var pe *rdf.ParseError
			if !errors.As(err, &pe) || pe.Msg == "" {
				t.Fatalf("%s: error is not a ParseError with a reason: %T %v", syntax, err, err)
			}
		}
	})
}

func ExampleRead() {
	doc := `@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
<http://x/a> a dcat:Dataset ; dct:title "A" ; dct:license <https://www.etalab.gouv.fr/licence-ouverte-open-licence> .`
	Read(strings.NewReader(doc), Turtle, "", func(r source.Record) error {
		fmt.Println(r.Dataset.GetTitle(), r.Dataset.GetLicense().GetNormalized())
		return nil
	}, nil)
	// Output: A etalab-2.0
}
