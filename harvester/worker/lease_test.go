package worker

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/opendatafrance/moisson/harvester/internal/natstest"
	"go.uber.org/zap"
)

// TestLeaseAnswerLost: a renewal applied by the stream whose answer was
// lost (its leader died) leaves the worker with a stale revision. The lease
// is still the worker's: renewing and releasing it must work, where they
// used to stop the run ("lease lost") and leave the lease to expire.
func TestLeaseAnswerLost(t *testing.T) {
	srv := natstest.Start(t)
	_, js := srv.Connect()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := OpenBuckets(ctx, js, time.Minute, 1)
	if err != nil {
		t.Fatal(err)
	}
	w := &Worker{Buckets: b, Name: "h1", Log: zap.NewNop()}
	w.defaults()

	l, rev, ok := w.lease(ctx, "src")
	if !ok {
		t.Fatal("lease not taken")
	}
	l.RunID = "run-1"
	if rev, err = w.renew(ctx, "src", l, rev); err != nil {
		t.Fatal(err)
	}
	// The renewal the worker never heard of.
	v, _ := json.Marshal(l)
	if _, err := b.Leases.Update(ctx, "src", v, rev); err != nil {
		t.Fatal(err)
	}
	nrev, err := w.renew(ctx, "src", l, rev)
	if err != nil {
		t.Fatalf("renewing a lease still ours at a stale revision: %v", err)
	}
	if nrev <= rev+1 {
		t.Fatalf("revision %d after %d", nrev, rev)
	}
	if _, err := b.Leases.Update(ctx, "src", v, nrev); err != nil {
		t.Fatal(err)
	}
	w.release("src", nrev, "run-1")
	if _, err := b.Leases.Get(ctx, "src"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatalf("the lease is still there after release: %v", err)
	}

	// A lease not found (a replica catching up after a leader change
	// answers reads) is no proof another worker has it: the renewal is
	// to be retried, not the run stopped.
	if _, err := w.renew(ctx, "src", l, nrev); err == nil || errors.Is(err, errLeaseTaken) {
		t.Fatalf("renewing a lease not found: %v, want an error to retry", err)
	}

	// Another worker's lease is not renewed, nor released.
	other := &Worker{Buckets: b, Name: "h2", Log: zap.NewNop()}
	ol, orev, ok := other.lease(ctx, "src")
	if !ok {
		t.Fatal("lease not taken by h2")
	}
	if _, err := w.renew(ctx, "src", l, orev-1); !errors.Is(err, errLeaseTaken) {
		t.Fatalf("renewing h2's lease: %v, want errLeaseTaken", err)
	}
	w.release("src", orev-1, "run-1")
	e, err := b.Leases.Get(ctx, "src")
	if err != nil {
		t.Fatalf("h2's lease was released by h1: %v", err)
	}
	var got Lease
	json.Unmarshal(e.Value(), &got)
	if got.Worker != ol.Worker {
		t.Fatalf("lease holder %q", got.Worker)
	}
}

// staleLeases answers Get with an old entry, as a replica still catching
// up after a leader change does.
type staleLeases struct {
	jetstream.KeyValue
	old jetstream.KeyValueEntry
}

func (s staleLeases) Get(context.Context, string) (jetstream.KeyValueEntry, error) { return s.old, nil }

// A stale read showing a previous run's lease (here another worker's) is
// no proof the lease was taken: the renewal is retried, not the run
// stopped. (Cluster test: runs INTERRUPTED after a RECORDS leader change,
// and their sources idle until the lease expired.)
func TestLeaseStaleRead(t *testing.T) {
	srv := natstest.Start(t)
	_, js := srv.Connect()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := OpenBuckets(ctx, js, time.Minute, 1)
	if err != nil {
		t.Fatal(err)
	}
	// h2's earlier run, then its release.
	h2 := &Worker{Buckets: b, Name: "h2", Log: zap.NewNop()}
	h2.defaults()
	ol, orev, ok := h2.lease(ctx, "src")
	if !ok {
		t.Fatal("lease not taken by h2")
	}
	ol.RunID = "old-run"
	if orev, err = h2.renew(ctx, "src", ol, orev); err != nil {
		t.Fatal(err)
	}
	old, err := b.Leases.Get(ctx, "src")
	if err != nil {
		t.Fatal(err)
	}
	h2.release("src", orev, "old-run")

	// h1's run, with a renewal whose answer was lost.
	h1 := &Worker{Buckets: b, Name: "h1", Log: zap.NewNop()}
	h1.defaults()
	l, rev, ok := h1.lease(ctx, "src")
	if !ok {
		t.Fatal("lease not taken by h1")
	}
	l.RunID = "run-1"
	if rev, err = h1.renew(ctx, "src", l, rev); err != nil {
		t.Fatal(err)
	}
	v, _ := json.Marshal(l)
	if _, err := b.Leases.Update(ctx, "src", v, rev); err != nil {
		t.Fatal(err)
	}

	h1.Buckets.Leases = staleLeases{KeyValue: b.Leases, old: old}
	if _, err := h1.renew(ctx, "src", l, rev); err == nil || errors.Is(err, errLeaseTaken) {
		t.Fatalf("renewing after a stale read of h2's old lease: %v, want an error to retry", err)
	}
}
