package bleve

import (
	"path/filepath"
	"testing"

	"github.com/opendatafrance/moisson/indexer/index"
	"github.com/opendatafrance/moisson/indexer/index/indextest"
)

// The contract suite every backend passes, on an index on disk.
func TestContract(t *testing.T) {
	indextest.Run(t, func(t *testing.T) index.Index {
		x, err := Open(filepath.Join(t.TempDir(), "index"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { x.Close() })
		return x
	}, func(index.Index) {})
}
