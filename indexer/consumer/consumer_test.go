package consumer

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/opendatafrance/moisson/indexer/index"
	"github.com/opendatafrance/moisson/proto/bus"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
)

// batches is an index that keeps the size of each batch written to it.
type batches struct {
	mu    sync.Mutex
	sizes []int
	ids   map[string]bool
	more  chan struct{}
}

func (b *batches) Write(_ context.Context, ops []index.Op) ([]error, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sizes = append(b.sizes, len(ops))
	for _, op := range ops {
		b.ids[op.ID] = true
	}
	select {
	case b.more <- struct{}{}:
	default:
	}
	return make([]error, len(ops)), nil
}

func (b *batches) written() (int, []int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.ids), append([]int(nil), b.sizes...)
}

// TestBacklogEnd: a backlog of two full batches and three records more is
// written at once, the three last records included, although a fetch
// would wait an hour for a full batch: the end of a harvest's records is
// searchable when the index reaches it, not a MaxWait later. Records
// published one by one afterwards are still gathered by a waiting fetch.
func TestBacklogEnd(t *testing.T) {
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats not ready")
	}
	nc, js, err := bus.Connect(ns.ClientURL(), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := bus.EnsureStreams(ctx, js, bus.Options{}); err != nil {
		t.Fatal(err)
	}
	publish := func(from, to int) {
		for i := from; i < to; i++ {
			msg, err := bus.RecordMsg(&moissonv1.RecordEnvelope{SourceId: "s", Version: 1,
				Dataset: &moissonv1.Dataset{Id: fmt.Sprintf("s:%d", i), SourceId: "s"}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := js.PublishMsg(ctx, msg); err != nil {
				t.Fatal(err)
			}
		}
	}
	const batch = 10
	publish(0, 2*batch+3)

	idx := &batches{ids: map[string]bool{}, more: make(chan struct{}, 1)}
	c := &Consumer{JS: js, Index: idx, Batch: batch, MaxWait: time.Hour, Workers: 1}
	go c.Run(ctx)
	wait := func(want int) []int {
		t.Helper()
		for {
			n, sizes := idx.written()
			if n == want {
				return sizes
			}
			select {
			case <-idx.more:
			case <-ctx.Done():
				t.Fatalf("%d records written, want %d (batches %v)", n, want, sizes)
			}
		}
	}
	if sizes := wait(2*batch + 3); fmt.Sprint(sizes) != "[10 10 3]" {
		t.Errorf("batches %v, want [10 10 3]", sizes)
	}
	// Drained: the next fetch waits for a full batch.
	publish(2*batch+3, 3*batch+3)
	if sizes := wait(3*batch + 3); fmt.Sprint(sizes) != "[10 10 3 10]" {
		t.Errorf("batches %v, want [10 10 3 10]", sizes)
	}
}
