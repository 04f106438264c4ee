package scaleout

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/opendatafrance/moisson/proto/bus"
)

// TestLeaseReadAfterRejoin: the API reads leases with bus.GetLatestJSON,
// from the lease stream's leader, because a bucket's ordinary reads are
// direct gets that any replica answers, one catching up included (the
// cluster test once read a source as RUNNING after its run had finished,
// right after a partition healed). Through a replica that was down while
// the lease was released, the leader read never finds it (a delete marker
// is no lease). The direct gets of the same replica are counted, not
// judged: after a restart they were not seen stale here; the cluster test
// freezes its replica (SIGSTOP), which one process cannot do.
func TestLeaseReadAfterRejoin(t *testing.T) {
	c := newTestCluster(t, "leases")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	nc, js, err := bus.Connect(c.urls(), "writer")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var b *bus.Buckets
	for b == nil {
		if b, err = bus.OpenBuckets(ctx, js, time.Minute, 3); err != nil {
			if ctx.Err() != nil {
				t.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	lease, _ := json.Marshal(bus.Lease{Worker: "w1", RunID: "run-1"})
	if _, err := b.Leases.Put(ctx, "src", lease); err != nil {
		t.Fatal(err)
	}
	// A follower of the lease stream goes down; meanwhile other leases
	// come and go and the source's lease is released.
	st, err := js.Stream(ctx, "KV_"+bus.LeaseBucket)
	if err != nil {
		t.Fatal(err)
	}
	leader := st.CachedInfo().Cluster.Leader
	f := 0
	for c.opts[f].ServerName == leader {
		f++
	}
	c.servers[f].Shutdown()
	c.servers[f].WaitForShutdown()
	for i := range 1000 {
		if _, err := b.Leases.Put(ctx, fmt.Sprintf("other-%d", i%50), lease); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Leases.Delete(ctx, "src"); err != nil {
		t.Fatal(err)
	}
	c.start(f)

	// Read through the rejoined replica only, as an API connected to it.
	rnc, rjs, err := bus.Connect(c.url(f), "reader")
	if err != nil {
		t.Fatal(err)
	}
	defer rnc.Close()
	kv, err := rjs.KeyValue(ctx, bus.LeaseBucket)
	if err != nil {
		t.Fatal(err)
	}
	stale, reads := 0, 0
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); {
		var l bus.Lease
		if found, err := bus.GetLatestJSON(ctx, rjs, bus.LeaseBucket, "src", &l); err == nil && found {
			t.Fatalf("the leader read sees the released lease: %+v", l)
		} else if err == nil {
			reads++
		}
		if ok, _, err := bus.GetJSON(ctx, kv, "src", &l); err == nil && ok {
			stale++
		}
	}
	if reads == 0 {
		t.Fatal("no leader read answered")
	}
	t.Logf("through the rejoined replica: %d leader reads, none stale; direct gets saw the released lease %d times", reads, stale)
}
