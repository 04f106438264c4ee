package index

import (
	"context"
	"slices"
	"strings"
)

// Filter values as people type them: "Bretagne" for bretagne, "csv" for
// CSV. ResolveFilters matches each value against the values the index
// holds for its field, case and accents aside, and tells the values it
// holds none of, with the close ones: a typo answers with a hint, not with
// a silent nothing.

// resolvable are the fields whose values are identifiers or names the
// index can list (not the composite evidence, nor the closed sets the API
// checks itself: quality, has_data).
var resolvable = []string{FieldTerritory, FieldPublisher, FieldFormat, FieldLicense, FieldSource, FieldProtocol,
	FieldTheme, FieldSchema, FieldMember, FieldPortal}

// resolveFacetSize bounds the values listed per field; a field with more
// (publishers of a very large index) is matched as given.
const resolveFacetSize = 1000

// UnknownValue is a filter value the index holds no record for.
type UnknownValue struct {
	Field      string   `json:"field"`
	Value      string   `json:"value"`
	DidYouMean []string `json:"did_you_mean"`
}

// ResolveFilters returns filters with each value replaced by the value the
// index holds that it names (same letters, case and accents aside), and
// the values that name none, each with up to 3 close known values.
func ResolveFilters(ctx context.Context, s Searcher, filters map[string][]string) (map[string][]string, []UnknownValue, error) {
	out := make(map[string][]string, len(filters))
	var unknown []UnknownValue
	for field, vals := range filters {
		if !slices.Contains(resolvable, field) || len(vals) == 0 {
			out[field] = vals
			continue
		}
		res, err := s.Search(ctx, Query{Size: 1, Facets: []string{field}, FacetSize: resolveFacetSize})
		if err != nil {
			return nil, nil, err
		}
		known := res.Facets[field]
		if len(known) == 0 || len(known) >= resolveFacetSize {
			out[field] = vals // nothing indexed yet, or too many to tell an unknown one
			continue
		}
		byFold := make(map[string]string, len(known))
		for _, k := range known {
			byFold[SortKey(k.Key)] = k.Key
		}
		for _, v := range vals {
			if k, ok := byFold[SortKey(v)]; ok {
				out[field] = append(out[field], k)
				continue
			}
			out[field] = append(out[field], v)
			unknown = append(unknown, UnknownValue{Field: field, Value: v, DidYouMean: closest(v, known, 3)})
		}
	}
	return out, unknown, nil
}

// closest lists up to n known values close to v: those containing it or
// contained in it, then those a few edits away, most records first.
func closest(v string, known []FacetCount, n int) []string {
	fv := SortKey(v)
	type cand struct {
		key  string
		dist int
		cnt  int64
	}
	var cs []cand
	for _, k := range known {
		fk := SortKey(k.Key)
		d := editDistance(fv, fk, 3)
		if fv != "" && (strings.Contains(fk, fv) || strings.Contains(fv, fk) && len(fk) > 2) {
			d = 0
		}
		if d <= max(1, min(3, len([]rune(fv))/3)) {
			cs = append(cs, cand{k.Key, d, k.Count})
		}
	}
	slices.SortFunc(cs, func(a, b cand) int {
		if a.dist != b.dist {
			return a.dist - b.dist
		}
		if a.cnt != b.cnt {
			if a.cnt > b.cnt {
				return -1
			}
			return 1
		}
		return strings.Compare(a.key, b.key)
	})
	out := []string{}
	for i := 0; i < len(cs) && i < n; i++ {
		out = append(out, cs[i].key)
	}
	return out
}

// editDistance is the Levenshtein distance of a and b, or limit+1 when it
// is over limit (the strings are not compared further).
func editDistance(a, b string, limit int) int {
	ra, rb := []rune(a), []rune(b)
	if d := len(ra) - len(rb); d > limit || -d > limit {
		return limit + 1
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		best := cur[0]
		for j := 1; j <= len(rb); j++ {
			c := 1
			if ra[i-1] == rb[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
			best = min(best, cur[j])
		}
		if best > limit {
			return limit + 1
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
