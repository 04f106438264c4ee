package indextest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"

	"github.com/opendatafrance/moisson/indexer/index"
)

// groups checks what the fixtures of Read cannot hold: a key too common to
// group, and groups that follow deletions at once.
func (s *suite) groups(t *testing.T) {
	ctx := context.Background()
	idx := s.open(t)
	write := func(ops ...index.Op) {
		t.Helper()
		items, err := idx.Write(ctx, ops)
		if err != nil {
			t.Fatalf("Write: %v", err)
		}
		for i, e := range items {
			if e != nil {
				t.Fatalf("Write item %d: %v", i, e)
			}
		}
		s.settle(idx)
	}
	// MaxGroupKey+2 records give the same listing page as landing page
	// (MaxGroupKey+1 still once one is deleted);
	// two of them are also linked by a UUID, and "c" links to "b" by an
	// address: a chain a – b – c.
	const common = "https://portal.example.fr/datasets"
	var ops []index.Op
	for i := range index.MaxGroupKey + 2 {
		d := &moissonv1.Dataset{Id: fmt.Sprintf("g-%02d", i), SourceId: "s", TerritoryId: "paca", Title: fmt.Sprintf("Jeu %d", i),
			OriginalId: fmt.Sprint(i), LandingPage: common}
		switch i {
		case 0:
			d.Id, d.Identifiers = "a", []string{"9f1c1a52-4a8e-4c0e-9d1b-2f6a0e3c5b71"}
		case 1:
			d.Id, d.OriginalId = "b", "9F1C1A52-4A8E-4C0E-9D1B-2F6A0E3C5B71"
			d.Uri = "https://portal.example.fr/datasets/b"
		case 2:
			d.Id, d.Identifiers = "c", []string{"http://portal.example.fr/datasets/b/"}
		}
		ops = append(ops, index.Op{ID: d.Id, Version: 1, Dataset: d})
	}
	write(ops...)
	total := int64(index.MaxGroupKey + 2)
	check := func(what string, wantDistinct int64, wantSame map[string][]string) {
		t.Helper()
		res, err := idx.Search(ctx, index.Query{Distinct: true, Size: 1, Facets: []string{index.FieldTerritory}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Distinct != wantDistinct {
			t.Errorf("%s: Distinct %d, want %d (of %d records)", what, res.Distinct, wantDistinct, res.Total)
		}
		if got := res.Facets[index.FieldTerritory]; len(got) != 1 || got[0].Count != wantDistinct {
			t.Errorf("%s: territory facet %v, want paca %d", what, got, wantDistinct)
		}
		for id, want := range wantSame {
			res, err := idx.Search(ctx, index.Query{SameAs: true, Filters: map[string][]string{index.FieldSource: {"s"}}, Sort: index.SortTitle, Size: 500})
			if err != nil {
				t.Fatal(err)
			}
			for i, d := range res.Items {
				if d.GetId() == id && !slices.Equal(res.Hits[i].SameAs, want) {
					t.Errorf("%s: %s same_as %v, want %v", what, id, res.Hits[i].SameAs, want)
				}
			}
		}
	}
	// The common page groups nothing; a – b – c is one dataset.
	check("common landing page", total-2, map[string][]string{"a": {"b", "c"}, "b": {"a", "c"}, "c": {"a", "b"}, "g-005": nil})
	// b deleted: a and c no longer linked.
	write(index.Op{Delete: true, ID: "b", Version: 2})
	check("b deleted", total-1, map[string][]string{"a": nil, "c": nil})
	// A record that shares the UUID comes: a is grouped again.
	write(index.Op{ID: "d", Version: 1, Dataset: &moissonv1.Dataset{Id: "d", SourceId: "s", TerritoryId: "paca", Title: "Autre titre",
		OriginalId: "d", Identifiers: []string{"urn:uuid:9f1c1a52-4a8e-4c0e-9d1b-2f6a0e3c5b71"}}})
	check("d added", total-1, map[string][]string{"a": {"d"}, "d": {"a"}, "c": nil})
}
