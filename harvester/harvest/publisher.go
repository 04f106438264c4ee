package harvest

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/opendatafrance/moisson/proto/bus"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
)

// attemptTimeout bounds one synchronous publish.
const attemptTimeout = 5 * time.Second

// Publisher sends what a run produces.
type Publisher interface {
	// Record queues an envelope; errors may surface at Flush.
	Record(ctx context.Context, env *moissonv1.RecordEnvelope) error
	// Flush waits until every queued envelope is stored by the stream.
	Flush(ctx context.Context) error
	// Run publishes a harvest run event.
	Run(ctx context.Context, run *moissonv1.HarvestRun) error
	// Error records one error of a run (all of them, beyond what the run
	// event carries).
	Error(ctx context.Context, sourceID, runID string, e *moissonv1.HarvestError) error
}

// JetStreamPublisher publishes to the RECORDS and RUNS streams, with async
// publishes in windows: a window's failed publishes are retried one by one
// (the Nats-Msg-Id makes a retry of a stored message harmless).
type JetStreamPublisher struct {
	js      jetstream.JetStream
	window  int
	pending []pending
	Retries int           // per message, after the async attempt; default 5
	Backoff time.Duration // default 500ms, doubled per retry
	AckWait time.Duration // how long a window waits for its acks; default 10s
}

type pending struct {
	msg *nats.Msg
	fut jetstream.PubAckFuture
}

// NewJetStreamPublisher builds a publisher on js.
func NewJetStreamPublisher(js jetstream.JetStream) *JetStreamPublisher {
	return &JetStreamPublisher{js: js, window: 256, Retries: 5, Backoff: 500 * time.Millisecond, AckWait: 10 * time.Second}
}

// encodedPublisher is a Publisher that also takes an envelope with the
// encoding of its dataset made before the provenance was set (see
// bus.RecordMsgEncoded), sparing a second marshalling of the dataset.
type encodedPublisher interface {
	RecordEncoded(ctx context.Context, env *moissonv1.RecordEnvelope, datasetWire []byte) error
}

// Record queues an envelope.
func (p *JetStreamPublisher) Record(ctx context.Context, env *moissonv1.RecordEnvelope) error {
	m, err := bus.RecordMsg(env)
	if err != nil {
		return err
	}
	return p.queue(ctx, m)
}

// RecordEncoded queues an envelope whose dataset is already encoded.
func (p *JetStreamPublisher) RecordEncoded(ctx context.Context, env *moissonv1.RecordEnvelope, datasetWire []byte) error {
	m, err := bus.RecordMsgEncoded(env, datasetWire)
	if err != nil {
		return err
	}
	return p.queue(ctx, m)
}

// queue publishes a record message asynchronously, settling the window
// when it is full.
func (p *JetStreamPublisher) queue(ctx context.Context, m *nats.Msg) error {
	fut, err := p.js.PublishMsgAsync(m)
	if err != nil {
		// The async queue refused it (too many pending, connection down):
		// settle the window, then publish this one synchronously.
		if ferr := p.Flush(ctx); ferr != nil {
			return ferr
		}
		return p.publishSync(ctx, m)
	}
	p.pending = append(p.pending, pending{msg: m, fut: fut})
	if len(p.pending) >= p.window {
		return p.Flush(ctx)
	}
	return nil
}

// Flush waits for the window's acks, retrying failures. An ack lost with
// a stream leader that died never comes: the window shares one deadline
// (AckWait), past which every unsettled message is re-sent synchronously;
// waiting message by message would cost AckWait per message.
func (p *JetStreamPublisher) Flush(ctx context.Context) error {
	win := p.pending
	p.pending = p.pending[:0:0]
	wait := p.AckWait
	if wait <= 0 {
		wait = 10 * time.Second
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	expired := false
	for _, pm := range win {
		if !expired {
			select {
			case <-pm.fut.Ok():
				continue
			case <-pm.fut.Err():
			case <-ctx.Done():
				return ctx.Err()
			case <-deadline.C:
				expired = true
			}
		} else {
			select {
			case <-pm.fut.Ok():
				continue
			default:
			}
		}
		if rerr := p.publishSync(ctx, pm.msg); rerr != nil {
			return rerr
		}
	}
	return nil
}

func (p *JetStreamPublisher) publishSync(ctx context.Context, m *nats.Msg) error {
	// A message can be re-sent as is: same data, same Nats-Msg-Id.
	err := p.retry(ctx, func(actx context.Context) error {
		_, err := p.js.PublishMsg(actx, m)
		return err
	})
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("publishing %s: %w", m.Subject, err)
	}
	return err
}

// Run publishes a harvest run event, retrying like records.
func (p *JetStreamPublisher) Run(ctx context.Context, run *moissonv1.HarvestRun) error {
	return p.retry(ctx, func(actx context.Context) error { return bus.PublishRun(actx, p.js, run) })
}

// LastRun reads a source's last harvest run event from the RUNS stream's
// leader (nil when it has none).
func (p *JetStreamPublisher) LastRun(ctx context.Context, sourceID string) (*moissonv1.HarvestRun, error) {
	return bus.LastRun(ctx, p.js, sourceID)
}

// retry runs do until it succeeds, Retries more times at most, waiting
// Backoff (doubled each time) in between. Each attempt has its own
// timeout: an ack lost with a stream leader would otherwise hold the first
// attempt until ctx ends.
func (p *JetStreamPublisher) retry(ctx context.Context, do func(context.Context) error) error {
	wait := p.Backoff
	var err error
	for i := 0; i <= p.Retries; i++ {
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		err = do(actx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
	return err
}

// Error publishes one run error to the RUNERRORS stream (asynchronously:
// errors are settled with the records at Flush).
func (p *JetStreamPublisher) Error(ctx context.Context, sourceID, runID string, e *moissonv1.HarvestError) error {
	m, err := bus.ErrorMsg(sourceID, runID, e)
	if err != nil {
		return err
	}
	fut, err := p.js.PublishMsgAsync(m)
	if err != nil {
		return p.publishSync(ctx, m)
	}
	p.pending = append(p.pending, pending{msg: m, fut: fut})
	return nil
}

// Fork returns a publisher on the same connection with its own window.
func (p *JetStreamPublisher) Fork() Publisher {
	return &JetStreamPublisher{js: p.js, window: p.window, Retries: p.Retries, Backoff: p.Backoff, AckWait: p.AckWait}
}
