package simulator

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

type udataPage struct {
	Data []struct {
		ID           string `json:"id"`
		Slug         string `json:"slug"`
		Title        string `json:"title"`
		License      string `json:"license"`
		Page         string `json:"page"`
		LastModified string `json:"last_modified"`
		Organization struct {
			Slug string `json:"slug"`
		} `json:"organization"`
		Spatial *struct {
			Zones []string `json:"zones"`
		} `json:"spatial"`
		Resources []struct {
			URL    string `json:"url"`
			Format string `json:"format"`
			Schema struct {
				Name *string `json:"name"`
			} `json:"schema"`
		} `json:"resources"`
	} `json:"data"`
	NextPage     *string `json:"next_page"`
	PreviousPage *string `json:"previous_page"`
	Page         int     `json:"page"`
	PageSize     int     `json:"page_size"`
	Total        int     `json:"total"`
}

func udataGet(t *testing.T, u string) udataPage {
	t.Helper()
	resp, body := get(t, u)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("%s: %d %s", u, resp.StatusCode, body)
	}
	var p udataPage
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("%s: %v", u, err)
	}
	return p
}

func TestUdataPaging(t *testing.T) {
	_, srv := newSim(t, Options{PerSource: map[string]int{"megalis-udata": 45}})
	u := srv.URL + "/sim/megalis-udata/api/1/organizations/megalis-bretagne/datasets/?page_size=20&page=1"
	seen := map[string]bool{}
	pages := 0
	for u != "" {
		p := udataGet(t, u)
		pages++
		if p.Total != 45 || p.PageSize != 20 || p.Page != pages {
			t.Fatalf("page %d: total %d page_size %d page %d", pages, p.Total, p.PageSize, p.Page)
		}
		if (pages == 1) != (p.PreviousPage == nil) {
			t.Errorf("page %d: previous_page %v", pages, p.PreviousPage)
		}
		for _, d := range p.Data {
			if seen[d.ID] || len(d.ID) != 24 || d.Organization.Slug != "megalis-bretagne" || d.License == "" ||
				!strings.HasPrefix(d.Page, "https://www.data.gouv.fr/fr/datasets/") {
				t.Errorf("dataset %+v", d)
			}
			seen[d.ID] = true
		}
		u = ""
		if p.NextPage != nil {
			u = *p.NextPage
			if !strings.HasPrefix(u, srv.URL+"/sim/megalis-udata/api/1/organizations/megalis-bretagne/datasets/?") {
				t.Errorf("next_page %s", u)
			}
		}
	}
	if pages != 3 || len(seen) != 45 {
		t.Errorf("%d pages, %d datasets", pages, len(seen))
	}
	// Past the last page, udata answers 404; a bad page 400.
	if resp, _ := get(t, srv.URL+"/sim/megalis-udata/api/1/organizations/megalis-bretagne/datasets/?page_size=20&page=4"); resp.StatusCode != 404 {
		t.Errorf("page 4: %d", resp.StatusCode)
	}
	if resp, _ := get(t, srv.URL+"/sim/megalis-udata/api/1/organizations/megalis-bretagne/datasets/?page=0"); resp.StatusCode != 400 {
		t.Errorf("page 0: %d", resp.StatusCode)
	}
	if resp, _ := get(t, srv.URL+"/sim/megalis-udata/api/1/organizations/someone-else/datasets/"); resp.StatusCode != 404 {
		t.Errorf("unknown organisation: %d", resp.StatusCode)
	}
}

func TestUdataContent(t *testing.T) {
	sim, srv := newSim(t, Options{PerSource: map[string]int{"megalis-udata": 80}})
	p := udataGet(t, srv.URL+"/sim/megalis-udata/api/1/organizations/megalis-bretagne/datasets/?page_size=100")
	gen := sim.Datasets("megalis-udata")
	if len(p.Data) != 80 {
		t.Fatalf("%d datasets", len(p.Data))
	}
	declared, communes := 0, 0
	for i, d := range p.Data {
		g := gen[i]
		if d.Title != g.Title || d.Slug != g.Name || len(d.Resources) != len(g.Resources) || d.Resources[0].URL != g.Resources[0].URL {
			t.Fatalf("dataset %d: %+v vs %s", i, d, g.Title)
		}
		hasSchema := d.Resources[0].Schema.Name != nil
		if hasSchema != (g.Evidence == "declared") || hasSchema && *d.Resources[0].Schema.Name != g.SCDL {
			t.Errorf("%s: schema %v, evidence %s", g.Title, d.Resources[0].Schema.Name, g.Evidence)
		}
		if hasSchema {
			declared++
		}
		if g.SpatialINSEE != "" {
			communes++
			if d.Spatial == nil || len(d.Spatial.Zones) != 1 || d.Spatial.Zones[0] != "fr:commune:"+g.SpatialINSEE {
				t.Errorf("%s: spatial %+v", g.Title, d.Spatial)
			}
		}
		switch d.License {
		case "fr-lo", "lov2", "odc-odbl", "cc-by":
		default:
			t.Errorf("licence %q", d.License)
		}
	}
	if declared == 0 || communes == 0 {
		t.Errorf("%d declared, %d with a commune: the generator should give both", declared, communes)
	}
	// One dataset, by slug and by id; the organisation.
	one := gen[3]
	resp, body := get(t, srv.URL+"/sim/megalis-udata/api/1/datasets/"+one.Name+"/")
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"slug":"`+one.Name+`"`)) {
		t.Errorf("dataset by slug: %d %.200s", resp.StatusCode, body)
	}
	resp, body = get(t, srv.URL+"/sim/megalis-udata/api/1/datasets/"+p.Data[3].ID+"/")
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte(one.Title)) {
		t.Errorf("dataset by id: %d", resp.StatusCode)
	}
	// Mégalis is a syndicate: no SIRET in the referential; a commune's
	// organisation has its own.
	resp, body = get(t, srv.URL+"/sim/megalis-udata/api/1/organizations/megalis-bretagne/")
	if resp.StatusCode != 200 || bytes.Contains(body, []byte(`"business_number_id"`)) {
		t.Errorf("organisation: %d %s", resp.StatusCode, body)
	}
	resp, body = get(t, srv.URL+"/sim/annecy-udata/api/1/organizations/ville-d-annecy/")
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"business_number_id":"20006340`)) {
		t.Errorf("organisation of Annecy: %d %s", resp.StatusCode, body)
	}
	if resp, _ := get(t, srv.URL+"/sim/megalis-udata/api/1/datasets/nope/"); resp.StatusCode != 404 {
		t.Errorf("unknown dataset: %d", resp.StatusCode)
	}
	// /datasets/?schema= lists the declared instances of a schema.
	q := udataGet(t, srv.URL+"/sim/megalis-udata/api/1/datasets/?schema=scdl/deliberations&page_size=100")
	want := 0
	for _, g := range gen {
		if g.SCDL == "scdl/deliberations" && g.Evidence == "declared" {
			want++
		}
	}
	if q.Total != want {
		t.Errorf("schema filter: %d, want %d", q.Total, want)
	}
}

func TestUdataDeterministicAndETag(t *testing.T) {
	_, a := newSim(t, Options{DatasetsPerSource: 30})
	_, b := newSim(t, Options{DatasetsPerSource: 30})
	path := "/sim/annecy-udata/api/1/organizations/ville-d-annecy/datasets/?page_size=50"
	ra, ba := get(t, a.URL+path)
	_, bb := get(t, b.URL+path)
	if !bytes.Equal(ba, bb) {
		t.Error("two simulators with the same seed answer differently")
	}
	if resp, _ := get(t, a.URL+path, "If-None-Match", ra.Header.Get("ETag")); resp.StatusCode != 304 {
		t.Errorf("If-None-Match: %d", resp.StatusCode)
	}
	sim, c := newSim(t, Options{DatasetsPerSource: 30})
	sim.SetFault("annecy-udata", Fault{Status: 502, FromPage: 2})
	if resp, _ := get(t, c.URL+path); resp.StatusCode != 200 {
		t.Errorf("page 1 with a fault from page 2: %d", resp.StatusCode)
	}
	if resp, _ := get(t, c.URL+"/sim/annecy-udata/api/1/organizations/ville-d-annecy/datasets/?page_size=10&page=2"); resp.StatusCode != 502 {
		t.Errorf("page 2: %d", resp.StatusCode)
	}
}
