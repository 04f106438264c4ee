package bleve

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/opendatafrance/moisson/indexer/index"
	"github.com/opendatafrance/moisson/indexer/index/indextest"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
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
	if vs, err := x.currentVersions(context.Background(), []string{ds[0].GetId()}); err != nil || vs[ds[0].GetId()].version != 7 {
		t.Errorf("version after rebuild = %+v, %v; want 7", vs, err)
	}
	res, err := x.Search(context.Background(), index.Query{Filters: map[string][]string{index.FieldHasData: {"true", "false"}}, Size: 1})
	if err != nil || res.Total != int64(len(ds)) {
		t.Errorf("has_data after rebuild: %v, %v", res, err)
	}
}

// Indexes made before mapping 6 kept each record as JSON: a rebuild reads
// them, and the records come back whole.
func TestRebuildFromJSONRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "index")
	x, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ds := indextest.Datasets()
	batch := x.idx.NewBatch()
	for _, d := range ds {
		doc, err := index.NewDocument(d, 3) // raw as protojson, as mapping 5 did
		if err != nil {
			t.Fatal(err)
		}
		if err := batch.Index(d.GetId(), doc); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.idx.Batch(batch); err != nil {
		t.Fatal(err)
	}
	if err := x.idx.SetInternal(mappingKey, []byte("5")); err != nil {
		t.Fatal(err)
	}
	x.Close()
	if x, err = Open(path); err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	for _, d := range ds {
		got, err := x.Get(context.Background(), d.GetId())
		if err != nil || !proto.Equal(got, d) {
			t.Fatalf("%s after rebuild: %v, %v", d.GetId(), got, err)
		}
	}
	res, err := x.idx.GetInternal(mappingKey)
	if err != nil || string(res) != strconv.Itoa(MappingVersion) {
		t.Errorf("mapping after rebuild %q, %v", res, err)
	}
}

// BenchmarkWrite writes batches of 500 generated records into an index on
// disk that grows through the benchmark (records/s reported).
func BenchmarkWrite(b *testing.B) {
	x, err := Open(filepath.Join(b.TempDir(), "index"))
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	words := []string{"Délibérations", "Équipements sportifs", "Budget primitif", "Qualité de l'air", "Subventions"}
	n := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ops := make([]index.Op, 500)
		for j := range ops {
			n++
			id := fmt.Sprintf("src-%08d", n)
			ops[j] = index.Op{ID: id, Version: int64(n), Dataset: &moissonv1.Dataset{
				Id: id, Title: fmt.Sprintf("%s de la commune %d", words[n%len(words)], n), TerritoryId: "bretagne",
				Description: strings.Repeat("Un jeu de données publié par la collectivité sur son portail. ", 8),
				Keywords:    []string{"open data", words[n%len(words)]}, Publisher: &moissonv1.Publisher{Name: "Région"},
				License:       &moissonv1.License{Normalized: "etalab-2.0"},
				Distributions: []*moissonv1.Distribution{{Url: "https://x.example/" + id + ".csv", Format: "CSV"}},
			}}
		}
		if _, err := x.Write(context.Background(), ops); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*500)/b.Elapsed().Seconds(), "records/s")
}

// Segments counts the segments a search reads (0 in memory).
func TestSegments(t *testing.T) {
	x, err := Open(filepath.Join(t.TempDir(), "index"))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if n := x.Segments(); n != 0 {
		t.Errorf("empty index: %d segments", n)
	}
	ds := indextest.Datasets()
	for i, d := range ds[:3] {
		if _, err := x.Write(context.Background(), []index.Op{{ID: d.GetId(), Version: int64(i + 1), Dataset: d}}); err != nil {
			t.Fatal(err)
		}
	}
	if n := x.Segments(); n < 1 || n > 3 {
		t.Errorf("after 3 batches: %d segments, want 1 to 3", n)
	}
	mem, err := OpenMem()
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	if n := mem.Segments(); n != 0 {
		t.Errorf("index in memory: %d segments, want 0", n)
	}
}
