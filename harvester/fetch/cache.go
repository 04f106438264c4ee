package fetch

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
)

// Cache keeps the bodies of answers that carry an ETag or a Last-Modified
// date, so the next harvest asks with If-None-Match / If-Modified-Since and,
// on 304 Not Modified, replays the kept body: the portal sends nothing, the
// adapter reads the same bytes, and unchanged records are not republished.
//
// An entry is one file, pages/<xx>/<sha256 of the URL>.page: a line of JSON
// (the URL and the validators), then the body as received.
type Cache struct {
	dir  string   // the entries' root, <cache directory>/pages
	made sync.Map // the entry directories known to exist
}

// NewCache opens (creating) a cache directory.
func NewCache(dir string) (*Cache, error) {
	pages := filepath.Join(dir, "pages")
	if err := os.MkdirAll(pages, 0o755); err != nil {
		return nil, err
	}
	dropOldLayouts(dir)
	return &Cache{dir: pages}, nil
}

// dropOldLayouts removes the entries of the layouts before, never looked up
// again: directories named by four hexadecimal digits (one per entry), then
// by two (256 of them, with a .json and a .body file per entry).
func dropOldLayouts(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		n := e.Name()
		if _, err := hex.DecodeString(n); err == nil && (len(n) == 4 || len(n) == 2) && e.IsDir() {
			os.RemoveAll(filepath.Join(dir, n))
		}
	}
}

type cacheMeta struct {
	URL          string `json:"url"`
	ETag         string `json:"etag"`
	LastModified string `json:"last_modified"`
	ContentType  string `json:"content_type"`
}

// maxMetaLine bounds an entry's first line (a URL and two validators).
const maxMetaLine = 64 << 10

func (c *Cache) path(u string) string {
	h := sha256.Sum256([]byte(u))
	// 256 directories: a few hundred entries each for a 100k-page cache;
	// one per entry (65 536 of them, as before) cost a mkdir per page.
	return filepath.Join(c.dir, hex.EncodeToString(h[:1]), hex.EncodeToString(h[:])+".page")
}

// cached is an entry found: its validators, and its file positioned at the
// body (to replay on 304, else to close).
type cached struct {
	meta cacheMeta
	body *os.File
}

// lookup finds the entry of u; a missing, truncated or foreign entry is a
// miss.
func (c *Cache) lookup(u string) (*cached, bool) {
	f, err := os.Open(c.path(u))
	if err != nil {
		return nil, false
	}
	var m cacheMeta
	if n, ok := readMeta(f, &m); ok && m.URL == u {
		if _, err := f.Seek(n, io.SeekStart); err == nil {
			return &cached{meta: m, body: f}, true
		}
	}
	f.Close()
	return nil, false
}

// readMeta reads an entry's first line into m and returns where the body
// starts.
func readMeta(f *os.File, m *cacheMeta) (int64, bool) {
	buf := make([]byte, 0, 1024)
	for len(buf) < maxMetaLine {
		k, err := f.Read(buf[len(buf):min(cap(buf), maxMetaLine)])
		buf = buf[:len(buf)+k]
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			return int64(i + 1), json.Unmarshal(buf[:i], m) == nil
		}
		if err != nil {
			return 0, false
		}
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, len(buf))
		}
	}
	return 0, false
}

// store returns a body that copies what is read into the cache; the entry
// is kept only when the body was read to its end.
func (c *Cache) store(u string, m cacheMeta, body io.ReadCloser) io.ReadCloser {
	path := c.path(u)
	dir := filepath.Dir(path)
	if _, ok := c.made.Load(dir); !ok {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return body
		}
		c.made.Store(dir, struct{}{})
	}
	line, err := json.Marshal(m)
	if err != nil {
		return body
	}
	tmp, err := os.CreateTemp(dir, "part-*")
	if err != nil {
		// The directory may have been removed since (the cache wiped
		// while running): forget it, store this answer next time.
		c.made.Delete(dir)
		return body
	}
	t := &teeBody{rc: body, tmp: tmp, w: bufio.NewWriterSize(tmp, 64<<10), path: path}
	t.w.Write(append(line, '\n')) // an error shows at Flush
	return t
}

type teeBody struct {
	rc           io.ReadCloser
	tmp          *os.File
	w            *bufio.Writer // to tmp: a parser reads a few kB at a time
	path         string
	failed, done bool
}

func (t *teeBody) Read(p []byte) (int, error) {
	n, err := t.rc.Read(p)
	if n > 0 && !t.failed {
		if _, werr := t.w.Write(p[:n]); werr != nil {
			t.failed = true
		}
	}
	if err == io.EOF {
		t.done = true
	}
	return n, err
}

func (t *teeBody) Close() error {
	err := t.rc.Close()
	if t.done && !t.failed && t.w.Flush() != nil {
		t.failed = true
	}
	t.tmp.Close()
	if !t.done || t.failed || os.Rename(t.tmp.Name(), t.path) != nil {
		os.Remove(t.tmp.Name())
	}
	return err
}

// Stats counts, for one harvest run, what the cache saved.
type Stats struct {
	NotModified atomic.Int64 // answers 304 replayed from the cache
}

type statsKey struct{}

// WithStats attaches run statistics to a context.
func WithStats(ctx context.Context, s *Stats) context.Context {
	return context.WithValue(ctx, statsKey{}, s)
}

func statsOf(ctx context.Context) *Stats {
	s, _ := ctx.Value(statsKey{}).(*Stats)
	return s
}
