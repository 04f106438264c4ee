package state

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

func TestWriteRead(t *testing.T) {
	s := New("src")
	s.LastRunID, s.LastSuccessSeen = "r1", 3
	s.LastStarted = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s.Held = &Held{RunID: "r1", Reason: "shrunk", IDs: []string{"a", "b"}}
	for i := 0; i < 1000; i++ {
		s.Hashes[fmt.Sprintf("src-%04d with space", i)] = fmt.Sprintf("h%d", i)
	}
	var sb strings.Builder
	if err := Write(&sb, s); err != nil {
		t.Fatal(err)
	}
	got, err := Read(strings.NewReader(sb.String()))
	if err != nil {
		t.Fatal(err)
	}
	if got.LastRunID != "r1" || got.LastSuccessSeen != 3 || !got.LastStarted.Equal(s.LastStarted) ||
		got.Held == nil || len(got.Held.IDs) != 2 || len(got.Hashes) != 1000 || got.Hashes["src-0042 with space"] != "h42" {
		t.Errorf("round trip lost something: %+v (%d hashes)", got, len(got.Hashes))
	}
	// When each record was first seen; states written before it was kept
	// have none.
	s.FirstSeen["src-0007 with space"] = 1700000000
	sb.Reset()
	if err := Write(&sb, s); err != nil {
		t.Fatal(err)
	}
	got, err = Read(strings.NewReader(sb.String()))
	if err != nil || got.FirstSeen["src-0007 with space"] != 1700000000 || got.Hashes["src-0007 with space"] != "h7" ||
		got.FirstSeen["src-0008 with space"] != 0 || got.Hashes["src-0008 with space"] != "h8" {
		t.Errorf("first seen lost: %v %v %v", err, got.FirstSeen, got.Hashes["src-0007 with space"])
	}
	if old, err := Read(strings.NewReader("{}\nan id abc123\n")); err != nil || old.Hashes["an id"] != "abc123" || len(old.FirstSeen) != 0 {
		t.Errorf("a state of the old format: %+v %v", old, err)
	}
	if _, err := Read(strings.NewReader("{}\nid abc,notanumber\n")); err == nil {
		t.Error("bad first seen accepted")
	}
	if _, err := Read(strings.NewReader("")); err == nil {
		t.Error("empty state accepted")
	}
	if _, err := Read(strings.NewReader("{}\nnospace\n")); err == nil {
		t.Error("bad line accepted")
	}
}

func TestMemoryStore(t *testing.T) {
	m := NewMemory()
	ctx := context.Background()
	s, err := m.Load(ctx, "x")
	if err != nil || s.SourceID != "x" || len(s.Hashes) != 0 {
		t.Fatalf("new state: %+v %v", s, err)
	}
	s.Hashes["a"] = "1"
	if err := m.Save(ctx, s); err != nil {
		t.Fatal(err)
	}
	s2, _ := m.Load(ctx, "x")
	if s2.Hashes["a"] != "1" {
		t.Error("not saved")
	}
}

// flakyStore answers Get with an error a number of times, then with body
// (or "not found" when body is empty).
type flakyStore struct {
	jetstream.ObjectStore
	fails    int
	timeouts int // reads cut by a timeout after the failures
	body     string
	gets     int
}

func (f *flakyStore) Get(ctx context.Context, name string, _ ...jetstream.GetObjectOpt) (jetstream.ObjectResult, error) {
	f.gets++
	if f.gets <= f.fails {
		return nil, errors.New("nats: JetStream system temporarily unavailable")
	}
	if f.body == "" {
		return nil, jetstream.ErrObjectNotFound
	}
	if f.gets <= f.fails+f.timeouts {
		// The first chunk, then a read that times out.
		return stringResult{io.MultiReader(strings.NewReader(f.body[:len(f.body)/2]), timeoutReader{})}, nil
	}
	return stringResult{strings.NewReader(f.body)}, nil
}

type timeoutReader struct{}

func (timeoutReader) Read([]byte) (int, error) { return 0, errors.New("nats: timeout") }

type stringResult struct{ io.Reader }

func (stringResult) Info() (*jetstream.ObjectInfo, error) { return nil, nil }
func (stringResult) Close() error                         { return nil }
func (stringResult) Error() error                         { return nil }

// A cluster electing a leader answers "temporarily unavailable" for a few
// seconds: Load tries again instead of failing the run; a state that
// cannot be parsed is not read again; a store that never answers fails.
func TestJetStreamLoadRetries(t *testing.T) {
	defer func(w time.Duration) { loadRetryWait = w }(loadRetryWait)
	loadRetryWait = time.Millisecond
	ctx := context.Background()

	f := &flakyStore{fails: 2}
	s, err := (&JetStream{os: f}).Load(ctx, "src")
	if err != nil || s.SourceID != "src" || f.gets != 3 {
		t.Fatalf("after two unavailable answers: %v, %v, %d gets", s, err, f.gets)
	}

	f = &flakyStore{body: "not json\n"}
	if _, err := (&JetStream{os: f}).Load(ctx, "src"); err == nil || f.gets != 1 {
		t.Fatalf("unparsable state: %v after %d gets, want an error after 1", err, f.gets)
	}

	// A read cut by a timeout (the chunks' consumer lost with a leader)
	// is tried again, not taken for a bad state.
	good := New("src")
	good.Hashes["a"] = "h"
	var b strings.Builder
	if err := Write(&b, good); err != nil {
		t.Fatal(err)
	}
	f = &flakyStore{timeouts: 1, body: b.String()}
	if s, err := (&JetStream{os: f}).Load(ctx, "src"); err != nil || s.Hashes["a"] != "h" || f.gets != 2 {
		t.Fatalf("after a read timeout: %v, %v after %d gets, want the state after 2", s, err, f.gets)
	}

	f = &flakyStore{fails: 100}
	if _, err := (&JetStream{os: f}).Load(ctx, "src"); err == nil || f.gets != 5 {
		t.Fatalf("store never answering: %v after %d gets, want an error after 5", err, f.gets)
	}
}

// stuckList answers Put, and never answers List (a consumer request lost
// with a meta leader) until its context ends.
type stuckList struct {
	jetstream.ObjectStore
	puts int
}

func (s *stuckList) Put(ctx context.Context, meta jetstream.ObjectMeta, r io.Reader) (*jetstream.ObjectInfo, error) {
	s.puts++
	_, err := io.Copy(io.Discard, r)
	return &jetstream.ObjectInfo{ObjectMeta: meta}, err
}

func (s *stuckList) List(ctx context.Context, _ ...jetstream.ListObjectsOpt) ([]*jetstream.ObjectInfo, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// A prune that cannot list the store gives up on its own, before the run's
// deadline, and the diff counts as saved.
func TestSaveDiffPruneBounded(t *testing.T) {
	defer func(d time.Duration) { pruneLimit = d }(pruneLimit)
	pruneLimit = 10 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	s := &stuckList{}
	err := (&JetStream{os: s}).SaveDiff(ctx, "src", "run-1", func(w io.Writer) error {
		_, err := io.WriteString(w, "created\ta\n")
		return err
	})
	if err != nil || s.puts != 1 {
		t.Fatalf("SaveDiff: %v after %d puts", err, s.puts)
	}
	if ctx.Err() != nil {
		t.Fatal("the prune waited for the run's deadline")
	}
}

// LoadHeader reads a state's header without its record lines: a taking-over
// worker learns the last run of a 100k-record source without loading its
// hashes. It reads a header longer than its buffer, and never what follows.
func TestLoadHeader(t *testing.T) {
	ctx := context.Background()
	s := New("src")
	s.LastRunID, s.LastSuccessSeen = "run-7", 3
	s.Held = &Held{RunID: "run-6"}
	for i := 0; i < 2000; i++ { // a header of some 40 kB
		s.Held.IDs = append(s.Held.IDs, fmt.Sprintf("held-record-%05d", i))
	}
	for i := 0; i < 1000; i++ {
		s.Hashes[fmt.Sprintf("r%d", i)] = "h"
	}
	var sb strings.Builder
	if err := Write(&sb, s); err != nil {
		t.Fatal(err)
	}
	header := sb.String()[:strings.IndexByte(sb.String(), '\n')+1]

	// The JetStream store, its object cut by a timeout after the header:
	// Load would fail on it, LoadHeader does not read that far.
	f := &flakyStore{timeouts: 1, body: header + strings.Repeat("r x\n", 2*len(header))}
	got, err := (&JetStream{os: f}).LoadHeader(ctx, "src")
	if err != nil || got.LastRunID != "run-7" || got.LastSuccessSeen != 3 || got.Held == nil || len(got.Held.IDs) != 2000 || got.Hashes != nil {
		t.Fatalf("JetStream header: %+v, %v", got, err)
	}
	if got, err := (&JetStream{os: &flakyStore{}}).LoadHeader(ctx, "new"); err != nil || got.SourceID != "new" || got.LastRunID != "" {
		t.Errorf("never harvested: %+v, %v", got, err)
	}
	if _, err := (&JetStream{os: &flakyStore{body: "not json\n"}}).LoadHeader(ctx, "src"); err == nil {
		t.Error("unparsable header read")
	}

	// The memory store, record lines unreadable after a good header.
	m := NewMemory()
	m.m["src"] = []byte(header + "no-hash-here\n")
	if _, err := m.Load(ctx, "src"); err == nil {
		t.Fatal("Load read a bad record line")
	}
	if got, err := m.LoadHeader(ctx, "src"); err != nil || got.LastRunID != "run-7" {
		t.Errorf("memory header: %+v, %v", got, err)
	}
	for name, body := range map[string]string{"empty": "", "header cut": header[:len(header)/2]} {
		m.m["bad"] = []byte(body)
		if _, err := m.LoadHeader(ctx, "bad"); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
