// Package harvest runs harvests: it walks a source through its protocol
// adapter, completes each record, publishes it to the RECORDS stream and
// reports the run (RUNNING → SUCCEEDED / PARTIAL / FAILED) on the RUNS stream.
package harvest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/source"
	"github.com/opendatafrance/moisson/harvester/source/all"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// MaxRunErrors is how many errors a run event carries (all are counted).
const MaxRunErrors = 100

var (
	metricRecords = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "moisson_harvest_records_total", Help: "Records published, by source.",
	}, []string{"source"})
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
	Log       *zap.Logger
	Worker    string           // name of this harvester process, put on runs
	Now       func() time.Time // default time.Now
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// NewRunID makes a run id: sortable by time, unique.
func NewRunID(at time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return at.UTC().Format("20060102T150405.000Z") + "-" + hex.EncodeToString(b[:])
}

// ErrNoAdapter is returned for a protocol Moisson cannot read yet.
var ErrNoAdapter = errors.New("no adapter for this protocol yet")

// Supported tells whether a source can be harvested.
func Supported(src *config.Source) bool {
	_, ok := all.Protocols[src.Protocol]
	return ok && src.Disabled == ""
}

// Run harvests one source once and returns the finished run.
func (r *Runner) Run(ctx context.Context, src *config.Source) *moissonv1.HarvestRun {
	start := r.now()
	run := &moissonv1.HarvestRun{
		RunId:         NewRunID(start),
		SourceId:      src.ID,
		StartedAt:     timestamppb.New(start),
		Status:        moissonv1.HarvestRun_RUNNING,
		DeclaredTotal: -1,
		Protocol:      src.Protocol,
		Worker:        r.Worker,
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
	log.Info("harvest started", zap.String("protocol", src.Protocol), zap.String("endpoint", src.Endpoint))

	var err error
	p, ok := all.Protocols[src.Protocol]
	var s source.Source
	if !ok {
		err = fmt.Errorf("%w: %s", ErrNoAdapter, src.Protocol)
	} else {
		s, err = p.New(src, r.Env)
	}
	sink := &runSink{r: r, src: src, run: run, log: log, seen: map[string]bool{}}
	if err == nil {
		err = s.Harvest(ctx, sink)
	}
	// Whatever happened, what was queued must be stored before the run is
	// reported.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	if ferr := r.Publisher.Flush(fctx); ferr != nil && err == nil {
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
		sink.addError(kind, u, "", err.Error(), "")
	}
	switch {
	case err == nil:
		run.Status = moissonv1.HarvestRun_SUCCEEDED
	case run.Seen > 0:
		run.Status = moissonv1.HarvestRun_PARTIAL
	default:
		run.Status = moissonv1.HarvestRun_FAILED
	}
	end := r.now()
	run.FinishedAt = timestamppb.New(end)
	if perr := r.Publisher.Run(fctx, run); perr != nil {
		log.Error("could not publish the run end", zap.Error(perr))
	}
	metricRuns.WithLabelValues(src.ID, run.Status.String()).Inc()
	metricRunSeconds.WithLabelValues(src.ID).Observe(end.Sub(start).Seconds())
	fields := []zap.Field{zap.String("status", run.Status.String()), zap.Int64("pages", run.Pages),
		zap.Int64("seen", run.Seen), zap.Int64("published", run.Published), zap.Int64("declared", run.DeclaredTotal),
		zap.Int64("errors", run.ErrorCount), zap.Duration("took", end.Sub(start))}
	if err != nil {
		log.Warn("harvest ended with an error", append(fields, zap.Error(err))...)
	} else {
		log.Info("harvest finished", fields...)
	}
	return run
}

// runSink receives what the adapter reads.
type runSink struct {
	r    *Runner
	src  *config.Source
	run  *moissonv1.HarvestRun
	log  *zap.Logger
	seen map[string]bool
	mu   sync.Mutex
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
}

func (s *runSink) Record(ctx context.Context, rec source.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d := Finish(s.src, rec, s.run.RunId, s.r.now())
	s.mu.Lock()
	if s.seen[d.Id] {
		s.mu.Unlock()
		s.Problem(source.Problem{Kind: source.KindPaging, DatasetID: d.OriginalId,
			Message: "the same dataset was read twice in this run (paging overlap); kept once"})
		return nil
	}
	s.seen[d.Id] = true
	s.run.Seen++
	seq := uint64(s.run.Seen)
	s.mu.Unlock()
	env := &moissonv1.RecordEnvelope{
		Op:          moissonv1.RecordEnvelope_UPSERT,
		Dataset:     d,
		SourceId:    s.src.ID,
		RunId:       s.run.RunId,
		Seq:         seq,
		ContentHash: d.ContentHash,
		Version:     d.HarvestedAt.AsTime().UnixNano(),
	}
	if err := s.r.Publisher.Record(ctx, env); err != nil {
		return &source.Error{Kind: source.KindPublish, URL: s.src.Endpoint, Err: err}
	}
	s.mu.Lock()
	s.run.Published++
	s.mu.Unlock()
	metricRecords.WithLabelValues(s.src.ID).Inc()
	return nil
}

func (s *runSink) Problem(p source.Problem) {
	s.addError(p.Kind, p.URL, p.DatasetID, p.Message, p.Excerpt)
}

func (s *runSink) addError(kind, u, datasetID, msg, excerpt string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.run.ErrorCount++
	metricErrors.WithLabelValues(s.src.ID, kind).Inc()
	if len(s.run.Errors) < MaxRunErrors {
		s.run.Errors = append(s.run.Errors, &moissonv1.HarvestError{
			At: timestamppb.New(s.r.now()), Url: u, Kind: kind, Message: msg, DatasetId: datasetID, Excerpt: excerpt,
		})
	}
	s.log.Warn("harvest problem", zap.String("kind", kind), zap.String("url", u), zap.String("dataset", datasetID), zap.String("message", msg))
}

// RunAll harvests every supported source once, at most concurrency at a time,
// and returns the runs in configuration order.
func (r *Runner) RunAll(ctx context.Context, cfg *config.Config, concurrency int) []*moissonv1.HarvestRun {
	if concurrency < 1 {
		concurrency = 1
	}
	sources := cfg.Sources()
	runs := make([]*moissonv1.HarvestRun, len(sources))
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	for i, src := range sources {
		if !Supported(src) {
			reason := src.Disabled
			if reason == "" {
				reason = "no adapter for protocol " + src.Protocol + " yet"
			}
			r.Log.Info("source not harvested", zap.String("source", src.ID), zap.String("reason", reason))
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			// Each run publishes through its own publisher window.
			rr := *r
			rr.Publisher = r.forkPublisher()
			runs[i] = rr.Run(ctx, src)
		}()
	}
	wg.Wait()
	var out []*moissonv1.HarvestRun
	for _, run := range runs {
		if run != nil {
			out = append(out, run)
		}
	}
	return out
}

// forkPublisher gives a concurrent run its own publisher (windows are not
// shared between goroutines).
func (r *Runner) forkPublisher() Publisher {
	if f, ok := r.Publisher.(interface{ Fork() Publisher }); ok {
		return f.Fork()
	}
	return r.Publisher
}
