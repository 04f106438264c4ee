package bleve

// Facet counts without doc values.
//
// bleve counts a terms facet by reading, for every matching document, the
// doc values of the field (a compressed chunk decoded, the terms turned into
// strings and counted in a map): with the eleven facets of a search page
// that is most of the time of a search that matches thousands of datasets.
//
// Here each segment of the index (immutable once written) gets, per facet
// field and on first use, a column: the ordinals of the terms of every
// document, read once from the term dictionary and the postings. A search
// then asks bleve for its hits only, and counts the facets of every match
// from the columns as the collector hands the matches over (a document match
// handler wrapping bleve's own), on the very snapshot the search runs on.
// The counts are the ones bleve would give: a document counts once per
// distinct term of the field, the terms are ordered by count descending then
// term, and cut to the size asked.

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/collector"
	"github.com/opendatafrance/moisson/indexer/index"
)

// column holds the terms of one field for every document of one segment:
// the terms of document d are terms[ords[start[d]:start[d+1]]].
type column struct {
	terms []string
	start []uint32
	ords  []uint32
	err   error
}

type columnKey struct {
	segment uint64 // SegmentSnapshot.Id: unique in the index, kept by merges' inputs only
	field   string
}

type columnEntry struct {
	once sync.Once
	col  *column
}

// columns caches the columns of the segments the index holds.
type columns struct {
	mu      sync.Mutex
	entries map[columnKey]*columnEntry
}

// column returns the column of field in the segment of ss, building it once.
func (c *columns) column(ss *scorch.SegmentSnapshot, field string) *column {
	k := columnKey{ss.Id(), field}
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[columnKey]*columnEntry{}
	}
	e, ok := c.entries[k]
	if !ok {
		e = &columnEntry{}
		c.entries[k] = e
	}
	c.mu.Unlock()
	e.once.Do(func() { e.col = buildColumn(ss, field) })
	return e.col
}

// prune forgets the columns of the segments the snapshot no longer has
// (merged away), once they outnumber the live ones.
func (c *columns) prune(snap *scorch.IndexSnapshot) {
	segs := snap.Segments()
	c.mu.Lock()
	defer c.mu.Unlock()
	live := map[uint64]bool{}
	for _, ss := range segs {
		live[ss.Id()] = true
	}
	stale := 0
	for k := range c.entries {
		if !live[k.segment] {
			stale++
		}
	}
	if stale <= len(c.entries)/2 {
		return
	}
	for k := range c.entries {
		if !live[k.segment] {
			delete(c.entries, k)
		}
	}
}

// buildColumn reads the column of field from the term dictionary and the
// postings of the segment (deleted documents included: they never match).
func buildColumn(ss *scorch.SegmentSnapshot, field string) *column {
	seg := ss.Segment()
	n := seg.Count()
	col := &column{start: make([]uint32, n+1)}
	dict, err := seg.Dictionary(field)
	if err != nil {
		col.err = err
		return col
	}
	// Two passes over the postings: the number of terms of each document,
	// then the terms in place.
	var docsOf [][]uint32
	it := dict.AutomatonIterator(nil, nil, nil)
	for {
		de, err := it.Next()
		if err != nil {
			col.err = err
			return col
		}
		if de == nil {
			break
		}
		pl, err := dict.PostingsList([]byte(de.Term), nil, nil)
		if err != nil {
			col.err = err
			return col
		}
		docs := make([]uint32, 0, pl.Count())
		pi := pl.Iterator(false, false, false, nil)
		for {
			p, err := pi.Next()
			if err != nil {
				col.err = err
				return col
			}
			if p == nil {
				break
			}
			d := p.Number()
			if d < n {
				docs = append(docs, uint32(d))
				col.start[d+1]++
			}
		}
		col.terms = append(col.terms, de.Term)
		docsOf = append(docsOf, docs)
	}
	for d := uint64(1); d <= n; d++ {
		col.start[d] += col.start[d-1]
	}
	col.ords = make([]uint32, col.start[n])
	fill := slices.Clone(col.start[:n])
	for ord, docs := range docsOf {
		for _, d := range docs {
			col.ords[fill[d]] = uint32(ord)
			fill[d]++
		}
	}
	return col
}

// facetCounter counts the facets of one search.
type facetCounter struct {
	cols   *columns
	fields []string
	sizes  []int
	// Set by the handler, on the search's snapshot.
	snap    *scorch.IndexSnapshot
	offsets []uint64 // first global document number of each segment
	perSeg  [][]*segCounts
	cur     int // segment of the last match
	err     error
}

type segCounts struct {
	col    *column
	counts []uint32
}

// columnField tells the facets counted from columns: not the duplicate
// keys, about one per record (a column would cost more to build than
// bleve's counting of the few records a grouping search matches).
func columnField(f string) bool { return f != index.FieldDupKey }

// facetCounter counts the facets of a search from the columns, nil when
// the index is not scorch (in memory: bleve counts them) or no facet asked
// is counted from columns.
func (x *Index) facetCounter(facets []string) *facetCounter {
	if !slices.ContainsFunc(facets, columnField) {
		return nil
	}
	if adv, err := x.idx.Advanced(); err != nil {
		return nil
	} else if _, ok := adv.(*scorch.Scorch); !ok {
		return nil
	}
	return &facetCounter{cols: &x.cols}
}

// done ends the counting of a search.
func (fc *facetCounter) done() error {
	if fc.snap != nil {
		fc.cols.prune(fc.snap)
	}
	return fc.err
}

// add asks for the size most frequent terms of field.
func (fc *facetCounter) add(field string, size int) {
	if i := slices.Index(fc.fields, field); i >= 0 {
		fc.sizes[i] = size
		return
	}
	fc.fields = append(fc.fields, field)
	fc.sizes = append(fc.sizes, size)
}

// context makes bleve hand the matches of a search run with it to the
// counter, then to its own top-N handler.
func (fc *facetCounter) context(ctx context.Context) context.Context {
	var maker search.MakeDocumentMatchHandler = func(sctx *search.SearchContext) (search.DocumentMatchHandler, bool, error) {
		next, loadID, err := collector.MakeTopNDocumentMatchHandler(sctx)
		if err != nil {
			return nil, false, err
		}
		snap, ok := sctx.IndexReader.(*scorch.IndexSnapshot)
		if !ok {
			return nil, false, errNotScorch
		}
		fc.start(snap)
		return func(d *search.DocumentMatch) error {
			if d != nil && fc.err == nil {
				fc.count(d.IndexInternalID.Value())
			}
			return next(d)
		}, loadID, nil
	}
	return context.WithValue(ctx, search.MakeDocumentMatchHandlerKey, maker)
}

var errNotScorch = errors.New("bleve: facet counter on an index that is not scorch")

func (fc *facetCounter) start(snap *scorch.IndexSnapshot) {
	fc.snap = snap
	segs := snap.Segments()
	fc.offsets = make([]uint64, len(segs)+1)
	for i, ss := range segs {
		fc.offsets[i+1] = fc.offsets[i] + ss.Segment().Count()
	}
	fc.perSeg = make([][]*segCounts, len(segs))
	fc.cur = 0
}

func (fc *facetCounter) count(doc uint64) {
	s := fc.cur
	if doc < fc.offsets[s] || doc >= fc.offsets[s+1] {
		// Matches mostly come in document order: look further only when
		// the segment changes.
		s, _ = slices.BinarySearch(fc.offsets, doc+1)
		s--
		if s < 0 || s >= len(fc.perSeg) {
			return
		}
		fc.cur = s
	}
	local := doc - fc.offsets[s]
	counts := fc.perSeg[s]
	if counts == nil {
		ss := fc.snap.Segments()[s]
		counts = make([]*segCounts, len(fc.fields))
		for i, f := range fc.fields {
			col := fc.cols.column(ss, f)
			if col.err != nil {
				fc.err = col.err
				return
			}
			counts[i] = &segCounts{col: col, counts: make([]uint32, len(col.terms))}
		}
		fc.perSeg[s] = counts
	}
	for _, sc := range counts {
		for _, o := range sc.col.ords[sc.col.start[local]:sc.col.start[local+1]] {
			sc.counts[o]++
		}
	}
}

// result is the facet of field: the size most frequent terms, by count
// descending then term, those counted fewer than minCount times left out.
func (fc *facetCounter) result(field string, minCount int) []index.FacetCount {
	i := slices.Index(fc.fields, field)
	if i < 0 {
		return []index.FacetCount{}
	}
	total := map[string]int64{}
	for _, counts := range fc.perSeg {
		if counts == nil {
			continue
		}
		sc := counts[i]
		for o, n := range sc.counts {
			if n > 0 {
				total[sc.col.terms[o]] += int64(n)
			}
		}
	}
	list := make([]index.FacetCount, 0, len(total))
	for k, n := range total {
		if n >= int64(max(minCount, 1)) {
			list = append(list, index.FacetCount{Key: k, Count: n})
		}
	}
	slices.SortFunc(list, func(a, b index.FacetCount) int {
		if a.Count != b.Count {
			return cmp.Compare(b.Count, a.Count)
		}
		return strings.Compare(a.Key, b.Key)
	})
	if size := fc.sizes[i]; len(list) > size {
		list = list[:size]
	}
	return list
}
