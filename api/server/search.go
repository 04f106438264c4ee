package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/opendatafrance/moisson/indexer/index"
)

// datasetParams are the parameters GET /v1/datasets accepts.
var datasetParams = map[string]string{
	"q": "", "size": "", "cursor": "", "sort": "",
	"territory": index.FieldTerritory, "publisher": index.FieldPublisher, "format": index.FieldFormat,
	"license": index.FieldLicense, "source": index.FieldSource, "protocol": index.FieldProtocol,
	"theme": index.FieldTheme, "schema": index.FieldSchema,
}

var sorts = map[string]string{
	"relevance": index.SortRelevance, "-modified": index.SortModified, "modified": index.SortModified, "title": index.SortTitle,
}

// ParseQuery reads the search parameters; the error is for a 400.
func ParseQuery(v url.Values) (index.Query, error) {
	q := index.Query{Size: DefaultSize, Filters: map[string][]string{}, Facets: []string{
		index.FieldTerritory, index.FieldPublisher, index.FieldFormat, index.FieldLicense,
	}, FacetSize: 20}
	var unknown []string
	for k := range v {
		if _, ok := datasetParams[k]; !ok {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		known := make([]string, 0, len(datasetParams))
		for k := range datasetParams {
			known = append(known, k)
		}
		sort.Strings(known)
		return q, fmt.Errorf("unknown parameter %s (accepted: %s)", strings.Join(unknown, ", "), strings.Join(known, ", "))
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
			return q, fmt.Errorf("sort must be one of relevance, -modified, title; got %q", s)
		}
		q.Sort = so
	}
	q.Cursor = v.Get("cursor")
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

type searchResponse struct {
	Total      int64                         `json:"total"`
	Items      []json.RawMessage             `json:"items"`
	Facets     map[string][]index.FacetCount `json:"facets"`
	NextCursor string                        `json:"next_cursor"`
}

func (s *Server) searchRoutes(route routeFunc) {
	route("GET /v1/datasets", s.datasets)
	route("GET /v1/datasets/{id}", s.dataset)
}

func (s *Server) datasets(w http.ResponseWriter, r *http.Request) {
	q, err := ParseQuery(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_parameter", err.Error())
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
	out := searchResponse{Total: res.Total, Items: []json.RawMessage{}, Facets: res.Facets, NextCursor: res.NextCursor}
	for _, d := range res.Items {
		out.Items = append(out.Items, protoJSON(d))
	}
	writeJSON(w, http.StatusOK, out)
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
