package harvest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/source"
	"github.com/opendatafrance/moisson/harvester/source/ckan"
	"github.com/opendatafrance/moisson/harvester/source/sourcetest"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
)

// What a portal publishes is shown and re-exported as it is: the texts
// people read are plain text (markup hidden behind entities too), the
// links a page must not offer are dropped, each with a warning kept on the
// record.
func TestFinishPlainAndSafe(t *testing.T) {
	d := &moissonv1.Dataset{OriginalId: "x", Title: "&lt;script&gt;alert(1)&lt;/script&gt;Budget 2024",
		Description: "<p>Le budget</p>&lt;img src=x onerror=alert(2)&gt;",
		LandingPage: "javascript:alert(document.cookie)", Uri: "urn:uuid:5e1c0f1e-0000-4000-8000-000000000001",
		Identifiers: []string{"data:text/html,<script>alert(3)</script>", "https://data.example.fr/ds/x"},
		Distributions: []*moissonv1.Distribution{{Url: "https://data.example.fr/x.csv", DownloadUrl: " JaVaScRiPt:alert(4)"},
			{Url: "ftp://ftp.example.fr/x.zip", DownloadUrl: "data:application/octet-stream;base64,AAAA"}}}
	out := Finish(&config.Source{ID: "s"}, source.Record{Dataset: d}, "run", time.Now())
	if out.Title != "Budget 2024" || strings.ContainsAny(out.Description, "<>") {
		t.Errorf("texts: %q %q", out.Title, out.Description)
	}
	if out.LandingPage != "" || out.Distributions[0].DownloadUrl != "" || out.Distributions[1].DownloadUrl != "" ||
		out.Distributions[0].Url == "" || out.Distributions[1].Url == "" || out.Uri == "" ||
		len(out.Identifiers) != 1 || out.Identifiers[0] != "https://data.example.fr/ds/x" {
		t.Errorf("links: %v", out)
	}
	if w := strings.Join(out.Warnings, "\n"); len(out.Warnings) != 4 || !strings.Contains(w, "landing_page: javascript:alert(document.cookie) is not an http(s) or ftp link") ||
		!strings.Contains(w, "distributions[1].download_url: data:application/octet-stream") {
		t.Errorf("warnings: %q", out.Warnings)
	}
}

// A date the portal gives that cannot be read (a placeholder, a typo) is
// kept as written with a warning; the record is not failed.
func TestUnreadableDatesKept(t *testing.T) {
	doc := `{"success": true, "result": {"count": 1, "results": [{"id": "a1", "name": "budget", "title": "Budget",
	  "issued": "0001-01-01", "metadata_created": "", "modified": "31/02/2021", "metadata_modified": "", "resources": []}]}}`
	var s sourcetest.Sink
	if err := ckan.Read(context.Background(), strings.NewReader(doc), "", &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Recs) != 1 || len(s.Problems) != 0 {
		t.Fatalf("%d records, problems %v", len(s.Recs), s.Problems)
	}
	d := s.Recs[0].Dataset
	if d.Issued != nil || d.Modified != nil || d.RawDates["issued"] != "0001-01-01" || d.RawDates["modified"] != "31/02/2021" || len(d.Warnings) != 2 {
		t.Errorf("dates %v %v, raw %v, warnings %q", d.Issued, d.Modified, d.RawDates, d.Warnings)
	}
}
