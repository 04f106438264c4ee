package fetch

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCacheLayout: an entry is one file in one of 256 directories under
// pages/, and the directories of the layouts before (four hexadecimal
// digits, one per entry; two, with a .json and a .body file per entry) are
// removed when the cache is opened; anything else stays.
func TestCacheLayout(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"ab12", "00ff", "keep", "ab", "abc"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"ab12/x.body", "ab/x.json", "ab/x.body"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c, err := NewCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	for d, want := range map[string]bool{"ab12": false, "00ff": false, "ab": false, "keep": true, "abc": true, "pages": true} {
		if _, err := os.Stat(filepath.Join(dir, d)); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", d, err == nil, want)
		}
	}
	const u = "https://example.org/api?page=2"
	b := c.store(u, cacheMeta{URL: u, ETag: `"v1"`, ContentType: "application/json"}, io.NopCloser(strings.NewReader(`{"a":1}`)))
	if _, err := io.ReadAll(b); err != nil {
		t.Fatal(err)
	}
	b.Close()
	files, _ := filepath.Glob(filepath.Join(dir, "pages", "*", "*"))
	if len(files) != 1 || !strings.HasSuffix(files[0], ".page") || len(filepath.Base(filepath.Dir(files[0]))) != 2 {
		t.Fatalf("entry files %v, want one .page file in a directory named by two hexadecimal digits", files)
	}
	e, ok := c.lookup(u)
	if !ok {
		t.Fatal("entry stored, not found")
	}
	body, _ := io.ReadAll(e.body)
	e.body.Close()
	if string(body) != `{"a":1}` || e.meta.ETag != `"v1"` || e.meta.ContentType != "application/json" {
		t.Errorf("entry read back: %q %+v", body, e.meta)
	}
}

// A damaged or foreign entry is a miss, not an error, and its file is not
// left open; a body not read to its end is not kept.
func TestCacheBadEntries(t *testing.T) {
	c, err := NewCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	put := func(u, content string) {
		p := c.path(u)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range map[string]string{
		"no newline":    `{"url":"https://a.org/1","etag":"x"}`,
		"bad json":      "{\"url\":\n body",
		"other url":     `{"url":"https://a.org/other","etag":"x"}` + "\nbody",
		"empty":         "",
		"huge metadata": `{"url":"` + strings.Repeat("a", maxMetaLine) + `"}` + "\nbody",
	} {
		u := "https://a.org/" + strings.ReplaceAll(name, " ", "-")
		put(u, strings.Replace(content, "https://a.org/1", u, 1))
		if e, ok := c.lookup(u); ok {
			e.body.Close()
			t.Errorf("%s: found", name)
		}
	}
	const u = "https://a.org/cut"
	b := c.store(u, cacheMeta{URL: u, ETag: "x"}, io.NopCloser(strings.NewReader("0123456789")))
	buf := make([]byte, 4)
	if _, err := b.Read(buf); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if e, ok := c.lookup(u); ok {
		e.body.Close()
		t.Error("a body read in part was kept")
	}
	if parts, _ := filepath.Glob(filepath.Join(filepath.Dir(c.path(u)), "part-*")); len(parts) != 0 {
		t.Errorf("temporary files left: %v", parts)
	}
}
