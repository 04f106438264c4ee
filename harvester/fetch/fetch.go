// Package fetch is the harvester's HTTP client: polite (User-Agent naming
// Moisson and a contact, retries with jittered backoff honouring
// Retry-After), bounded (timeouts on connect, headers and body; a body size
// limit) and safe (no private, loopback or link-local addresses unless the
// configuration allows them).
package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
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
	MaxBodyBytes   int64         // default 512 MiB
	Retries        int           // extra attempts on 429/5xx/network errors; default 3 (negative: none)
	BackoffBase    time.Duration // default 500ms
	BackoffMax     time.Duration // default 30s
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
		dialer.Control = func(network, address string, c syscall.RawConn) error {
			if allowed[address] {
				return nil
			}
			return refusePrivate(network, address, c)
		}
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ResponseHeaderTimeout: opt.HeaderTimeout,
		TLSHandshakeTimeout:   opt.ConnectTimeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
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

// ErrForbiddenAddress is returned for an address the harvester must not call.
var ErrForbiddenAddress = errors.New("refusing to connect to a private, loopback or link-local address")

func refusePrivate(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrForbiddenAddress, address)
	}
	a := ap.Addr().Unmap()
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsUnspecified() || a.IsMulticast() || a.IsInterfaceLocalMulticast() {
		return fmt.Errorf("%w: %s", ErrForbiddenAddress, address)
	}
	return nil
}

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

// ErrTooLarge is returned when a body exceeds the size limit.
var ErrTooLarge = errors.New("response body exceeds the size limit")

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
	Body        io.ReadCloser // size-limited; reading past the limit returns ErrTooLarge
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
	if !c.opt.IgnoreRobots && !h.allowed(ctx, c, u) {
		return nil, 0, fmt.Errorf("%w: %s", ErrRobots, req.URL)
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
	var cached *cacheMeta
	if c.opt.Cache != nil && hreq.Header.Get("If-None-Match") == "" {
		if m, ok := c.opt.Cache.lookup(req.URL); ok {
			cached = m
			if m.ETag != "" {
				hreq.Header.Set("If-None-Match", m.ETag)
			}
			if m.LastModified != "" {
				hreq.Header.Set("If-Modified-Since", m.LastModified)
			}
		}
	}
	resp, err := c.http.Do(hreq)
	if err != nil {
		cancel()
		return nil, 0, err
	}
	if resp.StatusCode == http.StatusNotModified && cached != nil {
		resp.Body.Close()
		f, ferr := c.opt.Cache.open(req.URL)
		if ferr == nil {
			if st := statsOf(ctx); st != nil {
				st.NotModified.Add(1)
			}
			h := resp.Header.Clone()
			if h.Get("Content-Type") == "" && cached.ContentType != "" {
				h.Set("Content-Type", cached.ContentType)
			}
			return &Response{URL: req.URL, Status: http.StatusOK, NotModified: true, Header: h,
				Body: &limitedBody{rc: f, left: c.opt.MaxBodyBytes}, cancel: cancel}, 0, nil
		}
		cancel()
		return nil, 0, fmt.Errorf("304 Not Modified but the kept copy is gone: %w", ferr)
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
			Body:   &limitedBody{rc: resp.Body, left: c.opt.MaxBodyBytes},
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

type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// one more byte tells a body of exactly the limit from a larger one
		var one [1]byte
		n, _ := l.rc.Read(one[:])
		if n > 0 {
			return 0, ErrTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.rc.Read(p)
	l.left -= int64(n)
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

// KindOf classifies an error: timeout or http.
func KindOf(err error) string {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return "timeout"
	}
	return "http"
}
