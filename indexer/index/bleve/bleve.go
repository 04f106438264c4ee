// Package bleve is the embedded index: one directory on disk, French
// analysis (elision, lower case, accent folding, stop words, light stemming),
// the same query semantics as the Elasticsearch backend.
package bleve

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/lang/fr"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/registry"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/highlight/format/html"
	_ "github.com/blevesearch/bleve/v2/search/highlight/highlighter/html"
	"github.com/blevesearch/bleve/v2/search/query"
	"github.com/opendatafrance/moisson/indexer/index"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"google.golang.org/protobuf/proto"
)

// Analyzer is the name of the French analyser of full-text fields.
const Analyzer = "moisson_fr"

// Index is a bleve index implementing index.Index.
type Index struct {
	idx bleve.Index
	mu  sync.Mutex // serialises writes (version checks)
	gen atomic.Uint64
	// cols are the facet columns of the segments (facets.go).
	cols columns
}

var _ index.Index = (*Index)(nil)

// MappingVersion is bumped whenever Mapping or index.Document change; an
// index on disk made with an older version is rebuilt from the records it
// keeps when opened.
const MappingVersion = 6

var mappingKey = []byte("moisson:mapping-version")

// Open opens the index at path, creating it if needed. An index made with an
// older mapping is rebuilt first (see rebuild).
func Open(path string) (*Index, error) {
	var idx bleve.Index
	var err error
	if _, statErr := os.Stat(path); statErr == nil {
		idx, err = bleve.Open(path)
		if err == nil {
			var v []byte
			if v, err = idx.GetInternal(mappingKey); err == nil && string(v) != strconv.Itoa(MappingVersion) {
				idx.Close()
				if err = rebuild(path); err == nil {
					idx, err = bleve.Open(path)
				}
			}
		}
	} else {
		idx, err = newIndex(path)
	}
	if err != nil {
		return nil, fmt.Errorf("bleve index %s: %w", path, err)
	}
	return &Index{idx: idx}, nil
}

func newIndex(path string) (bleve.Index, error) {
	idx, err := bleve.New(path, Mapping())
	if err != nil {
		return nil, err
	}
	if err := idx.SetInternal(mappingKey, []byte(strconv.Itoa(MappingVersion))); err != nil {
		idx.Close()
		return nil, err
	}
	return idx, nil
}

// rebuild re-creates the index at path with the current mapping from the
// records and versions it holds, then swaps the directories. Deletion
// tombstones are not carried over.
func rebuild(path string) error {
	old, err := bleve.Open(path)
	if err != nil {
		return err
	}
	oldOpen := true
	defer func() {
		if oldOpen {
			old.Close()
		}
	}()
	tmp := path + ".rebuild"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	fresh, err := newIndex(tmp)
	if err != nil {
		return err
	}
	const page = 1000
	req := bleve.NewSearchRequestOptions(query.NewMatchAllQuery(), page, 0, false)
	req.Fields = []string{"raw", "version_key"}
	req.SortBy([]string{"_id"})
	for {
		res, err := old.Search(req)
		if err != nil {
			fresh.Close()
			return err
		}
		batch := fresh.NewBatch()
		for _, h := range res.Hits {
			raw, _ := h.Fields["raw"].(string)
			d, err := decodeRaw(raw)
			if err != nil {
				continue
			}
			// The version: stored with the document since mapping 3,
			// in internal storage before.
			var v int64
			if key, ok := h.Fields["version_key"].(string); ok {
				v, _ = strconv.ParseInt(key, 10, 64)
			} else {
				ver, err := old.GetInternal(verKey(h.ID))
				if err != nil {
					fresh.Close()
					return err
				}
				v, _ = strconv.ParseInt(string(ver), 10, 64)
			}
			doc, err := newDocument(d, v)
			if err != nil {
				continue
			}
			if err := batch.Index(h.ID, doc); err != nil {
				continue
			}
		}
		if err := fresh.Batch(batch); err != nil {
			fresh.Close()
			return err
		}
		if len(res.Hits) < page {
			break
		}
		req.SearchAfter = []string{res.Hits[len(res.Hits)-1].ID}
	}
	if err := fresh.Close(); err != nil {
		return err
	}
	oldOpen = false
	if err := old.Close(); err != nil {
		return err
	}
	gone := path + ".old"
	if err := os.RemoveAll(gone); err != nil {
		return err
	}
	if err := os.Rename(path, gone); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return os.RemoveAll(gone)
}

// OpenMem opens an index in memory (tests, benchmarks).
func OpenMem() (*Index, error) {
	idx, err := bleve.NewMemOnly(Mapping())
	if err != nil {
		return nil, err
	}
	return &Index{idx: idx}, nil
}

// Mapping is the index mapping.
func Mapping() mapping.IndexMapping {
	m := bleve.NewIndexMapping()
	// Folding is a token filter, not a char filter: char filters that
	// change the length of the text shift the offsets highlights use.
	err := m.AddCustomAnalyzer(Analyzer, map[string]any{
		"type":          custom.Name,
		"tokenizer":     unicode.Name,
		"token_filters": []any{lowercase.Name, foldFilterName, fr.ElisionName, fr.StopName, fr.LightStemmerName},
	})
	if err != nil {
		panic(err)
	}
	doc := bleve.NewDocumentStaticMapping()
	text := func(store bool) *mapping.FieldMapping {
		f := bleve.NewTextFieldMapping()
		f.Analyzer = Analyzer
		f.Store = store
		f.IncludeTermVectors = store
		f.IncludeInAll = false
		// Nothing sorts or counts on analysed terms (titles sort on
		// title_sort): no doc values to build and merge.
		f.DocValues = false
		return f
	}
	kw := func() *mapping.FieldMapping {
		f := bleve.NewKeywordFieldMapping()
		f.Analyzer = keyword.Name
		f.Store = false
		f.IncludeInAll = false
		f.DocValues = true
		// Term vectors serve highlights and phrases, which keyword
		// fields never have (bleve's default keeps them).
		f.IncludeTermVectors = false
		return f
	}
	// Title and description are stored with term vectors: highlights.
	doc.AddFieldMappingsAt("title", text(true))
	doc.AddFieldMappingsAt("description", text(true))
	doc.AddFieldMappingsAt("keywords", text(false))
	for _, f := range append([]string{"title_sort"}, index.FacetFields...) {
		m := kw()
		// Stored: grouping reads the keys of many records (KeysOnly).
		m.Store = f == index.FieldDupKey
		doc.AddFieldMappingsAt(f, m)
	}
	score := bleve.NewNumericFieldMapping()
	score.Store = false
	score.IncludeInAll = false
	score.DocValues = true
	doc.AddFieldMappingsAt("quality_score_n", score)
	mod := bleve.NewDateTimeFieldMapping()
	mod.Store = false
	mod.IncludeInAll = false
	doc.AddFieldMappingsAt("modified", mod)
	raw := bleve.NewTextFieldMapping()
	raw.Index = false
	raw.Store = true
	raw.IncludeInAll = false
	raw.DocValues = false
	doc.AddFieldMappingsAt("raw", raw)
	ver := bleve.NewTextFieldMapping()
	ver.Index = false
	ver.Store = true
	ver.IncludeInAll = false
	ver.DocValues = false
	doc.AddFieldMappingsAt("version_key", ver)
	// No "_all" field: every field is searched by name, and an empty
	// composite field still cost 3 % of a harvest's CPU to build.
	doc.AddSubDocumentMapping("_all", bleve.NewDocumentDisabledMapping())
	m.DefaultMapping = doc
	m.DefaultAnalyzer = Analyzer
	return m
}

// The record is kept in the index in the protobuf binary encoding: five
// times quicker to write and read than its JSON, and smaller. (Indexes
// made before mapping 6 kept its JSON, which rebuild reads.)
func newDocument(d *moissonv1.Dataset, version int64) (*index.Document, error) {
	raw, err := proto.Marshal(d)
	if err != nil {
		return nil, err
	}
	doc := index.Flatten(d, version)
	doc.Raw = string(raw)
	return doc, nil
}

func decodeRaw(raw string) (*moissonv1.Dataset, error) {
	if strings.HasPrefix(raw, "{") {
		// JSON: the binary encoding of a Dataset never starts with '{'
		// (field 15, wire type 3: a group, which proto3 does not write).
		return index.DecodeRaw(raw)
	}
	var d moissonv1.Dataset
	if err := proto.Unmarshal([]byte(raw), &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// foldFilterName is the token filter folding accents and ligatures (é → e,
// œ → oe) and apostrophes (’ ʼ ‘ ´ → ').
const foldFilterName = "moisson_fold"

type foldFilter struct{}

var apostrophes = strings.NewReplacer("ʼ", "'", "‘", "'", "´", "'")

func (foldFilter) Filter(input analysis.TokenStream) analysis.TokenStream {
	for _, t := range input {
		if isASCII(t.Term) {
			continue // nothing to fold, no typographic apostrophe
		}
		s := string(t.Term)
		if f := apostrophes.Replace(index.Fold(s)); f != s {
			t.Term = []byte(f)
		}
	}
	return input
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func init() {
	registry.RegisterTokenFilter(foldFilterName, func(map[string]any, *registry.Cache) (analysis.TokenFilter, error) {
		return foldFilter{}, nil
	})
}

// Health: the embedded index is one process's, always there while open.
func (x *Index) Health(context.Context) (index.Health, error) {
	return index.Health{Backend: "embedded", Status: "green", Nodes: 1}, nil
}

// Close closes the index.
func (x *Index) Close() error { return x.idx.Close() }

// A document's version is stored with it (version_key, a decimal string: a
// stored number would round nanosecond versions through float64). A
// deleted document leaves its version as a tombstone in the index's
// internal storage, so a late redelivery of an older upsert does not
// resurrect it; tombstones are the only internal entries per record, so
// that storage stays small (scorch copies and persists it whole).
func verKey(id string) []byte { return []byte("ver:" + id) }

// Write applies ops, never letting a smaller version overwrite a larger one.
func (x *Index) Write(ctx context.Context, ops []index.Op) ([]error, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	items := make([]error, len(ops))
	ids := make([]string, 0, len(ops))
	for _, op := range ops {
		if op.ID != "" {
			ids = append(ids, op.ID)
		}
	}
	// Versions now in the index, then as decided inside this batch.
	current, err := x.currentVersions(ctx, ids)
	if err != nil {
		return nil, err
	}
	batch := x.idx.NewBatch()
	for i, op := range ops {
		if op.ID == "" {
			items[i] = &index.PermanentError{Reason: "record without id"}
			continue
		}
		cur, known := current[op.ID]
		if known && op.Version < cur.version {
			continue // superseded: a newer version is already there
		}
		if op.Delete {
			batch.Delete(op.ID)
			batch.SetInternal(verKey(op.ID), []byte(strconv.FormatInt(op.Version, 10)))
			current[op.ID] = versionOf{op.Version, true}
			continue
		}
		if op.Dataset == nil {
			items[i] = &index.PermanentError{Reason: "upsert without dataset"}
			continue
		}
		doc, err := newDocument(op.Dataset, op.Version)
		if err != nil {
			items[i] = &index.PermanentError{Reason: err.Error()}
			continue
		}
		if err := batch.Index(op.ID, doc); err != nil {
			items[i] = &index.PermanentError{Reason: err.Error()}
			continue
		}
		if known && cur.tombstone {
			batch.DeleteInternal(verKey(op.ID))
		}
		current[op.ID] = versionOf{op.Version, false}
	}
	if batch.Size() > 0 {
		if err := x.idx.Batch(batch); err != nil {
			return nil, err
		}
		x.gen.Add(1)
	}
	return items, nil
}

// Segments is the number of segments a search reads now (0 for an index
// in memory).
func (x *Index) Segments() int {
	adv, err := x.idx.Advanced()
	if err != nil {
		return 0
	}
	sc, ok := adv.(*scorch.Scorch)
	if !ok {
		return 0
	}
	r, err := sc.Reader()
	if err != nil {
		return 0
	}
	defer r.Close()
	snap, ok := r.(*scorch.IndexSnapshot)
	if !ok {
		return 0
	}
	return len(snap.Segments())
}

// Generation grows with every write (index.Generational).
func (x *Index) Generation() uint64 { return x.gen.Load() }

type versionOf struct {
	version   int64
	tombstone bool
}

// currentVersions finds the versions of ids: stored with the documents
// (one search for the whole batch), else as tombstones.
func (x *Index) currentVersions(ctx context.Context, ids []string) (map[string]versionOf, error) {
	out := make(map[string]versionOf, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	req := bleve.NewSearchRequestOptions(query.NewDocIDQuery(ids), len(ids), 0, false)
	req.Fields = []string{"version_key"}
	res, err := x.idx.SearchInContext(ctx, req)
	if err != nil {
		return nil, err
	}
	for _, h := range res.Hits {
		if s, ok := h.Fields["version_key"].(string); ok {
			if v, err := strconv.ParseInt(s, 10, 64); err == nil {
				out[h.ID] = versionOf{v, false}
			}
		}
	}
	for _, id := range ids {
		if _, ok := out[id]; ok {
			continue
		}
		t, err := x.idx.GetInternal(verKey(id))
		if err != nil {
			return nil, err
		}
		if t != nil {
			if v, err := strconv.ParseInt(string(t), 10, 64); err == nil {
				out[id] = versionOf{v, true}
			}
		}
	}
	return out, nil
}

// Get returns a dataset by id.
func (x *Index) Get(ctx context.Context, id string) (*moissonv1.Dataset, error) {
	req := bleve.NewSearchRequest(query.NewDocIDQuery([]string{id}))
	req.Fields = []string{"raw"}
	req.Size = 1
	res, err := x.idx.SearchInContext(ctx, req)
	if err != nil {
		return nil, err
	}
	if len(res.Hits) == 0 {
		return nil, index.ErrNotFound
	}
	raw, _ := res.Hits[0].Fields["raw"].(string)
	return decodeRaw(raw)
}

// Count is the number of datasets.
func (x *Index) Count(ctx context.Context) (int64, error) {
	n, err := x.idx.DocCount()
	return int64(n), err
}

// textQuery: every word of the text must match, in the title (×3), the
// keywords (×2) or the description. Words go through the index's analyser
// and become term queries: no query syntax ever reaches bleve.
func (x *Index) textQuery(text string) (query.Query, error) {
	an := x.idx.Mapping().AnalyzerNamed(Analyzer)
	if an == nil {
		return nil, errors.New("analyser missing")
	}
	toks := an.Analyze([]byte(text))
	if len(toks) == 0 {
		if strings.TrimSpace(text) == "" {
			return query.NewMatchAllQuery(), nil
		}
		// Only stop words or punctuation: nothing can match.
		return query.NewMatchNoneQuery(), nil
	}
	seen := map[string]bool{}
	var conj []query.Query
	for _, t := range toks {
		term := string(t.Term)
		if seen[term] {
			continue
		}
		seen[term] = true
		var dis []query.Query
		for _, f := range []struct {
			name  string
			boost float64
		}{{"title", 3}, {"keywords", 2}, {"description", 1}} {
			q := query.NewTermQuery(term)
			q.SetField(f.name)
			q.SetBoost(f.boost)
			dis = append(dis, q)
		}
		conj = append(conj, query.NewDisjunctionQuery(dis))
	}
	return query.NewConjunctionQuery(conj), nil
}

func (x *Index) buildQuery(q index.Query) (query.Query, error) {
	tq, err := x.textQuery(q.Text)
	if err != nil {
		return nil, err
	}
	parts := []query.Query{tq}
	for field, values := range q.Filters {
		if !index.IsFacetField(field) {
			return nil, fmt.Errorf("unknown filter %q", field)
		}
		if len(values) == 0 {
			continue
		}
		var dis []query.Query
		for _, v := range values {
			t := query.NewTermQuery(v)
			t.SetField(field)
			dis = append(dis, t)
		}
		parts = append(parts, query.NewDisjunctionQuery(dis))
	}
	if from, to, ok := index.ModifiedRange(q); ok {
		incl, excl := true, false
		var end time.Time
		if !to.IsZero() {
			end = to
		}
		r := query.NewDateRangeInclusiveQuery(from, end, &incl, &excl)
		r.SetField("modified")
		parts = append(parts, r)
	}
	if len(parts) == 1 {
		return tq, nil
	}
	return query.NewConjunctionQuery(parts), nil
}

type cursor struct {
	Sort  string   `json:"s"`
	After []string `json:"a"`
}

// sortFields gives the bleve sort of each order.
var sortFields = map[string][]string{
	index.SortRelevance: {"-_score", "_id"},
	index.SortModified:  {"-modified", "_id"},
	index.SortTitle:     {"title_sort", "_id"},
	index.SortQuality:   {"-quality_score_n", "_id"},
}

// Search runs a query.
func (x *Index) Search(ctx context.Context, q index.Query) (*index.Result, error) {
	bq, err := x.buildQuery(q)
	if err != nil {
		return nil, err
	}
	size := q.Size
	if size <= 0 {
		size = 20
	}
	sortName := q.Sort
	if sortName == "" {
		sortName = index.SortRelevance
	}
	sortBy, ok := sortFields[sortName]
	if !ok {
		return nil, fmt.Errorf("unknown sort %q", q.Sort)
	}
	if err := index.CheckOffset(q); err != nil {
		return nil, err
	}
	req := bleve.NewSearchRequestOptions(bq, size, q.Offset, false)
	req.Fields = []string{"raw"}
	if q.KeysOnly {
		req.Fields = []string{index.FieldDupKey}
	}
	req.SortBy(sortBy)
	if q.Cursor != "" {
		c, err := decodeCursor(q.Cursor)
		if err != nil || c.Sort != sortName || len(c.After) != 2 {
			return nil, index.ErrBadCursor
		}
		if sortName == index.SortRelevance {
			if _, err := strconv.ParseFloat(c.After[0], 64); err != nil {
				return nil, index.ErrBadCursor
			}
			// Scores move when documents are added (term statistics):
			// the page starts after the last item as it scores now.
			if score, ok, err := x.scoreOf(ctx, bq, c.After[1]); err != nil {
				return nil, err
			} else if ok {
				c.After[0] = score
			}
		}
		req.SearchAfter = c.After
	}
	if q.Highlight && strings.TrimSpace(q.Text) != "" {
		req.Highlight = bleve.NewHighlightWithStyle(html.Name)
		req.Highlight.AddField("title")
		req.Highlight.AddField("description")
	}
	facetSize := q.FacetSize
	if facetSize <= 0 {
		facetSize = 10
	}
	// Facets are counted from columns (facets.go) on an index on disk.
	fc := x.facetCounter(q.Facets)
	for _, f := range q.Facets {
		if !index.IsFacetField(f) {
			return nil, fmt.Errorf("unknown facet %q", f)
		}
		n := facetSize
		if q.Distinct && slices.Contains(index.DistinctFields, f) {
			n = index.DistinctFacetSize(q.FacetSize)
		}
		if fc != nil && columnField(f) {
			fc.add(f, n)
			continue
		}
		req.AddFacet(f, bleve.NewFacetRequest(f, n))
	}
	sctx := ctx
	if fc != nil {
		sctx = fc.context(ctx)
	}
	res, err := x.idx.SearchInContext(sctx, req)
	if err == nil && fc != nil {
		err = fc.done()
	}
	if err != nil {
		return nil, err
	}
	out := &index.Result{Total: int64(res.Total), Facets: map[string][]index.FacetCount{}}
	for _, h := range res.Hits {
		if q.KeysOnly {
			out.Items = append(out.Items, &moissonv1.Dataset{Id: h.ID})
			var keys []string
			switch v := h.Fields[index.FieldDupKey].(type) {
			case string:
				keys = []string{v}
			case []any:
				for _, k := range v {
					if k, ok := k.(string); ok {
						keys = append(keys, k)
					}
				}
			}
			out.Keys = append(out.Keys, keys)
			continue
		}
		raw, _ := h.Fields["raw"].(string)
		d, err := decodeRaw(raw)
		if err != nil {
			return nil, fmt.Errorf("document %s: %w", h.ID, err)
		}
		out.Items = append(out.Items, d)
	}
	if len(res.Hits) == size {
		last := res.Hits[len(res.Hits)-1]
		out.NextCursor = encodeCursor(cursor{Sort: sortName, After: hitSort(last)})
		// No next page when this page ends the results.
		if q.Cursor == "" && int64(q.Offset+size) >= out.Total {
			out.NextCursor = ""
		}
	}
	for _, f := range q.Facets {
		list := []index.FacetCount{}
		fr := res.Facets[f]
		if fc != nil && columnField(f) {
			list = fc.result(f, q.FacetMinCount)
		} else if fr != nil && fr.Terms != nil {
			for _, t := range fr.Terms.Terms() {
				if t.Count >= q.FacetMinCount {
					list = append(list, index.FacetCount{Key: t.Term, Count: int64(t.Count)})
				}
			}
		}
		out.Facets[f] = list
	}
	if req.Highlight != nil {
		index.EnsureHits(out)
		for i, h := range res.Hits {
			hl := map[string][]string{}
			for _, f := range []string{"title", "description"} {
				var frags []string
				for _, fr := range h.Fragments[f] {
					if strings.Contains(fr, index.HighlightPre) {
						frags = append(frags, fr)
					}
				}
				if len(frags) > 3 {
					frags = frags[:3]
				}
				if len(frags) > 0 {
					hl[f] = frags
				}
			}
			if len(hl) > 0 {
				out.Hits[i].Highlights = hl
			}
		}
	}
	if q.Distinct {
		if err := index.ApplyDistinct(ctx, x.Search, q, out); err != nil {
			return nil, err
		}
	}
	if q.SameAs {
		if err := index.FillSameAs(ctx, x.Search, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// scoreOf is the score id has now for the query, as a cursor value.
func (x *Index) scoreOf(ctx context.Context, bq query.Query, id string) (string, bool, error) {
	// The id clause weighs nothing: the score is bq's alone.
	only := query.NewDocIDQuery([]string{id})
	only.SetBoost(0)
	req := bleve.NewSearchRequestOptions(query.NewConjunctionQuery([]query.Query{bq, only}), 1, 0, false)
	req.SortBy([]string{"-_score", "_id"})
	res, err := x.idx.SearchInContext(ctx, req)
	if err != nil {
		return "", false, err
	}
	if len(res.Hits) == 0 {
		return "", false, nil
	}
	return hitSort(res.Hits[0])[0], true, nil
}

// hitSort gives the sort values of a hit in the form SearchAfter takes:
// decoded values, and the score itself where the sort says _score.
func hitSort(h *search.DocumentMatch) []string {
	vals := h.Sort
	if len(h.DecodedSort) == len(h.Sort) {
		vals = h.DecodedSort
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		if h.Sort[i] == "_score" {
			v = strconv.FormatFloat(h.Score, 'g', -1, 64)
		}
		out[i] = v
	}
	return out
}

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return c, err
	}
	err = json.Unmarshal(b, &c)
	return c, err
}
