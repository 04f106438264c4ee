package observatory

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// Snapshot is the summary of one day, kept so that the trend shows between
// harvests and across restarts.
type Snapshot struct {
	Date      string    `json:"date"` // YYYY-MM-DD (UTC)
	Total     Summary   `json:"total"`
	Summaries []Summary `json:"summaries"`
}

// Store keeps one snapshot per day.
type Store interface {
	// Put keeps s as its day's snapshot (the latest of a day wins).
	Put(ctx context.Context, s Snapshot) error
	// List gives them all, oldest first.
	List(ctx context.Context) ([]Snapshot, error)
}

const snapshotPrefix = "observatory."

// KVStore keeps the snapshots in a key-value bucket (the API's,
// bus.APIBucket), one key per day: "observatory.2026-12-04".
type KVStore struct{ KV jetstream.KeyValue }

// Put keeps s as its day's snapshot.
func (k KVStore) Put(ctx context.Context, s Snapshot) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	_, err = k.KV.Put(ctx, snapshotPrefix+s.Date, b)
	return err
}

// List reads the snapshots, oldest first.
func (k KVStore) List(ctx context.Context) ([]Snapshot, error) {
	keys, err := k.KV.ListKeysFiltered(ctx, snapshotPrefix+">")
	if err != nil {
		return nil, err
	}
	var out []Snapshot
	for key := range keys.Keys() {
		if !strings.HasPrefix(key, snapshotPrefix) {
			continue
		}
		e, err := k.KV.Get(ctx, key)
		if err != nil {
			continue
		}
		var s Snapshot
		if json.Unmarshal(e.Value(), &s) == nil {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b Snapshot) int { return strings.Compare(a.Date, b.Date) })
	return out, nil
}

// SnapshotOf is the snapshot of a report.
func SnapshotOf(r *Report) Snapshot {
	return Snapshot{Date: r.GeneratedAt.UTC().Format("2006-01-02"), Total: r.Total, Summaries: r.Summaries}
}

// KeepSnapshots takes the day's snapshot a few minutes after the start (the
// first harvest has run) and then every hour, until ctx is done: each day
// keeps its last one.
func (o *Observatory) KeepSnapshots(ctx context.Context, store Store, log *zap.Logger) {
	take := func() {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		r, err := o.Report(cctx)
		if err == nil {
			err = store.Put(cctx, SnapshotOf(r))
		}
		if err != nil && ctx.Err() == nil {
			log.Warn("observatory snapshot not taken", zap.Error(err))
		}
	}
	// Not at once: the first harvest has barely started.
	t := time.NewTimer(5 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			take()
			t.Reset(time.Hour)
		}
	}
}
