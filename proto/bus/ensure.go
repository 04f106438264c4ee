package bus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Every service opens the streams and buckets it uses when it starts, and
// in a cluster several start at once. A JetStream cluster does not answer
// concurrent requests creating or updating the same stream (each client
// waited its 5 s timeout, then retried: seven seconds per stream and bucket
// were measured on three nodes with six services starting), though it
// carries them out. So an asset is read first, created only when missing
// and updated only when what Moisson sets differs; a request left
// unanswered is followed by looking for its effect.

// streamSettings are the settings Moisson sets on a stream, compared with
// what the server has.
type streamSettings struct {
	description string
	subjects    []string
	replicas    int
	maxAge      time.Duration
	perSubject  int64
	duplicates  time.Duration
}

func (w streamSettings) matches(have jetstream.StreamConfig) bool {
	per := have.MaxMsgsPerSubject
	if per < 0 {
		per = 0
	}
	return have.Description == w.description && have.Replicas == w.replicas && have.MaxAge == w.maxAge &&
		per == w.perSubject && (w.duplicates == 0 || have.Duplicates == w.duplicates) &&
		(w.subjects == nil || slices.Equal(have.Subjects, w.subjects))
}

// current reads the stream behind an asset: found, and whether it already
// has the settings. A stream being created (by another service) does not
// answer until it has a leader: the look is short and repeated, for up to
// 10 s.
func current(ctx context.Context, js jetstream.JetStream, stream string, want streamSettings) (found, same bool, err error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		var s jetstream.Stream
		s, err = js.Stream(lctx, stream)
		cancel()
		var api *jetstream.APIError
		switch {
		case errors.Is(err, jetstream.ErrStreamNotFound):
			return false, false, nil
		case err == nil:
			return true, want.matches(s.CachedInfo().Config), nil
		case errors.As(err, &api) || ctx.Err() != nil || time.Now().After(deadline):
			return false, false, err
		}
		select {
		case <-ctx.Done():
			return false, false, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// apply sends a create or update request for the stream behind an asset.
// Unanswered, it looks for the stream with the settings for a while: the
// cluster may have done it without saying so.
func apply(ctx context.Context, js jetstream.JetStream, stream string, want streamSettings, do func(context.Context) error) error {
	actx, cancel := context.WithTimeout(ctx, 3*time.Second)
	err := do(actx)
	cancel()
	var api *jetstream.APIError
	if err == nil || errors.As(err, &api) || ctx.Err() != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if found, same, ferr := current(ctx, js, stream, want); ferr == nil && found && same {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return err
}

// ensure creates the stream behind an asset, or updates it when its
// settings differ.
func ensure(ctx context.Context, js jetstream.JetStream, stream string, want streamSettings, create, update func(context.Context) error) error {
	found, same, err := current(ctx, js, stream, want)
	switch {
	case err != nil:
		return err
	case !found:
		err = apply(ctx, js, stream, want, create)
		var api *jetstream.APIError
		if errors.As(err, &api) && api.ErrorCode == jetstream.JSErrCodeStreamNameInUse {
			// Another service created it meanwhile, perhaps with other
			// settings (an older version): the next start updates it.
			return nil
		}
		return err
	case !same:
		return apply(ctx, js, stream, want, update)
	}
	return nil
}

func ensureStream(ctx context.Context, js jetstream.JetStream, c jetstream.StreamConfig) error {
	want := streamSettings{c.Description, c.Subjects, c.Replicas, c.MaxAge, c.MaxMsgsPerSubject, c.Duplicates}
	err := ensure(ctx, js, c.Name, want,
		func(ctx context.Context) error { _, err := js.CreateStream(ctx, c); return err },
		func(ctx context.Context) error { _, err := js.UpdateStream(ctx, c); return err })
	if err != nil {
		return fmt.Errorf("stream %s: %w", c.Name, err)
	}
	return nil
}

// EnsureKeyValue opens a key-value bucket, creating it when missing and
// updating it when its settings differ.
func EnsureKeyValue(ctx context.Context, js jetstream.JetStream, c jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	history := int64(c.History)
	if history == 0 {
		history = 1
	}
	want := streamSettings{description: c.Description, replicas: max(c.Replicas, 1), maxAge: c.TTL, perSubject: history}
	err := ensure(ctx, js, "KV_"+c.Bucket, want,
		func(ctx context.Context) error { _, err := js.CreateKeyValue(ctx, c); return err },
		func(ctx context.Context) error { _, err := js.UpdateKeyValue(ctx, c); return err })
	if err != nil {
		return nil, err
	}
	return openCreated(ctx, func(ctx context.Context) (jetstream.KeyValue, error) { return js.KeyValue(ctx, c.Bucket) })
}

// EnsureObjectStore opens an object store, creating it when missing and
// updating it when its settings differ.
func EnsureObjectStore(ctx context.Context, js jetstream.JetStream, c jetstream.ObjectStoreConfig) (jetstream.ObjectStore, error) {
	want := streamSettings{description: c.Description, replicas: max(c.Replicas, 1), maxAge: c.TTL}
	err := ensure(ctx, js, "OBJ_"+c.Bucket, want,
		func(ctx context.Context) error { _, err := js.CreateObjectStore(ctx, c); return err },
		func(ctx context.Context) error { _, err := js.UpdateObjectStore(ctx, c); return err })
	if err != nil {
		return nil, err
	}
	return openCreated(ctx, func(ctx context.Context) (jetstream.ObjectStore, error) { return js.ObjectStore(ctx, c.Bucket) })
}

// openCreated opens a bucket, waiting a little for one another service has
// just created: a cluster answers "name in use" to a second create before
// the stream of the first answers, and the open then finds no bucket
// (TestConcurrentStart, six services on three nodes, saw it once).
func openCreated[T any](ctx context.Context, open func(context.Context) (T, error)) (T, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := open(ctx)
		if err == nil || !errors.Is(err, jetstream.ErrBucketNotFound) || time.Now().After(deadline) {
			return b, err
		}
		select {
		case <-ctx.Done():
			return b, err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// EnsureConsumer opens a durable consumer, creating it when missing and
// updating it when what Moisson sets differs.
func EnsureConsumer(ctx context.Context, js jetstream.JetStream, stream string, c jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	cons, err := js.Consumer(ctx, stream, c.Durable)
	switch {
	case errors.Is(err, jetstream.ErrConsumerNotFound):
		actx, cancel := context.WithTimeout(ctx, 3*time.Second)
		cons, err = js.CreateConsumer(actx, stream, c)
		cancel()
		if err != nil && ctx.Err() == nil {
			// Created by another indexer meanwhile, or unanswered.
			if got, gerr := js.Consumer(ctx, stream, c.Durable); gerr == nil {
				return got, nil
			}
		}
		return cons, err
	case err != nil:
		return nil, err
	}
	have := cons.CachedInfo().Config
	if have.Description == c.Description && have.AckPolicy == c.AckPolicy && have.AckWait == c.AckWait &&
		have.MaxAckPending == c.MaxAckPending && have.DeliverPolicy == c.DeliverPolicy {
		return cons, nil
	}
	return js.UpdateConsumer(ctx, stream, c)
}
