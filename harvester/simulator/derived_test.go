package simulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/opendatafrance/moisson/harvester/config"
)

// firstID asks a list and returns the id of its first dataset and the
// total the portal announces.
func firstID(t *testing.T, u, protocol string) (string, int) {
	t.Helper()
	resp, body := get(t, u)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %d %.300s", u, resp.StatusCode, body)
	}
	switch protocol {
	case "ods":
		var p struct {
			Total   int `json:"total_count"`
			Results []struct {
				ID string `json:"dataset_id"`
			} `json:"results"`
		}
		if err := json.Unmarshal(body, &p); err != nil || len(p.Results) == 0 {
			t.Fatalf("%s: %v %.300s", u, err, body)
		}
		return p.Results[0].ID, p.Total
	case "datafair":
		var p dfPage
		if err := json.Unmarshal(body, &p); err != nil || len(p.Results) == 0 {
			t.Fatalf("%s: %v %.300s", u, err, body)
		}
		var id string
		_ = json.Unmarshal(p.Results[0]["id"], &id)
		return id, p.Count
	}
	var r searchResult
	if err := json.Unmarshal(body, &r); err != nil || len(r.Result.Results) == 0 {
		t.Fatalf("%s: %v %.300s", u, err, body)
	}
	return r.Result.Results[0].Name, r.Result.Count
}

// Orders and documents derived from a source's datasets are computed once
// per source (a harvest pages through one order), and computed again when
// the datasets change: a touched dataset comes first in a newest-first
// order, a removed one is no longer counted.
func TestDerivedFollowChanges(t *testing.T) {
	psim, psrv := newPortalSim(t, Options{DatasetsPerSource: 40})
	csim, csrv := newSim(t, Options{DatasetsPerSource: 40})
	for _, c := range []struct {
		sim      *Simulator
		url      string
		source   string
		protocol string
		id       func(d Dataset) string
	}{
		{psim, psrv.URL + "/sim/la-ods/api/explore/v2.1/catalog/datasets?limit=5&order_by=modified%20desc", "la-ods", "ods", func(d Dataset) string { return d.ID }},
		{psim, psrv.URL + "/sim/df/data-fair/api/v1/datasets?size=5&sort=-updatedAt", "df", "datafair", func(d Dataset) string { return dfDataset(psim.sources["df"], &d).ID }},
		{csim, csrv.URL + ckanSearchPath + "?rows=5&sort=metadata_modified%20desc", "arnia-ckan", "ckan", func(d Dataset) string { return d.Name }},
	} {
		t.Run(c.protocol, func(t *testing.T) {
			first, total := firstID(t, c.url, c.protocol)
			if again, _ := firstID(t, c.url, c.protocol); again != first || total != 40 {
				t.Fatalf("asked twice: %s then %s, total %d", first, again, total)
			}
			if len(c.sim.Touch(c.source, 1)) != 1 {
				t.Fatal("nothing touched")
			}
			want := c.id(c.sim.Datasets(c.source)[0])
			if got, _ := firstID(t, c.url, c.protocol); got != want {
				t.Errorf("after a touch the first is %s, want the touched %s", got, want)
			}
			c.sim.Remove(c.source, 1)
			if _, n := firstID(t, c.url, c.protocol); n != 39 {
				t.Errorf("after a removal the total is %d, want 39", n)
			}
		})
	}
}

// ckanSearchPath is package_search of the default configuration's
// arnia-ckan source on the simulator.
var ckanSearchPath = func() string {
	u, err := url.Parse(testConfig().Source("arnia-ckan").Endpoint)
	if err != nil {
		panic(err)
	}
	return "/sim/arnia-ckan" + u.Path + "/package_search"
}()

// BenchmarkPagedWalk walks every page of one source of 20 000 datasets in
// each paged protocol, 100 per page, as a harvest does: the cost per
// dataset must not grow with the source (each page used to sort, or
// rebuild, the whole catalogue: 200 pages × 20 000).
func BenchmarkPagedWalk(b *testing.B) {
	const n, size = 20_000, 100
	cfg, err := config.Parse(strings.NewReader(portalsConfig))
	if err != nil {
		b.Fatal(err)
	}
	psim, dsim := New(cfg, Options{DatasetsPerSource: n}), New(testConfig(), Options{DatasetsPerSource: n})
	for _, id := range []string{"la-ods", "df"} {
		psim.Datasets(id) // generated before the clock starts
	}
	for _, id := range []string{"arnia-ckan", "megalis-udata"} {
		dsim.Datasets(id)
	}
	portals, defaults := psim.Handler(), dsim.Handler()
	for _, c := range []struct {
		name string
		h    http.Handler
		page string
		// offset: the page's parameter is an offset, else a page number.
		offset bool
	}{
		{"ods", portals, "/sim/la-ods/api/explore/v2.1/catalog/datasets?limit=100&order_by=modified%%20desc&offset=%d", true},
		{"datafair", portals, "/sim/df/data-fair/api/v1/datasets?size=100&sort=createdAt:1&page=%d", false},
		{"ckan", defaults, ckanSearchPath + "?rows=100&sort=metadata_modified%%20desc&start=%d", true},
		{"udata", defaults, "/sim/megalis-udata/api/1/datasets/?page_size=100&page=%d", false},
	} {
		b.Run(c.name, func(b *testing.B) {
			pages := n / size
			if c.name == "ods" || c.name == "datafair" {
				pages = 10_000 / size // their window
			}
			for i := 0; i < b.N; i++ {
				for p := 0; p < pages; p++ {
					arg := p + 1
					if c.offset {
						arg = p * size
					}
					rec := httptest.NewRecorder()
					c.h.ServeHTTP(rec, httptest.NewRequest("GET", fmt.Sprintf(c.page, arg), nil))
					if rec.Code != 200 {
						b.Fatalf("page %d: %d %.200s", p, rec.Code, rec.Body.String())
					}
				}
			}
			b.ReportMetric(float64(b.N*pages*size)/b.Elapsed().Seconds(), "datasets/s")
		})
	}
}
