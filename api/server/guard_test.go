package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/opendatafrance/moisson/indexer/index"
	"github.com/opendatafrance/moisson/indexer/index/bleve"
	"github.com/opendatafrance/moisson/indexer/index/indextest"
)

func do(t *testing.T, method, u string, hdr ...string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, resp.Header, b.String()
}

// Hostile query strings get a clear 400, in JSON for the API and in French
// for the pages, before any route reads them: more parameters than Go reads
// (which it would drop silently, lifting filters), a filter repeated past
// the bound, a query string past its length.
func TestQueryBounds(t *testing.T) {
	srv, _ := testServer(t)
	many := strings.Repeat("territory=bretagne&", 10001)
	code, _, body := do(t, "GET", srv.URL+"/v1/datasets?"+many+"format=CSV")
	if code != 400 || !strings.Contains(body, "bad_query") {
		t.Errorf("10 001 parameters: %d %.200s", code, body)
	}
	repeated := strings.Repeat("territory=bretagne&", MaxParamValues+1)
	code, _, body = do(t, "GET", srv.URL+"/v1/datasets?"+repeated)
	if code != 400 || !strings.Contains(body, "territory is given 51 times") {
		t.Errorf("a filter given %d times: %d %.200s", MaxParamValues+1, code, body)
	}
	// The search page, with a 30 KB query string: a small French page.
	long := "/?" + strings.Repeat("publisher="+url.QueryEscape(strings.Repeat("Ville de Rennes ", 20))+"&", 100)
	code, h, body := do(t, "GET", srv.URL+long, "Accept", "text/html")
	if code != 400 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !strings.Contains(body, "L&#39;adresse demandée est trop longue") || len(body) > 20000 {
		t.Errorf("a 30 KB search page: %d %s, %d bytes", code, h.Get("Content-Type"), len(body))
	}
	code, _, body = do(t, "GET", srv.URL+"/v1/datasets?q=%zz")
	if code != 400 || !strings.Contains(body, "bad_query") {
		t.Errorf("a bad escape: %d %.200s", code, body)
	}
}

// A wrong method is a 405 naming the allowed ones; the read-only API is
// open to other origins (CORS), the admin route is not.
func TestMethodsAndCORS(t *testing.T) {
	srv, _ := testServer(t)
	code, h, body := do(t, "DELETE", srv.URL+"/v1/datasets")
	if code != 405 || h.Get("Allow") != "GET, HEAD, OPTIONS" || !strings.Contains(body, "method_not_allowed") {
		t.Errorf("DELETE /v1/datasets: %d Allow %q %s", code, h.Get("Allow"), body)
	}
	code, h, _ = do(t, "GET", srv.URL+"/v1/sources/x/harvest")
	if code != 405 || h.Get("Allow") != "POST" {
		t.Errorf("GET on the harvest route: %d Allow %q", code, h.Get("Allow"))
	}
	if code, _, _ = do(t, "GET", srv.URL+"/v1/nothing-here"); code != 404 {
		t.Errorf("unknown route: %d", code)
	}
	code, h, _ = do(t, "GET", srv.URL+"/v1/datasets?size=1", "Origin", "https://example.org")
	if code != 200 || h.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(h.Get("Access-Control-Expose-Headers"), "X-Request-Id") {
		t.Errorf("GET from another origin: %d %v", code, h)
	}
	code, h, _ = do(t, "OPTIONS", srv.URL+"/v1/datasets", "Origin", "https://example.org", "Access-Control-Request-Method", "GET")
	if code != 204 || h.Get("Access-Control-Allow-Methods") != "GET, HEAD, OPTIONS" {
		t.Errorf("preflight: %d %v", code, h)
	}
	code, h, _ = do(t, "OPTIONS", srv.URL+"/v1/sources/x/harvest", "Origin", "https://example.org", "Access-Control-Request-Method", "POST")
	if h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight of the admin route: %d %v", code, h)
	}
}

// The catalogue's IRIs come from the configured base URL, or the request;
// X-Forwarded-Host only from a trusted proxy.
func TestForwardedHeaders(t *testing.T) {
	idx, err := bleve.OpenMem()
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	var ops []index.Op
	for _, d := range indextest.Datasets() {
		ops = append(ops, index.Op{ID: d.GetId(), Version: 1, Dataset: d})
	}
	idx.Write(context.Background(), ops)
	evil := []string{"X-Forwarded-Host", "evil.example", "X-Forwarded-Proto", "https"}
	for _, tc := range []struct {
		name    string
		s       *Server
		want    string
		notWant string
	}{
		{"untrusted", &Server{Index: idx}, "<http://127.0.0.1:", "evil.example"},
		{"trusted proxy", &Server{Index: idx, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, "<https://evil.example/v1/datasets/", ""},
		{"base URL", &Server{Index: idx, BaseURL: "https://moisson.example.org/"}, "<https://moisson.example.org/v1/datasets/", "evil.example"},
	} {
		srv := httptest.NewServer(tc.s.Handler())
		_, _, body := do(t, "GET", srv.URL+"/catalog.ttl?page_size=2", evil...)
		if !strings.Contains(body, tc.want) || tc.notWant != "" && strings.Contains(body, tc.notWant) {
			t.Errorf("%s: %.300s", tc.name, body)
		}
		srv.Close()
	}
}

// Cursors are sealed: one this API did not issue, or altered, is a 400.
func TestSealedCursors(t *testing.T) {
	srv, _ := testServer(t)
	var page struct {
		NextCursor string `json:"next_cursor"`
	}
	_, _, body := do(t, "GET", srv.URL+"/v1/datasets?size=2&sort=title")
	if err := json.Unmarshal([]byte(body), &page); err != nil || page.NextCursor == "" {
		t.Fatalf("%v %.200s", err, body)
	}
	if code, _, _ := do(t, "GET", srv.URL+"/v1/datasets?size=2&sort=title&cursor="+url.QueryEscape(page.NextCursor)); code != 200 {
		t.Errorf("the issued cursor: %d", code)
	}
	inner, _, _ := strings.Cut(page.NextCursor, ".")
	for name, c := range map[string]string{
		"the index's own, unsealed": inner,
		"resealed with another key": (&Server{CursorKey: []byte("another")}).sealCursor(inner),
		"altered":                   strings.Replace(page.NextCursor, inner[:4], "AAAA", 1),
	} {
		code, _, body := do(t, "GET", srv.URL+"/v1/datasets?size=2&sort=title&cursor="+url.QueryEscape(c))
		if code != 400 || !strings.Contains(body, "bad_cursor") {
			t.Errorf("%s cursor: %d %.200s", name, code, body)
		}
	}
}

// Dates the index cannot hold are a 400 with the range, not a 500 nor a
// filter silently dropped.
func TestDateRange(t *testing.T) {
	srv, _ := testServer(t)
	for _, q := range []string{"modified_before=0001-01-01", "modified_after=9999-12-31", "modified_after=1600-01-01T00:00:00Z"} {
		code, _, body := do(t, "GET", srv.URL+"/v1/datasets?"+q)
		if code != 400 || !strings.Contains(body, "from 1678-01-01 to 2262-01-01") {
			t.Errorf("%s: %d %.200s", q, code, body)
		}
	}
}

// Filter values match identifiers case and accents aside; a value no
// dataset has answers with the close ones.
func TestForgivingFilters(t *testing.T) {
	srv, _ := testServer(t)
	var a, b struct{ Total int64 }
	_, _, body := do(t, "GET", srv.URL+"/v1/datasets?territory=bretagne")
	json.Unmarshal([]byte(body), &a)
	_, _, body = do(t, "GET", srv.URL+"/v1/datasets?territory=BRETAGNE&format=csv")
	json.Unmarshal([]byte(body), &b)
	if a.Total == 0 || b.Total == 0 || b.Total > a.Total {
		t.Errorf("territory=BRETAGNE&format=csv: %d, territory=bretagne: %d", b.Total, a.Total)
	}
	code, _, body := do(t, "GET", srv.URL+"/v1/datasets?territory=bretagn")
	if code != 400 || !strings.Contains(body, `"did_you_mean":["bretagne"]`) || !strings.Contains(body, "did you mean bretagne?") {
		t.Errorf("territory=bretagn: %d %s", code, body)
	}
}

// A catalogue page far past the index's window is reached by walking ids,
// never the records of the pages before.
func TestCatalogSeek(t *testing.T) {
	idx, err := bleve.OpenMem()
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	ds := indextest.Datasets()
	var ops []index.Op
	for _, d := range ds {
		ops = append(ops, index.Op{ID: d.GetId(), Version: 1, Dataset: d})
	}
	idx.Write(context.Background(), ops)
	rec := &recordingSearcher{Searcher: idx}
	srv := httptest.NewServer((&Server{Index: rec}).Handler())
	defer srv.Close()
	// Page 3 of 2: by offset, one search.
	code, _, _ := do(t, "GET", srv.URL+"/catalog.ttl?page_size=2&page=3")
	if code != 200 || rec.records != 1 {
		t.Errorf("page 3: %d, %d searches reading records, want 1", code, rec.records)
	}
	// Past the window (10 000 datasets of 1000 per page): ids only, then
	// the page itself; a page past the end is a 404.
	rec.records, rec.keysOnly = 0, 0
	code, _, _ = do(t, "GET", srv.URL+"/catalog.ttl?page_size=1000&page=11")
	if code != 404 || rec.records != 0 || rec.keysOnly == 0 {
		t.Errorf("page 11 of 1000: %d, %d searches reading records, %d reading ids", code, rec.records, rec.keysOnly)
	}
}

type recordingSearcher struct {
	index.Searcher
	records, keysOnly int
}

func (r *recordingSearcher) Search(ctx context.Context, q index.Query) (*index.Result, error) {
	if q.KeysOnly {
		r.keysOnly++
	} else if q.Size > 1 || q.Offset > 0 {
		r.records++
	}
	return r.Searcher.Search(ctx, q)
}
