package index

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
)

type countingSearcher struct {
	calls atomic.Int64
	gen   atomic.Uint64
	delay time.Duration
}

func (s *countingSearcher) Search(ctx context.Context, q Query) (*Result, error) {
	s.calls.Add(1)
	time.Sleep(s.delay)
	return &Result{Total: int64(len(q.Text))}, nil
}
func (s *countingSearcher) Get(context.Context, string) (*moissonv1.Dataset, error) {
	return nil, ErrNotFound
}
func (s *countingSearcher) Count(context.Context) (int64, error) { return 0, nil }
func (s *countingSearcher) Generation() uint64                   { return s.gen.Load() }

func TestCache(t *testing.T) {
	ctx := context.Background()
	s := &countingSearcher{}
	c := NewCache(s, 200*time.Millisecond, 2)
	a := Query{Text: "eau", Filters: map[string][]string{"territory": {"b", "a"}, "format": {"CSV"}}}
	b := Query{Text: "eau", Filters: map[string][]string{"format": {"CSV"}, "territory": {"a", "b"}}}
	c.Search(ctx, a)
	if r, _ := c.Search(ctx, b); r.Total != 3 || s.calls.Load() != 1 {
		t.Fatalf("the same query in another order was computed again (%d calls)", s.calls.Load())
	}
	// A write (a new generation) invalidates.
	s.gen.Add(1)
	c.Search(ctx, a)
	if s.calls.Load() != 2 {
		t.Errorf("after a write: %d calls, want 2", s.calls.Load())
	}
	// So does the TTL.
	time.Sleep(250 * time.Millisecond)
	c.Search(ctx, a)
	if s.calls.Load() != 3 {
		t.Errorf("after the TTL: %d calls, want 3", s.calls.Load())
	}
	// Bounded: the oldest entry goes.
	c.Search(ctx, Query{Text: "x"})
	c.Search(ctx, Query{Text: "y"})
	c.Search(ctx, a)
	if s.calls.Load() != 6 {
		t.Errorf("eviction: %d calls, want 6", s.calls.Load())
	}
	// Concurrent identical searches are computed once.
	s2 := &countingSearcher{delay: 50 * time.Millisecond}
	c2 := NewCache(s2, time.Minute, 10)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); c2.Search(ctx, a) }()
	}
	wg.Wait()
	if s2.calls.Load() != 1 {
		t.Errorf("20 concurrent identical searches made %d calls", s2.calls.Load())
	}
}

func TestCacheAggregateTTL(t *testing.T) {
	ctx := context.Background()
	s := &countingSearcher{}
	c := NewCache(&noGen{s}, 50*time.Millisecond, 10)
	c.AggregateTTL = time.Minute
	page, counts := Query{Text: "a", Size: 20}, Query{Text: "a", Size: 1, Facets: []string{"territory"}}
	c.Search(ctx, page)
	c.Search(ctx, counts)
	time.Sleep(80 * time.Millisecond)
	c.Search(ctx, page)   // expired
	c.Search(ctx, counts) // still fresh
	if s.calls.Load() != 3 {
		t.Errorf("%d calls, want 3", s.calls.Load())
	}
}

// noGen hides Generation: a backend written by others.
type noGen struct{ s *countingSearcher }

func (n *noGen) Search(ctx context.Context, q Query) (*Result, error) { return n.s.Search(ctx, q) }
func (n *noGen) Get(ctx context.Context, id string) (*moissonv1.Dataset, error) {
	return n.s.Get(ctx, id)
}
func (n *noGen) Count(ctx context.Context) (int64, error) { return n.s.Count(ctx) }

// gatedSearcher numbers its answers (Result.Total) and, when gated, waits
// for the gate before answering.
type gatedSearcher struct {
	mu      sync.Mutex
	calls   int
	gate    chan struct{} // nil: answer at once
	entered chan struct{} // told when a gated search starts
	fail    bool
	gen     uint64
}

func (s *gatedSearcher) Search(ctx context.Context, q Query) (*Result, error) {
	s.mu.Lock()
	s.calls++
	n, gate, entered, fail := s.calls, s.gate, s.entered, s.fail
	s.mu.Unlock()
	if gate != nil {
		entered <- struct{}{}
		<-gate
	}
	if fail {
		return nil, ErrNotFound
	}
	return &Result{Total: int64(n)}, nil
}
func (s *gatedSearcher) Get(context.Context, string) (*moissonv1.Dataset, error) {
	return nil, ErrNotFound
}
func (s *gatedSearcher) Count(context.Context) (int64, error) { return 0, nil }
func (s *gatedSearcher) ncalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}
func (s *gatedSearcher) setGate(fail bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gate, s.entered, s.fail = make(chan struct{}), make(chan struct{}, 8), fail
}
func (s *gatedSearcher) open() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.gate)
	s.gate, s.fail = nil, false
}

type genSearcher struct{ *gatedSearcher }

func (g genSearcher) Generation() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.gen
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeClock) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}
func (f *fakeClock) add(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = f.t.Add(d)
}

// waitFor polls until cond holds (a background refresh ending).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 5000; i++ {
		if cond() {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("never: %s", what)
}

func TestCacheStaleWhileRevalidate(t *testing.T) {
	ctx := context.Background()
	s := &gatedSearcher{}
	clock := &fakeClock{t: time.Unix(1e9, 0)}
	c := NewCache(s, time.Minute, 10)
	c.StaleFor = time.Hour
	c.clock = clock.now
	q := Query{Text: "eau", Size: 20}
	total := func() int64 {
		t.Helper()
		r, err := c.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return r.Total
	}
	if n := total(); n != 1 {
		t.Fatalf("first answer %d", n)
	}
	// Past the TTL: the old answer at once, one refresh in the background.
	clock.add(2 * time.Minute)
	s.setGate(false)
	if n := total(); n != 1 {
		t.Errorf("past the TTL: answer %d, want the stale 1", n)
	}
	<-s.entered
	if n := total(); n != 1 || s.ncalls() != 2 {
		t.Errorf("during the refresh: answer %d, %d calls; want the stale 1 and one refresh", n, s.ncalls())
	}
	s.open()
	waitFor(t, "the refreshed answer", func() bool { return total() == 2 })
	if s.ncalls() != 2 {
		t.Errorf("%d calls after the refresh, want 2", s.ncalls())
	}
	// Past TTL + StaleFor: computed before answering.
	clock.add(2 * time.Hour)
	if n := total(); n != 3 {
		t.Errorf("past the stale window: answer %d, want a new 3", n)
	}
	// A failed refresh keeps the stale answer.
	clock.add(2 * time.Minute)
	s.setGate(true)
	if n := total(); n != 3 {
		t.Errorf("answer %d, want the stale 3", n)
	}
	<-s.entered
	s.open()
	waitFor(t, "the failed refresh to end", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.inflight) == 0
	})
	if n := total(); n != 3 {
		t.Errorf("after a failed refresh: answer %d, want the stale 3", n)
	}
	waitFor(t, "a refresh retried by the next request", func() bool { return total() == 5 })
}

func TestCacheStaleBoundedRefreshes(t *testing.T) {
	ctx := context.Background()
	s := &gatedSearcher{}
	clock := &fakeClock{t: time.Unix(1e9, 0)}
	c := NewCache(s, time.Minute, 10)
	c.StaleFor = time.Hour
	c.clock = clock.now
	a, b := Query{Text: "a"}, Query{Text: "b"}
	c.Search(ctx, a)
	c.Search(ctx, b)
	clock.add(2 * time.Minute)
	s.setGate(false)
	ra, _ := c.Search(ctx, a)
	<-s.entered
	// One refresh at a time (MaxRefreshes 1): b is served stale, not
	// refreshed yet.
	rb, _ := c.Search(ctx, b)
	if ra.Total != 1 || rb.Total != 2 || s.ncalls() != 3 {
		t.Errorf("answers %d %d, %d calls; want the stale 1 and 2, and one refresh", ra.Total, rb.Total, s.ncalls())
	}
	s.open()
	waitFor(t, "a refreshed", func() bool { r, _ := c.Search(ctx, a); return r.Total == 3 })
	waitFor(t, "b refreshed on a later request", func() bool { r, _ := c.Search(ctx, b); return r.Total == 4 })
}

// Stale answers never outlive a write to a Generational backend.
func TestCacheStaleNotPastWrites(t *testing.T) {
	ctx := context.Background()
	s := &gatedSearcher{}
	clock := &fakeClock{t: time.Unix(1e9, 0)}
	c := NewCache(genSearcher{s}, time.Minute, 10)
	c.StaleFor = time.Hour
	c.clock = clock.now
	q := Query{Text: "eau"}
	c.Search(ctx, q)
	clock.add(2 * time.Minute)
	s.mu.Lock()
	s.gen++
	s.mu.Unlock()
	if r, _ := c.Search(ctx, q); r.Total != 2 {
		t.Errorf("after a write: answer %d, want a new 2", r.Total)
	}
}

func TestCacheMaxBytes(t *testing.T) {
	ctx := context.Background()
	s := &gatedSearcher{}
	c := NewCache(s, time.Hour, 100)
	one := resultSize(&Result{Total: 1})
	c.MaxBytes = 2 * one
	for _, q := range []string{"a", "b", "c"} {
		c.Search(ctx, Query{Text: q})
	}
	c.Search(ctx, Query{Text: "c"})
	c.Search(ctx, Query{Text: "b"})
	if s.ncalls() != 3 {
		t.Errorf("%d calls, want 3: b and c kept", s.ncalls())
	}
	c.Search(ctx, Query{Text: "a"})
	if s.ncalls() != 4 {
		t.Errorf("%d calls, want 4: a evicted by the budget", s.ncalls())
	}
	if c.bytes != 2*one || c.lru.Len() != 2 {
		t.Errorf("%d bytes in %d results, want %d in 2", c.bytes, c.lru.Len(), 2*one)
	}
}
