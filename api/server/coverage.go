package server

// Coverage of the territories and metadata quality: GET /v1/coverage and
// GET /v1/quality, JSON or CSV, computed from facet counts.

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/opendatafrance/moisson/api/web"
	"github.com/opendatafrance/moisson/indexer/index"
)

func (s *Server) coverageRoutes(route routeFunc) {
	route("GET /v1/coverage", s.coverage)
	route("GET /v1/quality", s.quality)
}

// reportQuery reads the filters of a report (those of GET /v1/datasets,
// without paging or sorting; distinct when the report counts datasets) and
// its format.
func reportQuery(r *http.Request, distinct bool) (index.Query, listFormat, error) {
	v := r.URL.Query()
	for _, k := range []string{"size", "cursor", "sort", "distinct"} {
		if k == "distinct" && distinct {
			continue
		}
		if v.Has(k) {
			return index.Query{}, listFormat{}, fmt.Errorf("%s is not a parameter of this report", k)
		}
	}
	q, err := parseQuery(v, map[string]bool{"format": true, "dialect": true})
	if err != nil {
		return q, listFormat{}, err
	}
	f, _, err := parseListFormat(r)
	return q, f, err
}

// coverage: one row per territory × dimension × key in CSV:
// territory, dimension (datasets, schema, theme, format, license,
// freshness), key, count, declared, columns, title (SCDL evidence), share
// (freshness: of the territory's datasets). Every territory configured and
// every SCDL item has its row, with or without datasets (as on the page),
// unless a filter leaves them out.
func (s *Server) coverage(w http.ResponseWriter, r *http.Request) {
	q, f, err := reportQuery(r, true)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_parameter", err.Error())
		return
	}
	if !s.resolve(w, r, &q) {
		return
	}
	// Freshness windows to the minute, so that the searches behind a report
	// are the same from one request to the next (and cached).
	rep, err := index.Coverage(r.Context(), s.Index, q, time.Now().Truncate(time.Minute))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	territories, items := q.Filters[index.FieldTerritory], q.Filters[index.FieldSchema]
	if len(territories) == 0 && len(q.Filters) == 0 && q.Text == "" && q.ModifiedAfter.IsZero() && q.ModifiedBefore.IsZero() {
		territories = web.CoverageTerritories(s.webSources(r.Context()))
	}
	if len(items) == 0 {
		items = web.SCDLItemIDs()
	}
	rep.Complete(territories, items)
	if !f.csv {
		writeJSON(w, http.StatusOK, rep)
		return
	}
	c := newCSV(w, f, "moisson-coverage", []string{"territory", "dimension", "key", "count", "declared", "columns", "title", "share"},
		"count", "declared", "columns", "title", "share")
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	for _, t := range rep.Territories {
		_ = c.row(t.Territory, "datasets", "", n(t.Datasets), "", "", "", "")
		for _, cell := range t.Schema {
			_ = c.row(t.Territory, "schema", cell.Key, n(cell.Count), n(cell.Evidence["declared"]), n(cell.Evidence["columns"]), n(cell.Evidence["title"]), "")
		}
		for _, dim := range []struct {
			name  string
			cells []index.CoverageCell
		}{{"theme", t.Theme}, {"format", t.Format}, {"license", t.License}} {
			for _, cell := range dim.cells {
				_ = c.row(t.Territory, dim.name, cell.Key, n(cell.Count), "", "", "", "")
			}
		}
		for _, fr := range t.Freshness {
			_ = c.row(t.Territory, "freshness", strconv.Itoa(fr.Months)+"m", n(fr.Count), "", "", "", strconv.FormatFloat(fr.Share, 'f', 4, 64))
		}
	}
	_ = c.close()
}

// quality: CSV rows group (overall, territory, portal), key, datasets,
// average, and the count of each rating.
func (s *Server) quality(w http.ResponseWriter, r *http.Request) {
	q, f, err := reportQuery(r, false)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_parameter", err.Error())
		return
	}
	if !s.resolve(w, r, &q) {
		return
	}
	rep, err := index.QualityStats(r.Context(), s.Index, q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !f.csv {
		writeJSON(w, http.StatusOK, map[string]any{"max_score": 405, "report": rep})
		return
	}
	head := append([]string{"group", "key", "datasets", "average"}, index.Ratings...)
	c := newCSV(w, f, "moisson-quality", head, append([]string{"datasets", "average"}, index.Ratings...)...)
	row := func(group string, g index.QualityGroup) {
		rec := []string{group, g.Key, strconv.FormatInt(g.Datasets, 10), strconv.FormatFloat(g.Average, 'f', 2, 64)}
		for _, r := range index.Ratings {
			rec = append(rec, strconv.FormatInt(g.Ratings[r], 10))
		}
		_ = c.row(rec...)
	}
	row("overall", rep.Overall)
	for _, g := range rep.Territories {
		row("territory", g)
	}
	for _, g := range rep.Portals {
		row("portal", g)
	}
	_ = c.close()
}
