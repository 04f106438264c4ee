package simulator

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/opendatafrance/moisson/harvester/config"
)

// portalsConfig has one source of each portal API.
const portalsConfig = `
territories:
  - id: loire-atlantique
    name: Loire-Atlantique
    geography: {departements: ["44"]}
    members:
      - id: departement-44
        name: Département de Loire-Atlantique
        collectivite: departement:44
        siren: "224400028"
        portals:
          - id: data-loire-atlantique
            name: data.loire-atlantique.fr
            url: https://data.loire-atlantique.fr
            software: ods
            sources:
              - id: la-ods
                protocol: ods
                endpoint: https://data.loire-atlantique.fr/api/explore/v2.1
              - id: la-ods-small
                protocol: ods
                endpoint: https://data.loire-atlantique.fr/api/explore/v2.1
                params: {max_window: "20"}
          - id: d4c-portal
            name: D4C
            url: https://opendata.agglo-larochelle.fr
            software: d4c
            sources:
              - id: lr-d4c
                protocol: d4c
                endpoint: https://opendata.agglo-larochelle.fr/d4c/api
          - id: df-portal
            name: Dat'Armor
            url: https://datarmor.cotesdarmor.fr
            software: datafair
            sources:
              - id: df
                protocol: datafair
                endpoint: https://datarmor.cotesdarmor.fr/data-fair/api/v1
`

func newPortalSim(t testing.TB, opts Options) (*Simulator, *httptest.Server) {
	t.Helper()
	cfg, err := config.Parse(strings.NewReader(portalsConfig))
	if err != nil {
		t.Fatal(err)
	}
	sim := New(cfg, opts)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return sim, srv
}

func TestPortalAPIsDeterministic(t *testing.T) {
	_, a := newPortalSim(t, Options{DatasetsPerSource: 30})
	_, b := newPortalSim(t, Options{DatasetsPerSource: 30})
	_, c := newPortalSim(t, Options{DatasetsPerSource: 30, Seed: 7})
	for _, p := range []string{
		"/sim/la-ods/api/explore/v2.1/catalog/datasets?limit=30",
		"/sim/la-ods/api/explore/v2.1/catalog/exports/json",
		"/sim/lr-d4c/d4c/api/datasets/2.0/search/?rows=30",
		"/sim/df/data-fair/api/v1/datasets?size=30",
	} {
		ra, ba := get(t, a.URL+p)
		_, bb := get(t, b.URL+p)
		_, bc := get(t, c.URL+p)
		if ra.StatusCode != 200 || !json.Valid(ba) {
			t.Fatalf("%s: %d %.200s", p, ra.StatusCode, ba)
		}
		if !bytes.Equal(ba, bb) {
			t.Errorf("%s: same seed, different bytes", p)
		}
		if bytes.Equal(ba, bc) {
			t.Errorf("%s: different seeds, same bytes", p)
		}
		etag := ra.Header.Get("ETag")
		r304, _ := get(t, a.URL+p, "If-None-Match", etag)
		if etag == "" || r304.StatusCode != http.StatusNotModified {
			t.Errorf("%s: ETag %q, revalidation %d", p, etag, r304.StatusCode)
		}
	}
}

type odsPage struct {
	Total   int     `json:"total_count"`
	Results []odsDS `json:"results"`
}

func TestODSCatalog(t *testing.T) {
	sim, srv := newPortalSim(t, Options{DatasetsPerSource: 45})
	base := srv.URL + "/sim/la-ods/api/explore/v2.1/catalog"
	seen := map[string]bool{}
	departement := 0
	for offset := 0; offset < 45; offset += 20 {
		resp, body := get(t, base+"/datasets?order_by=dataset_id&limit=20&offset="+itoa(offset))
		var p odsPage
		if resp.StatusCode != 200 || json.Unmarshal(body, &p) != nil || p.Total != 45 {
			t.Fatalf("offset %d: %d %.300s", offset, resp.StatusCode, body)
		}
		for i, d := range p.Results {
			if seen[d.DatasetID] || (i > 0 && d.DatasetID < p.Results[i-1].DatasetID) {
				t.Errorf("%s twice or out of order", d.DatasetID)
			}
			seen[d.DatasetID] = true
			// The network's ids start with the publisher's SIREN: the
			// Département's own with 224400028_.
			dept := strings.HasPrefix(d.DatasetID, "224400028_")
			if dept {
				departement++
			}
			if dept && !strings.Contains(d.Metas.Default.Publisher, "Loire-Atlantique") || len(d.Fields) == 0 || d.Metas.Default.Title == "" ||
				!strings.HasPrefix(d.Metas.Default.Description, "<p>") || d.Metas.Default.License == "" {
				t.Errorf("dataset %+v", d)
			}
		}
	}
	if len(seen) != 45 || departement == 0 {
		t.Errorf("walked %d datasets, %d of the Département", len(seen), departement)
	}
	// Fields carry the generator's columns.
	ds := sim.Datasets("la-ods")
	_, body := get(t, base+"/datasets/"+ds[0].ID)
	var one odsDS
	if err := json.Unmarshal(body, &one); err != nil || one.DatasetID != ds[0].ID || len(one.Fields) != len(ds[0].Columns) || one.Fields[0].Label != ds[0].Columns[0] {
		t.Errorf("single dataset: %v %.300s", err, body)
	}
	// The API's limits.
	for _, q := range []string{"limit=101", "limit=100&offset=9901", "order_by=nope"} {
		if resp, body := get(t, base+"/datasets?"+q); resp.StatusCode != 400 || !strings.Contains(string(body), "error_code") {
			t.Errorf("%s: %d %s", q, resp.StatusCode, body)
		}
	}
	if resp, _ := get(t, srv.URL+"/sim/la-ods-small/api/explore/v2.1/catalog/datasets?limit=10&offset=11"); resp.StatusCode != 400 {
		t.Errorf("max_window: %d", resp.StatusCode)
	}
	_, body = get(t, base+"/exports/json")
	var all []odsDS
	if err := json.Unmarshal(body, &all); err != nil || len(all) != 45 {
		t.Errorf("export: %v, %d datasets", err, len(all))
	}
	if resp, _ := get(t, base+"/datasets/unknown"); resp.StatusCode != 404 {
		t.Errorf("unknown dataset: %d", resp.StatusCode)
	}
}

func TestODSFaultsCountPages(t *testing.T) {
	sim, srv := newPortalSim(t, Options{DatasetsPerSource: 45})
	sim.SetFault("la-ods", Fault{Status: 500, FromPage: 2, OnlyPage: true})
	base := srv.URL + "/sim/la-ods/api/explore/v2.1/catalog/datasets?limit=20&offset="
	for offset, want := range map[int]int{0: 200, 20: 500, 40: 200} {
		if resp, _ := get(t, base+itoa(offset)); resp.StatusCode != want {
			t.Errorf("offset %d: %d, want %d", offset, resp.StatusCode, want)
		}
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
