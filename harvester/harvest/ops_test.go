package harvest_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/fetch"
	"github.com/opendatafrance/moisson/harvester/harvest"
	"github.com/opendatafrance/moisson/harvester/internal/natstest"
	"github.com/opendatafrance/moisson/harvester/simulator"
	"github.com/opendatafrance/moisson/harvester/source"
	"github.com/opendatafrance/moisson/harvester/state"
	"github.com/opendatafrance/moisson/proto/bus"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"go.uber.org/zap/zaptest"
)

// env is one harvester against the simulator and a real JetStream.
type env struct {
	nats   *natstest.Server
	js     jetstream.JetStream
	sim    *simulator.Simulator
	cfg    *config.Config
	store  *state.JetStream
	runner *harvest.Runner
}

func newEnv(t *testing.T, datasets int, client func(cfg *config.Config) *fetch.Client) *env {
	t.Helper()
	e := &env{nats: natstest.Start(t)}
	_, e.js = e.nats.Connect()
	base := config.Default()
	for _, s := range base.Sources() {
		s.Disabled = "" // the tests use the alternative endpoints too
	}
	e.sim = simulator.New(base, simulator.Options{DatasetsPerSource: datasets})
	u, err := e.sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.sim.Close() })
	e.cfg = e.sim.Rewrite(base, u)
	if e.store, err = state.OpenJetStream(context.Background(), e.js, 1); err != nil {
		t.Fatal(err)
	}
	c := harvest.Client(e.cfg, nil)
	if client != nil {
		c = client(e.cfg)
	}
	log := zaptest.NewLogger(t)
	e.runner = &harvest.Runner{Env: source.Env{Client: c, Log: log}, Publisher: harvest.NewJetStreamPublisher(e.js),
		State: e.store, Log: log, Worker: "test"}
	return e
}

func (e *env) run(t *testing.T, id string) *moissonv1.HarvestRun {
	t.Helper()
	src := e.cfg.Source(id)
	if src == nil {
		t.Fatalf("no source %s", id)
	}
	return e.runner.Run(context.Background(), src)
}

// records reads RECORDS to its end: the last operation per record id, and
// how many envelopes each id got.
func (e *env) records(t *testing.T) (last map[string]moissonv1.RecordEnvelope_Op, count map[string]int) {
	last, count, _ = e.recordsTitles(t)
	return
}

// recordsTitles is records, plus the title each id was published with.
func (e *env) recordsTitles(t *testing.T) (last map[string]moissonv1.RecordEnvelope_Op, count map[string]int, titles map[string]string) {
	t.Helper()
	ctx := context.Background()
	st, err := e.js.Stream(ctx, bus.RecordsStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	last, count, titles = map[string]moissonv1.RecordEnvelope_Op{}, map[string]int{}, map[string]string{}
	if info.State.Msgs == 0 {
		return
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for n := uint64(0); n < info.State.Msgs; {
		batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			n++
			env, err := bus.DecodeRecord(m.Data())
			if err != nil {
				t.Fatal(err)
			}
			last[env.GetDataset().GetId()] = env.GetOp()
			count[env.GetDataset().GetId()]++
			if env.GetOp() == moissonv1.RecordEnvelope_UPSERT {
				titles[env.GetDataset().GetId()] = env.GetDataset().GetTitle()
			}
		}
		if got == 0 {
			t.Fatalf("RECORDS: read %d of %d messages", n, info.State.Msgs)
		}
	}
	return
}

func live(last map[string]moissonv1.RecordEnvelope_Op) int {
	n := 0
	for _, op := range last {
		if op == moissonv1.RecordEnvelope_UPSERT {
			n++
		}
	}
	return n
}

func wantStatus(t *testing.T, run *moissonv1.HarvestRun, status moissonv1.HarvestRun_Status, seen int64) {
	t.Helper()
	if run.GetStatus() != status || (seen >= 0 && run.GetSeen() != seen) {
		t.Fatalf("run %s: %s, seen %d; want %s, seen %d; errors %v", run.GetSourceId(), run.GetStatus(), run.GetSeen(), status, seen, run.GetErrors())
	}
}

func TestRetryAfter429(t *testing.T) {
	e := newEnv(t, 30, nil)
	const id = "nice-ckan"
	e.cfg.Source(id).Params = map[string]string{"page_size": "10"}
	e.sim.SetFault(id, simulator.Fault{Status: http.StatusTooManyRequests, RetryAfter: "1", FromPage: 2, OnlyPage: true, Times: 1})
	start := time.Now()
	run := e.run(t, id)
	wantStatus(t, run, moissonv1.HarvestRun_SUCCEEDED, 30)
	if took := time.Since(start); took < 900*time.Millisecond {
		t.Errorf("the run took %s: Retry-After: 1 was not honoured", took)
	}
	if run.GetErrorCount() != 0 {
		t.Errorf("a retried 429 is not an error of the run: %v", run.GetErrors())
	}
}

func TestSlowPortalPastTheTimeout(t *testing.T) {
	e := newEnv(t, 10, func(cfg *config.Config) *fetch.Client {
		return fetch.New(fetch.Options{AllowPrivate: true, HeaderTimeout: 300 * time.Millisecond, Retries: -1})
	})
	const id = "arnia-ckan"
	e.sim.SetFault(id, simulator.Fault{Delay: 3 * time.Second})
	run := e.run(t, id)
	wantStatus(t, run, moissonv1.HarvestRun_FAILED, 0)
	if len(run.GetErrors()) == 0 || run.GetErrors()[0].GetKind() != source.KindTimeout {
		t.Errorf("errors %v, want a timeout", run.GetErrors())
	}
}

func TestTruncatedBody(t *testing.T) {
	e := newEnv(t, 25, nil)
	const id = "datasud-ckan"
	e.cfg.Source(id).Params = map[string]string{"page_size": "10"}
	e.sim.SetFault(id, simulator.Fault{TruncateAtPage: 2})
	run := e.run(t, id)
	wantStatus(t, run, moissonv1.HarvestRun_PARTIAL, -1)
	if run.GetSeen() < 10 || run.GetSeen() >= 25 || run.GetDeleted() != 0 {
		t.Errorf("truncated run: seen %d, deleted %d", run.GetSeen(), run.GetDeleted())
	}
	e.sim.ClearFaults()
	run = e.run(t, id)
	wantStatus(t, run, moissonv1.HarvestRun_SUCCEEDED, 25)
	last, count := e.records(t)
	if live(last) != 25 {
		t.Errorf("%d records live, want 25", live(last))
	}
	for id, n := range count {
		if n > 1 {
			t.Errorf("%s published %d times: an unchanged record was republished", id, n)
		}
	}
}

func TestETagUnchanged(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, 40, func(cfg *config.Config) *fetch.Client {
		cache, err := fetch.NewCache(dir)
		if err != nil {
			t.Fatal(err)
		}
		return harvest.Client(cfg, cache)
	})
	for _, id := range []string{"arnia-ckan", "rennes-dcat", "bretagne-ods"} {
		first := e.run(t, id)
		wantStatus(t, first, moissonv1.HarvestRun_SUCCEEDED, 40)
		if first.GetPublished() != 40 || first.GetOutcome() != "changed" {
			t.Errorf("%s first run: published %d, outcome %s", id, first.GetPublished(), first.GetOutcome())
		}
		again := e.run(t, id)
		wantStatus(t, again, moissonv1.HarvestRun_SUCCEEDED, 40)
		if again.GetPublished() != 0 || again.GetUnchanged() != 40 || again.GetOutcome() != "unchanged" {
			t.Errorf("%s re-harvest: published %d, unchanged %d, outcome %q", id, again.GetPublished(), again.GetUnchanged(), again.GetOutcome())
		}
		if again.GetNotModified() != again.GetPages() || again.GetPages() == 0 {
			t.Errorf("%s re-harvest: %d of %d pages answered 304", id, again.GetNotModified(), again.GetPages())
		}
	}
}

func TestPortalShrinksBy80Percent(t *testing.T) {
	e := newEnv(t, 50, nil)
	const id = "nice-ckan"
	wantStatus(t, e.run(t, id), moissonv1.HarvestRun_SUCCEEDED, 50)
	e.sim.Resize(id, 10)
	run := e.run(t, id)
	wantStatus(t, run, moissonv1.HarvestRun_SUCCEEDED, 10)
	if run.GetDeleted() != 0 || run.GetHeld() != 40 || !run.GetNeedsReview() || !strings.Contains(run.GetReviewReason(), "held") {
		t.Fatalf("shrunk run: deleted %d, held %d, needs review %v (%s)", run.GetDeleted(), run.GetHeld(), run.GetNeedsReview(), run.GetReviewReason())
	}
	last, _ := e.records(t)
	if live(last) != 50 {
		t.Fatalf("%d records live after a held run, want 50", live(last))
	}
	// A person releases them.
	n, err := harvest.ResolveHeld(context.Background(), e.store, harvest.NewJetStreamPublisher(e.js), e.cfg.Source(id), false, "test", time.Now())
	if err != nil || n != 40 {
		t.Fatalf("release: %d, %v", n, err)
	}
	last, _ = e.records(t)
	if live(last) != 10 {
		t.Errorf("%d records live after the release, want 10", live(last))
	}
	if _, err := harvest.ResolveHeld(context.Background(), e.store, harvest.NewJetStreamPublisher(e.js), e.cfg.Source(id), true, "test", time.Now()); !errors.Is(err, harvest.ErrNothingHeld) {
		t.Errorf("a second resolution: %v", err)
	}
}

func TestHeldDeletionsDiscarded(t *testing.T) {
	e := newEnv(t, 30, nil)
	const id = "arnia-ckan"
	e.run(t, id)
	e.sim.Resize(id, 5)
	if run := e.run(t, id); run.GetHeld() != 25 {
		t.Fatalf("held %d", run.GetHeld())
	}
	if _, err := harvest.ResolveHeld(context.Background(), e.store, harvest.NewJetStreamPublisher(e.js), e.cfg.Source(id), true, "test", time.Now()); err != nil {
		t.Fatal(err)
	}
	last, _ := e.records(t)
	if live(last) != 30 {
		t.Errorf("%d live after discarding, want 30", live(last))
	}
}

func TestPortalRemovesThreeDatasets(t *testing.T) {
	e := newEnv(t, 30, nil)
	for _, id := range []string{"arnia-ckan", "toulouse-ods", "laregion-dcat", "megalis-udata", "datara-csw", "datarmor-datafair", "grenoble-d4c"} {
		t.Run(id, func(t *testing.T) {
			wantStatus(t, e.run(t, id), moissonv1.HarvestRun_SUCCEEDED, 30)
			before := map[string]string{} // simulator id → title
			for _, d := range e.sim.Datasets(id) {
				before[d.ID] = d.Title
			}
			var want []string // titles of the removed datasets
			for _, orig := range e.sim.Remove(id, 3) {
				want = append(want, before[orig])
			}
			sort.Strings(want)
			run := e.run(t, id)
			wantStatus(t, run, moissonv1.HarvestRun_SUCCEEDED, 27)
			if run.GetDeleted() != 3 || run.GetPublished() != 0 || run.GetUnchanged() != 27 {
				t.Fatalf("deleted %d, published %d, unchanged %d", run.GetDeleted(), run.GetPublished(), run.GetUnchanged())
			}
			last, _, titles := e.recordsTitles(t)
			var deleted []string
			for rid, op := range last {
				if op == moissonv1.RecordEnvelope_DELETE && strings.HasPrefix(rid, id+"-") {
					deleted = append(deleted, titles[rid])
				}
			}
			sort.Strings(deleted)
			if strings.Join(deleted, ",") != strings.Join(want, ",") {
				t.Errorf("deleted %v, want exactly %v", deleted, want)
			}
		})
	}
}

func TestPartialRunDeletesNothing(t *testing.T) {
	e := newEnv(t, 30, nil)
	const id = "datasud-ckan"
	e.cfg.Source(id).Params = map[string]string{"page_size": "10"}
	e.run(t, id)
	e.sim.Remove(id, 3)
	e.sim.SetFault(id, simulator.Fault{Status: 500, FromPage: 2})
	run := e.run(t, id)
	wantStatus(t, run, moissonv1.HarvestRun_PARTIAL, 10)
	if run.GetDeleted() != 0 {
		t.Errorf("a PARTIAL run deleted %d records", run.GetDeleted())
	}
	last, _ := e.records(t)
	if live(last) != 30 {
		t.Errorf("%d live, want 30", live(last))
	}
}

// A catalogue whose next page points at internal addresses makes the
// harvester fetch nothing there.
func TestSSRF(t *testing.T) {
	var hits atomic.Int64
	canary := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer canary.Close()
	e := newEnv(t, 5, nil)
	for _, target := range []string{canary.URL + "/internal", "http://169.254.169.254/latest/meta-data/"} {
		const id = "rennes-dcat"
		page := fmt.Sprintf(`@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix hydra: <http://www.w3.org/ns/hydra/core#> .
<https://x.example/catalog> a dcat:Catalog ; dcat:dataset <https://x.example/d1> .
<https://x.example/d1> a dcat:Dataset ; dct:identifier "d1" ; dct:title "Un jeu"@fr ;
  dcat:distribution [ a dcat:Distribution ; dcat:downloadURL <%[1]s/file.csv> ] .
<https://x.example/catalog?page=1> a hydra:PagedCollection ; hydra:nextPage "%[1]s" .
`, target)
		e.sim.ServePayload(id, "/api/explore/v2.1/catalog/exports/dcat", "text/turtle", []byte(page))
		run := e.run(t, id)
		if run.GetStatus() == moissonv1.HarvestRun_SUCCEEDED {
			t.Errorf("%s: the run succeeded", target)
		}
		if len(run.GetErrors()) == 0 || !strings.Contains(run.GetErrors()[0].GetMessage(), "refusing to connect") {
			t.Errorf("%s: errors %v, want a refusal", target, run.GetErrors())
		}
	}
	if hits.Load() != 0 {
		t.Errorf("the internal service got %d requests", hits.Load())
	}
}

func TestNATSRestartedDuringHarvest(t *testing.T) {
	e := newEnv(t, 60, nil)
	const id = "arnia-ckan"
	e.cfg.Source(id).Params = map[string]string{"page_size": "5"}
	e.sim.SetFault(id, simulator.Fault{Delay: 150 * time.Millisecond})
	done := make(chan *moissonv1.HarvestRun)
	go func() { done <- e.run(t, id) }()
	time.Sleep(700 * time.Millisecond) // a few pages in
	e.nats.Stop()
	time.Sleep(time.Second)
	e.nats.Restart()
	run := <-done
	wantStatus(t, run, moissonv1.HarvestRun_SUCCEEDED, 60)
	last, _ := e.records(t)
	if live(last) != 60 {
		t.Errorf("%d records in RECORDS after the NATS restart, want 60", live(last))
	}
}

func TestMovedPortal(t *testing.T) {
	// A portal that redirects to another host.
	moved := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://localhost:1/new-portal"+r.URL.Path, http.StatusMovedPermanently)
	}))
	defer moved.Close()
	gone := httptest.NewServer(http.NotFoundHandler())
	defer gone.Close()
	log := zaptest.NewLogger(t)
	n := natstest.Start(t)
	_, js := n.Connect()
	r := &harvest.Runner{Env: source.Env{Client: fetch.New(fetch.Options{AllowPrivate: true, Retries: -1}), Log: log},
		Publisher: harvest.NewJetStreamPublisher(js), Log: log}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := "http://" + ln.Addr().String()
	ln.Close()
	for name, tc := range map[string]struct{ url, want, code, kind string }{
		"redirect": {moved.URL + "/api/3/action", "moved portal", "moved", "http"},
		"404":      {gone.URL + "/api/3/action", "404 Not Found on the API", "gone", "http"},
		// Unreachable hosts are said so, not blamed on robots.txt.
		"dns":     {"http://moisson-test.invalid/api/3/action", "could not be resolved (DNS)", "dns", "dns"},
		"refused": {closed + "/api/3/action", "refused or dropped the connection", "connection", "connection"},
	} {
		src := &config.Source{ID: "moved", Protocol: "ckan", Endpoint: tc.url}
		run := r.Run(context.Background(), src)
		if run.GetStatus() != moissonv1.HarvestRun_FAILED || !strings.Contains(run.GetDiagnosis(), tc.want) || run.GetDiagnosisCode() != tc.code {
			t.Errorf("%s: %s, diagnosis %q (%s), want FAILED with %q (%s)", name, run.GetStatus(), run.GetDiagnosis(), run.GetDiagnosisCode(), tc.want, tc.code)
		}
		if len(run.GetErrors()) == 0 || run.GetErrors()[0].GetKind() != tc.kind || strings.Contains(run.GetErrors()[0].GetMessage(), "robots.txt") {
			t.Errorf("%s: errors %v, want one of kind %s, not about robots.txt", name, run.GetErrors(), tc.kind)
		}
	}
}

// CKAN incremental by metadata_modified: after a full run, runs ask only for
// what changed and delete nothing; a full run comes back every full_every
// and sees the deletions.
func TestCKANIncremental(t *testing.T) {
	e := newEnv(t, 30, nil)
	const id = "nice-ckan"
	src := e.cfg.Source(id)
	src.Params = map[string]string{"incremental": "true", "full_every": "1h", "page_size": "10"}
	first := e.run(t, id)
	wantStatus(t, first, moissonv1.HarvestRun_SUCCEEDED, 30)
	if first.GetIncremental() {
		t.Fatal("the first run cannot be incremental")
	}
	touched := e.sim.Touch(id, 2)
	removed := e.sim.Remove(id, 1)
	inc := e.run(t, id)
	wantStatus(t, inc, moissonv1.HarvestRun_SUCCEEDED, 2)
	if !inc.GetIncremental() || inc.GetUpdated() != 2 || inc.GetDeleted() != 0 {
		t.Errorf("incremental run: incremental %v, updated %d, deleted %d", inc.GetIncremental(), inc.GetUpdated(), inc.GetDeleted())
	}
	if len(touched) != 2 || len(removed) != 1 {
		t.Fatal("simulator")
	}
	last, _ := e.records(t)
	if live(last) != 30 {
		t.Errorf("%d live after an incremental run, want 30 (it must not delete)", live(last))
	}
	// full_every has passed: a full run, which sees the deletion.
	src.Params["full_every"] = "1ns"
	full := e.run(t, id)
	wantStatus(t, full, moissonv1.HarvestRun_SUCCEEDED, 29)
	if full.GetIncremental() || full.GetDeleted() != 1 || full.GetPublished() != 0 {
		t.Errorf("full run: incremental %v, deleted %d, published %d", full.GetIncremental(), full.GetDeleted(), full.GetPublished())
	}
}

// TestPublishedAsFinished: what the harvester publishes on RECORDS (the
// dataset's encoding kept from its content hash, then its provenance,
// bus.RecordMsgEncoded) decodes to the finished dataset: its content
// hashes again to the hash it carries, and the provenance is there.
func TestPublishedAsFinished(t *testing.T) {
	e := newEnv(t, 30, nil)
	ids := []string{"arnia-ckan", "rennes-dcat", "bretagne-ods", "geobretagne-csw", "megalis-udata"}
	for _, id := range ids {
		wantStatus(t, e.run(t, id), moissonv1.HarvestRun_SUCCEEDED, 30)
	}
	ctx := context.Background()
	cons, err := e.js.OrderedConsumer(ctx, bus.RecordsStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(len(ids)*30, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for m := range batch.Messages() {
		n++
		env, err := bus.DecodeRecord(m.Data())
		if err != nil {
			t.Fatal(err)
		}
		d := env.GetDataset()
		if h := harvest.ContentHash(d); h != d.GetContentHash() || h != env.GetContentHash() {
			t.Fatalf("%s: content hashes to %s, carries %s (envelope %s)", d.GetId(), h, d.GetContentHash(), env.GetContentHash())
		}
		if d.GetHarvestedAt() == nil || d.GetRunId() != env.GetRunId() || d.GetFirstSeen() == nil || d.GetTitle() == "" || d.GetQuality() == nil {
			t.Fatalf("%s: published without its provenance or content: %v", d.GetId(), d)
		}
	}
	if n != len(ids)*30 {
		t.Fatalf("read %d records, want %d", n, len(ids)*30)
	}
}
