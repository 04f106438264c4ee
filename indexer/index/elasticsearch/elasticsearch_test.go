package elasticsearch_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opendatafrance/moisson/indexer/index"
	"github.com/opendatafrance/moisson/indexer/index/elasticsearch"
	"github.com/opendatafrance/moisson/indexer/index/indextest"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"google.golang.org/protobuf/proto"
)

// esURL is the Elasticsearch the tests run against (MOISSON_ES_URL).
func esURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("MOISSON_ES_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("MOISSON_ES_URL is not set: start scripts/elasticsearch start and export MOISSON_ES_URL=<the URL it prints>")
		}
		t.Skip("Elasticsearch tests skipped: run scripts/elasticsearch start, then set MOISSON_ES_URL=http://127.0.0.1:9200")
	}
	return strings.TrimRight(u, "/")
}

func randomAlias(t testing.TB) string {
	b := make([]byte, 5)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "moisson-test-" + hex.EncodeToString(b)
}

// open creates an index under a fresh alias and drops it at the end of t.
func open(t testing.TB, cfg elasticsearch.Config) *elasticsearch.Index {
	t.Helper()
	if cfg.URL == "" {
		cfg.URL = esURL(t)
	}
	if cfg.Alias == "" {
		cfg.Alias = randomAlias(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	x, err := elasticsearch.New(ctx, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := x.Drop(context.Background()); err != nil {
			t.Errorf("Drop: %v", err)
		}
		x.Close()
	})
	return x
}

// esDo sends a raw request to Elasticsearch (test setup and inspection).
func esDo(t testing.TB, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, esURL(t)+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res.StatusCode, data
}

func refresh(x index.Index) {
	if err := x.(*elasticsearch.Index).Refresh(context.Background()); err != nil {
		panic(err)
	}
}

func TestContract(t *testing.T) {
	esURL(t)
	indextest.Run(t, func(t *testing.T) index.Index {
		return open(t, elasticsearch.Config{})
	}, refresh)
}

func TestNewCreatesIndexAndAlias(t *testing.T) {
	x := open(t, elasticsearch.Config{})
	status, body := esDo(t, http.MethodGet, "/_alias/"+x.Alias(), nil)
	if status != 200 {
		t.Fatalf("alias: %d %s", status, body)
	}
	var aliases map[string]any
	if err := json.Unmarshal(body, &aliases); err != nil {
		t.Fatal(err)
	}
	if _, ok := aliases[x.Alias()+"-v1"]; !ok || len(aliases) != 1 {
		t.Fatalf("alias %s points to %v, want %s-v1", x.Alias(), aliases, x.Alias())
	}
	// The settings and the analysis come from the template.
	status, body = esDo(t, http.MethodGet, "/"+x.Alias()+"-v1/_settings?flat_settings=true", nil)
	if status != 200 {
		t.Fatalf("settings: %d %s", status, body)
	}
	for _, want := range []string{`"index.refresh_interval":"1s"`, `"index.number_of_replicas":"0"`, `"index.analysis.analyzer.moisson_french.tokenizer":"standard"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("settings lack %s: %s", want, body)
		}
	}
	status, body = esDo(t, http.MethodPost, "/"+x.Alias()+"/_analyze", map[string]any{
		"analyzer": "moisson_french", "text": "Délibérations de l'Hôtel d’Agglomération, ÉQUIPEMENTS",
	})
	if status != 200 {
		t.Fatalf("analyze: %d %s", status, body)
	}
	var an struct {
		Tokens []struct{ Token string } `json:"tokens"`
	}
	json.Unmarshal(body, &an)
	var tokens []string
	for _, tok := range an.Tokens {
		tokens = append(tokens, tok.Token)
	}
	// "de" is a stop word, l' and d' are elided, accents folded, stems light.
	if got := strings.Join(tokens, " "); got != "delib hotel aglom equip" {
		t.Errorf("analysis: %q", got)
	}

	// A second New on the same alias finds it and changes nothing.
	again := open(t, elasticsearch.Config{Alias: x.Alias()})
	if _, err := again.Count(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestReplicasOfARacedIndex: when another process created the index first
// (an API keeps the replicas it finds and creates with 0), the indexer's
// replica count still applies.
func TestReplicasOfARacedIndex(t *testing.T) {
	alias := randomAlias(t)
	// The index exists, its alias not yet: what a concurrent creation
	// looks like between its two steps.
	if status, body := esDo(t, http.MethodPut, "/"+alias+"-v1", map[string]any{
		"settings": map[string]any{"number_of_replicas": 0},
	}); status != 200 {
		t.Fatalf("create: %d %s", status, body)
	}
	open(t, elasticsearch.Config{Alias: alias, Replicas: 1})
	_, body := esDo(t, http.MethodGet, "/"+alias+"-v1/_settings?flat_settings=true", nil)
	if !strings.Contains(string(body), `"index.number_of_replicas":"1"`) {
		t.Errorf("the replicas configured were not applied: %s", body)
	}
}

// TestMappingConflict: an item the index will never take is a PermanentError,
// and the rest of the batch is written.
func TestMappingConflict(t *testing.T) {
	alias := randomAlias(t)
	// An index whose mapping disagrees with the documents: territory is a
	// number there.
	status, body := esDo(t, http.MethodPut, "/"+alias+"-v1", map[string]any{
		"settings": map[string]any{"number_of_replicas": 0},
		"mappings": map[string]any{"properties": map[string]any{"territory": map[string]any{"type": "integer"}}},
		"aliases":  map[string]any{alias: map[string]any{}},
	})
	if status != 200 {
		t.Fatalf("creating the conflicting index: %d %s", status, body)
	}
	x := open(t, elasticsearch.Config{Alias: alias})
	ds := func(id, territory string) *moissonv1.Dataset {
		return &moissonv1.Dataset{Id: id, Title: "Jeu " + id, TerritoryId: territory}
	}
	ops := []index.Op{
		{ID: "ok-1", Version: 1, Dataset: ds("ok-1", "29")},
		{ID: "bad", Version: 1, Dataset: ds("bad", "bretagne")},
		{ID: "ok-2", Version: 1, Dataset: ds("ok-2", "35")},
	}
	items, err := x.Write(context.Background(), ops)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if items[0] != nil || items[2] != nil {
		t.Errorf("good items: %v, %v", items[0], items[2])
	}
	if !index.IsPermanent(items[1]) {
		t.Fatalf("conflicting item: %v, want a PermanentError", items[1])
	}
	if !strings.Contains(items[1].Error(), "territory") {
		t.Errorf("the reason does not name the field: %v", items[1])
	}
	for _, id := range []string{"ok-1", "ok-2"} {
		if _, err := x.Get(context.Background(), id); err != nil {
			t.Errorf("Get(%s): %v", id, err)
		}
	}
	if _, err := x.Get(context.Background(), "bad"); !errors.Is(err, index.ErrNotFound) {
		t.Errorf("Get(bad): %v", err)
	}
}

// TestUnreachable: when Elasticsearch does not answer, Write fails as a whole
// (err), never with item errors that could be taken for per-item outcomes.
func TestUnreachable(t *testing.T) {
	target := strings.TrimPrefix(strings.TrimPrefix(esURL(t), "http://"), "https://")
	p := startProxy(t, target)
	direct := open(t, elasticsearch.Config{}) // creates, and at the end drops, the index
	ctx := context.Background()
	x, err := elasticsearch.New(ctx, elasticsearch.Config{URL: "http://" + p.addr(), Alias: direct.Alias(), MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	op := index.Op{ID: "x", Version: 1, Dataset: &moissonv1.Dataset{Id: "x", Title: "Jeu"}}
	if items, err := x.Write(ctx, []index.Op{op}); err != nil || items[0] != nil {
		t.Fatalf("through the proxy: %v, %v", items, err)
	}
	p.close()
	items, err := x.Write(ctx, []index.Op{op, op})
	if err == nil {
		t.Fatalf("Write with Elasticsearch down: no error, items %v", items)
	}
	if items != nil {
		t.Errorf("Write with Elasticsearch down: items %v besides the error", items)
	}
	if _, err := x.Search(ctx, index.Query{Text: "jeu"}); err == nil {
		t.Error("Search with Elasticsearch down: no error")
	}
	if _, err := x.Get(ctx, "x"); err == nil || errors.Is(err, index.ErrNotFound) {
		t.Errorf("Get with Elasticsearch down: %v, want an error other than ErrNotFound", err)
	}
	if _, err := x.Count(ctx); err == nil {
		t.Error("Count with Elasticsearch down: no error")
	}
	if _, err := elasticsearch.New(ctx, elasticsearch.Config{URL: "http://" + p.addr(), MaxRetries: -1}); err == nil {
		t.Error("New with Elasticsearch down: no error")
	}
}

// TestMissingIndex: with the index gone, writes are transient item errors
// (retry later), not permanent ones, and no index is created in its place.
func TestMissingIndex(t *testing.T) {
	x := open(t, elasticsearch.Config{})
	if status, body := esDo(t, http.MethodDelete, "/"+x.Alias()+"-v1", nil); status != 200 {
		t.Fatalf("delete: %d %s", status, body)
	}
	op := index.Op{ID: "x", Version: 1, Dataset: &moissonv1.Dataset{Id: "x", Title: "Jeu"}}
	items, err := x.Write(context.Background(), []index.Op{op})
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	var te *elasticsearch.TransientError
	if !errors.As(items[0], &te) || index.IsPermanent(items[0]) {
		t.Errorf("item: %v, want a TransientError", items[0])
	}
	if status, body := esDo(t, http.MethodGet, "/"+x.Alias(), nil); status != 404 {
		t.Errorf("an index answers for %s after the write: %d %s", x.Alias(), status, body)
	}
	if _, err := x.Get(context.Background(), "x"); err == nil || errors.Is(err, index.ErrNotFound) {
		t.Errorf("Get without the index: %v, want an error other than ErrNotFound", err)
	}
}

func TestReindex(t *testing.T) {
	ctx := context.Background()
	x := open(t, elasticsearch.Config{})
	ds := indextest.Datasets()
	var ops []index.Op
	for i, d := range ds {
		ops = append(ops, index.Op{ID: d.GetId(), Version: int64(100 + i), Dataset: d})
	}
	if _, err := x.Write(ctx, ops); err != nil {
		t.Fatal(err)
	}
	if err := x.Reindex(ctx, 2); err != nil {
		t.Fatalf("Reindex: %v", err)
	}
	status, body := esDo(t, http.MethodGet, "/_alias/"+x.Alias(), nil)
	if status != 200 || !strings.Contains(string(body), `"`+x.Alias()+`-v2"`) || strings.Contains(string(body), `"`+x.Alias()+`-v1"`) {
		t.Fatalf("alias after Reindex: %d %s", status, body)
	}
	refresh(x)
	if n, err := x.Count(ctx); err != nil || n != int64(len(ds)) {
		t.Errorf("Count after Reindex = %d, %v; want %d", n, err, len(ds))
	}
	res, err := x.Search(ctx, index.Query{Text: "deliberation", Size: 10})
	if err != nil || res.Total != 3 {
		t.Errorf("search after Reindex: %v, %v", res, err)
	}
	// Versions came along: an older write is still superseded.
	old := index.Op{ID: ds[0].GetId(), Version: 99, Dataset: &moissonv1.Dataset{Id: ds[0].GetId(), Title: "Ancien"}}
	items, err := x.Write(ctx, []index.Op{old})
	if err != nil || items[0] != nil {
		t.Fatalf("old write: %v %v", items, err)
	}
	if d, err := x.Get(ctx, ds[0].GetId()); err != nil || d.GetTitle() != ds[0].GetTitle() {
		t.Errorf("after an older write: %v, %v", d.GetTitle(), err)
	}
	if err := x.Reindex(ctx, 2); err == nil {
		t.Error("Reindex to the current version: no error")
	}
}

// proxy forwards TCP connections to Elasticsearch until closed.
type tcpProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func startProxy(t *testing.T, target string) *tcpProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln}
	t.Cleanup(p.close)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { io.Copy(u, c); u.Close() }()
			go func() { io.Copy(c, u); c.Close() }()
		}
	}()
	return p
}

func (p *tcpProxy) addr() string { return p.ln.Addr().String() }

func (p *tcpProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// BenchmarkWrite writes batches of 500 generated datasets.
func BenchmarkWrite(b *testing.B) {
	x := open(b, elasticsearch.Config{})
	ctx := context.Background()
	const batch = 500
	template := indextest.Datasets()
	ops := make([]index.Op, batch)
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		for i := range ops {
			d := template[i%len(template)]
			id := fmt.Sprintf("bench-%d-%d", n, i)
			c := proto.Clone(d).(*moissonv1.Dataset)
			c.Id = id
			ops[i] = index.Op{ID: id, Version: int64(n + 1), Dataset: c}
		}
		items, err := x.Write(ctx, ops)
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range items {
			if e != nil {
				b.Fatal(e)
			}
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "docs/s")
}

// TestAddsMissingFields: an index made before fields were added to the
// mapping (the observatory's) gets them when an indexer opens it.
func TestAddsMissingFields(t *testing.T) {
	// What an index of an older version lacks: an index with one field
	// stands for it.
	alias := randomAlias(t)
	status, body := esDo(t, http.MethodPut, "/"+alias+"-v1", map[string]any{
		"settings": map[string]any{"number_of_replicas": 0},
		"mappings": map[string]any{"dynamic": false, "properties": map[string]any{"territory": map[string]any{"type": "keyword"}}},
		"aliases":  map[string]any{alias: map[string]any{}},
	})
	if status != 200 {
		t.Fatalf("create: %d %s", status, body)
	}
	open(t, elasticsearch.Config{Alias: alias})
	_, body = esDo(t, http.MethodGet, "/"+alias+"-v1/_mapping", nil)
	for _, f := range []string{`"collectivite"`, `"observatory"`, `"first_month"`} {
		if !strings.Contains(string(body), f) {
			t.Errorf("field %s not added: %s", f, body)
		}
	}
}
