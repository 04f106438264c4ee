// Package server is Moisson's HTTP API: cross-territory dataset search with
// facets, dataset lookup, harvest status, health and metrics.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/opendatafrance/moisson/api/observatory"
	"github.com/opendatafrance/moisson/api/status"
	"github.com/opendatafrance/moisson/api/web"
	"github.com/opendatafrance/moisson/indexer/index"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Page sizes.
const (
	DefaultSize = 20
	MaxSize     = 100
)

var metricRequests = promauto.NewHistogramVec(prometheus.HistogramOpts{
	Name:    "moisson_api_request_seconds",
	Help:    "API request latency, by route and status.",
	Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
}, []string{"route", "code"})

// Server answers the API.
type Server struct {
	Index index.Searcher
	Runs  *status.Runs
	Log   *zap.Logger
	// JS gives access to run errors, change lists and the worker buckets.
	JS jetstream.JetStream
	// AdminToken protects POST /v1/sources/{id}/harvest ("" disables it).
	AdminToken string
	// Ready reports whether the dependencies answer (NATS connected...).
	Ready func(ctx context.Context) error
	// BaseURL is the address the catalogue's IRIs are built on (e.g.
	// https://moisson.example.org); "" takes the request's own.
	BaseURL string
	// TrustedProxies are the peers whose X-Forwarded-Proto and
	// X-Forwarded-Host are honoured (ParseProxies); none by default.
	TrustedProxies []netip.Prefix
	// NATSConnected names the NATS server the API is connected to (for
	// /v1/status); nil: not said.
	NATSConnected func() string
	// CursorKey seals the cursors (HMAC-SHA256); nil: a random key, the
	// cursors then last as long as the process (see CursorKey).
	CursorKey []byte

	keyOnce sync.Once
	ui      *web.UI
	mux     *http.ServeMux
	obsOnce sync.Once
	obs     *observatory.Observatory
}

// notFound answers a request no route takes: 405 with Allow when the path
// is a route for other methods, else 404.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	if allow := methodsOf(s.mux, r); len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed",
			fmt.Sprintf("%s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, strings.Join(allow, ", ")))
		return
	}
	writeError(w, http.StatusNotFound, "not_found", "no such route: "+r.Method+" "+r.URL.Path)
}

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.mux = mux
	route := func(pattern string, h http.HandlerFunc) {
		mux.Handle(pattern, s.instrument(pattern, h))
	}
	// Each group of routes lives with its handlers.
	s.searchRoutes(route)
	s.sourceRoutes(route)
	s.coverageRoutes(route) // GET /v1/coverage, /v1/quality (coverage.go)
	s.catalogRoutes(route)  // GET /catalog.{jsonld,ttl,rdf} (catalog.go)
	s.deadLetterRoutes(route)
	s.statusRoutes(route)      // GET /v1/status (status.go)
	s.observatoryRoutes(route) // GET /v1/observatory, /v1/observatory/unresolved (observatory.go)
	s.openapiRoutes(route)     // GET /openapi.json (openapi.go)
	s.webRoutes(route)         // the web interface (api/web)
	route("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	route("GET /readyz", s.ready)
	mux.Handle("GET /metrics", promhttp.Handler())
	mux.Handle("/", s.instrument("/", s.notFound))
	return s.middleware(mux) // request ids, query bounds and CORS, gzip, ETags (middleware.go, guard.go)
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

func (s *Server) instrument(route string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		h(sw, r)
		d := time.Since(start)
		metricRequests.WithLabelValues(route, strconv.Itoa(sw.code)).Observe(d.Seconds())
		if s.Log != nil {
			s.Log.Debug("request", zap.String("method", r.Method), zap.String("path", r.URL.Path),
				zap.Int("status", sw.code), zap.Duration("took", d), zap.String("request_id", RequestID(r.Context())))
		}
	})
}

// apiError is the body of every error.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var e apiError
	e.Error.Code, e.Error.Message = code, msg
	writeJSON(w, status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

var pj = protojson.MarshalOptions{UseProtoNames: true}

// protoJSON renders a message as JSON with the .proto field names, its
// 64-bit integers as numbers.
func protoJSON(m proto.Message) json.RawMessage {
	b, err := pj.Marshal(m)
	if err != nil {
		return json.RawMessage(`null`)
	}
	return int64Numbers(b)
}

// routeFunc registers a handler for a pattern (method and path).
type routeFunc func(pattern string, h http.HandlerFunc)

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, index.ErrTooManyGroups) {
		writeError(w, http.StatusUnprocessableEntity, "too_many_duplicates", err.Error())
		return
	}
	if s.Log != nil {
		s.Log.Error("request failed", zap.String("path", r.URL.Path), zap.String("request_id", RequestID(r.Context())), zap.Error(err))
	}
	writeError(w, http.StatusInternalServerError, "internal", "the index could not answer: "+err.Error())
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	if _, err := s.Index.Count(r.Context()); err != nil {
		writeError(w, http.StatusServiceUnavailable, "not_ready", "index: "+err.Error())
		return
	}
	if s.Ready != nil {
		if err := s.Ready(r.Context()); err != nil {
			writeError(w, http.StatusServiceUnavailable, "not_ready", err.Error())
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
