package worker

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/harvest"
	"github.com/opendatafrance/moisson/harvester/internal/natstest"
	"github.com/opendatafrance/moisson/harvester/simulator"
	"github.com/opendatafrance/moisson/harvester/source"
	"github.com/opendatafrance/moisson/harvester/state"
	"github.com/opendatafrance/moisson/proto/bus"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"go.uber.org/zap"
)

// TestBacklogGate: with the indexers' backlog known, a worker that has a
// run going starts no other while more than BacklogLimit records wait, and
// starts up to Concurrency again once they catch up. With nothing going it
// starts one run whatever the backlog (the harvest never stops). A backlog
// it cannot read holds nothing back, nor does a worker without a reader.
func TestBacklogGate(t *testing.T) {
	srv := natstest.Start(t)
	_, js := srv.Connect()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := OpenBuckets(ctx, js, time.Minute, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Every portal answers after an hour: runs stay going until the end.
	base := config.Default()
	sim := simulator.New(base, simulator.Options{DatasetsPerSource: 1})
	url, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	cfg := sim.Rewrite(base, url)
	for _, src := range cfg.Sources() {
		sim.SetFault(src.ID, simulator.Fault{Delay: time.Hour})
	}
	runner := &harvest.Runner{Env: source.Env{Client: harvest.Client(cfg, nil), Log: zap.NewNop()},
		Publisher: harvest.NewJetStreamPublisher(js), State: state.NewMemory(), Log: zap.NewNop()}

	var backlog atomic.Uint64
	var backlogErr atomic.Bool
	var reads atomic.Int32
	read := func(context.Context) (uint64, error) {
		reads.Add(1)
		if backlogErr.Load() {
			return 0, errors.New("no indexer consumer")
		}
		return backlog.Load(), nil
	}
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stop(); wg.Wait() }()
	running := func(w *Worker) int {
		w.mu.Lock()
		defer w.mu.Unlock()
		return len(w.running)
	}

	w := &Worker{Buckets: b, Config: cfg, Runner: runner, Log: zap.NewNop(), Name: "h1", Concurrency: 3, Backlog: read}
	w.defaults()
	steps := []struct {
		backlog uint64
		want    int
	}{
		{5_001, 1}, // nothing going: one run, then none (behind)
		{9_999, 1}, // behind: none
		{5_000, 3}, // at the limit: up to Concurrency
	}
	for i, s := range steps {
		backlog.Store(s.backlog)
		w.pass(runCtx, &wg)
		if got := running(w); got != s.want {
			t.Fatalf("pass %d (backlog %d): %d runs going, want %d", i+1, s.backlog, got, s.want)
		}
	}
	if n := reads.Load(); n != 3 {
		t.Errorf("backlog read %d times, want 3 (once per pass, when a run was going)", n)
	}

	// A backlog that cannot be read holds nothing back.
	w2 := &Worker{Buckets: b, Config: cfg, Runner: runner, Log: zap.NewNop(), Name: "h2", Concurrency: 5, Backlog: read}
	w2.defaults()
	backlogErr.Store(true)
	w2.pass(runCtx, &wg)
	if got := running(w2); got != 5 {
		t.Fatalf("backlog unreadable: %d runs going, want 5", got)
	}

	// Without a backlog reader: Concurrency runs in one pass.
	w3 := &Worker{Buckets: b, Config: cfg, Runner: runner, Log: zap.NewNop(), Name: "h3", Concurrency: 3}
	w3.defaults()
	w3.pass(runCtx, &wg)
	if got := running(w3); got != 3 {
		t.Fatalf("no backlog reader, one pass: %d runs going, want 3", got)
	}
}

// TestIndexBacklog: the backlog a worker reads counts the records not yet
// delivered to the indexers and those delivered but not yet acked; none
// is known before an indexer made its consumer.
func TestIndexBacklog(t *testing.T) {
	srv := natstest.Start(t)
	_, js := srv.Connect()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := bus.IndexBacklog(ctx, js); err == nil {
		t.Fatal("backlog read without an indexer consumer")
	}
	cons, err := bus.EnsureConsumer(ctx, js, bus.RecordsStream, jetstream.ConsumerConfig{Durable: bus.IndexerDurable, AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b", "c"} {
		msg, err := bus.RecordMsg(&moissonv1.RecordEnvelope{SourceId: "s", Version: 1, Dataset: &moissonv1.Dataset{Id: "s:" + id, SourceId: "s"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	want := func(n uint64) {
		t.Helper()
		if got, err := bus.IndexBacklog(ctx, js); err != nil || got != n {
			t.Fatalf("backlog %d (%v), want %d", got, err, n)
		}
	}
	want(3)
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	m := <-batch.Messages()
	if m == nil {
		t.Fatal("nothing delivered")
	}
	want(3) // delivered, being written
	if err := m.DoubleAck(ctx); err != nil {
		t.Fatal(err)
	}
	want(2)
}
