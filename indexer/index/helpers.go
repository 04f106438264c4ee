package index

import (
	"context"
	"slices"
	"time"
)

// MinModified is the earliest modification date a range filter can match:
// records without a date are indexed with the zero time, which no range
// includes (the normaliser refuses years before 1900 anyway).
var MinModified = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)

// ModifiedRange gives the bounds of a query's date filter: from (inclusive)
// and to (exclusive, zero for none); ok is false without a date filter.
func ModifiedRange(q Query) (from, to time.Time, ok bool) {
	if q.ModifiedAfter.IsZero() && q.ModifiedBefore.IsZero() {
		return from, to, false
	}
	from = q.ModifiedAfter.UTC()
	if from.Before(MinModified) {
		from = MinModified
	}
	return from, q.ModifiedBefore.UTC(), true
}

// maxSameAs bounds the records looked up for the same_as of one page.
const maxSameAs = 1000

// FillSameAs sets res.Hits[i].SameAs: the other records with the duplicate
// key of each item, found with a dup_key filter through search (the
// backend's own Search, without SameAs). Both backends share it.
func FillSameAs(ctx context.Context, search func(context.Context, Query) (*Result, error), res *Result) error {
	if len(res.Hits) != len(res.Items) {
		res.Hits = make([]Hit, len(res.Items))
	}
	if len(res.Items) == 0 {
		return nil
	}
	keys := make([]string, 0, len(res.Items))
	for _, d := range res.Items {
		if k := DupKey(d); !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	groups := map[string][]string{}
	q := Query{Filters: map[string][]string{FieldDupKey: keys}, Sort: SortTitle, Size: 200}
	for n := 0; n < maxSameAs; {
		page, err := search(ctx, q)
		if err != nil {
			return err
		}
		for _, d := range page.Items {
			k := DupKey(d)
			groups[k] = append(groups[k], d.GetId())
		}
		n += len(page.Items)
		if page.NextCursor == "" {
			break
		}
		q.Cursor = page.NextCursor
	}
	for i, d := range res.Items {
		var same []string
		for _, id := range groups[DupKey(d)] {
			if id != d.GetId() {
				same = append(same, id)
			}
		}
		slices.Sort(same)
		res.Hits[i].SameAs = same
	}
	return nil
}

// EnsureHits makes res.Hits parallel to res.Items.
func EnsureHits(res *Result) {
	if len(res.Hits) != len(res.Items) {
		res.Hits = make([]Hit, len(res.Items))
	}
}
