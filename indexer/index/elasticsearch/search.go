package elasticsearch

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"

	"github.com/opendatafrance/moisson/indexer/index"
)

const (
	defaultSize      = 20
	maxSize          = 1000
	defaultFacetSize = 10
	maxFacetSize     = 1000
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

func isFacetField(f string) bool {
	for _, g := range index.FacetFields {
		if f == g {
			return true
		}
	}
	return false
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
	if q.Cursor != "" {
		after, err := decodeCursor(q.Cursor, sort)
		if err != nil {
			return nil, "", 0, err
		}
		body["search_after"] = after
	}
	if len(q.Facets) > 0 {
		fsize := q.FacetSize
		if fsize <= 0 {
			fsize = defaultFacetSize
		}
		fsize = min(fsize, maxFacetSize)
		aggs := map[string]any{}
		for _, f := range q.Facets {
			if !isFacetField(f) {
				return nil, "", 0, fmt.Errorf("elasticsearch: unknown facet %q", f)
			}
			aggs[f] = map[string]any{"terms": map[string]any{
				"field": f,
				"size":  fsize,
				// Count desc, then key asc: the same order as bleve's.
				"order": []any{map[string]any{"_count": "desc"}, map[string]any{"_key": "asc"}},
				// Exact counts on several shards too, for the corpus sizes
				// Moisson sees.
				"shard_size": max(fsize*10, 1000),
			}}
		}
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
			ID     string            `json:"_id"`
			Source rawSource         `json:"_source"`
			Sort   []json.RawMessage `json:"sort"`
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
}

// Search runs q against the alias.
func (x *Index) Search(ctx context.Context, q index.Query) (*index.Result, error) {
	body, sort, size, err := searchBody(q)
	if err != nil {
		return nil, err
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
	return res, nil
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
