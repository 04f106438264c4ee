package udata

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/opendatafrance/moisson/harvester/source/sourcetest"
)

// A copy data.gouv.fr harvested names its original (Dataset.identifiers):
// what duplicate detection links it by.
func TestHarvestedCopyIdentifiers(t *testing.T) {
	page := `{"data": [{"id": "6571f2a3b1c2d3e4f5a6b7c8", "slug": "arbres", "title": "Arbres", "license": "lov2", "resources": [], "page": "https://www.data.gouv.fr/fr/datasets/arbres/",
	  "harvest": {"backend": "OpenDataSoft", "domain": "data.example.fr", "remote_id": "arbres-d-alignement",
	    "remote_url": "https://data.example.fr/explore/dataset/arbres-d-alignement/", "uri": "https://data.example.fr/explore/dataset/arbres-d-alignement"}},
	  {"id": "6571f2a3b1c2d3e4f5a6b7c9", "slug": "bancs", "title": "Bancs", "license": "lov2", "resources": [], "page": "https://www.data.gouv.fr/fr/datasets/bancs/"}],
	  "page": 1, "page_size": 20, "total": 2, "next_page": null}`
	var s sourcetest.Sink
	if err := Read(context.Background(), strings.NewReader(page), "https://www.data.gouv.fr", &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Recs) != 2 {
		t.Fatalf("%d records, problems %+v", len(s.Recs), s.Problems)
	}
	d := s.Recs[0].Dataset
	// The IRI is the original's (Uri), so it is not repeated.
	if want := []string{"arbres-d-alignement", "https://data.example.fr/explore/dataset/arbres-d-alignement/"}; !slices.Equal(d.GetIdentifiers(), want) {
		t.Errorf("identifiers %q, want %q (uri %q)", d.GetIdentifiers(), want, d.GetUri())
	}
	if got := s.Recs[1].Dataset.GetIdentifiers(); len(got) != 0 {
		t.Errorf("a dataset of data.gouv.fr's own: identifiers %q, want none", got)
	}
}
