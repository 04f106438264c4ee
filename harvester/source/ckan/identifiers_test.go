package ckan

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/opendatafrance/moisson/harvester/source"
	"github.com/opendatafrance/moisson/harvester/source/sourcetest"
)

// A package ckanext-dcat or ckanext-harvest brought in names its original
// in its extras (Dataset.identifiers): what duplicate detection links it by.
func TestHarvestedPackageIdentifiers(t *testing.T) {
	body := `{"success": true, "result": {"count": 1, "results": [{"id": "9f1c1a52-4a8e-4c0e-9d1b-2f6a0e3c5b71", "name": "arbres", "title": "Arbres",
	  "extras": [{"key": "guid", "value": "https://data.example.fr/dataset/3b2f"}, {"key": "identifier", "value": "3b2f"},
	    {"key": "landing_page", "value": "https://data.example.fr/dataset/arbres"}, {"key": "uri", "value": "https://data.example.fr/dataset/3b2f"}]}]}}`
	var s sourcetest.Sink
	if err := Read(context.Background(), strings.NewReader(body), "https://ckan.example.fr", &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Recs) != 1 {
		t.Fatalf("%d records", len(s.Recs))
	}
	d := s.Recs[0].Dataset
	// guid = uri is not repeated; the page on this portal is kept, the
	// landing page being the original's.
	if want := []string{"3b2f", "https://ckan.example.fr/dataset/arbres"}; !slices.Equal(d.GetIdentifiers(), want) {
		t.Errorf("identifiers %q, want %q (landing page %q, uri %q)", d.GetIdentifiers(), want, d.GetLandingPage(), d.GetUri())
	}
}

// failingSink refuses every record, as a sink that cannot publish does.
type failingSink struct {
	sourcetest.Sink
	err error
}

func (s *failingSink) Record(context.Context, source.Record) error { return s.err }

// The sink's own failure comes back as it is, not as a failure of the
// portal (it used to be reported as an HTTP error with the page URL).
func TestSinkFailureIsTheSinks(t *testing.T) {
	publish := &source.Error{Kind: source.KindPublish, URL: "nats", Err: errors.New("nats: timeout")}
	_, src := sourcetest.ServeSource(t, "nice-ckan", 3, nil)
	err := sourcetest.Harvest(t, New, src, &failingSink{err: publish})
	if !errors.Is(err, publish) || sourcetest.KindOf(err) != source.KindPublish {
		t.Errorf("harvest: %v (kind %q), want the sink's publish error", err, sourcetest.KindOf(err))
	}
	body := `{"success": true, "result": {"count": 1, "results": [{"id": "a", "name": "a", "title": "A"}]}}`
	if err := Read(context.Background(), strings.NewReader(body), "https://ckan.example.fr", &failingSink{err: publish}); !errors.Is(err, publish) {
		t.Errorf("Read: %v, want the sink's error", err)
	}
}
