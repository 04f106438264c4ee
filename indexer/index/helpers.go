package index

import "time"

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

// EnsureHits makes res.Hits parallel to res.Items.
func EnsureHits(res *Result) {
	if len(res.Hits) != len(res.Items) {
		res.Hits = make([]Hit, len(res.Items))
	}
}
