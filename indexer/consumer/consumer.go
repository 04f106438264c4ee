// Package consumer is the indexer's loop: a durable pull consumer on the
// RECORDS stream, batches written to the index, each message acked only
// after its write succeeded. Records the index rejects for good go to the
// DEADLETTER stream with the reason; while the index is down the batch is
// retried with backoff and nothing is acked.
package consumer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/opendatafrance/moisson/indexer/index"
	"github.com/opendatafrance/moisson/proto/bus"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.uber.org/zap"
)

var (
	metricWritten = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "moisson_indexer_records_total", Help: "Records applied to the index, by operation.",
	}, []string{"op"})
	metricDead = promauto.NewCounter(prometheus.CounterOpts{
		Name: "moisson_indexer_dead_letters_total", Help: "Records sent to the dead letters.",
	})
	metricRetries = promauto.NewCounter(prometheus.CounterOpts{
		Name: "moisson_indexer_write_retries_total", Help: "Batch writes retried because the index failed.",
	})
	metricBatchSeconds = promauto.NewHistogram(prometheus.HistogramOpts{
		Name: "moisson_indexer_batch_seconds", Help: "Time to write one batch to the index.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
	})
)

// Consumer moves records from RECORDS into an index.
type Consumer struct {
	JS      jetstream.JetStream
	Index   index.Writer
	Log     *zap.Logger
	Durable string        // default bus.IndexerDurable
	Batch   int           // default 500
	MaxWait time.Duration // how long a fetch waits for a full batch; default 500ms
	// AckWait is how long JetStream waits for the ack of a delivered record
	// before redelivering it (to this or another indexer): after a crash,
	// the time before the records the dead indexer held are written by
	// another. While a batch is written (or its write retried), its records
	// are kept ours by in-progress acks every third of it. Default 15 s.
	AckWait time.Duration
	// ItemRetries is how many times an item the index refused for a
	// transient reason is retried in place before it is left for redelivery.
	ItemRetries int
	BackoffMax  time.Duration // default 30s
	// Workers is how many batches are in flight at once, each fetched,
	// written and acked on its own (default 2): while Elasticsearch writes
	// one, the next is fetched and encoded, and a cluster writes them in
	// parallel. Writes stay ordered per record through their versions (a
	// smaller version never overwrites a larger one), whichever batch lands
	// first; each record is still acked only after its own write.
	Workers int
	// Attributor, when set, completes each record before it is written
	// (its publisher's collectivité); the consumer starts once it is Ready.
	Attributor Attributor
}

// Attributor completes records before they are written.
type Attributor interface {
	Ready() <-chan struct{}
	Attribute(*moissonv1.Dataset)
}

func (c *Consumer) defaults() {
	if c.Durable == "" {
		c.Durable = bus.IndexerDurable
	}
	if c.Batch <= 0 {
		c.Batch = 500
	}
	if c.MaxWait <= 0 {
		c.MaxWait = 500 * time.Millisecond
	}
	if c.AckWait <= 0 {
		c.AckWait = 15 * time.Second
	}
	if c.ItemRetries <= 0 {
		c.ItemRetries = 3
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = 30 * time.Second
	}
	if c.Log == nil {
		c.Log = zap.NewNop()
	}
	if c.Workers <= 0 {
		c.Workers = 2
	}
}

// Run consumes until ctx is done.
func (c *Consumer) Run(ctx context.Context) error {
	c.defaults()
	if c.Attributor != nil {
		select {
		case <-c.Attributor.Ready():
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	var cons jetstream.Consumer
	for {
		var err error
		cons, err = bus.EnsureConsumer(ctx, c.JS, bus.RecordsStream, jetstream.ConsumerConfig{
			Durable:       c.Durable,
			Description:   "Moisson indexers: records into the index",
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       c.AckWait,
			MaxAckPending: 20 * c.Batch,
			DeliverPolicy: jetstream.DeliverAllPolicy,
		})
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return fmt.Errorf("consumer %s: %w", c.Durable, err)
		}
		// A JetStream cluster electing its leaders answers with timeouts
		// for a while.
		c.Log.Warn("consumer not ready, retrying", zap.String("durable", c.Durable), zap.Error(err))
		sleep(ctx, 2*time.Second)
	}
	c.Log.Info("indexer consuming", zap.String("stream", bus.RecordsStream), zap.String("durable", c.Durable),
		zap.Int("batch", c.Batch), zap.Int("workers", c.Workers))
	var wg sync.WaitGroup
	for range c.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.loop(ctx, cons)
		}()
	}
	wg.Wait()
	return nil
}

// loop fetches batches and writes them until ctx is done. While records
// wait behind the last batch (a harvest's backlog), the next fetch takes
// what is there at once: the end of a backlog is written as soon as it
// is reached rather than after MaxWait. Once the stream is drained, a
// fetch waits up to MaxWait for a full batch, so that records trickling
// in are still written in batches.
func (c *Consumer) loop(ctx context.Context, cons jetstream.Consumer) {
	backlog := false
	for ctx.Err() == nil {
		var batch jetstream.MessageBatch
		var err error
		if backlog {
			batch, err = cons.FetchNoWait(c.Batch)
		} else {
			batch, err = cons.Fetch(c.Batch, jetstream.FetchMaxWait(c.MaxWait))
		}
		backlog = false
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			c.Log.Warn("fetch failed", zap.Error(err))
			sleep(ctx, time.Second)
			continue
		}
		var msgs []jetstream.Msg
		for m := range batch.Messages() {
			msgs = append(msgs, m)
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && ctx.Err() == nil {
			c.Log.Debug("fetch ended", zap.Error(err))
		}
		if len(msgs) == 0 {
			continue
		}
		if md, err := msgs[len(msgs)-1].Metadata(); err == nil {
			backlog = md.NumPending > 0
		}
		c.handle(ctx, msgs)
	}
}

// handle writes a batch and acks what was written.
func (c *Consumer) handle(ctx context.Context, msgs []jetstream.Msg) {
	type item struct {
		msg jetstream.Msg
		op  index.Op
		env *moissonv1.RecordEnvelope
	}
	var items []item
	for _, m := range msgs {
		env, err := bus.DecodeRecord(m.Data())
		if err != nil {
			c.dead(ctx, m, "", err.Error())
			continue
		}
		op := index.Op{ID: env.GetDataset().GetId(), Version: env.GetVersion(), Dataset: env.GetDataset()}
		if env.GetOp() == moissonv1.RecordEnvelope_DELETE {
			op.Delete, op.Dataset = true, nil
		} else if c.Attributor != nil && op.Dataset != nil {
			c.Attributor.Attribute(op.Dataset)
		}
		items = append(items, item{msg: m, op: op, env: env})
	}
	for attempt := 0; len(items) > 0 && ctx.Err() == nil; attempt++ {
		ops := make([]index.Op, len(items))
		for i, it := range items {
			ops[i] = it.op
		}
		start := time.Now()
		stopBeat := c.heartbeat(msgsOf(items, func(it item) jetstream.Msg { return it.msg }))
		results, err := c.Index.Write(ctx, ops)
		stopBeat()
		metricBatchSeconds.Observe(time.Since(start).Seconds())
		if err != nil {
			// The index is down or refused the whole request: nothing is
			// acked; keep the messages ours and try again after a pause.
			metricRetries.Inc()
			wait := backoff(attempt, c.BackoffMax)
			c.Log.Warn("index write failed, retrying", zap.Int("records", len(items)), zap.Duration("in", wait), zap.Error(err))
			for _, it := range items {
				_ = it.msg.InProgress()
			}
			sleep(ctx, wait)
			continue
		}
		var again []item
		for i, it := range items {
			switch e := results[i]; {
			case e == nil:
				if err := it.msg.Ack(); err != nil {
					c.Log.Warn("ack failed (the record will be redelivered and rewritten idempotently)", zap.Error(err))
				}
				if it.op.Delete {
					metricWritten.WithLabelValues("delete").Inc()
				} else {
					metricWritten.WithLabelValues("upsert").Inc()
				}
			case index.IsPermanent(e):
				c.dead(ctx, it.msg, it.env.GetSourceId(), e.Error())
			default:
				if attempt+1 >= c.ItemRetries {
					// Leave it to JetStream's redelivery.
					_ = it.msg.NakWithDelay(backoff(attempt, c.BackoffMax))
					c.Log.Warn("record not written, left for redelivery", zap.String("id", it.op.ID), zap.Error(e))
					continue
				}
				again = append(again, it)
			}
		}
		items = again
		if len(items) > 0 {
			sleep(ctx, backoff(attempt, c.BackoffMax))
		}
	}
}

// heartbeat keeps msgs ours while they are written: an in-progress ack
// every third of the ack wait, until stop is called.
func (c *Consumer) heartbeat(msgs []jetstream.Msg) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(c.AckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				for _, m := range msgs {
					_ = m.InProgress()
				}
			}
		}
	}()
	return func() { close(done) }
}

func msgsOf[T any](items []T, msg func(T) jetstream.Msg) []jetstream.Msg {
	out := make([]jetstream.Msg, len(items))
	for i, it := range items {
		out[i] = msg(it)
	}
	return out
}

// dead sends a message to the dead letters with the reason, then
// terminates it on RECORDS.
func (c *Consumer) dead(ctx context.Context, m jetstream.Msg, sourceID, reason string) {
	dm := nats.NewMsg(bus.DeadSubjectFor(sourceID))
	dm.Data = m.Data()
	dm.Header.Set(bus.HeaderReason, reason)
	dm.Header.Set("Moisson-Subject", m.Subject())
	if _, err := c.JS.PublishMsg(ctx, dm); err != nil {
		c.Log.Error("dead letter not stored; the record stays on RECORDS", zap.Error(err))
		_ = m.NakWithDelay(time.Minute)
		return
	}
	metricDead.Inc()
	c.Log.Warn("record sent to the dead letters", zap.String("source", sourceID), zap.String("reason", reason))
	_ = m.Term()
}

func backoff(attempt int, max time.Duration) time.Duration {
	d := 200 * time.Millisecond << min(attempt, 10)
	if d > max {
		d = max
	}
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
