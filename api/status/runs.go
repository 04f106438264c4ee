// Package status keeps the harvest status of every source, read from the
// RUNS stream: the latest run, the latest successful run and a short
// history per source.
package status

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/opendatafrance/moisson/proto/bus"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"go.uber.org/zap"
)

// History is how many runs per source are kept in memory.
const History = 50

// Source is what is known of one source.
type Source struct {
	SourceID    string
	TerritoryID string
	PortalURL   string
	Protocol    string
	Last        *moissonv1.HarvestRun
	LastSuccess *moissonv1.HarvestRun
	Runs        []*moissonv1.HarvestRun // newest first, one entry per run (its latest event)
}

// Runs is the harvest status, fed by the RUNS stream.
type Runs struct {
	mu      sync.RWMutex
	sources map[string]*Source
}

// New returns an empty status.
func New() *Runs { return &Runs{sources: map[string]*Source{}} }

// Apply records a run event.
func (r *Runs) Apply(run *moissonv1.HarvestRun) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.sources[run.GetSourceId()]
	if s == nil {
		s = &Source{SourceID: run.GetSourceId()}
		r.sources[run.GetSourceId()] = s
	}
	s.TerritoryID, s.PortalURL, s.Protocol = run.GetTerritoryId(), run.GetPortalUrl(), run.GetProtocol()
	replaced := false
	for i, old := range s.Runs {
		if old.GetRunId() == run.GetRunId() {
			if run.GetStatus() != moissonv1.HarvestRun_RUNNING || old.GetStatus() == moissonv1.HarvestRun_RUNNING {
				s.Runs[i] = run
			}
			replaced = true
			break
		}
	}
	if !replaced {
		s.Runs = append(s.Runs, run)
	}
	sort.SliceStable(s.Runs, func(i, j int) bool { return s.Runs[i].GetRunId() > s.Runs[j].GetRunId() })
	if len(s.Runs) > History {
		s.Runs = s.Runs[:History]
	}
	s.Last = s.Runs[0]
	if run.GetStatus() == moissonv1.HarvestRun_SUCCEEDED &&
		(s.LastSuccess == nil || run.GetRunId() >= s.LastSuccess.GetRunId()) {
		s.LastSuccess = run
	}
}

// Sources lists every source, sorted by territory then id.
func (r *Runs) Sources() []Source {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Source, 0, len(r.sources))
	for _, s := range r.sources {
		c := *s
		c.Runs = append([]*moissonv1.HarvestRun(nil), s.Runs...)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].TerritoryID != out[j].TerritoryID {
			return out[i].TerritoryID < out[j].TerritoryID
		}
		return out[i].SourceID < out[j].SourceID
	})
	return out
}

// Source returns one source.
func (r *Runs) Source(id string) (Source, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s, ok := r.sources[id]
	if !ok {
		return Source{}, false
	}
	c := *s
	c.Runs = append([]*moissonv1.HarvestRun(nil), s.Runs...)
	return c, true
}

// Watch follows the RUNS stream from its start until ctx is done. It returns
// once the history present at call time has been read.
func (r *Runs) Watch(ctx context.Context, js jetstream.JetStream, log *zap.Logger) error {
	stream, err := js.Stream(ctx, bus.RunsStream)
	if err != nil {
		return fmt.Errorf("runs stream: %w", err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return err
	}
	upTo := info.State.LastSeq
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy})
	if err != nil {
		return err
	}
	caughtUp := make(chan struct{})
	var once sync.Once
	if upTo == 0 {
		once.Do(func() { close(caughtUp) })
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		run, err := bus.DecodeRun(m.Data())
		if err != nil {
			log.Warn("unreadable run event", zap.Error(err))
		} else {
			r.Apply(run)
		}
		if md, err := m.Metadata(); err == nil && md.Sequence.Stream >= upTo {
			once.Do(func() { close(caughtUp) })
		}
	})
	if err != nil {
		return err
	}
	go func() {
		<-ctx.Done()
		cc.Stop()
	}()
	select {
	case <-caughtUp:
	case <-ctx.Done():
	}
	return nil
}
