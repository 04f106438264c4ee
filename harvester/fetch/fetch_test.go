package fetch

import (
	"context"
	"errors"
	"fmt"
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

// The special-purpose ranges of the IANA registries, beyond the private and
// loopback ones, are refused at dial time: shared address space, benchmarking,
// IETF protocol assignments, NAT64, 6to4, documentation, Teredo.
func TestRefusesSpecialPurposeAddresses(t *testing.T) {
	c := New(Options{Retries: -1, IgnoreRobots: true, ConnectTimeout: 2 * time.Second})
	for _, u := range []string{"http://100.64.0.1/", "http://198.18.0.1/", "http://192.0.0.8/", "http://192.0.2.1/",
		"http://[64:ff9b::7f00:1]/", "http://[2002:7f00:1::1]/", "http://[2001::1]/", "http://[fc00::1]/", "http://240.0.0.1/"} {
		_, _, err := read(t, c, u)
		if !errors.Is(err, ErrForbiddenAddress) || KindOf(err) != KindForbidden {
			t.Errorf("%s: %v (kind %s), want ErrForbiddenAddress", u, err, KindOf(err))
		}
	}
}

// Proxy variables of the environment must not route requests around the
// address check: a proxy would dial the forbidden address for us.
func TestIgnoresProxyEnvironment(t *testing.T) {
	var proxied atomic.Int64
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxied.Add(1)
		io.WriteString(w, "metadata secrets")
	}))
	defer proxy.Close()
	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("http_proxy", proxy.URL)
	u, _ := url.Parse(proxy.URL)
	// The proxy's own address is allowed (as the simulator's is).
	c := New(Options{Retries: -1, IgnoreRobots: true, AllowedPrivate: []string{u.Host}, ConnectTimeout: time.Second})
	if _, _, err := read(t, c, "http://169.254.169.254/latest/meta-data/"); !errors.Is(err, ErrForbiddenAddress) {
		t.Errorf("through HTTP_PROXY: %v, want ErrForbiddenAddress", err)
	}
	if proxied.Load() != 0 {
		t.Errorf("the proxy got %d requests", proxied.Load())
	}
}

// A body trickling slower than the minimum throughput is cut, as a timeout,
// long before the request's deadline.
func TestSlowBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"success": true, "result": {"count": 1, "results": [`)
		for i := 0; i < 500 && r.Context().Err() == nil; i++ {
			io.WriteString(w, "          ")
			w.(http.Flusher).Flush()
			time.Sleep(20 * time.Millisecond)
		}
	}))
	defer srv.Close()
	c := New(Options{AllowPrivate: true, IgnoreRobots: true, Retries: -1, MinBytesPerSecond: 2000, ThroughputWindow: 300 * time.Millisecond})
	start := time.Now()
	_, _, err := read(t, c, srv.URL)
	var se *SlowBodyError
	if !errors.As(err, &se) || KindOf(err) != KindTimeout {
		t.Fatalf("%v (kind %s), want a SlowBodyError, kind timeout", err, KindOf(err))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cut after %s", d)
	}
	// A body read past the request's deadline is a timeout too.
	c = New(Options{AllowPrivate: true, IgnoreRobots: true, Retries: -1, RequestTimeout: 300 * time.Millisecond, MinBytesPerSecond: -1})
	if _, _, err := read(t, c, srv.URL); KindOf(err) != KindTimeout {
		t.Errorf("past the deadline: %v (kind %s), want timeout", err, KindOf(err))
	}
}

// Transport errors are told apart: a run says the host could not be
// resolved, refused the connection, or failed TLS, not that robots.txt
// forbade it.
func TestErrorKinds(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := "http://" + ln.Addr().String() + "/api"
	ln.Close()
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	defer tlsSrv.Close()
	c := New(Options{AllowPrivate: true, Retries: -1, ConnectTimeout: 2 * time.Second})
	for _, tc := range []struct{ url, kind string }{
		{"http://moisson-test.invalid/api", KindDNS},
		{closed, KindConnection},
		{tlsSrv.URL + "/api", KindTLS},
	} {
		_, _, err := read(t, c, tc.url)
		if err == nil || KindOf(err) != tc.kind || errors.Is(err, ErrRobots) {
			t.Errorf("%s: %v: kind %s, want %s (and not robots.txt)", tc.url, err, KindOf(err), tc.kind)
		}
	}
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, strings.Repeat("x", 4096)) }))
	defer big.Close()
	c = New(Options{AllowPrivate: true, IgnoreRobots: true, MaxBodyBytes: 2 << 10})
	_, _, err := read(t, c, big.URL)
	if KindOf(err) != KindTooLarge || !strings.Contains(fmt.Sprint(err), "2 KiB") {
		t.Errorf("too large: %v (kind %s), want the limit named", err, KindOf(err))
	}
}
