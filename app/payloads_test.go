package app

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
)

// fixtures finds ../shared/fixtures/real beside the repository.
func fixtures(t *testing.T) string {
	t.Helper()
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.work not found above the test directory")
		}
		dir = parent
	}
	p := filepath.Join(dir, "..", "shared", "fixtures", "real")
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("fixtures not found at %s (CI needs ../shared beside the clone)", p)
		}
		t.Skipf("fixtures not found at %s: the real-payload tests need ../shared beside the clone", p)
	}
	return p
}

// Real payloads served by the simulator go through the whole pipeline.
func TestRealPayloadsThroughPipeline(t *testing.T) {
	dir := fixtures(t)
	a := start(t, Options{DataDir: t.TempDir(), SimDatasets: 5, NoHarvest: true})
	defer a.Close()
	ckan, err := os.ReadFile(filepath.Join(dir, "Amsterdam__dcatd/web/tests/fixtures/packages.json"))
	if err != nil {
		t.Fatal(err)
	}
	rdfxml, err := os.ReadFile(filepath.Join(dir, "opendatateam__udata/udata/harvest/tests/dcat/udata.xml"))
	if err != nil {
		t.Fatal(err)
	}
	// The real answers stand in for the Nice CKAN and the Rennes DCAT export.
	a.Simulator().ServePayload("nice-ckan", "/data/api/3/action/package_search", "application/json", ckan)
	a.Simulator().ServePayload("rennes-dcat", "/api/explore/v2.1/catalog/exports/dcat", "application/rdf+xml", rdfxml)
	for id, want := range map[string]int64{"nice-ckan": 3, "rennes-dcat": 2} {
		run, err := a.Harvest(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if run.GetStatus().String() != "SUCCEEDED" || run.GetSeen() != want {
			t.Errorf("%s: %s, seen %d, want SUCCEEDED, %d (errors %v)", id, run.GetStatus(), run.GetSeen(), want, run.GetErrors())
		}
		waitIndexed(t, a, url.Values{"source": {id}}, want)
	}
	ans := search(t, a, url.Values{"q": {"bureaux de vote"}, "territory": {"bretagne"}})
	if ans.Total != 1 || ans.Items[0].Title != "Bureaux de vote - Vanves" {
		t.Errorf("q=bureaux de vote: %+v", ans)
	}
	var d struct {
		License struct {
			Normalized string `json:"normalized"`
		} `json:"license"`
		Distributions []struct {
			Format string `json:"format"`
		} `json:"distributions"`
	}
	getJSON(t, a.APIURL()+"/v1/datasets/"+ans.Items[0].ID, http.StatusOK, &d)
	if len(d.Distributions) == 0 || d.Distributions[0].Format != "CSV" {
		t.Errorf("distributions of the Vanves dataset: %+v", d.Distributions)
	}
}
