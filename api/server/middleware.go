package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// The middleware around every route, outermost first:
//
//   - request ids: X-Request-Id is taken from the request when it is sane
//     (1–128 characters of [A-Za-z0-9._:-]), generated otherwise, echoed in
//     the response and given to the logs (RequestID);
//   - the guard (guard.go): a query string over the bounds is a 400, the
//     read-only API answers CORS;
//   - gzip, when Accept-Encoding allows it, for JSON, HTML, CSV, RDF and other
//     text; never for what is already compressed (Content-Encoding set, or an
//     image/archive type), nor for tiny bodies;
//   - ETag and If-None-Match on the catalogue and coverage answers (the web
//     interface's static files carry their own ETag).

// middleware wraps the router.
func (s *Server) middleware(h http.Handler) http.Handler {
	return withRequestID(s.withGuard(withGzip(withETag(etagRoute, h))))
}

// ---- request ids ----

type ctxKey int

const requestIDKey ctxKey = iota

// HeaderRequestID is the request id header.
const HeaderRequestID = "X-Request-Id"

// RequestID is the id of the request being served ("" outside a request).
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

func saneRequestID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func withRequestID(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(HeaderRequestID)
		if !saneRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set(HeaderRequestID, id)
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

// ---- gzip ----

// acceptsGzip reads Accept-Encoding: gzip (or *) with a non-zero quality.
func acceptsGzip(h string) bool {
	star := false
	for _, part := range strings.Split(h, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name != "gzip" && name != "x-gzip" && name != "*" {
			continue
		}
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		if name == "*" {
			star = q > 0
			continue
		}
		return q > 0
	}
	return star
}

// compressible tells whether a Content-Type is worth compressing.
func compressible(ct string) bool {
	ct = strings.ToLower(strings.TrimSpace(strings.Split(ct, ";")[0]))
	switch {
	case strings.HasPrefix(ct, "text/"):
		return true
	case ct == "application/json", ct == "application/ld+json", ct == "application/geo+json",
		ct == "application/problem+json", ct == "application/xml", ct == "application/rdf+xml",
		ct == "application/n-triples", ct == "application/n-quads", ct == "application/trig",
		ct == "application/javascript", ct == "image/svg+xml", ct == "application/x-ndjson",
		strings.HasSuffix(ct, "+json"), strings.HasSuffix(ct, "+xml"):
		return true
	}
	return false
}

// gzipMin is the smallest declared body worth compressing.
const gzipMin = 512

var gzipPool = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(io.Discard, gzip.DefaultCompression); return w }}

type gzipWriter struct {
	http.ResponseWriter
	head    bool
	decided bool
	gz      *gzip.Writer
}

func (g *gzipWriter) decide(code int) {
	if g.decided {
		return
	}
	g.decided = true
	h := g.ResponseWriter.Header()
	ct := h.Get("Content-Type")
	if !compressible(ct) {
		return
	}
	h.Add("Vary", "Accept-Encoding")
	if g.head || code < 200 || code == http.StatusNoContent || code == http.StatusNotModified || h.Get("Content-Encoding") != "" {
		return
	}
	if n, err := strconv.Atoi(h.Get("Content-Length")); err == nil && n < gzipMin {
		return
	}
	h.Del("Content-Length")
	h.Set("Content-Encoding", "gzip")
	if et := h.Get("ETag"); et != "" && !strings.HasPrefix(et, "W/") {
		// The compressed bytes differ from the ones the strong validator
		// names: it becomes weak (If-None-Match compares weakly).
		h.Set("ETag", "W/"+et)
	}
	g.gz = gzipPool.Get().(*gzip.Writer)
	g.gz.Reset(g.ResponseWriter)
}

func (g *gzipWriter) WriteHeader(code int) {
	if code >= 100 && code < 200 {
		g.ResponseWriter.WriteHeader(code)
		return
	}
	g.decide(code)
	g.ResponseWriter.WriteHeader(code)
}

func (g *gzipWriter) Write(b []byte) (int, error) {
	if !g.decided {
		if g.Header().Get("Content-Type") == "" {
			g.Header().Set("Content-Type", http.DetectContentType(b))
		}
		g.WriteHeader(http.StatusOK)
	}
	if g.gz != nil {
		return g.gz.Write(b)
	}
	return g.ResponseWriter.Write(b)
}

func (g *gzipWriter) Flush() {
	if g.gz != nil {
		_ = g.gz.Flush()
	}
	if f, ok := g.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (g *gzipWriter) Unwrap() http.ResponseWriter { return g.ResponseWriter }

func (g *gzipWriter) close() {
	if g.gz != nil {
		_ = g.gz.Close()
		g.gz.Reset(io.Discard)
		gzipPool.Put(g.gz)
		g.gz = nil
	}
}

func withGzip(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !acceptsGzip(r.Header.Get("Accept-Encoding")) {
			h.ServeHTTP(w, r)
			return
		}
		g := &gzipWriter{ResponseWriter: w, head: r.Method == http.MethodHead}
		defer g.close()
		h.ServeHTTP(g, r)
	})
}

// ---- ETag ----

// etagRoute tells which answers get an ETag: the federated catalogue and
// the coverage (JSON, CSV and the web page).
func etagRoute(r *http.Request) bool {
	p := r.URL.Path
	return strings.HasPrefix(p, "/catalog.") || p == "/v1/coverage" || strings.HasPrefix(p, "/v1/coverage.") ||
		strings.HasPrefix(p, "/v1/coverage/") || p == "/couverture"
}

// etagMax bounds the answer kept in memory to compute its ETag; a larger one
// is sent as it comes, without ETag.
const etagMax = 64 << 20

type etagWriter struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
	buf         bytes.Buffer
	passthrough bool
}

func (e *etagWriter) WriteHeader(code int) {
	if e.passthrough {
		e.ResponseWriter.WriteHeader(code)
		return
	}
	if !e.wroteHeader {
		e.code, e.wroteHeader = code, true
	}
}

func (e *etagWriter) Write(b []byte) (int, error) {
	if e.passthrough {
		return e.ResponseWriter.Write(b)
	}
	if !e.wroteHeader {
		e.WriteHeader(http.StatusOK)
	}
	if e.buf.Len()+len(b) > etagMax {
		e.passthrough = true
		e.ResponseWriter.WriteHeader(e.code)
		if _, err := e.ResponseWriter.Write(e.buf.Bytes()); err != nil {
			return 0, err
		}
		e.buf.Reset()
		return e.ResponseWriter.Write(b)
	}
	return e.buf.Write(b)
}

// Flush is ignored while buffering: the answer goes out whole.
func (e *etagWriter) Flush() {
	if f, ok := e.ResponseWriter.(http.Flusher); ok && e.passthrough {
		f.Flush()
	}
}

// etagMatch tells whether an If-None-Match header matches etag (weak
// comparison, RFC 9110 13.1.2).
func etagMatch(header, etag string) bool {
	if strings.TrimSpace(header) == "*" {
		return true
	}
	bare := strings.TrimPrefix(etag, "W/")
	for _, t := range strings.Split(header, ",") {
		if strings.TrimPrefix(strings.TrimSpace(t), "W/") == bare {
			return true
		}
	}
	return false
}

func withETag(match func(*http.Request) bool, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method != http.MethodGet && r.Method != http.MethodHead) || !match(r) {
			h.ServeHTTP(w, r)
			return
		}
		e := &etagWriter{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(e, r)
		if e.passthrough {
			return
		}
		hd := w.Header()
		if e.code != http.StatusOK {
			w.WriteHeader(e.code)
			_, _ = w.Write(e.buf.Bytes())
			return
		}
		tag := hd.Get("ETag")
		if tag == "" {
			sum := sha256.Sum256(e.buf.Bytes())
			tag = `W/"` + hex.EncodeToString(sum[:12]) + `"`
			hd.Set("ETag", tag)
		}
		if hd.Get("Cache-Control") == "" {
			hd.Set("Cache-Control", "no-cache")
		}
		if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, tag) {
			hd.Del("Content-Length")
			w.WriteHeader(http.StatusNotModified)
			return
		}
		hd.Set("Content-Length", strconv.Itoa(e.buf.Len()))
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(e.buf.Bytes())
		}
	})
}
