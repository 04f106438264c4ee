package service

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
)

// The ops address answers /healthz, /metrics and a goroutine dump.
func TestServeOps(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := ServeOps(ctx, addr, nil, zap.NewNop(), nil); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"/healthz":                            "ok",
		"/metrics":                            "go_goroutines",
		"/debug/pprof/goroutine?debug=2":      "goroutine ",
		"/debug/pprof/profile?seconds=100000": "seconds must be a whole number from 1 to 120",
	} {
		var body string
		for i := 0; i < 50; i++ {
			resp, err := http.Get(fmt.Sprintf("http://%s%s", addr, path))
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				body = string(b)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if !strings.Contains(body, want) {
			t.Errorf("%s: %.200q, want %q in it", path, body, want)
		}
	}
}

// A profile or trace longer than MaxProfileSeconds is refused: pprof would
// run it for as long as asked.
func TestServeOpsProfileBound(t *testing.T) {
	rec := httptest.NewRecorder()
	boundSeconds(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ran") })(rec, httptest.NewRequest("GET", "/debug/pprof/profile?seconds=1000000000", nil))
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "120") {
		t.Errorf("seconds=1000000000: %d %q, want 400 naming the bound", rec.Code, rec.Body.String())
	}
	for q, want := range map[string]int{"seconds=1": 200, "": 200, "seconds=x": 400, "seconds=0": 400, "seconds=120": 200, "seconds=121": 400} {
		rec := httptest.NewRecorder()
		boundSeconds(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ran") })(rec, httptest.NewRequest("GET", "/debug/pprof/trace?"+q, nil))
		if rec.Code != want {
			t.Errorf("%q: %d, want %d", q, rec.Code, want)
		}
	}
}

func TestParseMemoryMax(t *testing.T) {
	for in, want := range map[string]int64{"max\n": 0, "1073741824\n": 1 << 30, "9223372036854771712": 0, "": 0, "-1": 0} {
		if got := parseMemoryMax(in); got != want {
			t.Errorf("parseMemoryMax(%q) = %d, want %d", in, got, want)
		}
	}
}
