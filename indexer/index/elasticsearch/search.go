package elasticsearch

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"

	"github.com/opendatafrance/moisson/indexer/index"
)

const (
	defaultSize      = 20
	maxSize          = 1000
	defaultFacetSize = 10
	maxFacetSize     = 1000
	// maxDupKeyFacetSize bounds the shared duplicate keys one search
	// returns (search.max_buckets is 65 536).
	maxDupKeyFacetSize = 60000
)

// Query-time boosts of the full-text fields.
var textFields = []string{"title^3", "description", "keywords^2"}

// sortClauses gives, for each sort order, the Elasticsearch sort and the JSON
// kinds of its values (what a cursor must hold).
var sortClauses = map[string]struct {
	sort  []any
	kinds []string
}{
	index.SortRelevance: {
		sort:  []any{map[string]any{"_score": "desc"}, map[string]any{"id": "asc"}},
		kinds: []string{"number", "string"},
	},
	index.SortModified: {
		sort:  []any{map[string]any{"modified": "desc"}, map[string]any{"id": "asc"}},
		kinds: []string{"number", "string"},
	},
	index.SortTitle: {
		sort:  []any{map[string]any{"title_sort": "asc"}, map[string]any{"id": "asc"}},
		kinds: []string{"string", "string"},
	},
	index.SortQuality: {
		sort:  []any{map[string]any{"quality_score_n": map[string]any{"order": "desc", "missing": "_last"}}, map[string]any{"id": "asc"}},
		kinds: []string{"number", "string"},
	},
}

// cursor is what Result.NextCursor encodes: the sort order it belongs to and
// the sort values of the last hit (search_after).
type cursor struct {
	Sort  string            `json:"s"`
	After []json.RawMessage `json:"a"`
}

func encodeCursor(sort string, after []json.RawMessage) string {
	b, _ := json.Marshal(cursor{Sort: sort, After: after})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s, sort string) ([]json.RawMessage, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, index.ErrBadCursor
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c cursor
	if err := dec.Decode(&c); err != nil || dec.More() {
		return nil, index.ErrBadCursor
	}
	want := sortClauses[sort].kinds
	if c.Sort != sort || len(c.After) != len(want) {
		return nil, index.ErrBadCursor
	}
	for i, v := range c.After {
		var x any
		if err := json.Unmarshal(v, &x); err != nil {
			return nil, index.ErrBadCursor
		}
		switch x.(type) {
		case float64:
			if want[i] != "number" {
				return nil, index.ErrBadCursor
			}
		case string:
			if want[i] != "string" {
				return nil, index.ErrBadCursor
			}
		default:
			return nil, index.ErrBadCursor
		}
	}
	return c.After, nil
}

func isFacetField(f string) bool { return index.IsFacetField(f) }

// highlight asks for the title whole and up to three description
// fragments, HTML-escaped, matches between <mark> tags.
var highlight = map[string]any{
	"encoder":   "html",
	"pre_tags":  []string{index.HighlightPre},
	"post_tags": []string{index.HighlightPost},
	"fields": map[string]any{
		"title":       map[string]any{"number_of_fragments": 0},
		"description": map[string]any{"fragment_size": 150, "number_of_fragments": 3},
	},
}

// searchBody builds the request of q; the sort order is returned normalised.
func searchBody(q index.Query) (map[string]any, string, int, error) {
	sort := q.Sort
	if sort == "" {
		sort = index.SortRelevance
	}
	sc, ok := sortClauses[sort]
	if !ok {
		return nil, "", 0, fmt.Errorf("elasticsearch: unknown sort %q", q.Sort)
	}
	size := q.Size
	if size <= 0 {
		size = defaultSize
	}
	size = min(size, maxSize)

	boolq := map[string]any{}
	if text := strings.TrimSpace(q.Text); text != "" {
		// Plain words: only whitespace is an operator (it splits the
		// words, and every word must match in one of the fields); no
		// +, |, -, quotes, parentheses, * or ~ syntax.
		boolq["must"] = map[string]any{"simple_query_string": map[string]any{
			"query":            text,
			"fields":           textFields,
			"default_operator": "and",
			"flags":            "WHITESPACE",
		}}
	}
	var filters []any
	for field, values := range q.Filters {
		if !isFacetField(field) {
			return nil, "", 0, fmt.Errorf("elasticsearch: unknown filter %q", field)
		}
		if len(values) == 0 {
			continue
		}
		filters = append(filters, map[string]any{"terms": map[string]any{field: values}})
	}
	if from, to, ok := index.ModifiedRange(q); ok {
		// Dates are in milliseconds: bounds round up to the next one, so
		// that gte and lt keep their meaning for sub-millisecond bounds.
		r := map[string]any{"gte": ceilMilli(from).Format(time.RFC3339Nano)}
		if !to.IsZero() {
			r["lt"] = ceilMilli(to).Format(time.RFC3339Nano)
		}
		filters = append(filters, map[string]any{"range": map[string]any{"modified": r}})
	}
	if len(filters) > 0 {
		boolq["filter"] = filters
	}
	body := map[string]any{
		"track_total_hits": true,
		"size":             size + 1, // one more tells whether a next page exists
		"_source":          []string{"raw"},
		"sort":             sc.sort,
		"query":            map[string]any{"bool": boolq},
	}
	if q.KeysOnly {
		body["_source"] = []string{index.FieldDupKey}
	}
	if err := index.CheckOffset(q); err != nil {
		return nil, "", 0, err
	}
	if q.Offset > 0 {
		body["from"] = q.Offset
	}
	if q.Cursor != "" {
		after, err := decodeCursor(q.Cursor, sort)
		if err != nil {
			return nil, "", 0, err
		}
		body["search_after"] = after
	}
	if q.Highlight && strings.TrimSpace(q.Text) != "" {
		body["highlight"] = highlight
	}
	aggs := map[string]any{}
	if len(q.Facets) > 0 {
		for _, f := range q.Facets {
			if !isFacetField(f) {
				return nil, "", 0, fmt.Errorf("elasticsearch: unknown facet %q", f)
			}
			fsize := q.FacetSize
			if fsize <= 0 {
				fsize = defaultFacetSize
			}
			switch {
			case f == index.FieldDupKey && q.FacetMinCount > 1:
				// The keys shared by several records (index.ApplyDistinct):
				// many, each in few records.
				fsize = min(fsize, maxDupKeyFacetSize)
			case index.LargeFacet(f):
				if q.Distinct && slices.Contains(index.DistinctFields, f) {
					fsize = index.DistinctFacetSize(fsize)
				}
				fsize = min(fsize, index.MaxLargeFacetSize)
			case q.Distinct && slices.Contains(index.DistinctFields, f):
				fsize = min(index.DistinctFacetSize(fsize), maxFacetSize)
			default:
				fsize = min(fsize, maxFacetSize)
			}
			terms := map[string]any{
				"field": f,
				"size":  fsize,
				// Count desc, then key asc: the same order as bleve's.
				"order": []any{map[string]any{"_count": "desc"}, map[string]any{"_key": "asc"}},
				// Exact counts on several shards too, for the corpus sizes
				// Moisson sees.
				"shard_size": min(max(fsize*10, 1000), maxDupKeyFacetSize),
			}
			if q.FacetMinCount > 1 {
				terms["min_doc_count"] = q.FacetMinCount
			}
			aggs[f] = map[string]any{"terms": terms}
		}
	}
	if len(aggs) > 0 {
		body["aggs"] = aggs
	}
	return body, sort, size, nil
}

type searchResponse struct {
	Hits struct {
		Total struct {
			Value int64 `json:"value"`
		} `json:"total"`
		Hits []struct {
			ID        string              `json:"_id"`
			Source    rawSource           `json:"_source"`
			Sort      []json.RawMessage   `json:"sort"`
			Highlight map[string][]string `json:"highlight"`
		} `json:"hits"`
	} `json:"hits"`
	Aggregations map[string]struct {
		Buckets []struct {
			Key      string `json:"key"`
			DocCount int64  `json:"doc_count"`
		} `json:"buckets"`
	} `json:"aggregations"`
}

type rawSource struct {
	Raw string `json:"raw"`
	// DupKey is a list, or one string in documents indexed before
	// duplicate keys were several.
	DupKey json.RawMessage `json:"dup_key"`
}

// dupKeys reads the duplicate keys of a source.
func (s rawSource) dupKeys() []string {
	var keys []string
	if json.Unmarshal(s.DupKey, &keys) != nil {
		var one string
		if json.Unmarshal(s.DupKey, &one) == nil && one != "" {
			keys = []string{one}
		}
	}
	return keys
}

// Search runs q against the alias.
func (x *Index) Search(ctx context.Context, q index.Query) (*index.Result, error) {
	body, sort, size, err := searchBody(q)
	if err != nil {
		return nil, err
	}
	if sort == index.SortRelevance && q.Cursor != "" && strings.TrimSpace(q.Text) != "" {
		// Scores move when documents are added (term statistics): the
		// page starts after the last item as it scores now.
		after := body["search_after"].([]json.RawMessage)
		var id string
		if json.Unmarshal(after[1], &id) == nil {
			if score, ok, err := x.scoreOf(ctx, body, id); err != nil {
				return nil, err
			} else if ok {
				after[0] = score
			}
		}
	}
	var resp searchResponse
	if _, err := x.do(ctx, http.MethodPost, "/"+url.PathEscape(x.cfg.Alias)+"/_search", body, &resp, 200); err != nil {
		return nil, err
	}
	hits := resp.Hits.Hits
	res := &index.Result{Total: resp.Hits.Total.Value}
	if len(hits) > size {
		hits = hits[:size]
		res.NextCursor = encodeCursor(sort, hits[size-1].Sort)
	}
	res.Items = make([]*moissonv1.Dataset, 0, len(hits))
	for _, h := range hits {
		if q.KeysOnly {
			res.Items = append(res.Items, &moissonv1.Dataset{Id: h.ID})
			res.Keys = append(res.Keys, h.Source.dupKeys())
			continue
		}
		d, err := index.DecodeRaw(h.Source.Raw)
		if err != nil {
			return nil, fmt.Errorf("elasticsearch: document %s: %w", h.ID, err)
		}
		res.Items = append(res.Items, d)
	}
	if len(q.Facets) > 0 {
		res.Facets = make(map[string][]index.FacetCount, len(q.Facets))
		for _, f := range q.Facets {
			counts := []index.FacetCount{}
			for _, b := range resp.Aggregations[f].Buckets {
				counts = append(counts, index.FacetCount{Key: b.Key, Count: b.DocCount})
			}
			res.Facets[f] = counts
		}
	}
	if q.Highlight && strings.TrimSpace(q.Text) != "" {
		index.EnsureHits(res)
		for i, h := range hits {
			hl := map[string][]string{}
			for _, f := range []string{"title", "description"} {
				if frags := h.Highlight[f]; len(frags) > 0 {
					hl[f] = frags
				}
			}
			if len(hl) > 0 {
				res.Hits[i].Highlights = hl
			}
		}
	}
	if q.Distinct {
		if err := index.ApplyDistinct(ctx, x.Search, q, res); err != nil {
			return nil, err
		}
	}
	if q.SameAs {
		if err := index.FillSameAs(ctx, x.Search, res); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// scoreOf is the score the document id has now for the query of body (its
// filters untouched: an ids filter does not score).
func (x *Index) scoreOf(ctx context.Context, body map[string]any, id string) (json.RawMessage, bool, error) {
	boolq := map[string]any{}
	for k, v := range body["query"].(map[string]any)["bool"].(map[string]any) {
		boolq[k] = v
	}
	filters, _ := boolq["filter"].([]any)
	boolq["filter"] = append(append([]any{}, filters...), map[string]any{"ids": map[string]any{"values": []string{id}}})
	req := map[string]any{"size": 1, "_source": false, "sort": body["sort"], "query": map[string]any{"bool": boolq}}
	var resp searchResponse
	if _, err := x.do(ctx, http.MethodPost, "/"+url.PathEscape(x.cfg.Alias)+"/_search", req, &resp, 200); err != nil {
		return nil, false, err
	}
	if len(resp.Hits.Hits) == 0 || len(resp.Hits.Hits[0].Sort) == 0 {
		return nil, false, nil
	}
	return resp.Hits.Hits[0].Sort[0], true, nil
}

// Get returns the dataset with this id, index.ErrNotFound if there is none.
// It is real time: it sees writes not yet refreshed.
func (x *Index) Get(ctx context.Context, id string) (*moissonv1.Dataset, error) {
	if id == "" || len(id) > maxIDBytes {
		return nil, index.ErrNotFound
	}
	var resp struct {
		Found  bool      `json:"found"`
		Source rawSource `json:"_source"`
		Error  *esError  `json:"error"`
	}
	path := "/" + url.PathEscape(x.cfg.Alias) + "/_doc/" + url.PathEscape(id) + "?_source_includes=raw"
	if _, err := x.do(ctx, http.MethodGet, path, nil, &resp, 200, 404); err != nil {
		return nil, err
	}
	if resp.Error != nil {
		// 404 for the index (the alias is gone), not for the document.
		return nil, fmt.Errorf("elasticsearch: get %s: %s", id, resp.Error)
	}
	if !resp.Found {
		return nil, index.ErrNotFound
	}
	return index.DecodeRaw(resp.Source.Raw)
}

func ceilMilli(t time.Time) time.Time {
	if r := t.Truncate(time.Millisecond); !r.Equal(t) {
		return r.Add(time.Millisecond)
	}
	return t
}

// Generation (index.Generational) changes when what searches see may have
// changed, writes by other processes included: it follows the statistics of
// the indices behind the alias (refreshes, which make writes visible, and
// indexing and delete operations, counted before a refresh shows them), so
// that the result cache keeps answers while the index stays the same rather
// than for a short TTL. The statistics are read at most once per
// generationPoll, in the background while searches keep coming; after
// generationMaxLag without a read, the next call waits for one. When they
// cannot be read, the generation changes at every read (a TTL, then).
//
// It changes when the write counters move (or the indices behind the alias
// change), and when a refresh follows writes (one the earlier read may not
// have seen visible); a refresh after no write changes nothing searches
// see (an idle shard's first refresh, a merge's), so it keeps the
// generation and the cached answers.
func (x *Index) Generation() uint64 {
	g := &x.gen
	g.mu.Lock()
	age := time.Since(g.read)
	if age < generationPoll {
		v := g.value
		g.mu.Unlock()
		return v
	}
	if g.reading == nil {
		done := make(chan struct{})
		g.reading = done
		go x.readGeneration(done)
	}
	done, v := g.reading, g.value
	g.mu.Unlock()
	if age < generationMaxLag {
		return v
	}
	<-done
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.value
}

const (
	generationPoll   = time.Second
	generationMaxLag = 3 * time.Second
)

type generation struct {
	mu        sync.Mutex
	value     uint64
	writes    string        // the indices and their write counters at the last read ("": none)
	refreshes int64         // their refreshes
	dirty     bool          // writes seen that a refresh since may not have shown
	read      time.Time     // when
	reading   chan struct{} // a read running, closed when done
}

func (x *Index) readGeneration(done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	writes, refreshes, err := x.changeStats(ctx)
	cancel()
	g := &x.gen
	g.mu.Lock()
	switch {
	case err != nil:
		g.value++
		g.writes = ""
	case writes != g.writes:
		g.value++
		g.writes, g.refreshes, g.dirty = writes, refreshes, true
	case refreshes != g.refreshes:
		if g.dirty {
			g.value++
		}
		g.refreshes, g.dirty = refreshes, false
	}
	g.read = time.Now()
	g.reading = nil
	g.mu.Unlock()
	close(done)
}

// changeStats reads, for the indices behind the alias, their names and
// write counters (writes) and their refreshes.
func (x *Index) changeStats(ctx context.Context) (string, int64, error) {
	var resp struct {
		Indices map[string]struct {
			Total struct {
				Refresh struct {
					// External refreshes: those that change what
					// searches see (not the internal ones of merges).
					ExternalTotal int64 `json:"external_total"`
				} `json:"refresh"`
				Indexing struct {
					IndexTotal  int64 `json:"index_total"`
					DeleteTotal int64 `json:"delete_total"`
				} `json:"indexing"`
			} `json:"total"`
		} `json:"indices"`
	}
	path := "/" + url.PathEscape(x.cfg.Alias) + "/_stats/refresh,indexing?level=indices&filter_path=" +
		"indices.*.total.refresh.external_total,indices.*.total.indexing.index_total,indices.*.total.indexing.delete_total"
	if _, err := x.do(ctx, http.MethodGet, path, nil, &resp, 200); err != nil {
		return "", 0, err
	}
	names := slices.Sorted(maps.Keys(resp.Indices))
	var b strings.Builder
	var refreshes int64
	for _, n := range names {
		t := resp.Indices[n].Total
		fmt.Fprintf(&b, "%s:%d:%d;", n, t.Indexing.IndexTotal, t.Indexing.DeleteTotal)
		refreshes += t.Refresh.ExternalTotal
	}
	return b.String(), refreshes, nil
}
