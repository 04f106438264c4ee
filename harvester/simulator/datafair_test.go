package simulator

import (
	"encoding/json"
	"strings"
	"testing"
)

type dfPage struct {
	Count   int                          `json:"count"`
	Results []map[string]json.RawMessage `json:"results"`
}

func TestDataFairList(t *testing.T) {
	sim, srv := newPortalSim(t, Options{DatasetsPerSource: 25})
	base := srv.URL + "/sim/df/data-fair/api/v1/datasets"
	seen := map[string]bool{}
	var prev string
	for page := 1; page <= 3; page++ {
		resp, body := get(t, base+"?size=10&sort=createdAt:1&page="+itoa(page))
		var p dfPage
		if resp.StatusCode != 200 || json.Unmarshal(body, &p) != nil || p.Count != 25 {
			t.Fatalf("page %d: %d %.300s", page, resp.StatusCode, body)
		}
		for _, r := range p.Results {
			var id, created string
			_ = json.Unmarshal(r["id"], &id)
			_ = json.Unmarshal(r["createdAt"], &created)
			if seen[id] || created < prev || r["schema"] == nil {
				t.Errorf("%s: twice, out of order or without schema", id)
			}
			seen[id], prev = true, created
		}
	}
	if len(seen) != 25 {
		t.Errorf("walked %d", len(seen))
	}
	// select= drops the schema; the document has it, by id or slug.
	_, body := get(t, base+"?size=1&select=title")
	var p dfPage
	if err := json.Unmarshal(body, &p); err != nil || len(p.Results) != 1 || p.Results[0]["schema"] != nil || p.Results[0]["title"] == nil || p.Results[0]["owner"] == nil {
		t.Fatalf("select: %v %s", err, body)
	}
	d := sim.Datasets("df")[0]
	for _, ref := range []string{d.Name, dfDataset(sim.sources["df"], &d).ID} {
		resp, body := get(t, base+"/"+ref)
		var doc dfDoc
		if resp.StatusCode != 200 || json.Unmarshal(body, &doc) != nil || len(doc.Schema) != len(d.Columns)+3 {
			t.Errorf("document %s: %d %.200s", ref, resp.StatusCode, body)
		}
	}
	for _, q := range []string{"size=10001", "size=10&page=1001", "sort=bogus:1", "page=0"} {
		if resp, _ := get(t, base+"?"+q); resp.StatusCode != 400 {
			t.Errorf("%s: %d, want 400", q, resp.StatusCode)
		}
	}
	if resp, _ := get(t, base+"/nope"); resp.StatusCode != 404 {
		t.Errorf("unknown dataset: %d", resp.StatusCode)
	}
}

func TestD4CSearch(t *testing.T) {
	sim, srv := newPortalSim(t, Options{DatasetsPerSource: 25, PageSizeCap: 10})
	resp, body := get(t, srv.URL+"/sim/lr-d4c/d4c/api/datasets/2.0/search/?rows=100&start=20")
	var r struct {
		Success bool `json:"success"`
		Result  struct {
			Count   int `json:"count"`
			Results []struct {
				ID        string     `json:"id"`
				LicenseID string     `json:"license_id"`
				Fields    []odsField `json:"fields"`
				Resources []struct {
					URL string `json:"url"`
				} `json:"resources"`
			} `json:"results"`
		} `json:"result"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &r) != nil || !r.Success || r.Result.Count != 25 || len(r.Result.Results) != 5 {
		t.Fatalf("%d %.300s", resp.StatusCode, body)
	}
	want := sim.Datasets("lr-d4c")[20]
	got := r.Result.Results[0]
	if got.ID != want.ID || len(got.Fields) != len(want.Columns) || strings.Contains(got.LicenseID, "/") ||
		!strings.HasPrefix(got.Resources[0].URL, "https://opendata.agglo-larochelle.fr/sites/default/files/dataset/") {
		t.Errorf("package %+v", got)
	}
	// Rows are capped like CKAN's.
	_, body = get(t, srv.URL+"/sim/lr-d4c/d4c/api/datasets/2.0/search/?rows=100")
	if err := json.Unmarshal(body, &r); err != nil || len(r.Result.Results) != 10 {
		t.Errorf("rows cap: %v %d", err, len(r.Result.Results))
	}
}
