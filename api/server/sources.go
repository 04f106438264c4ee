package server

import (
	"bufio"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/opendatafrance/moisson/api/status"
	"github.com/opendatafrance/moisson/proto/bus"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"go.uber.org/zap"
)

func (s *Server) sourceRoutes(route routeFunc) {
	route("GET /v1/sources", s.sources)
	route("GET /v1/sources/{id}", s.source)
	route("GET /v1/sources/{id}/runs", s.runs)
	route("GET /v1/sources/{id}/runs/{run}/errors", s.runErrors)
	route("GET /v1/sources/{id}/runs/{run}/changes", s.runChanges)
	route("POST /v1/sources/{id}/harvest", s.harvestNow)
}

// sourceJSON is one source in /v1/sources.
type sourceJSON struct {
	bus.SourceInfo
	Status       string          `json:"status"` // NEVER, RUNNING, INTERRUPTED, SUCCEEDED, PARTIAL, FAILED, DISABLED
	Diagnosis    string          `json:"diagnosis,omitempty"`
	DiagCode     string          `json:"diagnosis_code,omitempty"` // dns, connection, tls, timeout, moved, gone, robots, forbidden, too_large
	NeedsReview  bool            `json:"needs_review"`
	ReviewReason string          `json:"review_reason,omitempty"`
	Running      *bus.Lease      `json:"running"`
	LastRun      json.RawMessage `json:"last_run"`
	LastSuccess  json.RawMessage `json:"last_success"`
	NextRun      *time.Time      `json:"next_run"`
	DeadLetters  uint64          `json:"dead_letters"` // records the index rejected (GET /v1/sources/{id}/dead-letters)
}

// runJSON renders a run with its duration.
func runJSON(run *moissonv1.HarvestRun) json.RawMessage {
	if run == nil {
		return json.RawMessage(`null`)
	}
	var m map[string]any
	if err := json.Unmarshal(protoJSON(run), &m); err != nil {
		return json.RawMessage(`null`)
	}
	if run.GetFinishedAt() != nil {
		m["duration_seconds"] = run.GetFinishedAt().AsTime().Sub(run.GetStartedAt().AsTime()).Seconds()
	}
	b, _ := json.Marshal(m)
	return b
}

// kv opens a bucket (nil when there is no JetStream or no such bucket yet).
func (s *Server) kv(ctx context.Context, name string) jetstream.KeyValue {
	if s.JS == nil {
		return nil
	}
	kv, err := s.JS.KeyValue(ctx, name)
	if err != nil {
		return nil
	}
	return kv
}

// sourceList gathers everything known of every source: the configured ones
// (published by the workers), and any that has runs.
func (s *Server) sourceList(ctx context.Context) []sourceJSON {
	infos := map[string]bus.SourceInfo{}
	if kv := s.kv(ctx, bus.SourcesBucket); kv != nil {
		if lister, err := kv.ListKeys(ctx); err == nil {
			for key := range lister.Keys() {
				var info bus.SourceInfo
				if ok, _, err := bus.GetJSON(ctx, kv, key, &info); ok && err == nil {
					infos[key] = info
				}
			}
		}
	}
	runs := map[string]status.Source{}
	var known []status.Source
	if s.Runs != nil {
		known = s.Runs.Sources()
	}
	for _, r := range known {
		runs[r.SourceID] = r
		if _, ok := infos[r.SourceID]; !ok {
			infos[r.SourceID] = bus.SourceInfo{SourceID: r.SourceID, TerritoryID: r.TerritoryID, PortalURL: r.PortalURL, Protocol: r.Protocol}
		}
	}
	schedules := s.kv(ctx, bus.ScheduleBucket)
	// Leases are read from their stream's leader (bus.GetLatestJSON), all
	// within one deadline so that an election does not hold the answer.
	leaseCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	dead := s.deadLetterCounts(ctx)
	out := make([]sourceJSON, 0, len(infos))
	for id, info := range infos {
		sj := sourceJSON{SourceInfo: info, Status: "NEVER", LastRun: json.RawMessage(`null`), LastSuccess: json.RawMessage(`null`)}
		sj.DeadLetters = dead[bus.DeadSubjectFor(id)]
		if info.Disabled != "" {
			sj.Status = "DISABLED"
		}
		if r, ok := runs[id]; ok && r.Last != nil {
			sj.Status = r.Last.GetStatus().String()
			sj.Diagnosis, sj.DiagCode = r.Last.GetDiagnosis(), r.Last.GetDiagnosisCode()
			sj.NeedsReview = r.Last.GetNeedsReview()
			sj.ReviewReason = r.Last.GetReviewReason()
			sj.LastRun = runJSON(r.Last)
			sj.LastSuccess = runJSON(r.LastSuccess)
		}
		if s.JS != nil {
			var l bus.Lease
			found, err := bus.GetLatestJSON(leaseCtx, s.JS, bus.LeaseBucket, id, &l)
			switch {
			case err != nil:
				// No bucket yet, or no stream leader within the deadline
				// (an election): the run's last word stands.
			case found && l.RunID != "" && !finished(runs[id], l.RunID):
				sj.Running = &l
				sj.Status = "RUNNING"
			case sj.Status == "RUNNING":
				// The run's last word is RUNNING but nobody holds its lease:
				// its worker stopped; the next worker closes it as FAILED.
				sj.Status = "INTERRUPTED"
			}
		}
		if schedules != nil {
			var sc bus.Schedule
			if ok, _, err := bus.GetJSON(ctx, schedules, id, &sc); ok && err == nil && !sc.Next.IsZero() {
				next := sc.Next
				sj.NextRun = &next
				if sj.Schedule == "" {
					sj.Schedule = sc.Schedule
				}
			}
		}
		out = append(out, sj)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].TerritoryID != out[j].TerritoryID {
			return out[i].TerritoryID < out[j].TerritoryID
		}
		return out[i].SourceID < out[j].SourceID
	})
	return out
}

// finished tells whether src's runs hold runID as finished. A lease can
// outlive its run: its release lost while NATS elected a leader (the lease
// then expires), or read from a replica still catching up (KV reads are
// direct gets, which any replica answers). The run's own last word wins.
func finished(src status.Source, runID string) bool {
	for _, run := range src.Runs {
		if run.GetRunId() == runID {
			return run.GetStatus() != moissonv1.HarvestRun_RUNNING
		}
	}
	return false
}

func (s *Server) sources(w http.ResponseWriter, r *http.Request) {
	if !onlyParams(w, r, append([]string{"territory", "status"}, listParams...)...) {
		return
	}
	f, _, err := parseListFormat(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_parameter", err.Error())
		return
	}
	territory, st := r.URL.Query().Get("territory"), strings.ToUpper(r.URL.Query().Get("status"))
	list := []sourceJSON{}
	for _, src := range s.sourceList(r.Context()) {
		if (territory == "" || src.TerritoryID == territory) && (st == "" || src.Status == st) {
			list = append(list, src)
		}
	}
	if !f.csv {
		writeJSON(w, http.StatusOK, map[string]any{"sources": list, "indexing": s.indexing(r.Context())})
		return
	}
	c := newCSV(w, f, "moisson-sources", sourceColumns, "seen", "error_count", "dead_letters")
	for _, src := range list {
		last := s.lastRun(src.SourceID)
		next := ""
		if src.NextRun != nil {
			next = src.NextRun.UTC().Format(time.RFC3339)
		}
		started, seen, errs := "", "", ""
		if last != nil {
			started = last.GetStartedAt().AsTime().UTC().Format(time.RFC3339)
			seen, errs = strconv.FormatInt(last.GetSeen(), 10), strconv.FormatInt(last.GetErrorCount(), 10)
		}
		_ = c.row(src.SourceID, src.TerritoryID, src.PortalURL, src.Protocol, src.Status, src.DiagCode, src.Diagnosis,
			started, seen, errs, next, strconv.FormatUint(src.DeadLetters, 10), src.Disabled)
	}
	_ = c.close()
}

// indexingJSON says how far the indexers are behind the harvest: records
// published and not yet written to the index (a source may show SUCCEEDED
// while its records wait; after an indexer crash, until they are
// redelivered).
type indexingJSON struct {
	Pending     uint64 `json:"pending"`     // not yet delivered to an indexer
	InProgress  int    `json:"in_progress"` // delivered, not yet acknowledged
	Redelivered int    `json:"redelivered"` // delivered more than once, not yet acknowledged
	Known       bool   `json:"known"`       // false: JetStream did not tell
}

// indexing reads the indexers' consumer.
func (s *Server) indexing(ctx context.Context) indexingJSON {
	if s.JS == nil {
		return indexingJSON{}
	}
	c, err := s.JS.Consumer(ctx, bus.RecordsStream, bus.IndexerDurable)
	if err != nil {
		return indexingJSON{}
	}
	info, err := c.Info(ctx)
	if err != nil {
		return indexingJSON{}
	}
	return indexingJSON{Pending: info.NumPending, InProgress: info.NumAckPending, Redelivered: info.NumRedelivered, Known: true}
}

var sourceColumns = []string{"source_id", "territory", "portal_url", "protocol", "status", "diagnosis_code", "diagnosis",
	"last_run_started", "seen", "error_count", "next_run", "dead_letters", "disabled"}

// lastRun is the latest run of a source (nil: never harvested).
func (s *Server) lastRun(id string) *moissonv1.HarvestRun {
	if s.Runs == nil {
		return nil
	}
	if src, ok := s.Runs.Source(id); ok {
		return src.Last
	}
	return nil
}

func (s *Server) source(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	for _, src := range s.sourceList(r.Context()) {
		if src.SourceID == id {
			writeJSON(w, http.StatusOK, src)
			return
		}
	}
	writeError(w, http.StatusNotFound, "not_found", "no source "+strconv.Quote(id))
}

// onlyParams answers 400 when the query has a parameter not in allowed.
func onlyParams(w http.ResponseWriter, r *http.Request, allowed ...string) bool {
	for k := range r.URL.Query() {
		ok := false
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok {
			writeError(w, http.StatusBadRequest, "bad_parameter", fmt.Sprintf("unknown parameter %s (accepted: %s)", k, strings.Join(allowed, ", ")))
			return false
		}
	}
	return true
}

var runColumns = []string{"run_id", "status", "trigger", "worker", "started_at", "finished_at", "duration_seconds",
	"pages", "seen", "created", "updated", "unchanged", "deleted", "held", "declared_total", "error_count", "needs_review", "diagnosis_code", "diagnosis"}

var runNumbers = []string{"duration_seconds", "pages", "seen", "created", "updated", "unchanged", "deleted", "held", "declared_total", "error_count"}

func runRow(run *moissonv1.HarvestRun) []string {
	ts := func(t interface{ AsTime() time.Time }, ok bool) string {
		if !ok {
			return ""
		}
		return t.AsTime().UTC().Format(time.RFC3339)
	}
	dur := ""
	if run.GetFinishedAt() != nil {
		dur = strconv.FormatFloat(run.GetFinishedAt().AsTime().Sub(run.GetStartedAt().AsTime()).Seconds(), 'f', 3, 64)
	}
	i := func(v int64) string { return strconv.FormatInt(v, 10) }
	return []string{run.GetRunId(), run.GetStatus().String(), run.GetTrigger(), run.GetWorker(),
		ts(run.GetStartedAt(), run.GetStartedAt() != nil), ts(run.GetFinishedAt(), run.GetFinishedAt() != nil), dur,
		i(run.GetPages()), i(run.GetSeen()), i(run.GetCreated()), i(run.GetUpdated()), i(run.GetUnchanged()),
		i(run.GetDeleted()), i(run.GetHeld()), i(run.GetDeclaredTotal()), i(run.GetErrorCount()),
		strconv.FormatBool(run.GetNeedsReview()), run.GetDiagnosisCode(), run.GetDiagnosis()}
}

// runs answers the run history of a source, newest first (an empty list
// for a source never harvested).
func (s *Server) runs(w http.ResponseWriter, r *http.Request) {
	if !onlyParams(w, r, listParams...) {
		return
	}
	f, _, err := parseListFormat(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_parameter", err.Error())
		return
	}
	id := r.PathValue("id")
	src, found := s.Runs.Source(id)
	if !found && !s.sourceKnown(r.Context(), id) {
		writeError(w, http.StatusNotFound, "not_found", "no source "+strconv.Quote(id))
		return
	}
	if f.csv {
		c := newCSV(w, f, id+"-runs", runColumns, runNumbers...)
		for _, run := range src.Runs {
			_ = c.row(runRow(run)...)
		}
		_ = c.close()
		return
	}
	l := newJSONList(w, "runs", "source_id", id)
	for _, run := range src.Runs {
		_ = l.item(runJSON(run))
	}
	_ = l.close()
}

// runErrors streams every error of one run from the RUNERRORS stream, in
// constant memory, as a JSON array or CSV.
func (s *Server) runErrors(w http.ResponseWriter, r *http.Request) {
	if !onlyParams(w, r, listParams...) {
		return
	}
	f, _, err := parseListFormat(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_parameter", err.Error())
		return
	}
	if s.JS == nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "no JetStream connection")
		return
	}
	id, runID := r.PathValue("id"), r.PathValue("run")
	ctx := r.Context()
	stream, err := s.JS.Stream(ctx, bus.ErrorsStream)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	subject := bus.ErrorSubject(id, runID)
	info, err := stream.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	total := info.State.Subjects[subject]
	if total == 0 {
		if _, known := s.runKnown(id, runID); !known {
			writeError(w, http.StatusNotFound, "not_found", "no run "+strconv.Quote(runID)+" for source "+strconv.Quote(id))
			return
		}
	}
	var add func(e *moissonv1.HarvestError) error
	var end func() error
	if f.csv {
		c := newCSV(w, f, id+"-"+runID+"-errors", []string{"at", "kind", "url", "dataset_id", "message", "excerpt"})
		add = func(e *moissonv1.HarvestError) error {
			return c.row(e.GetAt().AsTime().UTC().Format(time.RFC3339Nano), e.GetKind(), e.GetUrl(), e.GetDatasetId(), e.GetMessage(), e.GetExcerpt())
		}
		end = c.close
	} else {
		l := newJSONList(w, "errors", "source_id", id, "run_id", runID, "total", total)
		add = func(e *moissonv1.HarvestError) error { return l.item(protoJSON(e)) }
		end = l.close
	}
	err = eachMessage(ctx, stream, subject, total, func(m jetstream.Msg) error {
		e, err := bus.DecodeError(m.Data())
		if err != nil {
			return nil
		}
		return add(e)
	})
	if err != nil && s.Log != nil {
		s.Log.Warn("run errors: interrupted", zap.Error(err))
	}
	_ = end()
}

func (s *Server) runKnown(sourceID, runID string) (*moissonv1.HarvestRun, bool) {
	src, ok := s.Runs.Source(sourceID)
	if !ok {
		return nil, false
	}
	for _, run := range src.Runs {
		if run.GetRunId() == runID {
			return run, true
		}
	}
	return nil, false
}

var changes = map[string]bool{"created": true, "updated": true, "unchanged": true, "deleted": true, "held": true}

// runChanges streams what a run changed, one record per row, optionally
// only one kind of change: CSV "change,id" (the default: it is a download)
// or JSON.
func (s *Server) runChanges(w http.ResponseWriter, r *http.Request) {
	if !onlyParams(w, r, append([]string{"change"}, listParams...)...) {
		return
	}
	f, _, err := parseListFormat(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_parameter", err.Error())
		return
	}
	if r.URL.Query().Get("format") == "" {
		f.csv = true // a download, as it always was
	}
	want := r.URL.Query().Get("change")
	if want != "" && !changes[want] {
		writeError(w, http.StatusBadRequest, "bad_parameter", "change must be one of created, updated, unchanged, deleted, held")
		return
	}
	if s.JS == nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "no JetStream connection")
		return
	}
	id, runID := r.PathValue("id"), r.PathValue("run")
	store, err := s.JS.ObjectStore(r.Context(), bus.StateBucket)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	obj, err := store.Get(r.Context(), "diff/"+id+"/"+runID)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no change list kept for run "+strconv.Quote(runID)+" of "+strconv.Quote(id))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer obj.Close()
	var add func(kind, rid string) error
	var end func() error
	if f.csv {
		c := newCSV(w, f, id+"-"+runID+"-changes", []string{"change", "id"})
		add = func(kind, rid string) error { return c.row(kind, rid) }
		end = c.close
	} else {
		l := newJSONList(w, "changes", "source_id", id, "run_id", runID)
		add = func(kind, rid string) error { return l.item(map[string]string{"change": kind, "id": rid}) }
		end = l.close
	}
	sc := bufio.NewScanner(obj)
	for sc.Scan() {
		kind, rid, ok := strings.Cut(sc.Text(), "\t")
		if !ok || (want != "" && kind != want) {
			continue
		}
		if add(kind, rid) != nil {
			break
		}
	}
	if err := sc.Err(); err != nil && !errors.Is(err, io.EOF) && s.Log != nil {
		s.Log.Warn("run changes", zap.Error(err))
	}
	_ = end()
}

// harvestNow asks the workers to harvest a source now (admin token).
func (s *Server) harvestNow(w http.ResponseWriter, r *http.Request) {
	if s.AdminToken == "" {
		writeError(w, http.StatusForbidden, "forbidden", "on-demand harvests are disabled: start the API with an admin token (MOISSON_ADMIN_TOKEN)")
		return
	}
	scheme, got, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(s.AdminToken)) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="moisson"`)
		writeError(w, http.StatusUnauthorized, "unauthorized", "send the admin token as 'Authorization: Bearer <token>'")
		return
	}
	id := r.PathValue("id")
	var src *sourceJSON
	for _, x := range s.sourceList(r.Context()) {
		if x.SourceID == id {
			src = &x
		}
	}
	if src == nil {
		writeError(w, http.StatusNotFound, "not_found", "no source "+strconv.Quote(id))
		return
	}
	if src.Disabled != "" {
		writeError(w, http.StatusConflict, "source_disabled", "source "+strconv.Quote(id)+" is disabled, it is not harvested: "+src.Disabled)
		return
	}
	if s.JS == nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "no JetStream connection")
		return
	}
	kv := s.kv(r.Context(), bus.TriggerBucket)
	if kv == nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "no harvester worker has started yet")
		return
	}
	if err := bus.RequestHarvest(r.Context(), &bus.Buckets{Triggers: kv}, id, "api"); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"source_id": id, "requested": true, "message": "a harvester worker takes it within seconds"})
}
