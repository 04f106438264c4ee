package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/opendatafrance/moisson/api/status"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func serve(h http.Handler, method, target string, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestRequestID(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	s := &Server{Index: emptyIndex{}, Runs: status.New(), Log: zap.New(core)}
	h := s.Handler()

	rec := serve(h, "GET", "/healthz", nil)
	gen := rec.Header().Get(HeaderRequestID)
	if len(gen) != 24 {
		t.Fatalf("generated request id %q, want 24 hex digits", gen)
	}
	if again := serve(h, "GET", "/healthz", nil).Header().Get(HeaderRequestID); again == gen {
		t.Error("two requests got the same generated id")
	}
	rec = serve(h, "GET", "/healthz", map[string]string{HeaderRequestID: "abc-123_x.y:z"})
	if got := rec.Header().Get(HeaderRequestID); got != "abc-123_x.y:z" {
		t.Errorf("echoed id = %q", got)
	}
	for _, bad := range []string{"with space", strings.Repeat("a", 129), "new\nline", "<script>"} {
		rec = serve(h, "GET", "/healthz", map[string]string{HeaderRequestID: bad})
		if got := rec.Header().Get(HeaderRequestID); got == bad || len(got) != 24 {
			t.Errorf("unsafe id %q: answered %q, want a generated one", bad, got)
		}
	}
	found := false
	for _, e := range logs.FilterMessage("request").All() {
		if e.ContextMap()["request_id"] == "abc-123_x.y:z" {
			found = true
		}
	}
	if !found {
		t.Error("the request log does not carry the request id")
	}
	if RequestID(context.Background()) != "" {
		t.Error("RequestID outside a request")
	}
}

func TestAcceptsGzip(t *testing.T) {
	for h, want := range map[string]bool{
		"": false, "gzip": true, "deflate, gzip;q=0.5": true, "gzip;q=0": false, "br": false,
		"*": true, "*;q=0": false, "gzip;q=0, *": false, "identity": false, "x-gzip": true, "GZIP": true,
	} {
		if got := acceptsGzip(h); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", h, got, want)
		}
	}
}

func gunzip(t *testing.T, b []byte) string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestGzip(t *testing.T) {
	big := strings.Repeat("Délibérations du conseil municipal, ", 200)
	h := withGzip(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/json":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"x":"`+big+`"}`)
		case "/csv":
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			io.WriteString(w, big)
		case "/html-sniffed":
			io.WriteString(w, "<!doctype html><html><p>"+big)
		case "/png":
			w.Header().Set("Content-Type", "image/png")
			io.WriteString(w, big)
		case "/already":
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			io.WriteString(zw, big)
			zw.Close()
		case "/tiny":
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", "2")
			io.WriteString(w, "{}")
		case "/etag":
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("ETag", `"abc"`)
			io.WriteString(w, big)
		case "/notmodified":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotModified)
		}
	}))
	gz := map[string]string{"Accept-Encoding": "gzip, deflate"}
	for _, p := range []string{"/json", "/csv", "/html-sniffed", "/etag"} {
		rec := serve(h, "GET", p, gz)
		if rec.Header().Get("Content-Encoding") != "gzip" {
			t.Errorf("%s: not compressed (%v)", p, rec.Header())
			continue
		}
		if !strings.Contains(rec.Header().Get("Vary"), "Accept-Encoding") {
			t.Errorf("%s: no Vary: Accept-Encoding", p)
		}
		if body := gunzip(t, rec.Body.Bytes()); !strings.Contains(body, big) {
			t.Errorf("%s: the body does not survive compression", p)
		}
		if rec.Body.Len() > len(big)/5 {
			t.Errorf("%s: %d compressed bytes for %d", p, rec.Body.Len(), len(big))
		}
	}
	if et := serve(h, "GET", "/etag", gz).Header().Get("ETag"); et != `W/"abc"` {
		t.Errorf("compressed answer keeps the strong ETag %q; want it weak", et)
	}
	for _, p := range []string{"/png", "/tiny", "/notmodified"} {
		if ce := serve(h, "GET", p, gz).Header().Get("Content-Encoding"); ce != "" {
			t.Errorf("%s: Content-Encoding %q, want none", p, ce)
		}
	}
	rec := serve(h, "GET", "/already", gz)
	if gunzip(t, rec.Body.Bytes()) != big {
		t.Error("an already compressed answer was compressed twice")
	}
	// Without Accept-Encoding: as it is.
	rec = serve(h, "GET", "/json", nil)
	if rec.Header().Get("Content-Encoding") != "" || !strings.Contains(rec.Body.String(), big) {
		t.Error("compressed for a client that did not ask")
	}
	rec = serve(h, "GET", "/json", map[string]string{"Accept-Encoding": "gzip;q=0"})
	if rec.Header().Get("Content-Encoding") != "" {
		t.Error("compressed for a client that refused gzip")
	}
}

func TestETag(t *testing.T) {
	body := "territory,item,count\nbretagne,scdl/deliberations,11\n"
	calls := 0
	h := withGzip(withETag(etagRoute, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		switch r.URL.Path {
		case "/v1/coverage", "/catalog.ttl", "/v1/datasets":
			w.Header().Set("Content-Type", "text/csv")
			io.WriteString(w, body)
		case "/catalog.jsonld":
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "down")
		}
	})))
	rec := serve(h, "GET", "/v1/coverage", nil)
	tag := rec.Header().Get("ETag")
	if !strings.HasPrefix(tag, `W/"`) || rec.Body.String() != body || rec.Header().Get("Content-Length") != strconv.Itoa(len(body)) {
		t.Fatalf("first answer: ETag %q, body %q, length %q", tag, rec.Body.String(), rec.Header().Get("Content-Length"))
	}
	if serve(h, "GET", "/catalog.ttl", nil).Header().Get("ETag") != tag {
		t.Error("the same bytes give another ETag")
	}
	for _, inm := range []string{tag, strings.TrimPrefix(tag, "W/"), `"other", ` + tag, "*"} {
		rec = serve(h, "GET", "/v1/coverage", map[string]string{"If-None-Match": inm, "Accept-Encoding": "gzip"})
		if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
			t.Errorf("If-None-Match %s: status %d, %d bytes; want 304 and nothing", inm, rec.Code, rec.Body.Len())
		}
		if rec.Header().Get("ETag") != tag {
			t.Errorf("304 without the ETag")
		}
	}
	if rec = serve(h, "GET", "/v1/coverage", map[string]string{"If-None-Match": `"other"`}); rec.Code != 200 {
		t.Errorf("If-None-Match that does not match: status %d", rec.Code)
	}
	if rec = serve(h, "GET", "/v1/datasets", nil); rec.Header().Get("ETag") != "" {
		t.Error("an ETag on a route that does not get one")
	}
	if rec = serve(h, "GET", "/catalog.jsonld", nil); rec.Code != 503 || rec.Header().Get("ETag") != "" || rec.Body.String() != "down" {
		t.Errorf("error answer: %d %q %q", rec.Code, rec.Header().Get("ETag"), rec.Body.String())
	}
	if calls == 0 {
		t.Fatal("handler never called")
	}
}

// TestMiddlewareOnTheServer checks the whole chain on real routes: a
// compressed JSON error keeps its shape, HTML pages are compressed.
func TestMiddlewareOnTheServer(t *testing.T) {
	s := &Server{Index: emptyIndex{}, Runs: status.New()}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/v1/datasets?size=0", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || resp.Header.Get(HeaderRequestID) == "" {
		t.Fatalf("status %d, request id %q", resp.StatusCode, resp.Header.Get(HeaderRequestID))
	}
	body := string(b)
	if resp.Header.Get("Content-Encoding") == "gzip" {
		body = gunzip(t, b)
	}
	if !strings.Contains(body, `"code":"bad_parameter"`) {
		t.Errorf("error body %q", body)
	}
	req, _ = http.NewRequest("GET", srv.URL+"/", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err = http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(gunzip(t, b), `<html lang="fr">`) {
		t.Errorf("home page: encoding %q", resp.Header.Get("Content-Encoding"))
	}
}
