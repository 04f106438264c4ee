package index

import (
	"container/list"
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	metricCacheHits = promauto.NewCounter(prometheus.CounterOpts{
		Name: "moisson_search_cache_hits_total", Help: "Searches answered from the result cache.",
	})
	metricCacheMisses = promauto.NewCounter(prometheus.CounterOpts{
		Name: "moisson_search_cache_misses_total", Help: "Searches computed by the index.",
	})
)

// Generational is a backend that can tell when its content changed: the
// generation grows with every write.
type Generational interface {
	Generation() uint64
}

// Cache keeps recent search results, so that the same question asked again
// (a facet page, a coverage report, a popular search) is not computed again
// while the index has not changed: a result is kept at most TTL, and not past
// a write when the backend is Generational. Concurrent identical searches are
// computed once.
type Cache struct {
	Searcher
	ttl time.Duration
	max int
	// AggregateTTL, when longer than the TTL, applies to searches that only
	// count (size ≤ 1: the facets of a report such as the coverage), which
	// may be a little older than a page of results.
	AggregateTTL time.Duration

	mu       sync.Mutex
	entries  map[string]*list.Element
	lru      *list.List
	inflight map[string]*call
}

type cacheEntry struct {
	key string
	at  time.Time
	res *Result
}

type call struct {
	done chan struct{}
	res  *Result
	err  error
}

// NewCache wraps a searcher; ttl bounds how stale an answer may be (for
// backends that cannot tell when they change, such as Elasticsearch written
// by other processes), max how many results are kept.
func NewCache(s Searcher, ttl time.Duration, max int) *Cache {
	if max <= 0 {
		max = 512
	}
	return &Cache{Searcher: s, ttl: ttl, max: max, entries: map[string]*list.Element{}, lru: list.New(), inflight: map[string]*call{}}
}

// Key is a canonical form of a query.
func (q Query) Key() string {
	var b strings.Builder
	fields := make([]string, 0, len(q.Filters))
	for f := range q.Filters {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	fmt.Fprintf(&b, "t=%q;s=%s;n=%d;c=%s;fs=%d;fm=%d;ma=%d;mb=%d;d=%t;h=%t;sa=%t;k=%t;f=%s;", q.Text, q.Sort, q.Size, q.Cursor,
		q.FacetSize, q.FacetMinCount, q.ModifiedAfter.UnixNano(), q.ModifiedBefore.UnixNano(), q.Distinct, q.Highlight, q.SameAs, q.KeysOnly, strings.Join(q.Facets, ","))
	for _, f := range fields {
		vals := append([]string(nil), q.Filters[f]...)
		sort.Strings(vals)
		fmt.Fprintf(&b, "%s=%q;", f, vals)
	}
	return b.String()
}

// Search answers from the cache when it can.
func (c *Cache) Search(ctx context.Context, q Query) (*Result, error) {
	key := q.Key()
	if g, ok := c.Searcher.(Generational); ok {
		key = fmt.Sprintf("g%d;%s", g.Generation(), key)
	}
	now := time.Now()
	ttl := c.ttl
	if q.Size <= 1 && c.AggregateTTL > ttl {
		ttl = c.AggregateTTL
	}
	c.mu.Lock()
	if el, ok := c.entries[key]; ok {
		e := el.Value.(*cacheEntry)
		if now.Sub(e.at) < ttl {
			c.lru.MoveToFront(el)
			c.mu.Unlock()
			metricCacheHits.Inc()
			return e.res, nil
		}
		c.lru.Remove(el)
		delete(c.entries, key)
	}
	if cl, ok := c.inflight[key]; ok {
		c.mu.Unlock()
		select {
		case <-cl.done:
			metricCacheHits.Inc()
			return cl.res, cl.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	cl := &call{done: make(chan struct{})}
	c.inflight[key] = cl
	c.mu.Unlock()
	metricCacheMisses.Inc()

	// Computed for everyone waiting: not cut short by this caller leaving.
	cl.res, cl.err = c.Searcher.Search(context.WithoutCancel(ctx), q)
	close(cl.done)
	c.mu.Lock()
	delete(c.inflight, key)
	if cl.err == nil {
		c.entries[key] = c.lru.PushFront(&cacheEntry{key: key, at: now, res: cl.res})
		for c.lru.Len() > c.max {
			old := c.lru.Back()
			c.lru.Remove(old)
			delete(c.entries, old.Value.(*cacheEntry).key)
		}
	}
	c.mu.Unlock()
	return cl.res, cl.err
}

// Get is not cached (one document, cheap).
func (c *Cache) Get(ctx context.Context, id string) (*moissonv1.Dataset, error) {
	return c.Searcher.Get(ctx, id)
}
