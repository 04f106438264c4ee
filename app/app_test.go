package app

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/simulator"
	"go.uber.org/zap/zaptest"
)

// The nine pilot territories.
var territories = []string{
	"auvergne-rhone-alpes", "bourgogne-franche-comte", "bretagne", "charente-maritime",
	"loire-atlantique", "mulhouse", "occitanie", "paca", "val-de-marne",
}

type facet struct {
	Key   string `json:"key"`
	Count int64  `json:"count"`
}

type searchAnswer struct {
	Total int64 `json:"total"`
	Items []struct {
		ID          string `json:"id"`
		Title       string `json:"title"`
		TerritoryID string `json:"territory_id"`
		SourceID    string `json:"source_id"`
	} `json:"items"`
	Facets     map[string][]facet `json:"facets"`
	NextCursor string             `json:"next_cursor"`
}

func getJSON(t *testing.T, u string, status int, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != status {
		var b strings.Builder
		_ = json.NewDecoder(resp.Body).Decode(&map[string]any{})
		t.Fatalf("GET %s: status %d, want %d %s", u, resp.StatusCode, status, b.String())
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
}

func search(t *testing.T, a *App, params url.Values) searchAnswer {
	t.Helper()
	var ans searchAnswer
	getJSON(t, a.APIURL()+"/v1/datasets?"+params.Encode(), http.StatusOK, &ans)
	return ans
}

// waitIndexed waits until the API reports want datasets (for a query) and
// the indexer has nothing pending.
func waitIndexed(t *testing.T, a *App, params url.Values, want int64) searchAnswer {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	var ans searchAnswer
	for time.Now().Before(deadline) {
		ans = search(t, a, params)
		pending, err := a.Pending(context.Background())
		if err == nil && pending == 0 && ans.Total == want {
			return ans
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("after 2 minutes the API reports %d datasets for %v, want %d", ans.Total, params, want)
	return ans
}

func start(t *testing.T, o Options) *App {
	t.Helper()
	o.Addr = "127.0.0.1:0"
	o.Simulate = true
	if o.Log == nil {
		o.Log = zaptest.NewLogger(t)
	}
	a, err := Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestEndToEnd(t *testing.T) {
	dir := t.TempDir()
	a := start(t, Options{DataDir: dir, SimDatasets: 40})
	want := int64(a.Simulator().Total())
	if want == 0 {
		t.Fatal("the simulator serves nothing")
	}
	ans := waitIndexed(t, a, url.Values{"size": {"5"}}, want)
	a.WaitHarvest()

	// Every territory is there.
	var got []string
	for _, f := range ans.Facets["territory"] {
		got = append(got, f.Key)
	}
	sort.Strings(got)
	if strings.Join(got, ",") != strings.Join(territories, ",") {
		t.Errorf("territory facet = %v, want the nine territories %v", got, territories)
	}

	t.Run("french search", func(t *testing.T) { frenchSearch(t, a) })
	t.Run("filters", func(t *testing.T) { filters(t, a, want) })
	t.Run("sources", func(t *testing.T) {
		var st struct {
			Sources []struct {
				SourceID string `json:"source_id"`
				Status   string `json:"status"`
				Disabled string `json:"disabled"`
				LastRun  struct {
					Seen int64 `json:"seen"`
				} `json:"last_run"`
			} `json:"sources"`
		}
		getJSON(t, a.APIURL()+"/v1/sources", http.StatusOK, &st)
		if len(st.Sources) != len(a.Config().Sources()) {
			t.Fatalf("%d sources listed, %d configured", len(st.Sources), len(a.Config().Sources()))
		}
		for _, s := range st.Sources {
			if s.Disabled != "" {
				if s.Status != "DISABLED" {
					t.Errorf("source %s is disabled (%s) but its status is %s", s.SourceID, s.Disabled, s.Status)
				}
				continue
			}
			if s.Status != "SUCCEEDED" {
				t.Errorf("source %s: status %s", s.SourceID, s.Status)
			}
			if s.LastRun.Seen != int64(a.Simulator().Expected(s.SourceID)) {
				t.Errorf("source %s: seen %d, simulator serves %d", s.SourceID, s.LastRun.Seen, a.Simulator().Expected(s.SourceID))
			}
		}
	})
	t.Run("bad parameters", func(t *testing.T) { badParams(t, a) })

	// Restart on the same data directory: harvests again, the count stays.
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	a = start(t, Options{DataDir: dir, SimDatasets: 40})
	defer a.Close()
	a.WaitHarvest()
	ans = waitIndexed(t, a, url.Values{}, want)
	if n, _ := a.IndexCount(context.Background()); n != want {
		t.Errorf("after restart the index holds %d datasets, want %d", n, want)
	}
}

func frenchSearch(t *testing.T, a *App) {
	// q=deliberation finds the titles with "Délibérations".
	withDelib := 0
	for _, src := range a.Config().Sources() {
		for _, d := range a.Simulator().Datasets(src.ID) {
			if strings.Contains(d.Title, "Délibérations") {
				withDelib++
			}
		}
	}
	if withDelib == 0 {
		t.Fatal("the simulator generated no Délibérations dataset")
	}
	ans := search(t, a, url.Values{"q": {"deliberation"}, "size": {"100"}})
	if ans.Total < int64(withDelib) {
		t.Errorf("q=deliberation: %d results, but %d titles hold Délibérations", ans.Total, withDelib)
	}
	if len(ans.Items) == 0 || !strings.Contains(ans.Items[0].Title, "élibération") {
		t.Errorf("q=deliberation: the first result is not a délibération: %+v", ans.Items[:min(1, len(ans.Items))])
	}
	// q=equipements sportifs finds "Équipements sportifs".
	ans = search(t, a, url.Values{"q": {"equipements sportifs"}, "size": {"100"}})
	found := false
	for _, it := range ans.Items {
		if strings.Contains(it.Title, "Équipements sportifs") {
			found = true
		}
	}
	if !found {
		t.Errorf("q=equipements sportifs: no title with Équipements sportifs among %d results", ans.Total)
	}
	// Accents and case do not matter.
	a1 := search(t, a, url.Values{"q": {"ÉQUIPEMENTS Sportifs"}})
	if a1.Total != ans.Total {
		t.Errorf("q=ÉQUIPEMENTS Sportifs: %d results, q=equipements sportifs: %d", a1.Total, ans.Total)
	}
}

func filters(t *testing.T, a *App, total int64) {
	all := search(t, a, url.Values{})
	var sum int64
	for _, f := range all.Facets["territory"] {
		sum += f.Count
		got := search(t, a, url.Values{"territory": {f.Key}})
		if got.Total != f.Count {
			t.Errorf("territory=%s: %d results, facet said %d", f.Key, got.Total, f.Count)
		}
		for _, it := range got.Items {
			if it.TerritoryID != f.Key {
				t.Errorf("territory=%s returned %s of %s", f.Key, it.ID, it.TerritoryID)
			}
		}
	}
	if sum != total {
		t.Errorf("territory facet counts add up to %d, want %d", sum, total)
	}
	// Two filters narrow further; OR within a field.
	fmts := all.Facets["format"]
	if len(fmts) < 2 {
		t.Fatalf("format facet too small: %v", fmts)
	}
	one := search(t, a, url.Values{"format": {fmts[0].Key}})
	if one.Total != fmts[0].Count {
		t.Errorf("format=%s: %d, facet said %d", fmts[0].Key, one.Total, fmts[0].Count)
	}
	both := search(t, a, url.Values{"format": {fmts[0].Key, fmts[1].Key}})
	if both.Total < one.Total || both.Total > fmts[0].Count+fmts[1].Count {
		t.Errorf("format=%s OR %s: %d results, facets %d and %d", fmts[0].Key, fmts[1].Key, both.Total, fmts[0].Count, fmts[1].Count)
	}
	narrowed := search(t, a, url.Values{"format": {fmts[0].Key}, "territory": {"bretagne"}})
	if narrowed.Total > one.Total || narrowed.Total == 0 {
		t.Errorf("format=%s&territory=bretagne: %d results, format alone %d", fmts[0].Key, narrowed.Total, one.Total)
	}
	var bretagne int64
	for _, f := range one.Facets["territory"] {
		if f.Key == "bretagne" {
			bretagne = f.Count
		}
	}
	if narrowed.Total != bretagne {
		t.Errorf("format=%s&territory=bretagne: %d results, the facet under format said %d", fmts[0].Key, narrowed.Total, bretagne)
	}
	// A cursor walk visits every dataset once.
	seen := map[string]bool{}
	params := url.Values{"size": {"100"}, "territory": {"bretagne"}}
	for page := 0; page < 1000; page++ {
		ans := search(t, a, params)
		for _, it := range ans.Items {
			if seen[it.ID] {
				t.Fatalf("cursor walk: %s seen twice", it.ID)
			}
			seen[it.ID] = true
		}
		if ans.NextCursor == "" {
			break
		}
		params.Set("cursor", ans.NextCursor)
	}
	var want int64
	for _, f := range all.Facets["territory"] {
		if f.Key == "bretagne" {
			want = f.Count
		}
	}
	if int64(len(seen)) != want {
		t.Errorf("cursor walk over bretagne saw %d datasets, want %d", len(seen), want)
	}
}

func badParams(t *testing.T, a *App) {
	for _, q := range []string{"size=0", "size=1000", "size=abc", "sort=random", "colour=blue", "cursor=garbage"} {
		var e struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		getJSON(t, a.APIURL()+"/v1/datasets?"+q, http.StatusBadRequest, &e)
		if e.Error.Code == "" || e.Error.Message == "" {
			t.Errorf("%s: error without code or message: %+v", q, e)
		}
	}
	var e map[string]any
	getJSON(t, a.APIURL()+"/v1/datasets/no-such-id", http.StatusNotFound, &e)
	// Query syntax is plain text.
	search(t, a, url.Values{"q": {`title:(foo OR "bar`}})
}

// A portal answering 500 from page 3 on: the run is PARTIAL with the error
// in /v1/sources, pages 1–2 are searchable, and a second harvest does not
// duplicate them.
func TestPortalFailingOnPage3(t *testing.T) {
	cfg := config.Default()
	const id = "datasud-ckan"
	cfg.Source(id).Params = map[string]string{"page_size": "10"}
	a := start(t, Options{DataDir: t.TempDir(), SimDatasets: 35, NoHarvest: true, Config: cfg})
	defer a.Close()
	a.Simulator().SetFault(id, simulator.Fault{Status: http.StatusInternalServerError, FromPage: 3})

	run, err := a.Harvest(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if run.GetStatus().String() != "PARTIAL" || run.GetSeen() != 20 {
		t.Fatalf("run: status %s, seen %d; want PARTIAL, 20", run.GetStatus(), run.GetSeen())
	}
	waitIndexed(t, a, url.Values{"source": {id}}, 20)

	var st struct {
		Sources []struct {
			SourceID string `json:"source_id"`
			Status   string `json:"status"`
			LastRun  struct {
				Errors []struct {
					Kind    string `json:"kind"`
					URL     string `json:"url"`
					Message string `json:"message"`
				} `json:"errors"`
			} `json:"last_run"`
		} `json:"sources"`
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		getJSON(t, a.APIURL()+"/v1/sources?status=partial", http.StatusOK, &st)
		if len(st.Sources) == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(st.Sources) != 1 || st.Sources[0].SourceID != id {
		t.Fatalf("/v1/sources?status=partial = %+v, want %s alone", st.Sources, id)
	}
	errs := st.Sources[0].LastRun.Errors
	if len(errs) == 0 || errs[0].Kind != "http" || !strings.Contains(errs[0].Message, "500") || !strings.Contains(errs[0].URL, "start=20") {
		t.Errorf("errors = %+v, want the HTTP 500 on the page at start=20", errs)
	}

	// Again, still failing: nothing duplicated.
	run, _ = a.Harvest(context.Background(), id)
	if run.GetStatus().String() != "PARTIAL" {
		t.Errorf("second run: %s", run.GetStatus())
	}
	waitIndexed(t, a, url.Values{"source": {id}}, 20)

	// The portal heals: everything arrives.
	a.Simulator().ClearFaults()
	run, _ = a.Harvest(context.Background(), id)
	if run.GetStatus().String() != "SUCCEEDED" || run.GetSeen() != 35 {
		t.Errorf("healed run: %s, seen %d", run.GetStatus(), run.GetSeen())
	}
	waitIndexed(t, a, url.Values{"source": {id}}, 35)
}

func decode(resp *http.Response, v any) error {
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}
