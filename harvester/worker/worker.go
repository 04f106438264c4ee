// Package worker runs a harvester worker: any number of them share the
// sources through leases in a JetStream KV bucket, so two workers never
// harvest the same source at once and a source whose worker died is taken
// over when its lease expires. Each source is harvested on its schedule
// (interval or cron, jittered), or at once when someone asks for it. While
// the indexers are behind, a worker starts no more runs than one at a time.
package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/harvest"
	"github.com/opendatafrance/moisson/harvester/state"
	"github.com/opendatafrance/moisson/proto/bus"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/timestamppb"
)

var metricBacklog = promauto.NewGauge(prometheus.GaugeOpts{
	Name: "moisson_harvester_indexer_backlog",
	Help: "Records waiting for the indexers, as the worker last read it (above its limit it starts one run at a time).",
})

// Aliases of the contract types in proto/bus.
type (
	Lease    = bus.Lease
	Schedule = bus.Schedule
	Trigger  = bus.Trigger
	Buckets  = bus.Buckets
)

// OpenBuckets opens the worker buckets.
func OpenBuckets(ctx context.Context, js jetstream.JetStream, leaseTTL time.Duration, replicas int) (*Buckets, error) {
	return bus.OpenBuckets(ctx, js, leaseTTL, replicas)
}

// RequestHarvest asks the workers to harvest a source now.
func RequestHarvest(ctx context.Context, b *Buckets, sourceID, by string) error {
	return bus.RequestHarvest(ctx, b, sourceID, by)
}

// Worker harvests the sources it can lease, when they are due.
type Worker struct {
	Buckets     *Buckets
	Config      *config.Config
	Runner      *harvest.Runner
	Log         *zap.Logger
	Name        string
	LeaseTTL    time.Duration // default 30s; must match the bucket's TTL
	Tick        time.Duration // how often due sources are looked for; default 2s
	Concurrency int           // runs at once; default 4
	// Backlog, when set, tells how many records wait for the indexers
	// (bus.IndexBacklog). While more than BacklogLimit do, the worker
	// starts a run only when none of its own is going: harvesting more
	// sources at once would only pile records up ahead of the index, and on
	// a machine the index shares, take the CPU it needs (100k records
	// through the all-in-one on 2 cores: the harvest ended 30 000-40 000
	// records ahead of the index, which then worked alone on 1.6 cores;
	// with it, 6 000-15 000). Runs going on are left alone; up to
	// Concurrency again once the indexers catch up.
	Backlog      func(context.Context) (uint64, error)
	BacklogLimit uint64 // default 5 000 records

	mu        sync.Mutex
	behind    bool          // the last backlog read was above BacklogLimit
	wake      chan struct{} // a run ended: look for due sources at once
	running   map[string]bool
	firstPass chan struct{}
	passOnce  sync.Once
}

func (w *Worker) defaults() {
	if w.LeaseTTL <= 0 {
		w.LeaseTTL = 30 * time.Second
	}
	if w.Tick <= 0 {
		w.Tick = 2 * time.Second
	}
	if w.Concurrency <= 0 {
		w.Concurrency = 4
	}
	if w.BacklogLimit == 0 {
		w.BacklogLimit = 5_000
	}
	if w.Log == nil {
		w.Log = zap.NewNop()
	}
	w.mu.Lock()
	if w.running == nil {
		w.running = map[string]bool{}
	}
	if w.firstPass == nil {
		w.firstPass = make(chan struct{})
	}
	if w.wake == nil {
		w.wake = make(chan struct{}, 1)
	}
	w.mu.Unlock()
}

// FirstPass is closed once every source due at start-up has been harvested
// (by this worker or another) or found not due.
func (w *Worker) FirstPass() <-chan struct{} {
	w.defaults()
	return w.firstPass
}

// PublishConfig writes the configured sources (for the API) and
// territories (for the indexers' resolution of publishers and the API's
// observatory) to their buckets. A territory no longer configured is
// removed; a changed one makes the indexers re-resolve its records.
func PublishConfig(ctx context.Context, js jetstream.JetStream, replicas int, cfg *config.Config) error {
	sources, err := bus.OpenSources(ctx, js, replicas)
	if err != nil {
		return err
	}
	if err := publishSources(ctx, sources, cfg); err != nil {
		return err
	}
	territories, err := bus.OpenTerritories(ctx, js, replicas)
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, t := range cfg.Territories {
		keep[t.ID] = true
		v, _ := json.Marshal(bus.TerritoryInfo{ID: t.ID, Name: t.Name, Territory: t.Spec()})
		// Unchanged: not written again (a write is what tells the
		// indexers to re-resolve).
		if e, err := territories.Get(ctx, t.ID); err == nil && string(e.Value()) == string(v) {
			continue
		}
		if _, err := territories.Put(ctx, t.ID, v); err != nil {
			return err
		}
	}
	keys, err := territories.ListKeys(ctx)
	if err != nil {
		return err
	}
	for k := range keys.Keys() {
		if !keep[k] && !bus.IsStamp(k) {
			if err := territories.Delete(ctx, k); err != nil {
				return err
			}
		}
	}
	return nil
}

func publishSources(ctx context.Context, kv jetstream.KeyValue, cfg *config.Config) error {
	for _, src := range cfg.Sources() {
		info := bus.SourceInfo{SourceID: src.ID, Protocol: src.Protocol, Endpoint: src.Endpoint,
			Schedule: src.Schedule(cfg.Harvest), Disabled: src.Disabled}
		if !harvest.Supported(src) && info.Disabled == "" {
			info.Disabled = "no adapter for protocol " + src.Protocol + " yet"
		}
		if t := src.Territory; t != nil {
			info.TerritoryID, info.Territory = t.ID, t.Name
		}
		if m := src.Member; m != nil {
			info.MemberID, info.Member = m.ID, m.Name
		}
		if p := src.Portal; p != nil {
			info.PortalID, info.Portal, info.PortalURL, info.Software = p.ID, p.Name, p.URL, p.Software
		}
		v, _ := json.Marshal(info)
		if _, err := kv.Put(ctx, src.ID, v); err != nil {
			return err
		}
	}
	return nil
}

// Run works until ctx is done.
func (w *Worker) Run(ctx context.Context) error {
	w.defaults()
	var wg sync.WaitGroup
	defer wg.Wait()
	t := time.NewTicker(w.Tick)
	defer t.Stop()
	// A harvest asked for now wakes the worker at once.
	if watch, err := w.Buckets.Triggers.WatchAll(ctx, jetstream.UpdatesOnly()); err == nil {
		defer watch.Stop()
		go func() {
			for range watch.Updates() {
				select {
				case w.wake <- struct{}{}:
				default:
				}
			}
		}()
	}
	for {
		pending := w.pass(ctx, &wg)
		if pending == 0 {
			w.passOnce.Do(func() { close(w.firstPass) })
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-w.wake:
		}
	}
}

// pass starts the due sources it can lease; it returns how many sources are
// due or running (here or elsewhere).
func (w *Worker) pass(ctx context.Context, wg *sync.WaitGroup) int {
	pending := 0
	policy := w.Config.Harvest.WithDefaults()
	// The indexers' backlog, read once per pass and only when it decides.
	var behind *bool
	for _, src := range w.Config.Sources() {
		if ctx.Err() != nil {
			return pending
		}
		if !harvest.Supported(src) {
			continue
		}
		w.mu.Lock()
		mine := w.running[src.ID]
		running := len(w.running)
		w.mu.Unlock()
		busy := running >= w.Concurrency
		if mine {
			pending++
			continue
		}
		sched, _, err := w.schedule(ctx, src.ID)
		if err != nil {
			w.Log.Warn("schedule unreadable", zap.String("source", src.ID), zap.Error(err))
			pending++
			continue
		}
		trigger := w.trigger(ctx, src.ID)
		due := sched.LastStarted.IsZero() || !time.Now().Before(src.Next(sched.LastStarted, policy)) ||
			(trigger != nil && trigger.At.After(sched.LastStarted)) || sched.OpenRun != ""
		if !due {
			continue
		}
		pending++
		if !busy && running > 0 {
			if behind == nil {
				b := w.indexersBehind(ctx)
				behind = &b
			}
			busy = *behind
		}
		if busy {
			continue
		}
		lease, rev, ok := w.lease(ctx, src.ID)
		if !ok {
			continue // another worker has it
		}
		// Read again under the lease: another worker may just have run it.
		sched, _, err = w.schedule(ctx, src.ID)
		if err != nil {
			w.release(src.ID, rev, "")
			continue
		}
		how := "schedule"
		switch {
		case sched.OpenRun != "":
			how = "takeover"
		case trigger != nil && trigger.At.After(sched.LastStarted):
			how = "manual"
		case sched.LastStarted.IsZero():
			how = "startup"
		case time.Now().Before(src.Next(sched.LastStarted, policy)):
			w.release(src.ID, rev, "")
			continue
		}
		w.mu.Lock()
		w.running[src.ID] = true
		w.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				w.mu.Lock()
				delete(w.running, src.ID)
				w.mu.Unlock()
				select {
				case w.wake <- struct{}{}:
				default:
				}
			}()
			w.harvest(ctx, src, sched, lease, rev, how, trigger)
		}()
	}
	return pending
}

// indexersBehind reports whether more than BacklogLimit records wait for
// the indexers (false without Backlog, or when it cannot be read). It logs
// when that changes.
func (w *Worker) indexersBehind(ctx context.Context) bool {
	if w.Backlog == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	n, err := w.Backlog(ctx)
	if err != nil {
		w.Log.Debug("indexers' backlog unknown", zap.Error(err))
		return false
	}
	metricBacklog.Set(float64(n))
	behind := n > w.BacklogLimit
	w.mu.Lock()
	changed := behind != w.behind
	w.behind = behind
	w.mu.Unlock()
	if changed && behind {
		w.Log.Info("the indexers are behind: one source at a time until they catch up", zap.Uint64("backlog", n), zap.Uint64("limit", w.BacklogLimit))
	} else if changed {
		w.Log.Info("the indexers caught up: sources harvested at once again", zap.Uint64("backlog", n), zap.Int("concurrency", w.Concurrency))
	}
	return behind
}

func (w *Worker) schedule(ctx context.Context, id string) (Schedule, uint64, error) {
	var s Schedule
	e, err := w.Buckets.Schedules.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return s, 0, nil
	}
	if err != nil {
		return s, 0, err
	}
	return s, e.Revision(), json.Unmarshal(e.Value(), &s)
}

func (w *Worker) trigger(ctx context.Context, id string) *Trigger {
	e, err := w.Buckets.Triggers.Get(ctx, id)
	if err != nil {
		return nil
	}
	var t Trigger
	if json.Unmarshal(e.Value(), &t) != nil {
		return nil
	}
	t.Rev = e.Revision()
	return &t
}

// lease tries to take the source's lease.
func (w *Worker) lease(ctx context.Context, id string) (Lease, uint64, bool) {
	l := Lease{Worker: w.Name, Since: time.Now().UTC(), Heartbeat: time.Now().UTC()}
	v, _ := json.Marshal(l)
	rev, err := w.Buckets.Leases.Create(ctx, id, v)
	if err != nil {
		if !errors.Is(err, jetstream.ErrKeyExists) {
			w.Log.Warn("lease not taken", zap.String("source", id), zap.Error(err))
		}
		return l, 0, false
	}
	return l, rev, true
}

// release deletes the lease if it is still this worker's (for runID).
func (w *Worker) release(id string, rev uint64, runID string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := w.Buckets.Leases.Delete(ctx, id, jetstream.LastRevision(rev))
	if err != nil {
		// A renewal whose answer was lost (a stream leader change) moved
		// the revision on: still ours, the lease goes at its revision.
		if cur, ok := w.ours(ctx, id, runID); ok && cur != rev {
			err = w.Buckets.Leases.Delete(ctx, id, jetstream.LastRevision(cur))
		}
	}
	if err != nil {
		w.Log.Warn("lease not released (it will expire)", zap.String("source", id), zap.Error(err))
	}
}

// errLeaseTaken: another worker holds the lease.
var errLeaseTaken = errors.New("another worker took the lease")

// ours reads the lease: its revision, and whether this worker holds it
// for runID.
func (w *Worker) ours(ctx context.Context, id, runID string) (uint64, bool) {
	e, err := w.Buckets.Leases.Get(ctx, id)
	if err != nil {
		return 0, false
	}
	var l Lease
	if json.Unmarshal(e.Value(), &l) != nil {
		return e.Revision(), false
	}
	return e.Revision(), l.Worker == w.Name && l.RunID == runID
}

// renew writes the lease again at revision rev. An update whose answer was
// lost may have been applied: a lease still ours is renewed at its actual
// revision. errLeaseTaken says another worker holds it; other errors
// (timeouts while NATS elects a leader, a lease not found on a replica
// catching up) may pass: the caller gives up once the lease could have
// expired.
func (w *Worker) renew(ctx context.Context, id string, lease Lease, rev uint64) (uint64, error) {
	v, _ := json.Marshal(lease)
	nrev, err := w.Buckets.Leases.Update(ctx, id, v, rev)
	if err == nil {
		return nrev, nil
	}
	// The bucket's reads may be answered by a replica catching up after
	// a leader change (direct gets): a lease not found, or one older than
	// the revision this worker wrote last (a previous run's, another
	// worker's), is no proof the lease is gone. Only another holder at a
	// newer revision is; else the renewal is retried until the lease
	// could have expired.
	cur, mine := w.ours(ctx, id, lease.RunID)
	switch {
	case cur <= rev: // not found, or not yet what this worker wrote
		return rev, err
	case !mine:
		return rev, errLeaseTaken
	}
	return w.Buckets.Leases.Update(ctx, id, v, cur)
}

// harvest runs one source under its lease, renewing it; losing the lease
// stops the run.
func (w *Worker) harvest(ctx context.Context, src *config.Source, prev Schedule, lease Lease, rev uint64, how string, trigger *Trigger) {
	log := w.Log.With(zap.String("source", src.ID), zap.String("worker", w.Name))
	runner := w.Runner.Fork()
	runID := harvest.NewRunID(time.Now())
	lease.RunID = runID
	bctx := context.WithoutCancel(ctx)

	if prev.OpenRun != "" {
		w.closeOpenRun(bctx, runner, src, prev, runID, log)
	}
	open := prev
	open.OpenRun, open.OpenWorker, open.OpenStarted = runID, w.Name, time.Now().UTC()
	w.putSchedule(bctx, src.ID, open)

	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	renewDone := make(chan struct{})
	go func() {
		defer close(renewDone)
		// Renewed every third of the TTL; a failed renewal is retried
		// every second while the lease cannot have expired yet (a NATS
		// leader election takes seconds).
		t := time.NewTimer(w.LeaseTTL / 3)
		defer t.Stop()
		renewed := time.Now()
		for {
			select {
			case <-rctx.Done():
				return
			case <-t.C:
			}
			mu.Lock()
			lease.Heartbeat = time.Now().UTC()
			l := lease
			mu.Unlock()
			octx, ocancel := context.WithTimeout(bctx, 5*time.Second)
			nrev, err := w.renew(octx, src.ID, l, rev)
			ocancel()
			if err == nil {
				rev, renewed = nrev, time.Now()
				t.Reset(w.LeaseTTL / 3)
				continue
			}
			if !errors.Is(err, errLeaseTaken) && time.Since(renewed) < w.LeaseTTL*2/3 {
				log.Warn("lease not renewed, retrying", zap.Error(err))
				t.Reset(time.Second)
				continue
			}
			log.Error("lease lost: stopping the run so that no other worker harvests it at the same time", zap.Error(err))
			cancel()
			return
		}
	}()
	report := runner.Progress
	runner.Progress = func(run *moissonv1.HarvestRun) {
		mu.Lock()
		lease.Pages, lease.Seen = run.Pages, run.Seen
		mu.Unlock()
		if report != nil {
			report(run)
		}
	}
	run := runner.Run(rctx, src, harvest.Options{Trigger: how, RunID: runID})
	cancel()
	<-renewDone

	done := Schedule{LastStarted: run.GetStartedAt().AsTime(), LastRunID: run.GetRunId(), LastStatus: run.GetStatus().String()}
	done.Next = src.Next(done.LastStarted, w.Config.Harvest)
	done.Schedule = src.Schedule(w.Config.Harvest)
	if ctx.Err() != nil && run.GetStatus() != moissonv1.HarvestRun_SUCCEEDED {
		// Shut down mid-run: due again at the next start.
		done = prev
		done.OpenRun, done.OpenWorker, done.OpenStarted = "", "", time.Time{}
		done.LastStarted = time.Time{}
	}
	w.putSchedule(bctx, src.ID, done)
	if trigger != nil && how == "manual" {
		// Only the trigger this run answered: a newer one asks for another run.
		_ = w.Buckets.Triggers.Delete(bctx, src.ID, jetstream.LastRevision(trigger.Rev))
	}
	// The renewer has stopped (renewDone): rev is settled.
	w.release(src.ID, rev, runID)
}

// runHistory reads a source's last harvest run event (the JetStream
// publisher does).
type runHistory interface {
	LastRun(ctx context.Context, sourceID string) (*moissonv1.HarvestRun, error)
}

// closeOpenRun ends, in the run history, the run a worker left open in the
// schedule (it died, or lost NATS before it could clear the schedule). A
// run whose end is published is left as it is. One that reached its end
// without publishing it (the harvest state, saved just before the end is
// published, names it) gets the end its state tells. Any other is closed
// as FAILED. When the history cannot be read, a run the state names is
// left as it is: its end may be published.
func (w *Worker) closeOpenRun(ctx context.Context, runner *harvest.Runner, src *config.Source, prev Schedule, runID string, log *zap.Logger) {
	var last *moissonv1.HarvestRun
	historyErr := errors.New("no run history")
	if h, ok := runner.Publisher.(runHistory); ok {
		hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		last, historyErr = h.LastRun(hctx, src.ID)
		cancel()
	}
	if historyErr == nil && last.GetRunId() == prev.OpenRun && last.GetStatus() != moissonv1.HarvestRun_RUNNING {
		log.Info("the run left open had ended", zap.String("run", prev.OpenRun), zap.String("by", prev.OpenWorker))
		return
	}
	st := w.endedState(ctx, runner, src.ID, prev.OpenRun)
	if st != nil && historyErr != nil {
		log.Info("the run left open had ended (its harvest state says; the run history could not be read)",
			zap.String("run", prev.OpenRun), zap.String("by", prev.OpenWorker), zap.Error(historyErr))
		return
	}
	now := timestamppb.Now()
	end := &moissonv1.HarvestRun{
		RunId: prev.OpenRun, SourceId: src.ID, Status: moissonv1.HarvestRun_FAILED,
		StartedAt: timestamppb.New(prev.OpenStarted), FinishedAt: now, HeartbeatAt: now,
		Worker: prev.OpenWorker, Protocol: src.Protocol, DeclaredTotal: -1, ErrorCount: 1,
	}
	if src.Territory != nil {
		end.TerritoryId = src.Territory.ID
	}
	if src.Portal != nil {
		end.PortalUrl = src.Portal.URL
	}
	msg := fmt.Sprintf("worker %s stopped during the run (its lease expired); %s takes over with run %s", prev.OpenWorker, w.Name, runID)
	if st != nil {
		// Its end is lost, not what it did: the state was saved, so its
		// records were published and its deletions made.
		msg = fmt.Sprintf("worker %s stopped after the run's end, before publishing it: the end is told from the harvest state it saved, its counts are lost; %s takes over with run %s", prev.OpenWorker, w.Name, runID)
		if !st.LastSuccessStarted.IsZero() && st.LastSuccessStarted.Equal(st.LastStarted) {
			end.Status = moissonv1.HarvestRun_SUCCEEDED
			if st.LastFull.Equal(st.LastStarted) {
				end.Complete, end.Seen = true, st.LastSuccessSeen
			}
		}
	}
	end.Errors = []*moissonv1.HarvestError{{At: now, Kind: "worker", Url: src.Endpoint, Message: msg}}
	if err := runner.Publisher.Run(ctx, end); err != nil {
		log.Warn("could not close the run left open", zap.Error(err))
	}
	log.Warn("took over a source whose worker died", zap.String("dead_run", prev.OpenRun), zap.String("dead_worker", prev.OpenWorker),
		zap.String("closed_as", end.Status.String()))
}

// endedState returns the harvest state of a source (its header, when the
// store reads headers alone: not the record hashes) when it names the run
// (which then reached its end: the state is saved just before the run's
// end is published), else nil.
func (w *Worker) endedState(ctx context.Context, runner *harvest.Runner, sourceID, runID string) *state.Source {
	if runner.State == nil {
		return nil
	}
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	load := runner.State.Load
	if h, ok := runner.State.(state.Headers); ok {
		load = h.LoadHeader
	}
	st, err := load(lctx, sourceID)
	if err != nil || st == nil || st.LastRunID != runID {
		return nil
	}
	return st
}

func (w *Worker) putSchedule(ctx context.Context, id string, s Schedule) {
	v, _ := json.Marshal(s)
	if _, err := w.Buckets.Schedules.Put(ctx, id, v); err != nil {
		w.Log.Error("schedule not saved", zap.String("source", id), zap.Error(err))
	}
}

// WithLease runs fn while holding the source's lease (waiting up to wait
// for a running harvest to finish).
func WithLease(ctx context.Context, b *Buckets, sourceID, who string, wait time.Duration, fn func(ctx context.Context) error) error {
	deadline := time.Now().Add(wait)
	v, _ := json.Marshal(Lease{Worker: who, Since: time.Now().UTC(), Heartbeat: time.Now().UTC()})
	for {
		rev, err := b.Leases.Create(ctx, sourceID, v)
		if err == nil {
			defer func() {
				_ = b.Leases.Delete(context.WithoutCancel(ctx), sourceID, jetstream.LastRevision(rev))
			}()
			return fn(ctx)
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("source %s is being harvested (its lease is taken); try again later", sourceID)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
