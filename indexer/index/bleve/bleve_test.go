package bleve

import (
	"context"
	"path/filepath"
	"strconv"
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

// An index made by an older mapping is rebuilt when opened: every record and
// its version are kept, and the new fields answer.
func TestRebuildOnOldMapping(t *testing.T) {
	path := filepath.Join(t.TempDir(), "index")
	x, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ds := indextest.Datasets()
	var ops []index.Op
	for _, d := range ds {
		ops = append(ops, index.Op{ID: d.GetId(), Version: 7, Dataset: d})
	}
	if _, err := x.Write(context.Background(), ops); err != nil {
		t.Fatal(err)
	}
	if err := x.idx.SetInternal(mappingKey, []byte("1")); err != nil {
		t.Fatal(err)
	}
	x.Close()
	x, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if v, _ := x.idx.GetInternal(mappingKey); string(v) != strconv.Itoa(MappingVersion) {
		t.Errorf("mapping version after rebuild: %q", v)
	}
	if n, _ := x.Count(context.Background()); n != int64(len(ds)) {
		t.Errorf("Count after rebuild = %d, want %d", n, len(ds))
	}
	if v, err := x.currentVersion(ds[0].GetId()); err != nil || v != 7 {
		t.Errorf("version after rebuild = %d, %v; want 7", v, err)
	}
	res, err := x.Search(context.Background(), index.Query{Filters: map[string][]string{index.FieldHasData: {"true", "false"}}, Size: 1})
	if err != nil || res.Total != int64(len(ds)) {
		t.Errorf("has_data after rebuild: %v, %v", res, err)
	}
}
