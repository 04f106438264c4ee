package scaleout

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/opendatafrance/moisson/indexer/index/elasticsearch"
	"github.com/opendatafrance/moisson/proto/bus"
)

type facet struct {
	Key   string `json:"key"`
	Count int64  `json:"count"`
}

type datasetsAnswer struct {
	Total  int64              `json:"total"`
	Facets map[string][]facet `json:"facets"`
	Items  []struct {
		ID string `json:"id"`
	} `json:"items"`
}

// TestScaleOut runs the README's "Scale out on one machine": nats-server,
// the simulator, two harvester workers, an indexer into Elasticsearch and
// the API, as separate processes; everything the simulator serves ends up
// in Elasticsearch exactly once, and the API answers it.
func TestScaleOut(t *testing.T) {
	t.Parallel()
	s := newStack(t, 40)
	s.harvesters(2)
	s.indexer("indexer", s.es)
	s.api()
	want := int64(s.simTotal)
	s.waitCount(want, 3*time.Minute)
	s.waitDrained(time.Minute)

	var all datasetsAnswer
	getJSON(t, s.apiURL+"/v1/datasets?size=5", 200, &all)
	if all.Total != want {
		t.Errorf("/v1/datasets total = %d, want the %d datasets the simulator serves", all.Total, want)
	}
	var territories []string
	for _, f := range all.Facets["territory"] {
		territories = append(territories, f.Key)
	}
	if len(territories) != 9 {
		t.Errorf("territory facet %v, want the nine territories", territories)
	}
	var fr datasetsAnswer
	getJSON(t, s.apiURL+"/v1/datasets?q="+url.QueryEscape("deliberation")+"&size=1", 200, &fr)
	if fr.Total == 0 || fr.Total >= want {
		t.Errorf("q=deliberation: %d of %d datasets", fr.Total, want)
	}

	var seen int64
	workers := map[string]int{}
	for _, src := range s.sources() {
		if src.DeadLetters != 0 {
			t.Errorf("source %s: %d dead letters", src.SourceID, src.DeadLetters)
		}
		if src.Status == "SUCCEEDED" && src.LastRun != nil {
			seen += int64(src.LastRun.Seen)
			workers[src.LastRun.Worker]++
		}
	}
	if seen != want {
		t.Errorf("/v1/sources: the last runs saw %d datasets, want %d", seen, want)
	}
	t.Logf("%d datasets; sources harvested per worker: %v", want, workers)
	if n := s.streamMsgs(bus.DeadStream); n != 0 {
		t.Errorf("DEADLETTER holds %d records", n)
	}
	if n := s.streamMsgs(bus.RecordsStream); n != uint64(want) {
		t.Errorf("RECORDS holds %d records, want %d (one per dataset)", n, want)
	}
}

// TestElasticsearchOutage: Elasticsearch disappears for 30 s in the middle
// of indexing (a proxy in front of it closes, so other suites sharing it are
// not disturbed); the indexer backs off without acking, resumes, and the
// final count is exact.
func TestElasticsearchOutage(t *testing.T) {
	t.Parallel()
	s := newStack(t, 40)
	s.harvesters(2)
	s.waitRecords(2 * time.Minute)

	const batch = 100
	p := newESProxy(t, s.es)
	p.cutAfter = 2 // two bulks get through, the third starts the outage
	ix := s.indexer("indexer", p.url(), "--batch", "100")
	select {
	case <-p.cut:
	case <-time.After(time.Minute):
		t.Fatal("the indexer wrote fewer than 3 batches in a minute")
	}
	down := time.Now()
	// A batch sent just before the cut (the indexer writes two at once)
	// may still land: let it, then nothing more may.
	time.Sleep(2 * time.Second)
	before := s.count()
	if before < batch || before >= int64(s.simTotal) {
		t.Fatalf("%d documents when Elasticsearch went away, want at least the first batch of %d and not all %d", before, batch, s.simTotal)
	}
	for time.Since(down) < 30*time.Second {
		if !ix.running() {
			t.Fatalf("the indexer exited while Elasticsearch was away: %v", ix.err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if c := s.count(); c != before {
		t.Fatalf("%d documents after 30 s without Elasticsearch, want %d", c, before)
	}
	retries := metric(t, ix, "moisson_indexer_write_retries_total")
	if retries < 1 {
		t.Errorf("the indexer did not retry while Elasticsearch was away (moisson_indexer_write_retries_total = %v)", retries)
	}
	p.restore()
	up := time.Now()
	s.waitCount(int64(s.simTotal), 2*time.Minute)
	t.Logf("Elasticsearch away 30 s after %d of %d documents; %d write retries; all indexed %s after it came back",
		before, s.simTotal, int(retries), time.Since(up).Round(100*time.Millisecond))
	s.waitDrained(time.Minute)
	if n := s.streamMsgs(bus.DeadStream); n != 0 {
		t.Errorf("DEADLETTER holds %d records", n)
	}
	time.Sleep(2 * time.Second)
	if c := s.count(); c != int64(s.simTotal) {
		t.Errorf("count went from %d to %d", s.simTotal, c)
	}
}

// TestIndexerKilled: the indexer is SIGKILLed after Elasticsearch wrote a
// batch and before the indexer heard it (so before any ack); a new indexer
// takes over, the batch is redelivered and rewritten idempotently, and the
// final count is exact.
func TestIndexerKilled(t *testing.T) {
	t.Parallel()
	s := newStack(t, 40)
	s.harvesters(2)
	s.waitRecords(2 * time.Minute)

	const batch = 100
	p := newESProxy(t, s.es)
	p.holdAfter = 2 // from the third bulk on, they are written but their answers never arrive
	s.api()
	first := s.indexer("indexer-1", p.url(), "--batch", "100")
	select {
	case <-p.heldWritten:
	case <-time.After(time.Minute):
		t.Fatal("the indexer wrote fewer than 3 batches in a minute")
	}
	first.kill()
	killed := time.Now()
	if c := s.count(); c < batch || c >= int64(s.simTotal) {
		t.Fatalf("%d documents when the indexer was killed, want at least the first batch of %d and not all %d", c, batch, s.simTotal)
	}
	// Every source may say SUCCEEDED: the API says what still waits.
	var st struct {
		Indexing struct {
			Pending    int64 `json:"pending"`
			InProgress int64 `json:"in_progress"`
		} `json:"indexing"`
	}
	getJSON(t, s.apiURL+"/v1/sources", 200, &st)
	if st.Indexing.Pending+st.Indexing.InProgress == 0 {
		t.Errorf("/v1/sources shows nothing waiting for the index after the indexer was killed: %+v", st.Indexing)
	}
	// The records the dead indexer held come back within seconds, not
	// minutes: the default ack wait is short (in-progress acks keep a
	// batch being written).
	ci, err := s.js.Consumer(context.Background(), bus.RecordsStream, bus.IndexerDurable)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := ci.Info(context.Background()); err != nil || info.Config.AckWait > 30*time.Second {
		t.Errorf("the indexers' ack wait: %v %v, want at most 30 s", info.Config.AckWait, err)
	}
	s.indexer("indexer-2", s.es, "--batch", "100")
	s.waitCount(int64(s.simTotal), 2*time.Minute)
	s.waitDrained(time.Minute)
	t.Logf("every record indexed %s after the indexer was killed", time.Since(killed).Round(100*time.Millisecond))
	// The unacked batch was written twice: proof it was redelivered.
	if total := s.indexTotal(); total < int64(s.simTotal)+batch {
		t.Errorf("Elasticsearch applied %d index operations, want at least %d (every dataset, and the killed batch again)", total, s.simTotal+batch)
	}
	if n := s.streamMsgs(bus.DeadStream); n != 0 {
		t.Errorf("DEADLETTER holds %d records", n)
	}
	time.Sleep(2 * time.Second)
	if c := s.count(); c != int64(s.simTotal) {
		t.Errorf("count went from %d to %d", s.simTotal, c)
	}
}

// TestDeadLetters: an index whose mapping disagrees with some documents (the
// SCDL schema field is an integer there) rejects them for good: they go to
// DEADLETTER with the reason, the API shows them per source, and the rest
// of each batch is indexed.
func TestDeadLetters(t *testing.T) {
	t.Parallel()
	s := newStack(t, 40)
	// The alias, its template and first index as the services make them;
	// then the index is made again with the conflicting field (the
	// template gives it everything else).
	x, err := elasticsearch.New(context.Background(), elasticsearch.Config{URL: s.es, Alias: s.alias})
	if err != nil {
		t.Fatal(err)
	}
	x.Close()
	if st, body := s.esDo(http.MethodDelete, "/"+s.alias+"-v1", nil); st != 200 {
		t.Fatalf("deleting the first index: %d %s", st, body)
	}
	st, body := s.esDo(http.MethodPut, "/"+s.alias+"-v1", map[string]any{
		"settings": map[string]any{"number_of_replicas": 0},
		"mappings": map[string]any{"properties": map[string]any{"schema": map[string]any{"type": "integer"}}},
		"aliases":  map[string]any{s.alias: map[string]any{}},
	})
	if st != 200 {
		t.Fatalf("creating the conflicting index: %d %s", st, body)
	}
	s.harvesters(2)
	s.indexer("indexer", s.es)
	s.api()
	s.waitRecords(2 * time.Minute)
	s.waitDrained(2 * time.Minute)
	dead := int64(s.streamMsgs(bus.DeadStream))
	indexed := s.count()
	total := int64(s.simTotal)
	if dead == 0 || indexed == 0 || dead+indexed != total {
		t.Fatalf("%d indexed + %d dead letters, want both > 0 and %d in all", indexed, dead, total)
	}
	t.Logf("%d datasets: %d indexed, %d dead letters", total, indexed, dead)

	var all datasetsAnswer
	getJSON(t, s.apiURL+"/v1/datasets?size=1", 200, &all)
	if all.Total != indexed {
		t.Errorf("/v1/datasets total %d, want %d", all.Total, indexed)
	}
	var sum int64
	var withDead []sourceAnswer
	for _, src := range s.sources() {
		sum += src.DeadLetters
		if src.DeadLetters > 0 {
			withDead = append(withDead, src)
		}
	}
	if sum != dead {
		t.Errorf("/v1/sources: %d dead letters in all, want %d", sum, dead)
	}
	sort.Slice(withDead, func(i, j int) bool { return withDead[i].DeadLetters > withDead[j].DeadLetters })
	if len(withDead) == 0 {
		t.Fatal("no source shows dead letters")
	}
	for _, src := range withDead[:min(3, len(withDead))] {
		var dl struct {
			SourceID    string `json:"source_id"`
			Total       int64  `json:"total"`
			DeadLetters []struct {
				Seq      uint64    `json:"seq"`
				At       time.Time `json:"at"`
				RecordID string    `json:"record_id"`
				Reason   string    `json:"reason"`
				Subject  string    `json:"subject"`
			} `json:"dead_letters"`
		}
		getJSON(t, s.apiURL+"/v1/sources/"+src.SourceID+"/dead-letters", 200, &dl)
		if dl.SourceID != src.SourceID || dl.Total != src.DeadLetters || int64(len(dl.DeadLetters)) != dl.Total {
			t.Errorf("%s: dead letters %s total %d with %d listed, want %d", src.SourceID, dl.SourceID, dl.Total, len(dl.DeadLetters), src.DeadLetters)
		}
		for i, d := range dl.DeadLetters {
			if d.RecordID == "" || d.Seq == 0 || d.At.IsZero() || !strings.HasPrefix(d.Subject, bus.RecordsSubject+".") {
				t.Errorf("%s: dead letter %+v", src.SourceID, d)
			}
			if !strings.Contains(d.Reason, "[schema]") {
				t.Errorf("%s: reason %q does not name the field", src.SourceID, d.Reason)
			}
			if i < 3 {
				getJSON(t, s.apiURL+"/v1/datasets/"+url.PathEscape(d.RecordID), 404, nil)
			}
		}
		// The rest of the source is searchable.
		var bySource datasetsAnswer
		getJSON(t, s.apiURL+"/v1/datasets?size=1&source="+url.QueryEscape(src.SourceID), 200, &bySource)
		if seen := int64(src.LastRun.Seen); bySource.Total+src.DeadLetters != seen || bySource.Total == 0 {
			t.Errorf("%s: %d indexed + %d dead letters, want %d seen and some indexed", src.SourceID, bySource.Total, src.DeadLetters, seen)
		}
		// CSV too.
		res, err := http.Get(s.apiURL + "/v1/sources/" + src.SourceID + "/dead-letters?format=csv")
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(res.Body).ReadAll()
		res.Body.Close()
		if err != nil || int64(len(rows)) != src.DeadLetters+1 || strings.Join(rows[0], ",") != "seq,at,record_id,reason,subject" {
			t.Errorf("%s: CSV %d rows (%v), want a header and %d", src.SourceID, len(rows), err, src.DeadLetters)
		}
	}
	getJSON(t, s.apiURL+"/v1/sources/no-such-source/dead-letters", 404, nil)
	getJSON(t, s.apiURL+"/v1/sources/"+withDead[0].SourceID+"/dead-letters?nope=1", 400, nil)
}
