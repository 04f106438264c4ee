package bleve

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/opendatafrance/moisson/indexer/index"
	"github.com/opendatafrance/moisson/indexer/index/indextest"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"google.golang.org/protobuf/proto"
)

// The facets counted from the segments' columns (an index on disk) are
// those bleve counts from doc values (the index in memory), over several
// segments, deletions and updates.
func TestColumnFacetsMatchBleve(t *testing.T) {
	ctx := context.Background()
	// Merges put off: each write stays a segment.
	bi, err := bleve.NewUsing(filepath.Join(t.TempDir(), "index"), Mapping(), scorch.Name, scorch.Name, map[string]any{
		"scorchMergePlanOptions": map[string]any{"MaxSegmentsPerTier": 1000, "SegmentsPerMergeTask": 1000, "FloorSegmentSize": 1},
		"scorchPersisterOptions": map[string]any{"NumPersisterWorkers": 1, "MaxSizeInMemoryMergePerWorker": 0},
	})
	if err != nil {
		t.Fatal(err)
	}
	disk := &Index{idx: bi}
	defer disk.Close()
	if disk.facetCounter(index.FacetFields) == nil {
		t.Fatal("no facet counter on an index on disk")
	}
	mem, err := OpenMem()
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	if mem.facetCounter(index.FacetFields) != nil {
		t.Fatal("a facet counter on an index in memory")
	}

	fixtures := indextest.Datasets()
	r := rand.New(rand.NewPCG(7, 11))
	pick := func() *moissonv1.Dataset { return fixtures[r.IntN(len(fixtures))] }
	var ids []string
	write := func(ops []index.Op) {
		t.Helper()
		for _, x := range []*Index{disk, mem} {
			if errs, err := x.Write(ctx, ops); err != nil {
				t.Fatal(err)
			} else {
				for _, e := range errs {
					if e != nil {
						t.Fatal(e)
					}
				}
			}
		}
	}
	// Each write persisted before the next: not merged with it in memory.
	persisted := func() {
		t.Helper()
		for i := 0; i < 10000; i++ {
			adv, err := disk.idx.Advanced()
			if err != nil {
				t.Fatal(err)
			}
			reader, err := adv.(*scorch.Scorch).Reader()
			if err != nil {
				t.Fatal(err)
			}
			all := true
			for _, ss := range reader.(*scorch.IndexSnapshot).Segments() {
				if _, ok := ss.Segment().(interface{ Path() string }); !ok {
					all = false
				}
			}
			reader.Close()
			if all {
				return
			}
			time.Sleep(time.Millisecond)
		}
		t.Fatal("the writes were never persisted")
	}
	version := int64(1)
	// Several writes: several segments.
	for batch := 0; batch < 6; batch++ {
		var ops []index.Op
		for i := 0; i < 60; i++ {
			d := proto.Clone(pick()).(*moissonv1.Dataset)
			d.Id = fmt.Sprintf("gen-%d-%d", batch, i)
			// Mix the values of other records in.
			d.TerritoryId = pick().GetTerritoryId()
			d.Distributions = pick().GetDistributions()
			d.Themes = pick().GetThemes()
			d.License = pick().GetLicense()
			ids = append(ids, d.Id)
			version++
			ops = append(ops, index.Op{ID: d.Id, Version: version, Dataset: d})
		}
		write(ops)
		persisted()
	}
	// Deletions and updates.
	var ops []index.Op
	for i := 0; i < 40; i++ {
		version++
		id := ids[r.IntN(len(ids))]
		if i%2 == 0 {
			ops = append(ops, index.Op{ID: id, Version: version, Delete: true})
			continue
		}
		d := proto.Clone(pick()).(*moissonv1.Dataset)
		d.Id = id
		ops = append(ops, index.Op{ID: id, Version: version, Dataset: d})
	}
	write(ops)

	adv, err := disk.idx.Advanced()
	if err != nil {
		t.Fatal(err)
	}
	reader, err := adv.(*scorch.Scorch).Reader()
	if err != nil {
		t.Fatal(err)
	}
	segs := len(reader.(*scorch.IndexSnapshot).Segments())
	reader.Close()
	if segs < 3 {
		t.Errorf("%d segments: the test wants several", segs)
	}
	queries := 0
	for _, text := range []string{"", "arbres", "parcs relais", "budget", "zzzz"} {
		for _, filters := range []map[string][]string{
			nil,
			{index.FieldTerritory: {"paca"}},
			{index.FieldFormat: {"CSV"}, index.FieldTerritory: {"loire-atlantique", "bretagne"}},
		} {
			for _, size := range []int{3, 1000} {
				for _, minCount := range []int{0, 2} {
					q := index.Query{Text: text, Filters: filters, Size: 5, Facets: index.FacetFields, FacetSize: size, FacetMinCount: minCount}
					got, err := disk.Search(ctx, q)
					if err != nil {
						t.Fatal(err)
					}
					want, err := mem.Search(ctx, q)
					if err != nil {
						t.Fatal(err)
					}
					if got.Total != want.Total {
						t.Errorf("%+v: total %d, want %d", q, got.Total, want.Total)
					}
					for _, f := range index.FacetFields {
						if !reflect.DeepEqual(got.Facets[f], want.Facets[f]) {
							t.Errorf("%q %v size %d min %d, facet %s:\n got %v\nwant %v", text, filters, size, minCount, f, got.Facets[f], want.Facets[f])
						}
					}
					queries++
				}
			}
		}
	}
	if queries == 0 {
		t.Fatal("no query")
	}
}
