// Package fetch is the harvester's HTTP client: polite (User-Agent naming
// Moisson and a contact, retries with jittered backoff honouring
// Retry-After), bounded (timeouts on connect, headers and the whole
// request; a body size limit and a minimum throughput) and safe (no address
// of the IANA special-purpose registries — private, loopback, link-local,
// shared, benchmarking, NAT64, 6to4… — unless the configuration allows
// them, checked on the address actually dialled; proxy variables of the
// environment are ignored, so no proxy dials for us). Its errors are typed
// (KindOf): DNS, connection, TLS, timeout, too large, robots.txt, HTTP.
package fetch

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"code.dny.dev/ssrf"
)

// Options configure a Client.
type Options struct {
	Contact      string // put in the User-Agent
	AllowPrivate bool   // allow every loopback/private/link-local address (tests of this package only)
	// AllowedPrivate lists the private addresses ("ip:port") that may be
	// called anyway: the configured endpoints when the configuration allows
	// private addresses (the simulator). Anything else private — a link in
	// a catalogue to 127.0.0.1:other-port or 169.254.169.254 — is refused.
	AllowedPrivate []string
	ConnectTimeout time.Duration // default 10s
	HeaderTimeout  time.Duration // default 30s
	RequestTimeout time.Duration // whole request including body; default 5 min
	MaxBodyBytes   int64         // default 512 MiB (decoded: a gzip body counts what it inflates to)
	// A body slower than MinBytesPerSecond over any ThroughputWindow
	// (defaults 1 KiB/s over 30 s) is cut with a timeout: a portal
	// trickling bytes must not hold a worker for the whole RequestTimeout.
	MinBytesPerSecond int64
	ThroughputWindow  time.Duration
	Retries           int           // extra attempts on 429/5xx/network errors; default 3 (negative: none)
	BackoffBase       time.Duration // default 500ms
	BackoffMax        time.Duration // default 30s
	// Politeness per host: requests per second (0 = no limit) and requests
	// in flight at once (0 = 2).
	RatePerHost        float64
	ConcurrencyPerHost int
	// Cache, if set, makes requests conditional and replays 304s.
	Cache *Cache
	// IgnoreRobots skips robots.txt (tests only; portals' robots.txt is
	// respected by default).
	IgnoreRobots bool
}

// Client fetches portal endpoints.
type Client struct {
	opt   Options
	http  *http.Client
	ua    string
	mu    sync.Mutex
	hosts map[string]*host
}

// Version is put in the User-Agent.
const Version = "0.1"

// New builds a client.
func New(opt Options) *Client {
	if opt.ConnectTimeout == 0 {
		opt.ConnectTimeout = 10 * time.Second
	}
	if opt.HeaderTimeout == 0 {
		opt.HeaderTimeout = 30 * time.Second
	}
	if opt.RequestTimeout == 0 {
		opt.RequestTimeout = 5 * time.Minute
	}
	if opt.MaxBodyBytes == 0 {
		opt.MaxBodyBytes = 512 << 20
	}
	if opt.MinBytesPerSecond == 0 {
		opt.MinBytesPerSecond = 1 << 10
	}
	if opt.ThroughputWindow == 0 {
		opt.ThroughputWindow = 30 * time.Second
	}
	if opt.Retries == 0 {
		opt.Retries = 3
	}
	if opt.Retries < 0 {
		opt.Retries = 0
	}
	if opt.BackoffBase == 0 {
		opt.BackoffBase = 500 * time.Millisecond
	}
	if opt.BackoffMax == 0 {
		opt.BackoffMax = 30 * time.Second
	}
	dialer := &net.Dialer{Timeout: opt.ConnectTimeout, KeepAlive: 30 * time.Second}
	if !opt.AllowPrivate {
		allowed := map[string]bool{}
		for _, a := range opt.AllowedPrivate {
			allowed[a] = true
		}
		guard := ssrf.New(ssrf.WithAnyPort())
		dialer.Control = func(network, address string, c syscall.RawConn) error {
			if allowed[address] {
				return nil
			}
			if err := guard.Safe(network, address, c); err != nil {
				return fmt.Errorf("%w: %s (%v)", ErrForbiddenAddress, address, err)
			}
			return nil
		}
	}
	tr := &http.Transport{
		// No proxy from the environment: a proxy would dial the portals
		// for us, out of reach of the address check.
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ResponseHeaderTimeout: opt.HeaderTimeout,
		TLSHandshakeTimeout:   opt.ConnectTimeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		// A parser reads a few kB at a time; the default 4 kB buffer made
		// that a system call each.
		ReadBufferSize: 64 << 10,
	}
	ua := "Moisson/" + Version + " (open data harvester"
	if opt.Contact != "" {
		ua += "; +" + opt.Contact
	}
	ua += ")"
	if opt.ConcurrencyPerHost <= 0 {
		opt.ConcurrencyPerHost = 2
	}
	c := &Client{opt: opt, ua: ua, hosts: map[string]*host{}}
	c.http = &http.Client{Transport: tr, CheckRedirect: checkRedirect}
	return c
}

// RedirectError is a redirect to another host: the portal has moved.
type RedirectError struct{ From, To string }

func (e *RedirectError) Error() string {
	return "redirected from " + e.From + " to another host: " + e.To + " (moved portal? update the configuration)"
}

func sameHost(a, b string) bool {
	a, b = strings.ToLower(strings.TrimPrefix(a, "www.")), strings.ToLower(strings.TrimPrefix(b, "www."))
	return a == b
}

func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if from := via[0].URL; !sameHost(from.Hostname(), req.URL.Hostname()) {
		return &RedirectError{From: from.String(), To: req.URL.String()}
	}
	return nil
}

// ErrForbiddenAddress is returned for an address the harvester must not
// call: one of the IANA special-purpose registries (code.dny.dev/ssrf).
var ErrForbiddenAddress = errors.New("refusing to connect to a private or special-purpose address")

// HTTPError is a response with an unexpected status.
type HTTPError struct {
	URL     string
	Status  int
	Excerpt string
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("HTTP %d from %s", e.Status, e.URL)
	if e.Excerpt != "" {
		msg += ": " + e.Excerpt
	}
	return msg
}

// ErrTooLarge is what a *TooLargeError is (errors.Is).
var ErrTooLarge = errors.New("too large")

// TooLargeError is a body, or a part of a document, over a size limit.
type TooLargeError struct {
	What  string // "response body", "JSON-LD node"...
	Limit int64  // bytes (or what What counts)
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s over the limit of %s", e.What, sizeString(e.Limit, e.What))
}

// Is makes errors.Is(err, ErrTooLarge) true.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

func sizeString(n int64, what string) string {
	if strings.Contains(what, "(") { // counts something else than bytes
		return strconv.FormatInt(n, 10)
	}
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// SlowBodyError is a body that came slower than the minimum throughput.
type SlowBodyError struct {
	URL      string
	Got      int64 // bytes in the window
	Window   time.Duration
	MinPerSe int64
}

func (e *SlowBodyError) Error() string {
	return fmt.Sprintf("timeout: the body of %s came at %d bytes in %s, below the minimum of %d bytes/s", e.URL, e.Got, e.Window, e.MinPerSe)
}

// Timeout makes it a net.Error timeout (KindOf: timeout).
func (e *SlowBodyError) Timeout() bool   { return true }
func (e *SlowBodyError) Temporary() bool { return false }

// Request is one GET.
type Request struct {
	URL    string
	Accept string
	Header http.Header
}

// Response is an answered request. Close it.
type Response struct {
	URL         string // after redirects
	Status      int
	NotModified bool // the portal answered 304: Body is the kept copy
	Header      http.Header
	Body        io.ReadCloser // size-limited (*TooLargeError) and throughput-limited (*SlowBodyError)
	cancel      context.CancelFunc
}

// Close releases the response.
func (r *Response) Close() error {
	err := r.Body.Close()
	r.cancel()
	return err
}

// Get fetches a URL, retrying 429, 5xx and network errors with jittered
// exponential backoff (Retry-After honoured). A 304 is returned as a
// response, other non-2xx statuses as *HTTPError.
func (c *Client) Get(ctx context.Context, req Request) (*Response, error) {
	var last error
	for attempt := 0; ; attempt++ {
		resp, retryAfter, err := c.once(ctx, req)
		if err == nil {
			return resp, nil
		}
		last = err
		if attempt >= c.opt.Retries || !retryable(err) || ctx.Err() != nil {
			return nil, last
		}
		wait := c.backoff(attempt)
		if retryAfter > 0 {
			wait = retryAfter
		}
		if wait > c.opt.BackoffMax {
			wait = c.opt.BackoffMax
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, last
		case <-t.C:
		}
	}
}

func (c *Client) backoff(attempt int) time.Duration {
	d := c.opt.BackoffBase << attempt
	if d > c.opt.BackoffMax || d <= 0 {
		d = c.opt.BackoffMax
	}
	// full jitter between d/2 and d
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

func retryable(err error) bool {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Status == http.StatusTooManyRequests || he.Status >= 500
	}
	var re *RedirectError
	if errors.Is(err, ErrForbiddenAddress) || errors.Is(err, ErrTooLarge) || errors.As(err, &re) || errors.Is(err, ErrRobots) {
		return false
	}
	if k := KindOf(err); k == KindTLS {
		return false
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return false
	}
	return true // network errors, timeouts
}

func (c *Client) once(ctx context.Context, req Request) (*Response, time.Duration, error) {
	u, err := url.Parse(req.URL)
	if err != nil {
		return nil, 0, err
	}
	h := c.host(u)
	if !c.opt.IgnoreRobots {
		if err := h.allowed(ctx, c, u); err != nil {
			return nil, 0, err
		}
	}
	release, err := h.acquire(ctx)
	if err != nil {
		return nil, 0, err
	}
	rctx, cancel0 := context.WithTimeout(ctx, c.opt.RequestTimeout)
	cancel := func() { cancel0(); release() }
	hreq, err := http.NewRequestWithContext(rctx, http.MethodGet, req.URL, nil)
	if err != nil {
		cancel()
		return nil, 0, err
	}
	for k, v := range req.Header {
		hreq.Header[k] = v
	}
	hreq.Header.Set("User-Agent", c.ua)
	if req.Accept != "" {
		hreq.Header.Set("Accept", req.Accept)
	}
	var kept *cached // the cache's entry, its body open: replayed on 304, else closed
	if c.opt.Cache != nil && hreq.Header.Get("If-None-Match") == "" {
		if e, ok := c.opt.Cache.lookup(req.URL); ok {
			kept = e
			if e.meta.ETag != "" {
				hreq.Header.Set("If-None-Match", e.meta.ETag)
			}
			if e.meta.LastModified != "" {
				hreq.Header.Set("If-Modified-Since", e.meta.LastModified)
			}
		}
	}
	resp, err := c.http.Do(hreq)
	if kept != nil && (err != nil || resp.StatusCode != http.StatusNotModified) {
		kept.body.Close()
	}
	if err != nil {
		cancel()
		return nil, 0, err
	}
	if resp.StatusCode == http.StatusNotModified && kept != nil {
		resp.Body.Close()
		if st := statsOf(ctx); st != nil {
			st.NotModified.Add(1)
		}
		h := resp.Header.Clone()
		if h.Get("Content-Type") == "" && kept.meta.ContentType != "" {
			h.Set("Content-Type", kept.meta.ContentType)
		}
		return &Response{URL: req.URL, Status: http.StatusOK, NotModified: true, Header: h,
			Body: c.limit(kept.body, req.URL, rctx), cancel: cancel}, 0, nil
	}
	if c.opt.Cache != nil && resp.StatusCode == http.StatusOK && resp.Request.URL.String() == req.URL &&
		(resp.Header.Get("ETag") != "" || resp.Header.Get("Last-Modified") != "") {
		resp.Body = c.opt.Cache.store(req.URL, cacheMeta{URL: req.URL, ETag: resp.Header.Get("ETag"),
			LastModified: resp.Header.Get("Last-Modified"), ContentType: resp.Header.Get("Content-Type")}, resp.Body)
	}
	if resp.StatusCode == http.StatusNotModified || (resp.StatusCode >= 200 && resp.StatusCode < 300) {
		return &Response{
			URL:    resp.Request.URL.String(),
			Status: resp.StatusCode,
			Header: resp.Header,
			Body:   c.limit(resp.Body, req.URL, rctx),
			cancel: cancel,
		}, 0, nil
	}
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
	resp.Body.Close()
	cancel()
	return nil, parseRetryAfter(resp.Header.Get("Retry-After")), &HTTPError{URL: req.URL, Status: resp.StatusCode, Excerpt: Excerpt(excerpt)}
}

func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// limit bounds a body: its size, its throughput, and the request's
// deadline (reported as a timeout).
func (c *Client) limit(rc io.ReadCloser, u string, ctx context.Context) *limitedBody {
	now := time.Now()
	return &limitedBody{rc: rc, left: c.opt.MaxBodyBytes, limit: c.opt.MaxBodyBytes, url: u, ctx: ctx,
		min: c.opt.MinBytesPerSecond, window: c.opt.ThroughputWindow, since: now}
}

type limitedBody struct {
	rc    io.ReadCloser
	left  int64
	limit int64
	url   string
	ctx   context.Context
	// throughput: bytes read since the window began
	min    int64
	window time.Duration
	since  time.Time
	got    int64
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// one more byte tells a body of exactly the limit from a larger one
		var one [1]byte
		n, _ := l.rc.Read(one[:])
		if n > 0 {
			return 0, &TooLargeError{What: "response body", Limit: l.limit}
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.rc.Read(p)
	l.left -= int64(n)
	l.got += int64(n)
	if l.min > 0 {
		if el := time.Since(l.since); el >= l.window {
			if float64(l.got) < float64(l.min)*el.Seconds() {
				return n, &SlowBodyError{URL: l.url, Got: l.got, Window: el.Round(time.Second), MinPerSe: l.min}
			}
			l.since, l.got = time.Now(), 0
		}
	}
	if err != nil && err != io.EOF && l.ctx != nil && errors.Is(l.ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("timeout: the whole request took longer than its deadline: %w", context.DeadlineExceeded)
	}
	return n, err
}

func (l *limitedBody) Close() error { return l.rc.Close() }

// Excerpt shortens a payload for an error report.
func Excerpt(b []byte) string {
	const max = 200
	s := []rune(string(b))
	if len(s) > max {
		return string(s[:max]) + "…"
	}
	return string(s)
}

// Kinds of transport errors (KindOf).
const (
	KindHTTP       = "http"       // an HTTP status, or anything else
	KindTimeout    = "timeout"    // connect, headers, whole request, or a body too slow
	KindDNS        = "dns"        // the host name could not be resolved
	KindConnection = "connection" // refused, reset, unreachable
	KindTLS        = "tls"        // handshake or certificate
	KindTooLarge   = "too_large"  // a body or a part of it over a limit
	KindRobots     = "robots"     // robots.txt disallows the URL
	KindForbidden  = "forbidden"  // an address the harvester must not call
)

// KindOf classifies an error of the transport.
func KindOf(err error) string {
	if err == nil {
		return ""
	}
	var dnsErr *net.DNSError
	var ne net.Error
	switch {
	case errors.Is(err, ErrTooLarge):
		return KindTooLarge
	case errors.Is(err, ErrRobots):
		return KindRobots
	case errors.Is(err, ErrForbiddenAddress):
		return KindForbidden
	case errors.As(err, &dnsErr):
		return KindDNS
	case isTLS(err):
		return KindTLS
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return KindTimeout
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE):
		return KindConnection
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return KindConnection
	}
	return KindHTTP
}

func isTLS(err error) bool {
	var rh tls.RecordHeaderError
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	var ae tls.AlertError
	return errors.As(err, &rh) || errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &he) ||
		errors.As(err, &ci) || errors.As(err, &ae) || strings.Contains(err.Error(), "tls: ")
}
