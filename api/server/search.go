package server

import (
	"bytes"
	"compress/gzip"
	"container/list"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"weak"

	"github.com/opendatafrance/moisson/indexer/index"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
)

// datasetParams are the parameters GET /v1/datasets accepts.
var datasetParams = map[string]string{
	"q": "", "size": "", "cursor": "", "sort": "", "modified_after": "", "modified_before": "", "distinct": "",
	"territory": index.FieldTerritory, "publisher": index.FieldPublisher, "format": index.FieldFormat,
	"license": index.FieldLicense, "source": index.FieldSource, "protocol": index.FieldProtocol,
	"theme": index.FieldTheme, "schema": index.FieldSchema, "member": index.FieldMember, "portal": index.FieldPortal,
	"quality": index.FieldQuality, "has_data": index.FieldHasData, "evidence": index.FieldEvidence,
	"collectivite": index.FieldCollectivite,
	// Where format names the output (export, coverage, quality), the
	// distribution format filter is spelled distribution_format.
	"distribution_format": index.FieldFormat,
}

var sorts = map[string]string{
	"relevance": index.SortRelevance, "-modified": index.SortModified, "modified": index.SortModified, "title": index.SortTitle,
	"-quality": index.SortQuality, "quality": index.SortQuality,
}

// Facets is what GET /v1/datasets counts.
var Facets = []string{
	index.FieldTerritory, index.FieldPublisher, index.FieldMember, index.FieldPortal, index.FieldProtocol, index.FieldFormat,
	index.FieldLicense, index.FieldTheme, index.FieldSchema, index.FieldQuality, index.FieldHasData, index.FieldCollectivite,
}

// closedValues are the filters with a fixed set of values.
var closedValues = map[string][]string{
	"has_data": {"true", "false"},
	"quality":  index.Ratings,
}

// ParseQuery reads the search parameters; the error is for a 400.
func ParseQuery(v url.Values) (index.Query, error) {
	return parseQuery(v, nil)
}

// parseQuery reads the search parameters and, besides them, the extra ones
// a route accepts.
func parseQuery(v url.Values, extra map[string]bool) (index.Query, error) {
	if extra["format"] {
		v = maps.Clone(v)
		delete(v, "format")
	}
	q := index.Query{Size: DefaultSize, Filters: map[string][]string{}, Facets: Facets, FacetSize: 20}
	var unknown []string
	for k := range v {
		if _, ok := datasetParams[k]; !ok && !extra[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		known := make([]string, 0, len(datasetParams))
		for k := range datasetParams {
			known = append(known, k)
		}
		for k := range extra {
			known = append(known, k)
		}
		sort.Strings(known)
		return q, fmt.Errorf("unknown parameter %s (accepted: %s)", strings.Join(unknown, ", "), strings.Join(known, ", "))
	}
	for _, name := range []string{"modified_after", "modified_before"} {
		s := strings.TrimSpace(v.Get(name))
		if s == "" {
			continue
		}
		t, err := parseDate(s)
		if errors.Is(err, errDateRange) {
			return q, fmt.Errorf("%s must be from %s to %s (excluded), got %q", name, MinDate.Format(time.DateOnly), MaxDate.Format(time.DateOnly), s)
		}
		if err != nil {
			return q, fmt.Errorf("%s must be a date (2024-03-01) or a time (2024-03-01T12:00:00Z), got %q", name, s)
		}
		if name == "modified_after" {
			q.ModifiedAfter = t
		} else {
			q.ModifiedBefore = t
		}
	}
	switch s := v.Get("distinct"); s {
	case "", "false":
	case "true":
		q.Distinct = true
	default:
		return q, fmt.Errorf("distinct must be true or false, got %q", s)
	}
	for param, values := range closedValues {
		for _, val := range v[param] {
			if !slices.Contains(values, val) {
				return q, fmt.Errorf("%s must be one of %s, got %q", param, strings.Join(values, ", "), val)
			}
		}
	}
	q.Text = strings.TrimSpace(v.Get("q"))
	if len(q.Text) > 500 {
		return q, errors.New("q is longer than 500 characters")
	}
	if s := v.Get("size"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxSize {
			return q, fmt.Errorf("size must be a whole number from 1 to %d, got %q", MaxSize, s)
		}
		q.Size = n
	}
	if s := v.Get("sort"); s != "" {
		so, ok := sorts[s]
		if !ok {
			return q, fmt.Errorf("sort must be one of relevance, -modified, title, -quality; got %q", s)
		}
		q.Sort = so
	}
	q.Cursor = v.Get("cursor")
	if q.Text != "" {
		q.Highlight = true
	}
	q.SameAs = true
	for param, field := range datasetParams {
		if field == "" {
			continue
		}
		for _, val := range v[param] {
			if val = strings.TrimSpace(val); val != "" {
				q.Filters[field] = append(q.Filters[field], val)
			}
		}
	}
	return q, nil
}

// Dates the index can hold (as nanoseconds since 1970 in 64 bits).
var (
	MinDate = time.Date(1678, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxDate = time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC)
)

// parseDate reads 2024-03-01 (midnight UTC) or an RFC 3339 time, from
// MinDate to MaxDate.
func parseDate(s string) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		if t, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return t, err
		}
	}
	if t.Before(MinDate) || !t.Before(MaxDate) {
		return t, errDateRange
	}
	return t, nil
}

var errDateRange = errors.New("out of range")

type searchResponse struct {
	Total         int64                         `json:"total"`
	DistinctTotal *int64                        `json:"distinct_total,omitempty"`
	Items         []json.RawMessage             `json:"items"`
	Facets        map[string][]index.FacetCount `json:"facets"`
	NextCursor    string                        `json:"next_cursor"`
}

func (s *Server) searchRoutes(route routeFunc) {
	route("GET /v1/datasets", s.datasets)
	route("GET /v1/datasets/export", s.export)
	route("GET /v1/datasets/{id}", s.dataset)
}

// itemJSON is a record in the .proto JSON form, with what the search says
// of it: "highlights" and "same_as".
func itemJSON(d *moissonv1.Dataset, hit *index.Hit) json.RawMessage {
	b := protoJSON(d)
	if hit == nil || len(b) < 2 || b[len(b)-1] != '}' {
		return b
	}
	same := hit.SameAs
	if same == nil {
		same = []string{}
	}
	extra, _ := json.Marshal(struct {
		SameAs     []string            `json:"same_as"`
		Highlights map[string][]string `json:"highlights,omitempty"`
	}{same, hit.Highlights})
	out := make([]byte, 0, len(b)+len(extra))
	out = append(out, b[:len(b)-1]...)
	if len(b) > 2 {
		out = append(out, ',')
	}
	return append(out, extra[1:]...)
}

func (s *Server) datasets(w http.ResponseWriter, r *http.Request) {
	q, err := ParseQuery(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_parameter", err.Error())
		return
	}
	if q.Cursor, err = s.openCursor(q.Cursor); err != nil {
		writeError(w, http.StatusBadRequest, "bad_cursor", err.Error())
		return
	}
	if !s.resolve(w, r, &q) {
		return
	}
	res, err := s.Index.Search(r.Context(), q)
	if errors.Is(err, index.ErrBadCursor) {
		writeError(w, http.StatusBadRequest, "bad_cursor", "cursor is not one this API issued for this sort; start again without it")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if _, shared := s.Index.(*index.Cache); shared {
		// The result cache hands the same result out again: so is its
		// rendering.
		pages.write(w, r, res, q.Distinct, s.sealCursor)
		return
	}
	writeJSON(w, http.StatusOK, searchBody(res, q.Distinct, s.sealCursor))
}

// resolve matches the filter values of q with the values the index holds,
// case and accents aside (index.ResolveFilters); a value the index holds
// none of is a 400 naming the close ones.
func (s *Server) resolve(w http.ResponseWriter, r *http.Request, q *index.Query) bool {
	filters, unknown, err := index.ResolveFilters(r.Context(), s.Index, q.Filters)
	if err != nil {
		s.fail(w, r, err)
		return false
	}
	if len(unknown) > 0 {
		unknown = s.notConfigured(r.Context(), unknown)
	}
	if len(unknown) > 0 {
		var msgs []string
		for _, u := range unknown {
			m := fmt.Sprintf("%s: no dataset has the value %q", u.Field, u.Value)
			if len(u.DidYouMean) > 0 {
				m += fmt.Sprintf(" (did you mean %s?)", strings.Join(u.DidYouMean, ", "))
			}
			msgs = append(msgs, m)
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(map[string]any{"error": map[string]any{"code": "unknown_value", "message": strings.Join(msgs, "; "), "unknown": unknown}})
		return false
	}
	q.Filters = filters
	return true
}

// notConfigured keeps the unknown values that are not a configured source,
// territory, member or portal: one not harvested yet has no record, and is
// no typo.
func (s *Server) notConfigured(ctx context.Context, unknown []index.UnknownValue) []index.UnknownValue {
	configured := map[string]map[string]bool{index.FieldSource: {}, index.FieldTerritory: {}, index.FieldMember: {}, index.FieldPortal: {}}
	for _, src := range s.sourceList(ctx) {
		configured[index.FieldSource][src.SourceID] = true
		configured[index.FieldTerritory][src.TerritoryID] = true
		configured[index.FieldMember][src.MemberID] = true
		configured[index.FieldPortal][src.PortalURL] = true
	}
	var out []index.UnknownValue
	for _, u := range unknown {
		if !configured[u.Field][u.Value] {
			out = append(out, u)
		}
	}
	return out
}

// searchBody is the answer of a search; seal seals its next cursor.
func searchBody(res *index.Result, distinct bool, seal func(string) string) searchResponse {
	out := searchResponse{Total: res.Total, Items: []json.RawMessage{}, Facets: res.Facets, NextCursor: seal(res.NextCursor)}
	if distinct {
		out.DistinctTotal = &res.Distinct
	}
	for i, d := range res.Items {
		var hit *index.Hit
		if i < len(res.Hits) {
			hit = &res.Hits[i]
		}
		out.Items = append(out.Items, itemJSON(d, hit))
	}
	return out
}

// renderedPages keeps the JSON answers (and their gzip form) of the search
// results the result cache shares, so that a popular search is not turned
// into JSON and compressed again for each request: most of the work of a
// request answered from the cache. An answer is found by the identity of
// its result (held weakly: the result cache decides how long a result
// lives), and kept within a memory budget.
type renderedPages struct {
	mu      sync.Mutex
	budget  int
	bytes   int
	entries map[pageKey]*list.Element
	lru     *list.List
	inserts int
}

type pageKey struct {
	res      weak.Pointer[index.Result]
	distinct bool
}

type renderedPage struct {
	key    pageKey
	json   []byte
	gzOnce sync.Once
	gz     []byte
	size   int // accounted in renderedPages.bytes
}

// pageBudget bounds the memory of the rendered answers kept.
const pageBudget = 32 << 20

var pages = &renderedPages{budget: pageBudget, entries: map[pageKey]*list.Element{}, lru: list.New()}

// get returns the rendered answer of res, rendering it if needed.
func (p *renderedPages) get(res *index.Result, distinct bool, seal func(string) string) *renderedPage {
	k := pageKey{weak.Make(res), distinct}
	p.mu.Lock()
	if el, ok := p.entries[k]; ok {
		p.lru.MoveToFront(el)
		p.mu.Unlock()
		return el.Value.(*renderedPage)
	}
	p.mu.Unlock()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(searchBody(res, distinct, seal))
	pg := &renderedPage{key: k, json: buf.Bytes(), size: buf.Len()}
	p.mu.Lock()
	defer p.mu.Unlock()
	if el, ok := p.entries[k]; ok { // rendered meanwhile by another request
		return el.Value.(*renderedPage)
	}
	p.entries[k] = p.lru.PushFront(pg)
	p.bytes += pg.size
	p.evict()
	return pg
}

// evict drops, now and then and when over the budget, the answers whose
// result is gone, then the least recently used ones beyond the budget
// (under p.mu).
func (p *renderedPages) evict() {
	p.inserts++
	if p.bytes > p.budget || p.inserts%256 == 0 {
		for el := p.lru.Back(); el != nil; {
			prev := el.Prev()
			if el.Value.(*renderedPage).key.res.Value() == nil {
				p.remove(el)
			}
			el = prev
		}
	}
	for p.bytes > p.budget && p.lru.Len() > 1 {
		p.remove(p.lru.Back())
	}
}

func (p *renderedPages) remove(el *list.Element) {
	pg := el.Value.(*renderedPage)
	p.lru.Remove(el)
	delete(p.entries, pg.key)
	p.bytes -= pg.size
}

// gzipped is the answer compressed once (when a client first asks for it).
func (p *renderedPages) gzipped(pg *renderedPage) []byte {
	pg.gzOnce.Do(func() {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
		_, _ = zw.Write(pg.json)
		_ = zw.Close()
		pg.gz = buf.Bytes()
		p.mu.Lock()
		if el, ok := p.entries[pg.key]; ok && el.Value == pg {
			pg.size += len(pg.gz)
			p.bytes += len(pg.gz)
		}
		p.mu.Unlock()
	})
	return pg.gz
}

// write sends the answer of res, compressed when the client accepts it
// (the gzip middleware then passes it through as it is).
func (p *renderedPages) write(w http.ResponseWriter, r *http.Request, res *index.Result, distinct bool, seal func(string) string) {
	pg := p.get(res, distinct, seal)
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	body := pg.json
	if len(body) >= gzipMin && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		body = p.gzipped(pg)
		h.Set("Content-Encoding", "gzip") // the gzip middleware adds Vary
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

func (s *Server) dataset(w http.ResponseWriter, r *http.Request) {
	d, err := s.Index.Get(r.Context(), r.PathValue("id"))
	if errors.Is(err, index.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no dataset with id "+strconv.Quote(r.PathValue("id")))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(protoJSON(d))
}
