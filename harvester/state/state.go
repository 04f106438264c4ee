// Package state keeps what the harvester must remember of each source
// between runs: the content hash of every record it published and did not
// delete (so an unchanged record is not republished and a vanished one can
// be deleted), the deletions held for a human, and when the source was last
// harvested. In production it lives in a JetStream object store shared by
// every harvester worker.
package state

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/opendatafrance/moisson/proto/bus"
)

// Bucket is the object store holding source states.
const Bucket = bus.StateBucket

// Held are deletions a run did not make because it saw far fewer datasets
// than the last successful run; a person releases or discards them.
type Held struct {
	RunID  string    `json:"run_id"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
	IDs    []string  `json:"ids"`
}

// Source is the state of one source.
type Source struct {
	SourceID        string    `json:"source_id"`
	LastRunID       string    `json:"last_run_id"`
	LastStarted     time.Time `json:"last_started"`
	LastSuccessSeen int64     `json:"last_success_seen"` // datasets seen by the last SUCCEEDED complete run
	// LastSuccessStarted is when the last successful run (full or
	// incremental) started; LastFull when the last full successful run did.
	LastSuccessStarted time.Time         `json:"last_success_started"`
	LastFull           time.Time         `json:"last_full"`
	Held               *Held             `json:"held,omitempty"`
	Hashes             map[string]string `json:"-"` // record id → content hash
	// FirstSeen: record id → when a run first saw it (Unix seconds; absent
	// for records of states written before it was kept).
	FirstSeen map[string]int64 `json:"-"`
}

// New returns an empty state.
func New(sourceID string) *Source {
	return &Source{SourceID: sourceID, Hashes: map[string]string{}, FirstSeen: map[string]int64{}}
}

// Store loads and saves source states.
type Store interface {
	Load(ctx context.Context, sourceID string) (*Source, error)
	Save(ctx context.Context, s *Source) error
}

// Write serialises a state: a JSON header line, then one "id hash" line per
// record, sorted, so large states stream.
func Write(w io.Writer, s *Source) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	h, err := json.Marshal(s)
	if err != nil {
		return err
	}
	bw.Write(h)
	bw.WriteByte('\n')
	ids := make([]string, 0, len(s.Hashes))
	for id := range s.Hashes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		bw.WriteString(id)
		bw.WriteByte(' ')
		bw.WriteString(s.Hashes[id])
		if f := s.FirstSeen[id]; f != 0 {
			bw.WriteByte(',')
			bw.WriteString(strconv.FormatInt(f, 10))
		}
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// Read reads what Write wrote.
func Read(r io.Reader) (*Source, error) {
	sc, s, err := scanHeader(r)
	if err != nil {
		return nil, err
	}
	s.Hashes, s.FirstSeen = map[string]string{}, map[string]int64{}
	for sc.Scan() {
		// "<id> <hash>[,<first seen>]": ids may hold spaces, hashes not.
		line := sc.Text()
		i := strings.LastIndexByte(line, ' ')
		if i <= 0 {
			return nil, fmt.Errorf("state: bad line %q", line)
		}
		id, hash := line[:i], line[i+1:]
		if h, first, ok := strings.Cut(hash, ","); ok {
			f, err := strconv.ParseInt(first, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("state: bad line %q", line)
			}
			hash = h
			s.FirstSeen[id] = f
		}
		s.Hashes[id] = hash
	}
	return s, sc.Err()
}

// ReadHeader reads only the header of what Write wrote: the state's runs,
// held deletions and counts, without its record hashes (Hashes and
// FirstSeen are nil).
func ReadHeader(r io.Reader) (*Source, error) {
	_, s, err := scanHeader(r)
	return s, err
}

// scanHeader reads a state's header line, and gives the scanner positioned
// at its record lines.
func scanHeader(r io.Reader) (*bufio.Scanner, *Source, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxHeader)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return nil, nil, err
		}
		return nil, nil, errors.New("state: empty")
	}
	var s Source
	if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
		return nil, nil, fmt.Errorf("state header: %w", err)
	}
	return sc, &s, nil
}

// maxHeader bounds a state's header line (and any line of a state).
const maxHeader = 64 << 20

// Headers reads states' headers alone (JetStream and Memory do): what a
// worker taking a source over needs, without the record hashes.
type Headers interface {
	LoadHeader(ctx context.Context, sourceID string) (*Source, error)
}

// JetStream keeps states in an object store.
type JetStream struct {
	os jetstream.ObjectStore
}

// OpenJetStream opens (creating if needed) the state object store.
func OpenJetStream(ctx context.Context, js jetstream.JetStream, replicas int) (*JetStream, error) {
	if replicas < 1 {
		replicas = 1
	}
	os, err := bus.EnsureObjectStore(ctx, js, jetstream.ObjectStoreConfig{
		Bucket:      Bucket,
		Description: "Moisson: per-source harvest state (record hashes, held deletions)",
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("state store: %w", err)
	}
	return &JetStream{os: os}, nil
}

// Load reads a source's state; a source never harvested gets an empty one.
// A JetStream cluster electing a leader answers "temporarily unavailable"
// for a few seconds: the read is tried again, five times over some 15 s,
// before the run fails.
func (j *JetStream) Load(ctx context.Context, sourceID string) (*Source, error) {
	wait := loadRetryWait
	for attempt := 0; ; attempt++ {
		s, err := j.load(ctx, sourceID)
		var bad badState
		if err == nil || errors.As(err, &bad) || attempt == 4 || ctx.Err() != nil {
			return s, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(wait):
		}
		wait *= 2
	}
}

func (j *JetStream) load(ctx context.Context, sourceID string) (*Source, error) {
	r, err := j.os.Get(ctx, sourceID)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return New(sourceID), nil
	}
	if err != nil {
		return nil, err
	}
	defer r.Close()
	// The object's chunks come from a consumer that a leader change may
	// stop: the read then times out (nats.go bounds it), which is worth
	// another attempt, where a state that cannot be parsed is not.
	er := &errReader{r: r}
	st, err := Read(er)
	if err != nil && er.err == nil && ctx.Err() == nil {
		return nil, badState{err}
	}
	return st, err
}

// LoadHeader reads the header of a source's state (an empty state's for a
// source never harvested), leaving the object's record lines unread.
func (j *JetStream) LoadHeader(ctx context.Context, sourceID string) (*Source, error) {
	r, err := j.os.Get(ctx, sourceID)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return New(sourceID), nil
	}
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return ReadHeader(r)
}

// errReader keeps the first error of r other than io.EOF.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// loadRetryWait is the first wait before reading a state again; it doubles
// at each attempt.
var loadRetryWait = time.Second

// badState is a state that was read and could not be parsed.
type badState struct{ error }

func (b badState) Unwrap() error { return b.error }

// Save writes a source's state.
func (j *JetStream) Save(ctx context.Context, s *Source) error {
	return j.put(ctx, s.SourceID, func(w io.Writer) error { return Write(w, s) })
}

// put writes an object, retrying. The object store waits for the acks of
// its chunks until its context's deadline, when it has one: an ack lost
// with a stream leader (a NATS node that froze) held a state's save for
// minutes. Each attempt runs without a deadline (each chunk then has the
// JetStream timeout, 5 s) and is cancelled after attemptLimit. A failed
// put leaves the object as it was.
func (j *JetStream) put(ctx context.Context, name string, write func(io.Writer) error) error {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return err
			case <-time.After(time.Duration(attempt) * time.Second):
			}
		}
		actx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		stop := context.AfterFunc(ctx, cancel)
		timer := time.AfterFunc(attemptLimit, cancel)
		pr, pw := io.Pipe()
		go func() {
			bw := bufio.NewWriterSize(pw, 64<<10)
			werr := write(bw)
			if werr == nil {
				werr = bw.Flush()
			}
			pw.CloseWithError(werr)
		}()
		_, err = j.os.Put(actx, jetstream.ObjectMeta{Name: name}, pr)
		pr.Close()
		timer.Stop()
		stop()
		cancel()
		if err == nil || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// attemptLimit bounds one attempt to put an object.
const attemptLimit = 45 * time.Second

// Memory keeps states in memory (tests, inspect).
type Memory struct {
	mu sync.Mutex
	m  map[string][]byte
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory { return &Memory{m: map[string][]byte{}} }

// Load reads a state.
func (m *Memory) Load(ctx context.Context, sourceID string) (*Source, error) {
	return m.read(sourceID, Read)
}

// LoadHeader reads the header of a state.
func (m *Memory) LoadHeader(ctx context.Context, sourceID string) (*Source, error) {
	return m.read(sourceID, ReadHeader)
}

// read reads a kept state with read (an empty one when none is kept).
func (m *Memory) read(sourceID string, read func(io.Reader) (*Source, error)) (*Source, error) {
	m.mu.Lock()
	b, ok := m.m[sourceID]
	m.mu.Unlock()
	if !ok {
		return New(sourceID), nil
	}
	return read(bytes.NewReader(b))
}

// Save writes a state.
func (m *Memory) Save(ctx context.Context, s *Source) error {
	var sb strings.Builder
	if err := Write(&sb, s); err != nil {
		return err
	}
	m.mu.Lock()
	m.m[s.SourceID] = []byte(sb.String())
	m.mu.Unlock()
	return nil
}

// DiffName is the object holding what a run changed.
func DiffName(sourceID, runID string) string { return "diff/" + sourceID + "/" + runID }

// KeepDiffs is how many run diffs are kept per source.
const KeepDiffs = 60

// Diffs stores what each run changed: one "change<TAB>id" line per record
// (created, updated, unchanged, deleted, held).
type Diffs interface {
	SaveDiff(ctx context.Context, sourceID, runID string, write func(io.Writer) error) error
}

// SaveDiff writes a run's diff and prunes the oldest beyond KeepDiffs.
func (j *JetStream) SaveDiff(ctx context.Context, sourceID, runID string, write func(io.Writer) error) error {
	if err := j.put(ctx, DiffName(sourceID, runID), write); err != nil {
		return err
	}
	// A prune that did not happen is the next run's.
	_ = j.prune(ctx, sourceID)
	return nil
}

// pruneLimit bounds a prune. Listing the store makes a consumer, a request
// a JetStream cluster that lost its meta leader may never answer: the
// run's end waited on it until its own deadline, two minutes.
var pruneLimit = 15 * time.Second

func (j *JetStream) prune(ctx context.Context, sourceID string) error {
	ctx, cancel := context.WithTimeout(ctx, pruneLimit)
	defer cancel()
	list, err := j.os.List(ctx)
	if err != nil {
		return nil // nothing listed
	}
	prefix := "diff/" + sourceID + "/"
	var names []string
	for _, o := range list {
		if strings.HasPrefix(o.Name, prefix) {
			names = append(names, o.Name)
		}
	}
	if len(names) <= KeepDiffs {
		return nil
	}
	sort.Strings(names) // run ids sort by time
	for _, n := range names[:len(names)-KeepDiffs] {
		if err := j.os.Delete(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

// SaveDiff keeps a run's diff in memory.
func (m *Memory) SaveDiff(ctx context.Context, sourceID, runID string, write func(io.Writer) error) error {
	var sb strings.Builder
	if err := write(&sb); err != nil {
		return err
	}
	m.mu.Lock()
	m.m[DiffName(sourceID, runID)] = []byte(sb.String())
	m.mu.Unlock()
	return nil
}

// Diff returns a diff kept in memory (tests).
func (m *Memory) Diff(sourceID, runID string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return string(m.m[DiffName(sourceID, runID)])
}
