package harvest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
)

// lostAcks is a JetStream whose async acks never come (the stream leader
// died with them) while synchronous publishes succeed (a new leader).
type lostAcks struct {
	jetstream.JetStream
	sync atomic.Int64
}

type hungFuture struct{ msg *nats.Msg }

func (f hungFuture) Ok() <-chan *jetstream.PubAck { return nil }
func (f hungFuture) Err() <-chan error            { return nil }
func (f hungFuture) Msg() *nats.Msg               { return f.msg }

func (l *lostAcks) PublishMsgAsync(m *nats.Msg, _ ...jetstream.PublishOpt) (jetstream.PubAckFuture, error) {
	return hungFuture{m}, nil
}

func (l *lostAcks) PublishMsg(ctx context.Context, m *nats.Msg, _ ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	l.sync.Add(1)
	return &jetstream.PubAck{Stream: "RECORDS"}, nil
}

// TestFlushLostAcks: a window whose acks were lost is re-sent after one
// AckWait for the whole window, not one per message (which held a run for
// minutes when a stream leader was killed).
func TestFlushLostAcks(t *testing.T) {
	js := &lostAcks{}
	p := NewJetStreamPublisher(js)
	p.AckWait = 200 * time.Millisecond
	const n = 100
	// 100 messages × 200 ms = 20 s if each waited its own AckWait.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := 0; i < n; i++ {
		env := &moissonv1.RecordEnvelope{Op: moissonv1.RecordEnvelope_UPSERT, SourceId: "s", RunId: "r", Version: int64(i),
			Dataset: &moissonv1.Dataset{Id: fmt.Sprint("s:", i), TerritoryId: "t", Title: "t"}}
		if err := p.Record(ctx, env); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
	if got := js.sync.Load(); got != n {
		t.Errorf("%d messages re-sent, want %d", got, n)
	}
}

// firstAckLost: the first synchronous publish is never answered (its
// stream leader died with it), the next ones are.
type firstAckLost struct {
	jetstream.JetStream
	calls atomic.Int64
}

func (f *firstAckLost) PublishMsg(ctx context.Context, m *nats.Msg, _ ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	if f.calls.Add(1) == 1 {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return &jetstream.PubAck{Stream: "RUNS"}, nil
}

// TestRunEndAckLost: the run end is retried when an attempt goes
// unanswered, within the run end's budget (it used to wait for the whole
// budget on the first attempt, and the run stayed RUNNING for the API).
func TestRunEndAckLost(t *testing.T) {
	js := &firstAckLost{}
	p := NewJetStreamPublisher(js)
	p.Backoff = 10 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 3*attemptTimeout)
	defer cancel()
	run := &moissonv1.HarvestRun{RunId: "r", SourceId: "s", Status: moissonv1.HarvestRun_SUCCEEDED}
	if err := p.Run(ctx, run); err != nil {
		t.Fatalf("run end: %v", err)
	}
	if got := js.calls.Load(); got != 2 {
		t.Errorf("%d attempts, want 2", got)
	}
}
