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
	"google.golang.org/protobuf/proto"
)

var (
	metricCacheHits = promauto.NewCounter(prometheus.CounterOpts{
		Name: "moisson_search_cache_hits_total", Help: "Searches answered from the result cache.",
	})
	metricCacheMisses = promauto.NewCounter(prometheus.CounterOpts{
		Name: "moisson_search_cache_misses_total", Help: "Searches computed by the index.",
	})
	metricCacheStale = promauto.NewCounter(prometheus.CounterOpts{
		Name: "moisson_search_cache_stale_total", Help: "Searches answered from the result cache past their TTL, while refreshed.",
	})
	metricCacheRefreshes = promauto.NewCounter(prometheus.CounterOpts{
		Name: "moisson_search_cache_refreshes_total", Help: "Cached searches computed again in the background.",
	})
	metricCacheCompute = promauto.NewHistogram(prometheus.HistogramOpts{
		Name: "moisson_search_cache_compute_seconds", Help: "Time the index took to compute a search the result cache did not have.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 1.5, 30),
	})
)

// Generational is a backend that can tell when its content changed: the
// generation grows with every write.
type Generational interface {
	Generation() uint64
}

// Cache keeps recent search results, so that the same question asked again
// (a facet page, a coverage report, a popular search) is not computed again
// while the index has not changed: a result is kept at most TTL (StaleFor
// more while it is computed again), and not past a write when the backend is
// Generational. Concurrent identical searches are computed once.
type Cache struct {
	Searcher
	ttl time.Duration
	max int
	// AggregateTTL, when longer than the TTL, applies to searches that only
	// count (size ≤ 1: the facets of a report such as the coverage), which
	// may be a little older than a page of results.
	AggregateTTL time.Duration
	// StaleFor lets a result past its TTL be served this long more while
	// one refresh computes it again in the background
	// (stale-while-revalidate), so that an expiring TTL never puts a miss,
	// nor a burst of them, on the requests. Never past a write of a
	// Generational backend. 0: an expired result is computed again before
	// answering.
	StaleFor time.Duration
	// MaxRefreshes bounds the background refreshes running at once
	// (default 1): they yield the machine to the searches requests wait for;
	// a stale result whose refresh finds no room is served as it is and
	// refreshed on a later request.
	MaxRefreshes int
	// MaxBytes bounds the estimated size of the results kept (0: only the
	// number of results is bounded).
	MaxBytes int64

	mu         sync.Mutex
	entries    map[string]*list.Element
	lru        *list.List
	inflight   map[string]*call
	bytes      int64
	refreshing int
	clock      func() time.Time // time.Now; tests set it
}

type cacheEntry struct {
	key  string
	at   time.Time
	res  *Result
	size int64
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

// NewServingCache is the result cache the API serves through: answers kept
// until the next write to the index (the cache key holds the generation:
// bleve counts its writes, Elasticsearch follows its index statistics; a
// backend that cannot tell: 2 s, 30 s for counts), within 16 384 results
// and 128 MB; an expired answer is served 30 s more while it is computed
// again in the background (never past a write).
func NewServingCache(s Searcher) *Cache {
	ttl, aggregates := 10*time.Minute, time.Duration(0)
	if _, ok := s.(Generational); !ok {
		ttl, aggregates = 2*time.Second, 30*time.Second
	}
	c := NewCache(s, ttl, 16384)
	c.AggregateTTL = aggregates
	c.StaleFor = 30 * time.Second
	c.MaxBytes = 128 << 20
	return c
}

// Health is the health of the searcher behind the cache, when it tells.
func (c *Cache) Health(ctx context.Context) (Health, error) {
	if h, ok := c.Searcher.(Healther); ok {
		return h.Health(ctx)
	}
	return Health{Status: "unknown"}, nil
}

// Key is a canonical form of a query.
func (q Query) Key() string {
	var b strings.Builder
	fields := make([]string, 0, len(q.Filters))
	for f := range q.Filters {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	fmt.Fprintf(&b, "t=%q;s=%s;n=%d;o=%d;c=%s;fs=%d;fm=%d;ma=%d;mb=%d;d=%t;h=%t;sa=%t;k=%t;f=%s;", q.Text, q.Sort, q.Size, q.Offset, q.Cursor,
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
	now := c.now()
	ttl := c.ttl
	if q.Size <= 1 && c.AggregateTTL > ttl {
		ttl = c.AggregateTTL
	}
	c.mu.Lock()
	if el, ok := c.entries[key]; ok {
		e := el.Value.(*cacheEntry)
		age := now.Sub(e.at)
		if age < ttl+c.StaleFor {
			c.lru.MoveToFront(el)
			stale := age >= ttl
			if _, busy := c.inflight[key]; stale && !busy && c.refreshing < max(c.MaxRefreshes, 1) {
				cl := &call{done: make(chan struct{})}
				c.inflight[key] = cl
				c.refreshing++
				go c.compute(ctx, key, q, cl, true)
			}
			c.mu.Unlock()
			metricCacheHits.Inc()
			if stale {
				metricCacheStale.Inc()
			}
			return e.res, nil
		}
		c.remove(el)
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
	c.compute(ctx, key, q, cl, false)
	return cl.res, cl.err
}

// compute runs the search of cl and keeps its result; in the background,
// a failure leaves the stale result in place until it expires.
func (c *Cache) compute(ctx context.Context, key string, q Query, cl *call, background bool) {
	start := c.now()
	// Computed for everyone waiting: not cut short by this caller leaving.
	t0 := time.Now()
	cl.res, cl.err = c.Searcher.Search(context.WithoutCancel(ctx), q)
	metricCacheCompute.Observe(time.Since(t0).Seconds())
	close(cl.done)
	var size int64
	if cl.err == nil {
		size = resultSize(cl.res)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.inflight, key)
	if background {
		c.refreshing--
		metricCacheRefreshes.Inc()
	}
	if cl.err != nil {
		return
	}
	if el, ok := c.entries[key]; ok {
		c.remove(el)
	}
	c.entries[key] = c.lru.PushFront(&cacheEntry{key: key, at: start, res: cl.res, size: size})
	c.bytes += size
	for c.lru.Len() > c.max || (c.MaxBytes > 0 && c.bytes > c.MaxBytes && c.lru.Len() > 1) {
		c.remove(c.lru.Back())
	}
}

func (c *Cache) now() time.Time {
	if c.clock != nil {
		return c.clock()
	}
	return time.Now()
}

func (c *Cache) remove(el *list.Element) {
	e := el.Value.(*cacheEntry)
	c.lru.Remove(el)
	delete(c.entries, e.key)
	c.bytes -= e.size
}

// resultSize estimates the memory a result holds: its records (their
// encoded size) and what the search says of them.
func resultSize(r *Result) int64 {
	n := int64(256)
	for _, d := range r.Items {
		n += int64(proto.Size(d)) + 64
	}
	for f, counts := range r.Facets {
		n += int64(len(f)) + 32
		for _, fc := range counts {
			n += int64(len(fc.Key)) + 24
		}
	}
	for _, h := range r.Hits {
		for _, id := range h.SameAs {
			n += int64(len(id)) + 16
		}
		for f, frags := range h.Highlights {
			n += int64(len(f)) + 32
			for _, fr := range frags {
				n += int64(len(fr)) + 16
			}
		}
	}
	for _, keys := range r.Keys {
		for _, k := range keys {
			n += int64(len(k)) + 16
		}
	}
	return n
}

// Get is not cached (one document, cheap).
func (c *Cache) Get(ctx context.Context, id string) (*moissonv1.Dataset, error) {
	return c.Searcher.Get(ctx, id)
}
