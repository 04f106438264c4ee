package fetch

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
)

// Cache keeps the bodies of answers that carry an ETag or a Last-Modified
// date, so the next harvest asks with If-None-Match / If-Modified-Since and,
// on 304 Not Modified, replays the kept body: the portal sends nothing, the
// adapter reads the same bytes, and unchanged records are not republished.
type Cache struct {
	dir  string
	made sync.Map // the entry directories known to exist
}

// NewCache opens (creating) a cache directory.
func NewCache(dir string) (*Cache, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	dropOldLayout(dir)
	return &Cache{dir: dir}, nil
}

// dropOldLayout removes the entries of the layout before 256 directories
// (directories named by four hexadecimal digits): never looked up again.
func dropOldLayout(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if _, err := hex.DecodeString(e.Name()); err == nil && len(e.Name()) == 4 && e.IsDir() {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}

type cacheMeta struct {
	URL          string `json:"url"`
	ETag         string `json:"etag"`
	LastModified string `json:"last_modified"`
	ContentType  string `json:"content_type"`
}

func (c *Cache) paths(u string) (meta, body string) {
	h := sha256.Sum256([]byte(u))
	// 256 directories: a few hundred entries each for a 100k-page cache;
	// one per entry (65 536 of them, as before) cost a mkdir per page.
	base := filepath.Join(c.dir, hex.EncodeToString(h[:1]), hex.EncodeToString(h[:]))
	return base + ".json", base + ".body"
}

func (c *Cache) lookup(u string) (*cacheMeta, bool) {
	mp, bp := c.paths(u)
	b, err := os.ReadFile(mp)
	if err != nil {
		return nil, false
	}
	var m cacheMeta
	if json.Unmarshal(b, &m) != nil || m.URL != u {
		return nil, false
	}
	if _, err := os.Stat(bp); err != nil {
		return nil, false
	}
	return &m, true
}

func (c *Cache) open(u string) (*os.File, error) {
	_, bp := c.paths(u)
	return os.Open(bp)
}

// store returns a body that copies what is read into the cache; the entry
// is kept only when the body was read to its end.
func (c *Cache) store(u string, m cacheMeta, body io.ReadCloser) io.ReadCloser {
	mp, bp := c.paths(u)
	dir := filepath.Dir(bp)
	if _, ok := c.made.Load(dir); !ok {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return body
		}
		c.made.Store(dir, struct{}{})
	}
	tmp, err := os.CreateTemp(dir, "part-*")
	if err != nil {
		// The directory may have been removed since (the cache wiped
		// while running): forget it, store this answer next time.
		c.made.Delete(dir)
		return body
	}
	return &teeBody{rc: body, tmp: tmp, w: bufio.NewWriterSize(tmp, 64<<10), meta: m, metaPath: mp, bodyPath: bp}
}

type teeBody struct {
	rc                 io.ReadCloser
	tmp                *os.File
	w                  *bufio.Writer // to tmp: a parser reads a few kB at a time
	meta               cacheMeta
	metaPath, bodyPath string
	failed, done       bool
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
	if t.done && !t.failed {
		if os.Rename(t.tmp.Name(), t.bodyPath) == nil {
			if b, merr := json.Marshal(t.meta); merr == nil {
				_ = os.WriteFile(t.metaPath, b, 0o644)
			}
			return err
		}
	}
	os.Remove(t.tmp.Name())
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
