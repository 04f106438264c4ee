package fetch

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCacheLayout: entries go to one of 256 directories, and the
// directories of the layout before (four hexadecimal digits, one per
// entry) are removed when the cache is opened; anything else stays.
func TestCacheLayout(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"ab12", "00ff", "keep", "ab"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "ab12", "x.body"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := NewCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	for d, want := range map[string]bool{"ab12": false, "00ff": false, "keep": true, "ab": true} {
		if _, err := os.Stat(filepath.Join(dir, d)); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", d, err == nil, want)
		}
	}
	meta, body := c.paths("https://example.org/api?page=2")
	if filepath.Dir(meta) != filepath.Dir(body) || len(filepath.Base(filepath.Dir(body))) != 2 {
		t.Errorf("entry at %s, want in a directory named by two hexadecimal digits", body)
	}
}
