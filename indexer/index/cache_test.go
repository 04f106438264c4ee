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
