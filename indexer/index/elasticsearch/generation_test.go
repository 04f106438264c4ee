package elasticsearch_test

import (
	"context"
	"testing"
	"time"

	"github.com/opendatafrance/moisson/indexer/index"
	"github.com/opendatafrance/moisson/indexer/index/elasticsearch"
	"github.com/opendatafrance/moisson/indexer/index/indextest"
)

// The generation stays while the index does not change, and changes once a
// write is visible: the result cache keeps answers until then, and no
// longer.
func TestGeneration(t *testing.T) {
	ctx := context.Background()
	x := open(t, elasticsearch.Config{})
	var _ index.Generational = x
	ds := indextest.Datasets()
	if _, err := x.Write(ctx, []index.Op{{ID: ds[0].GetId(), Version: 1, Dataset: ds[0]}}); err != nil {
		t.Fatal(err)
	}
	if err := x.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	// Settled: the same generation over several reads of the statistics.
	waitGen := func(what string, cond func(uint64) bool) uint64 {
		t.Helper()
		for i := 0; i < 300; i++ {
			if g := x.Generation(); cond(g) {
				return g
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("never: %s", what)
		return 0
	}
	g0 := x.Generation()
	time.Sleep(2500 * time.Millisecond) // more than two reads
	// The first read cannot tell whether the writes it counts were
	// visible yet: the next refresh changes the generation once more.
	if err := x.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond)
	g1 := x.Generation()
	time.Sleep(2500 * time.Millisecond)
	if g2 := x.Generation(); g2 != g1 {
		t.Errorf("generation %d then %d (first %d) without a write", g1, g2, g0)
	}
	// A refresh with nothing new to show keeps it (and the cached answers).
	if err := x.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond)
	if g3 := x.Generation(); g3 != g1 {
		t.Errorf("generation %d then %d after a refresh without a write", g1, g3)
	}

	c := index.NewCache(x, time.Hour, 10)
	q := index.Query{Text: "arbres"}
	before, err := c.Search(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	var ops []index.Op
	for _, d := range ds[1:] {
		ops = append(ops, index.Op{ID: d.GetId(), Version: 1, Dataset: d})
	}
	if _, err := x.Write(ctx, ops); err != nil {
		t.Fatal(err)
	}
	if err := x.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	waitGen("a new generation after a write", func(g uint64) bool { return g != g1 })
	after, err := c.Search(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	want, err := x.Search(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if after.Total != want.Total || after.Total == before.Total {
		t.Errorf("cached search after the write: %d results, want %d (before: %d)", after.Total, want.Total, before.Total)
	}
}
