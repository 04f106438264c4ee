package index

// Grouping records into datasets: the records that share a duplicate key
// (DupKeys), directly or through a chain of records, are one dataset. Both
// backends call FillSameAs and ApplyDistinct at the end of their Search, with
// their own Search (which then runs without SameAs and Distinct).
//
// Groups are resolved when asked, not at ingest: a record added, changed or
// deleted on any indexer moves the groups at once, with no relabelling pass
// and no ordering between indexers.

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
)

// SearchFunc is a backend's Search.
type SearchFunc func(context.Context, Query) (*Result, error)

const (
	// maxSameAs bounds the records looked up for the same_as of one page.
	maxSameAs = 1000
	// sameAsHops bounds the links followed from a record for its same_as.
	sameAsHops = 3
	// maxSharedKeys and maxGroupedRecords bound the work of one Distinct
	// search: the keys two of its hits share, and the hits that carry one.
	maxSharedKeys     = 60000
	maxGroupedRecords = 50000
)

// ErrTooManyGroups is the error of a Distinct search whose hits hold more
// duplicates than one search resolves (maxSharedKeys, maxGroupedRecords).
var ErrTooManyGroups = errors.New("too many duplicated records among the results to count distinct datasets; narrow the search")

// DistinctFacetSize is the facet size a backend asks for when the query
// counts distinct datasets and n values were asked: a margin, since
// counting groups can reorder the values (ApplyDistinct keeps n).
func DistinctFacetSize(n int) int {
	if n <= 0 {
		n = defaultFacetSize
	}
	return 2*n + 20
}

// defaultFacetSize is the facet size of a query without one.
const defaultFacetSize = 10

// groups is a union-find over record ids.
type groups map[string]string

func (g groups) find(id string) string {
	root := id
	for {
		p, ok := g[root]
		if !ok || p == root {
			break
		}
		root = p
	}
	for id != root { // path compression
		next := g[id]
		g[id] = root
		id = next
	}
	return root
}

func (g groups) union(a, b string) {
	ra, rb := g.find(a), g.find(b)
	if ra != rb {
		g[max(ra, rb)] = min(ra, rb)
	}
}

// link puts every record of byKey's lists in one group per key.
func link(byKey map[string][]string) groups {
	g := groups{}
	for _, ids := range byKey {
		for _, id := range ids {
			if _, ok := g[id]; !ok {
				g[id] = id
			}
		}
		for _, id := range ids[1:] {
			g.union(ids[0], id)
		}
	}
	return g
}

// FillSameAs sets res.Hits[i].SameAs: the other records of each item's
// dataset, following shared keys up to sameAsHops links from the item,
// ignoring keys more than MaxGroupKey records carry.
func FillSameAs(ctx context.Context, search SearchFunc, res *Result) error {
	EnsureHits(res)
	if len(res.Items) == 0 {
		return nil
	}
	keysOf := map[string][]string{} // record id → its keys
	for _, d := range res.Items {
		keysOf[d.GetId()] = DupKeys(d)
	}
	asked, common := map[string]bool{}, map[string]bool{}
	frontier := func() []string {
		var out []string
		for _, keys := range keysOf {
			for _, k := range keys {
				if !asked[k] && !common[k] {
					out = append(out, k)
				}
			}
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	for hop := 0; hop < sameAsHops && len(keysOf) < maxSameAs; hop++ {
		keys := frontier()
		if len(keys) == 0 {
			break
		}
		for _, k := range keys {
			asked[k] = true
		}
		found, tooCommon, err := lookupKeys(ctx, search, keys, maxSameAs)
		if err != nil {
			return err
		}
		for _, k := range tooCommon {
			common[k] = true
		}
		for id, ks := range found {
			// A record found only through a key too common to group
			// is not linked: leave it out.
			if slices.ContainsFunc(ks, func(k string) bool { return asked[k] && !common[k] }) {
				keysOf[id] = ks
			}
		}
	}
	byKey := map[string][]string{}
	for _, id := range slices.Sorted(maps.Keys(keysOf)) {
		for _, k := range keysOf[id] {
			if !common[k] {
				byKey[k] = append(byKey[k], id)
			}
		}
	}
	g := link(byKey)
	members := map[string][]string{}
	for id := range keysOf {
		r := g.find(id)
		members[r] = append(members[r], id)
	}
	for i, d := range res.Items {
		var same []string
		for _, id := range members[g.find(d.GetId())] {
			if id != d.GetId() {
				same = append(same, id)
			}
		}
		slices.Sort(same)
		res.Hits[i].SameAs = same
	}
	return nil
}

// lookupKeys finds up to limit records carrying one of keys, with their
// keys, and the keys among them that more than MaxGroupKey records carry.
// One search does both; only when such keys fill the page is it made again
// without them (a portal's home page as every landing page).
func lookupKeys(ctx context.Context, search SearchFunc, keys []string, limit int) (map[string][]string, []string, error) {
	q := Query{Filters: map[string][]string{FieldDupKey: keys}, Sort: SortTitle, Size: min(limit, 500), KeysOnly: true,
		Facets: []string{FieldDupKey}, FacetSize: 100, FacetMinCount: MaxGroupKey + 1}
	found := map[string][]string{}
	var tooCommon []string
	for first := true; ; first = false {
		page, err := search(ctx, q)
		if err != nil {
			return nil, nil, err
		}
		if first {
			for _, fc := range page.Facets[FieldDupKey] {
				if fc.Count > MaxGroupKey && slices.Contains(keys, fc.Key) {
					tooCommon = append(tooCommon, fc.Key)
				}
			}
			q.Facets, q.FacetSize, q.FacetMinCount = nil, 0, 0
			if page.NextCursor != "" && len(tooCommon) > 0 {
				rest := slices.DeleteFunc(slices.Clone(keys), func(k string) bool { return slices.Contains(tooCommon, k) })
				if len(rest) == 0 {
					return found, tooCommon, nil
				}
				q.Filters = map[string][]string{FieldDupKey: rest}
				continue
			}
		}
		for i, d := range page.Items {
			found[d.GetId()] = keysOf(page, i)
		}
		if page.NextCursor == "" || len(found) >= limit {
			return found, tooCommon, nil
		}
		q.Cursor = page.NextCursor
	}
}

// ApplyDistinct sets res.Distinct, the number of datasets among the hits of
// q (groups of hits linked by keys they share, each key carried by at most
// MaxGroupKey of them; links through records q does not select do not
// count), and turns the counts of q's DistinctFields facets into datasets: a
// group counts once for each value any of its records has. res holds the
// page of q computed with DistinctFacetSize values per facet; its facets
// are cut back to q.FacetSize.
func ApplyDistinct(ctx context.Context, search SearchFunc, q Query, res *Result) error {
	base := Query{Text: q.Text, Filters: q.Filters, ModifiedAfter: q.ModifiedAfter, ModifiedBefore: q.ModifiedBefore}
	kq := base
	kq.Size, kq.Facets, kq.FacetSize, kq.FacetMinCount = 1, []string{FieldDupKey}, maxSharedKeys, 2
	kr, err := search(ctx, kq)
	if err != nil {
		return err
	}
	if len(kr.Facets[FieldDupKey]) >= maxSharedKeys {
		return ErrTooManyGroups
	}
	var shared []string
	for _, fc := range kr.Facets[FieldDupKey] {
		if fc.Count >= 2 && fc.Count <= MaxGroupKey {
			shared = append(shared, fc.Key)
		}
	}
	slices.Sort(shared)

	// The hits carrying a shared key, with their keys and facet values.
	type member struct {
		id     string
		keys   []string
		values map[string][]string
	}
	var fields []string
	for _, f := range q.Facets {
		if slices.Contains(DistinctFields, f) {
			fields = append(fields, f)
		}
	}
	var members []member
	if len(shared) > 0 {
		fq := base
		fq.Filters = maps.Clone(base.Filters)
		if fq.Filters == nil {
			fq.Filters = map[string][]string{}
		}
		if _, ok := fq.Filters[FieldDupKey]; !ok {
			fq.Filters[FieldDupKey] = shared
		}
		// The records themselves only when facet values are needed.
		fq.Sort, fq.Size, fq.KeysOnly = SortTitle, 1000, len(fields) == 0
		for {
			page, err := search(ctx, fq)
			if err != nil {
				return err
			}
			for i, d := range page.Items {
				m := member{id: d.GetId(), values: map[string][]string{}}
				var keys []string
				if fq.KeysOnly {
					keys = keysOf(page, i)
				} else {
					doc := Flatten(d, 0)
					for _, f := range fields {
						m.values[f] = DocValues(doc, f)
					}
					keys = doc.DupKeys
				}
				for _, k := range keys {
					if _, ok := slices.BinarySearch(shared, k); ok {
						m.keys = append(m.keys, k)
					}
				}
				members = append(members, m)
			}
			if len(members) > maxGroupedRecords {
				return ErrTooManyGroups
			}
			if page.NextCursor == "" {
				break
			}
			fq.Cursor = page.NextCursor
		}
	}
	byKey := map[string][]string{}
	for _, m := range members {
		for _, k := range m.keys {
			byKey[k] = append(byKey[k], m.id)
		}
	}
	g := link(byKey)
	byGroup := map[string][]member{}
	for _, m := range members {
		if _, ok := g[m.id]; ok {
			r := g.find(m.id)
			byGroup[r] = append(byGroup[r], m)
		}
	}
	res.Distinct = res.Total
	fewer := map[string]map[string]int64{} // field → value → records beyond the first of a group
	for _, ms := range byGroup {
		res.Distinct -= int64(len(ms) - 1)
		for _, f := range fields {
			n := map[string]int64{}
			for _, m := range ms {
				for _, v := range m.values[f] {
					n[v]++
				}
			}
			for v, c := range n {
				if c > 1 {
					if fewer[f] == nil {
						fewer[f] = map[string]int64{}
					}
					fewer[f][v] += c - 1
				}
			}
		}
	}
	size := q.FacetSize
	if size <= 0 {
		size = defaultFacetSize
	}
	if res.Facets == nil && len(fields) > 0 {
		res.Facets = map[string][]FacetCount{}
	}
	for _, f := range fields {
		list := slices.Clone(res.Facets[f])
		for i := range list {
			list[i].Count -= fewer[f][list[i].Key]
		}
		slices.SortStableFunc(list, func(a, b FacetCount) int {
			if c := cmp.Compare(b.Count, a.Count); c != 0 {
				return c
			}
			return strings.Compare(a.Key, b.Key)
		})
		if len(list) > size {
			list = list[:size]
		}
		if list == nil {
			list = []FacetCount{}
		}
		res.Facets[f] = list
	}
	return nil
}

// keysOf gives the duplicate keys of the i-th item of a KeysOnly page (from
// the record itself when the searcher returned whole records).
func keysOf(page *Result, i int) []string {
	if len(page.Keys) == len(page.Items) {
		return page.Keys[i]
	}
	return DupKeys(page.Items[i])
}
