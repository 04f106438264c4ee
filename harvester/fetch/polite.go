package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/temoto/robotstxt"
	"golang.org/x/time/rate"
)

// ErrRobots is returned for a URL the portal's robots.txt disallows.
var ErrRobots = errors.New("disallowed by the portal's robots.txt")

// RobotsAgent is the user-agent token matched in robots.txt.
const RobotsAgent = "Moisson"

// host is the politeness state of one host: a rate limiter, a cap on
// requests in flight, and its robots.txt.
type host struct {
	lim *rate.Limiter
	sem chan struct{}

	robotsMu  sync.Mutex
	robots    *robotstxt.Group // nil: everything allowed
	robotsErr error            // the robots.txt could not be read (server error, host unreachable): all disallowed, for this reason
	robotsAt  time.Time        // when it was read (zero: never)
}

// RobotsTTL is how long a host's robots.txt is trusted before it is read
// again (a 5xx answer, which disallows everything, is retried sooner).
const RobotsTTL = 24 * time.Hour

const robotsRetry = 10 * time.Minute

func (c *Client) host(u *url.URL) *host {
	key := u.Scheme + "://" + u.Host
	c.mu.Lock()
	defer c.mu.Unlock()
	h := c.hosts[key]
	if h == nil {
		h = &host{sem: make(chan struct{}, c.opt.ConcurrencyPerHost)}
		if c.opt.RatePerHost > 0 {
			burst := int(c.opt.RatePerHost)
			if burst < 1 {
				burst = 1
			}
			h.lim = rate.NewLimiter(rate.Limit(c.opt.RatePerHost), burst)
		}
		c.hosts[key] = h
	}
	return h
}

// acquire waits for the host's rate and a slot; release gives the slot back.
func (h *host) acquire(ctx context.Context) (release func(), err error) {
	if h.lim != nil {
		if err := h.lim.Wait(ctx); err != nil {
			return nil, err
		}
	}
	select {
	case h.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var once sync.Once
	return func() { once.Do(func() { <-h.sem }) }, nil
}

// allowed reads the host's robots.txt, again every RobotsTTL (RFC 9309: a
// 4xx means no rules; a 5xx or an unreachable server means everything is
// disallowed for now) and checks the path. The error says why a URL may not
// be fetched: ErrRobots for the rules or a 5xx robots.txt, the transport's
// own error when the host could not be reached at all (DNS, connection,
// TLS, timeout: not robots.txt's fault).
func (h *host) allowed(ctx context.Context, c *Client, u *url.URL) error {
	h.robotsMu.Lock()
	defer h.robotsMu.Unlock()
	ttl := RobotsTTL
	if h.robotsErr != nil {
		ttl = robotsRetry
	}
	if h.robotsAt.IsZero() || time.Since(h.robotsAt) > ttl {
		h.readRobots(ctx, c, u)
	}
	if h.robotsErr != nil {
		return h.robotsErr
	}
	if h.robots == nil {
		return nil
	}
	p := u.EscapedPath()
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	if !h.robots.Test(p) {
		return fmt.Errorf("%w: %s", ErrRobots, u)
	}
	return nil
}

// readRobots reads the host's robots.txt (called with robotsMu held).
func (h *host) readRobots(ctx context.Context, c *Client, u *url.URL) {
	h.robotsAt, h.robots, h.robotsErr = time.Now(), nil, nil
	rctx, cancel := context.WithTimeout(ctx, c.opt.HeaderTimeout)
	defer cancel()
	ru := u.Scheme + "://" + u.Host + "/robots.txt"
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, ru, nil)
	if err != nil {
		return
	}
	req.Header.Set("User-Agent", c.ua)
	resp, err := c.http.Do(req)
	if err != nil {
		var re *RedirectError
		switch {
		case errors.As(err, &re):
			return // robots.txt elsewhere: no rules here
		case ctx.Err() != nil:
			h.robotsAt = time.Time{} // the run stopped: read it again next time
			h.robotsErr = ctx.Err()
		default:
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // the request was for robots.txt, the failure is the host's
			}
			h.robotsErr = fmt.Errorf("%s could not be reached: %w", u.Host, err)
		}
		return
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode >= 500:
		h.robotsErr = fmt.Errorf("%w: %s answers %d, which means everything is disallowed for now (RFC 9309)", ErrRobots, ru, resp.StatusCode)
		return
	case resp.StatusCode >= 400:
		return
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 512<<10))
	if err != nil {
		return
	}
	data, err := robotstxt.FromStatusAndBytes(resp.StatusCode, body)
	if err != nil {
		return
	}
	h.robots = data.FindGroup(RobotsAgent)
}
