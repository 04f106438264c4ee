// Package harvest runs harvests: it walks a source through its protocol
// adapter, completes each record, publishes what changed to the RECORDS
// stream, deletes what vanished (only after a complete, clean run), and
// reports the run (RUNNING → SUCCEEDED / PARTIAL / FAILED) on the RUNS stream.
package harvest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/fetch"
	"github.com/opendatafrance/moisson/harvester/source"
	"github.com/opendatafrance/moisson/harvester/source/all"
	"github.com/opendatafrance/moisson/harvester/state"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// MaxRunErrors is how many errors a run event carries (all are counted, and
// all go to the RUNERRORS stream).
const MaxRunErrors = 100

// DefaultDeleteBelow: a run that sees fewer than this share of the datasets
// the last successful run saw holds its deletions for a human.
const DefaultDeleteBelow = 0.5

var (
	metricRecords = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "moisson_harvest_records_total", Help: "Records published, by source and change (created, updated, deleted).",
	}, []string{"source", "change"})
	metricRuns = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "moisson_harvest_runs_total", Help: "Finished harvest runs, by source and status.",
	}, []string{"source", "status"})
	metricPages = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "moisson_harvest_pages_total", Help: "Pages read, by source.",
	}, []string{"source"})
	metricErrors = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "moisson_harvest_errors_total", Help: "Harvest errors, by source and kind.",
	}, []string{"source", "kind"})
	metricRunSeconds = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name: "moisson_harvest_run_seconds", Help: "Duration of harvest runs.",
		Buckets: prometheus.ExponentialBuckets(0.05, 2, 14),
	}, []string{"source"})
)

// Runner harvests sources.
type Runner struct {
	Env       source.Env
	Publisher Publisher
	// State remembers record hashes between runs. Without it every record
	// is republished and nothing is ever deleted.
	State  state.Store
	Log    *zap.Logger
	Worker string           // name of this harvester process, put on runs
	Now    func() time.Time // default time.Now
	// DeleteBelow overrides DefaultDeleteBelow (0 < x ≤ 1).
	DeleteBelow float64
	// Progress, if set, is called as the run goes (after each page), with a
	// snapshot of the run.
	Progress func(run *moissonv1.HarvestRun)
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// NewRunID makes a run id: sortable by time, unique, one subject token.
func NewRunID(at time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return strings.Replace(at.UTC().Format("20060102T150405.000Z"), ".", "", 1) + "-" + hex.EncodeToString(b[:])
}

// ErrNoAdapter is returned for a protocol Moisson cannot read yet.
var ErrNoAdapter = errors.New("no adapter for this protocol yet")

// Supported tells whether a source can be harvested.
func Supported(src *config.Source) bool {
	_, ok := all.Protocols[src.Protocol]
	return ok && src.Disabled == ""
}

// Options of one run.
type Options struct {
	Trigger string // schedule, manual, startup, takeover
	RunID   string // set by the caller (default: a new one)
}

// Run harvests one source once and returns the finished run.
func (r *Runner) Run(ctx context.Context, src *config.Source, opt ...Options) *moissonv1.HarvestRun {
	start := r.now()
	run := &moissonv1.HarvestRun{
		RunId:         NewRunID(start),
		SourceId:      src.ID,
		StartedAt:     timestamppb.New(start),
		HeartbeatAt:   timestamppb.New(start),
		Status:        moissonv1.HarvestRun_RUNNING,
		DeclaredTotal: -1,
		Protocol:      src.Protocol,
		Worker:        r.Worker,
	}
	if len(opt) > 0 {
		run.Trigger = opt[0].Trigger
		if opt[0].RunID != "" {
			run.RunId = opt[0].RunID
		}
	}
	if src.Territory != nil {
		run.TerritoryId = src.Territory.ID
	}
	if src.Portal != nil {
		run.PortalUrl = src.Portal.URL
	}
	log := r.Log.With(zap.String("territory", run.TerritoryId), zap.String("source", src.ID), zap.String("run", run.RunId))
	if err := r.Publisher.Run(ctx, run); err != nil {
		log.Warn("could not publish the run start", zap.Error(err))
	}
	log.Info("harvest started", zap.String("protocol", src.Protocol), zap.String("endpoint", src.Endpoint), zap.String("trigger", run.Trigger))

	sink := &runSink{r: r, src: src, run: run, log: log, seen: map[string]change{}}
	stats := &fetch.Stats{}
	ctx = fetch.WithStats(ctx, stats)
	var err error
	if r.State != nil {
		if sink.state, err = r.State.Load(ctx, src.ID); err != nil {
			err = &source.Error{Kind: source.KindPublish, URL: src.Endpoint, Err: fmt.Errorf("loading the harvest state: %w", err)}
		}
	}
	if err == nil && sink.state != nil {
		if since, ok := incrementalSince(src, sink.state, start); ok {
			ctx = source.WithSince(ctx, since)
		}
	}
	if err == nil {
		var s source.Source
		p, ok := all.Protocols[src.Protocol]
		if !ok {
			err = fmt.Errorf("%w: %s", ErrNoAdapter, src.Protocol)
		} else if s, err = p.New(src, r.Env); err == nil {
			err = s.Harvest(ctx, sink)
		}
	}
	// Whatever happened, what was queued must be stored before the run is
	// reported; the rest of the run must not be cut short by a cancelled
	// context.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	if ferr := sink.flush(fctx); ferr != nil && err == nil {
		err = &source.Error{Kind: source.KindPublish, URL: src.Endpoint, Err: ferr}
	}
	if err != nil {
		kind := source.KindOf(err)
		u := src.Endpoint
		var se *source.Error
		if errors.As(err, &se) {
			u = se.URL
		}
		if ctx.Err() != nil {
			err = fmt.Errorf("interrupted: %w", err)
		}
		run.DiagnosisCode, run.Diagnosis = Diagnose(err, src)
		sink.addError(fctx, kind, u, "", err.Error(), "")
	}
	run.NotModified = stats.NotModified.Load()
	switch {
	case err == nil:
		run.Status = moissonv1.HarvestRun_SUCCEEDED
		run.Complete = true
	case run.Seen > 0:
		run.Status = moissonv1.HarvestRun_PARTIAL
	default:
		run.Status = moissonv1.HarvestRun_FAILED
	}
	if sink.state != nil {
		if derr := sink.deletions(fctx); derr != nil {
			log.Error("deletions not completed", zap.Error(derr))
			sink.addError(fctx, source.KindPublish, src.Endpoint, "", "deletions: "+derr.Error(), "")
		}
		sink.state.LastRunID = run.RunId
		sink.state.LastStarted = start
		if run.Status == moissonv1.HarvestRun_SUCCEEDED {
			sink.state.LastSuccessStarted = start
			if run.Complete && !run.Incremental {
				sink.state.LastSuccessSeen = run.Seen
				sink.state.LastFull = start
			}
		}
		if serr := r.State.Save(fctx, sink.state); serr != nil {
			log.Error("harvest state not saved", zap.Error(serr))
			sink.addError(fctx, source.KindPublish, src.Endpoint, "", "saving the harvest state: "+serr.Error(), "")
		}
		if d, ok := r.State.(state.Diffs); ok {
			if derr := d.SaveDiff(fctx, src.ID, run.RunId, sink.writeDiff); derr != nil {
				log.Warn("run diff not saved", zap.Error(derr))
			}
		}
	}
	_ = sink.flush(fctx)
	if run.Status == moissonv1.HarvestRun_SUCCEEDED {
		run.Outcome = "changed"
		if run.Published == 0 && run.Deleted == 0 && run.Held == 0 {
			run.Outcome = "unchanged"
		}
	}
	end := r.now()
	run.FinishedAt = timestamppb.New(end)
	run.HeartbeatAt = run.FinishedAt
	// The run end has its own budget: a flush that used all of fctx (a
	// stream without leader for a while) must not cost the run its end.
	ectx, ecancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer ecancel()
	if perr := r.Publisher.Run(ectx, run); perr != nil {
		log.Error("could not publish the run end", zap.Error(perr))
	}
	metricRuns.WithLabelValues(src.ID, run.Status.String()).Inc()
	metricRunSeconds.WithLabelValues(src.ID).Observe(end.Sub(start).Seconds())
	fields := []zap.Field{zap.String("status", run.Status.String()), zap.Int64("pages", run.Pages),
		zap.Int64("seen", run.Seen), zap.Int64("created", run.Created), zap.Int64("updated", run.Updated),
		zap.Int64("unchanged", run.Unchanged), zap.Int64("deleted", run.Deleted), zap.Int64("held", run.Held),
		zap.Int64("declared", run.DeclaredTotal), zap.Int64("errors", run.ErrorCount), zap.Int64("not_modified", run.NotModified),
		zap.String("outcome", run.Outcome), zap.Duration("took", end.Sub(start))}
	if err != nil {
		log.Warn("harvest ended with an error", append(fields, zap.Error(err))...)
	} else {
		log.Info("harvest finished", fields...)
	}
	return run
}

type change byte

const (
	created change = iota + 1
	updated
	unchanged
)

// runSink receives what the adapter reads. Adapters may call it from
// several goroutines: everything goes through mu.
type runSink struct {
	r     *Runner
	src   *config.Source
	run   *moissonv1.HarvestRun
	log   *zap.Logger
	state *state.Source
	seen  map[string]change
	// deleted and held are the ids this run deleted or held.
	deleted, held []string
	mu            sync.Mutex
}

// Incremental marks the run as covering only what changed.
func (s *runSink) Incremental() {
	s.mu.Lock()
	s.run.Incremental = true
	s.mu.Unlock()
}

func (s *runSink) Page(u string, declared int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.run.Pages++
	if declared >= 0 {
		s.run.DeclaredTotal = declared
	}
	metricPages.WithLabelValues(s.src.ID).Inc()
	s.log.Debug("page read", zap.String("url", u), zap.Int64("pages", s.run.Pages), zap.Int64("seen", s.run.Seen))
	if s.r.Progress != nil {
		s.run.HeartbeatAt = timestamppb.New(s.r.now())
		s.r.Progress(s.run)
	}
}

func (s *runSink) Record(ctx context.Context, rec source.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	bp := hashBuf.Get().(*[]byte)
	d, wire := finish(s.src, rec, s.run.RunId, s.r.now(), (*bp)[:0])
	defer putHashBuf(bp, wire)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.seen[d.Id]; dup {
		s.problemLocked(ctx, source.Problem{Kind: source.KindPaging, DatasetID: d.OriginalId,
			Message: "the same dataset was read twice in this run (paging overlap); kept once"})
		return nil
	}
	s.run.Seen++
	ch := created
	if s.state != nil {
		if prev, ok := s.state.Hashes[d.Id]; ok {
			ch = updated
			if prev == d.ContentHash {
				ch = unchanged
			}
		}
	}
	s.seen[d.Id] = ch
	// When it was first seen: now for a new record; kept from the state
	// for the others (unknown for those of states written before it was
	// kept). Set after the content hash: it changes nothing.
	var first time.Time
	if ch == created {
		first = s.r.now()
	} else if f := s.state.FirstSeen[d.Id]; f != 0 {
		first = time.Unix(f, 0)
	}
	if !first.IsZero() {
		d.FirstSeen = timestamppb.New(first)
	}
	if ch == unchanged {
		s.run.Unchanged++
		return nil
	}
	env := &moissonv1.RecordEnvelope{
		Op:          moissonv1.RecordEnvelope_UPSERT,
		Dataset:     d,
		SourceId:    s.src.ID,
		RunId:       s.run.RunId,
		Seq:         uint64(s.run.Seen),
		ContentHash: d.ContentHash,
		Version:     d.HarvestedAt.AsTime().UnixNano(),
	}
	var err error
	if ep, ok := s.r.Publisher.(encodedPublisher); ok {
		err = ep.RecordEncoded(ctx, env, wire)
	} else {
		err = s.r.Publisher.Record(ctx, env)
	}
	if err != nil {
		return &source.Error{Kind: source.KindPublish, URL: s.src.Endpoint, Err: err}
	}
	s.run.Published++
	if ch == created {
		s.run.Created++
		metricRecords.WithLabelValues(s.src.ID, "created").Inc()
	} else {
		s.run.Updated++
		metricRecords.WithLabelValues(s.src.ID, "updated").Inc()
	}
	if s.state != nil {
		// Remembered now, saved only after the flush stored the records.
		s.state.Hashes[d.Id] = d.ContentHash
		if !first.IsZero() {
			if s.state.FirstSeen == nil {
				s.state.FirstSeen = map[string]int64{}
			}
			s.state.FirstSeen[d.Id] = first.Unix()
		}
	}
	return nil
}

func (s *runSink) flush(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.r.Publisher.Flush(ctx)
}

func (s *runSink) Problem(p source.Problem) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.problemLocked(context.Background(), p)
}

func (s *runSink) problemLocked(ctx context.Context, p source.Problem) {
	s.addErrorLocked(ctx, p.Kind, p.URL, p.DatasetID, p.Message, p.Excerpt)
}

func (s *runSink) addError(ctx context.Context, kind, u, datasetID, msg, excerpt string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addErrorLocked(ctx, kind, u, datasetID, msg, excerpt)
}

func (s *runSink) addErrorLocked(ctx context.Context, kind, u, datasetID, msg, excerpt string) {
	s.run.ErrorCount++
	metricErrors.WithLabelValues(s.src.ID, kind).Inc()
	e := &moissonv1.HarvestError{
		At: timestamppb.New(s.r.now()), Url: u, Kind: kind, Message: msg, DatasetId: datasetID, Excerpt: excerpt,
	}
	if len(s.run.Errors) < MaxRunErrors {
		s.run.Errors = append(s.run.Errors, e)
	}
	if err := s.r.Publisher.Error(ctx, s.src.ID, s.run.RunId, e); err != nil {
		s.log.Warn("run error not recorded on RUNERRORS", zap.Error(err))
	}
	s.log.Warn("harvest problem", zap.String("kind", kind), zap.String("url", u), zap.String("dataset", datasetID), zap.String("message", msg))
}

// DefaultFullEvery is how often an incremental source is harvested in full
// anyway (deletions are only seen by full runs).
const DefaultFullEvery = 7 * 24 * time.Hour

// incrementalSince tells whether this run may ask only for what changed
// (params incremental: "true", a previous successful run, a full run less
// than full_every ago), and since when (with an hour of margin for clocks).
func incrementalSince(src *config.Source, st *state.Source, now time.Time) (time.Time, bool) {
	if src.Params["incremental"] != "true" || st.LastSuccessStarted.IsZero() || st.LastFull.IsZero() {
		return time.Time{}, false
	}
	every := DefaultFullEvery
	if v := src.Params["full_every"]; v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			every = d
		}
	}
	if now.Sub(st.LastFull) >= every {
		return time.Time{}, false
	}
	return st.LastSuccessStarted.Add(-time.Hour), true
}

// writeDiff writes what the run changed, one "change<TAB>id" line per record.
func (s *runSink) writeDiff(w io.Writer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := map[change]string{created: "created", updated: "updated", unchanged: "unchanged"}
	ids := make([]string, 0, len(s.seen))
	for id := range s.seen {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if _, err := fmt.Fprintf(w, "%s\t%s\n", names[s.seen[id]], id); err != nil {
			return err
		}
	}
	for _, l := range []struct {
		name string
		ids  []string
	}{{"deleted", s.deleted}, {"held", s.held}} {
		for _, id := range l.ids {
			if _, err := fmt.Fprintf(w, "%s\t%s\n", l.name, id); err != nil {
				return err
			}
		}
	}
	return nil
}

// deletions deletes the records the last runs published and this run did
// not see — only when this run is beyond doubt: it succeeded, walked the
// whole source, met no error at all (an unreadable record is not a deleted
// one), and saw what the source declares. A run that sees far fewer datasets
// than the last successful one holds its deletions for a human.
func (s *runSink) deletions(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	run, st := s.run, s.state
	var missing []string
	for id := range st.Hashes {
		if _, ok := s.seen[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(missing)
	switch {
	case run.Incremental:
		return nil // it asked only for what changed: the rest is not gone
	case run.Status != moissonv1.HarvestRun_SUCCEEDED || !run.Complete:
		s.log.Info("deletions skipped: the run did not complete", zap.Int("absent", len(missing)))
		return nil
	case run.ErrorCount > 0:
		s.log.Info("deletions skipped: the run met errors", zap.Int("absent", len(missing)), zap.Int64("errors", run.ErrorCount))
		return nil
	case run.DeclaredTotal >= 0 && run.Seen != run.DeclaredTotal:
		s.addErrorLocked(ctx, source.KindPaging, s.src.Endpoint, "",
			fmt.Sprintf("the run saw %d datasets but the source declares %d: %d deletions skipped", run.Seen, run.DeclaredTotal, len(missing)), "")
		return nil
	}
	threshold := s.r.DeleteBelow
	if threshold <= 0 || threshold > 1 {
		threshold = DefaultDeleteBelow
	}
	if st.LastSuccessSeen > 0 && float64(run.Seen) < threshold*float64(st.LastSuccessSeen) {
		run.Held = int64(len(missing))
		run.NeedsReview = true
		run.ReviewReason = fmt.Sprintf("the run saw %d datasets, the last successful run %d (below %.0f %%): %d deletions held; release them with 'harvester deletions release %s' or discard them with 'harvester deletions discard %s'",
			run.Seen, st.LastSuccessSeen, threshold*100, len(missing), s.src.ID, s.src.ID)
		st.Held = &state.Held{RunID: run.RunId, Reason: run.ReviewReason, At: s.r.now(), IDs: missing}
		s.held = missing
		s.log.Warn("deletions held for review", zap.Int("held", len(missing)), zap.Int64("seen", run.Seen), zap.Int64("last_success_seen", st.LastSuccessSeen))
		return nil
	}
	s.deleted = missing
	reason := fmt.Sprintf("absent from run %s, which read all %d datasets of the source", run.RunId, run.Seen)
	if err := deleteRecords(ctx, s.r.Publisher, s.src, run.RunId, missing, reason, s.r.now()); err != nil {
		return err
	}
	for _, id := range missing {
		delete(st.Hashes, id)
	}
	run.Deleted = int64(len(missing))
	metricRecords.WithLabelValues(s.src.ID, "deleted").Add(float64(len(missing)))
	st.Held = nil // a clean run supersedes held deletions
	return nil
}

// deleteRecords publishes DELETE envelopes and waits until they are stored.
func deleteRecords(ctx context.Context, p Publisher, src *config.Source, runID string, ids []string, reason string, at time.Time) error {
	territory := ""
	if src.Territory != nil {
		territory = src.Territory.ID
	}
	version := at.UnixNano()
	for _, id := range ids {
		env := &moissonv1.RecordEnvelope{
			Op:       moissonv1.RecordEnvelope_DELETE,
			Dataset:  &moissonv1.Dataset{Id: id, SourceId: src.ID, TerritoryId: territory},
			SourceId: src.ID,
			RunId:    runID,
			Reason:   reason,
			Version:  version,
		}
		if err := p.Record(ctx, env); err != nil {
			return err
		}
	}
	return p.Flush(ctx)
}

// Fork returns a runner for a concurrent run: same settings, its own
// publisher window.
func (r *Runner) Fork() *Runner {
	rr := *r
	if f, ok := r.Publisher.(interface{ Fork() Publisher }); ok {
		rr.Publisher = f.Fork()
	}
	return &rr
}
