package fetch

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func read(t *testing.T, c *Client, u string) (string, *Response, error) {
	t.Helper()
	resp, err := c.Get(context.Background(), Request{URL: u})
	if err != nil {
		return "", nil, err
	}
	defer resp.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), resp, err
}

func TestRefusesPrivateAddresses(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	c := New(Options{Retries: -1, IgnoreRobots: true, ConnectTimeout: time.Second})
	for _, u := range []string{srv.URL, "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://[::1]:1/"} {
		if _, _, err := read(t, c, u); !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("%s: %v, want ErrForbiddenAddress", u, err)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("the loopback server got %d requests", hits.Load())
	}
	// Only the allowed address may be private.
	u, _ := url.Parse(srv.URL)
	c = New(Options{Retries: -1, IgnoreRobots: true, AllowedPrivate: []string{u.Host}})
	if _, _, err := read(t, c, srv.URL); err != nil {
		t.Errorf("allowed address refused: %v", err)
	}
	other := httptest.NewServer(http.NotFoundHandler())
	defer other.Close()
	if _, _, err := read(t, c, other.URL); !errors.Is(err, ErrForbiddenAddress) {
		t.Errorf("another loopback port: %v, want ErrForbiddenAddress", err)
	}
}

func TestRetriesAndRetryAfter(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		case 2:
			w.WriteHeader(http.StatusBadGateway)
		default:
			io.WriteString(w, "ok")
		}
	}))
	defer srv.Close()
	c := New(Options{AllowPrivate: true, IgnoreRobots: true, BackoffBase: 10 * time.Millisecond})
	start := time.Now()
	body, _, err := read(t, c, srv.URL)
	if err != nil || body != "ok" || n.Load() != 3 {
		t.Fatalf("%q %v after %d requests", body, err, n.Load())
	}
	if time.Since(start) < 900*time.Millisecond {
		t.Error("Retry-After: 1 not honoured")
	}
	// 404 is not retried.
	n.Store(0)
	nf := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.Add(1); http.NotFound(w, r) }))
	defer nf.Close()
	var he *HTTPError
	if _, _, err := read(t, c, nf.URL); !errors.As(err, &he) || he.Status != 404 || n.Load() != 1 {
		t.Errorf("404: %v after %d requests", err, n.Load())
	}
}

func TestBodyLimit(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("x", 2000))
	}))
	defer srv.Close()
	c := New(Options{AllowPrivate: true, IgnoreRobots: true, MaxBodyBytes: 1000})
	if _, _, err := read(t, c, srv.URL); !errors.Is(err, ErrTooLarge) {
		t.Errorf("%v, want ErrTooLarge", err)
	}
	c = New(Options{AllowPrivate: true, IgnoreRobots: true, MaxBodyBytes: 2000})
	if body, _, err := read(t, c, srv.URL); err != nil || len(body) != 2000 {
		t.Errorf("a body of exactly the limit: %d bytes, %v", len(body), err)
	}
}

func TestRedirectToAnotherHost(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "new") }))
	defer target.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(target.URL, "http://"))
	moved := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://localhost:"+port+"/", http.StatusMovedPermanently)
	}))
	defer moved.Close()
	same := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/new", http.StatusFound)
			return
		}
		io.WriteString(w, "same host")
	}))
	defer same.Close()
	c := New(Options{AllowPrivate: true, IgnoreRobots: true, Retries: -1})
	var re *RedirectError
	if _, _, err := read(t, c, moved.URL); !errors.As(err, &re) {
		t.Errorf("redirect to another host: %v", err)
	}
	if body, _, err := read(t, c, same.URL+"/old"); err != nil || body != "same host" {
		t.Errorf("redirect on the same host: %q %v", body, err)
	}
}

func TestRobots(t *testing.T) {
	var private atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/robots.txt":
			io.WriteString(w, "User-agent: *\nAllow: /\n\nUser-agent: Moisson\nDisallow: /private/\n")
		case "/private/data":
			private.Add(1)
		default:
			io.WriteString(w, "public")
		}
	}))
	defer srv.Close()
	c := New(Options{AllowPrivate: true, Retries: -1})
	if _, _, err := read(t, c, srv.URL+"/private/data"); !errors.Is(err, ErrRobots) {
		t.Errorf("disallowed path: %v", err)
	}
	if body, _, err := read(t, c, srv.URL+"/api"); err != nil || body != "public" {
		t.Errorf("allowed path: %q %v", body, err)
	}
	if private.Load() != 0 {
		t.Error("a disallowed path was fetched")
	}
	// A robots.txt answering 503: everything is disallowed for now.
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer down.Close()
	if _, _, err := read(t, c, down.URL+"/api"); !errors.Is(err, ErrRobots) {
		t.Errorf("robots.txt 503: %v", err)
	}
}

func TestPerHostConcurrency(t *testing.T) {
	var inflight, peak atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inflight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
		inflight.Add(-1)
	}))
	defer srv.Close()
	c := New(Options{AllowPrivate: true, IgnoreRobots: true, ConcurrencyPerHost: 2})
	done := make(chan struct{})
	for i := 0; i < 8; i++ {
		go func() {
			read(t, c, srv.URL)
			done <- struct{}{}
		}()
	}
	for i := 0; i < 8; i++ {
		<-done
	}
	if peak.Load() > 2 {
		t.Errorf("%d requests in flight to one host, cap 2", peak.Load())
	}
}

func TestCacheConditional(t *testing.T) {
	var full, notModified atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("If-None-Match") == `"v1"` {
			notModified.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		full.Add(1)
		io.WriteString(w, `{"v":1}`)
	}))
	defer srv.Close()
	cache, err := NewCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c := New(Options{AllowPrivate: true, IgnoreRobots: true, Cache: cache})
	stats := &Stats{}
	ctx := WithStats(context.Background(), stats)
	for i := 0; i < 3; i++ {
		resp, err := c.Get(ctx, Request{URL: srv.URL + "/catalog"})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Close()
		if string(b) != `{"v":1}` || resp.Status != 200 || resp.NotModified != (i > 0) || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("request %d: %q status %d not-modified %v", i, b, resp.Status, resp.NotModified)
		}
	}
	if full.Load() != 1 || notModified.Load() != 2 || stats.NotModified.Load() != 2 {
		t.Errorf("full %d, 304 %d, counted %d", full.Load(), notModified.Load(), stats.NotModified.Load())
	}
	// A body read only in part is not kept.
	cache2, _ := NewCache(t.TempDir())
	c2 := New(Options{AllowPrivate: true, IgnoreRobots: true, Cache: cache2})
	resp, _ := c2.Get(context.Background(), Request{URL: srv.URL + "/catalog"})
	resp.Body.Read(make([]byte, 2))
	resp.Close()
	if _, ok := cache2.lookup(srv.URL + "/catalog"); ok {
		t.Error("a partly read body was kept")
	}
}
