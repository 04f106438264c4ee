package server

// Coverage of the territories and metadata quality: GET /v1/coverage and
// GET /v1/quality, JSON or CSV, computed from facet counts.

import (
	"encoding/csv"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/opendatafrance/moisson/indexer/index"
)

func (s *Server) coverageRoutes(route routeFunc) {
	route("GET /v1/coverage", s.coverage)
	route("GET /v1/quality", s.quality)
}

// reportWantsCSV reads ?format=csv|json, else the Accept header (text/csv).
func reportWantsCSV(r *http.Request) (bool, error) {
	switch f := r.URL.Query().Get("format"); f {
	case "csv":
		return true, nil
	case "json":
		return false, nil
	case "":
	default:
		return false, fmt.Errorf("format must be csv or json, got %q", f)
	}
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/csv" {
			return true, nil
		}
	}
	return false, nil
}

// reportQuery reads the filters of a report (those of GET /v1/datasets,
// without paging or sorting; distinct when the report counts datasets).
func reportQuery(r *http.Request, distinct bool) (index.Query, bool, error) {
	v := r.URL.Query()
	for _, k := range []string{"size", "cursor", "sort", "distinct"} {
		if k == "distinct" && distinct {
			continue
		}
		if v.Has(k) {
			return index.Query{}, false, fmt.Errorf("%s is not a parameter of this report", k)
		}
	}
	q, err := parseQuery(v, map[string]bool{"format": true})
	if err != nil {
		return q, false, err
	}
	asCSV, err := reportWantsCSV(r)
	return q, asCSV, err
}

func csvHeaders(w http.ResponseWriter, name string) *csv.Writer {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
	return csv.NewWriter(w)
}

// coverage: one row per territory × dimension × key in CSV:
// territory, dimension (datasets, schema, theme, format, license,
// freshness), key, count, declared, columns, title (SCDL evidence), share
// (freshness: of the territory's datasets).
func (s *Server) coverage(w http.ResponseWriter, r *http.Request) {
	q, asCSV, err := reportQuery(r, true)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_parameter", err.Error())
		return
	}
	// Freshness windows to the minute, so that the searches behind a report
	// are the same from one request to the next (and cached).
	rep, err := index.Coverage(r.Context(), s.Index, q, time.Now().Truncate(time.Minute))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !asCSV {
		writeJSON(w, http.StatusOK, rep)
		return
	}
	cw := csvHeaders(w, "moisson-coverage")
	_ = cw.Write([]string{"territory", "dimension", "key", "count", "declared", "columns", "title", "share"})
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	for _, t := range rep.Territories {
		_ = cw.Write([]string{t.Territory, "datasets", "", n(t.Datasets), "", "", "", ""})
		for _, c := range t.Schema {
			_ = cw.Write([]string{t.Territory, "schema", c.Key, n(c.Count), n(c.Evidence["declared"]), n(c.Evidence["columns"]), n(c.Evidence["title"]), ""})
		}
		for _, dim := range []struct {
			name  string
			cells []index.CoverageCell
		}{{"theme", t.Theme}, {"format", t.Format}, {"license", t.License}} {
			for _, c := range dim.cells {
				_ = cw.Write([]string{t.Territory, dim.name, c.Key, n(c.Count), "", "", "", ""})
			}
		}
		for _, f := range t.Freshness {
			_ = cw.Write([]string{t.Territory, "freshness", strconv.Itoa(f.Months) + "m", n(f.Count), "", "", "", strconv.FormatFloat(f.Share, 'f', 4, 64)})
		}
	}
	cw.Flush()
}

// quality: CSV rows group (overall, territory, portal), key, datasets,
// average, and the count of each rating.
func (s *Server) quality(w http.ResponseWriter, r *http.Request) {
	q, asCSV, err := reportQuery(r, false)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_parameter", err.Error())
		return
	}
	rep, err := index.QualityStats(r.Context(), s.Index, q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !asCSV {
		writeJSON(w, http.StatusOK, map[string]any{"max_score": 405, "report": rep})
		return
	}
	cw := csvHeaders(w, "moisson-quality")
	head := append([]string{"group", "key", "datasets", "average"}, index.Ratings...)
	_ = cw.Write(head)
	row := func(group string, g index.QualityGroup) {
		rec := []string{group, g.Key, strconv.FormatInt(g.Datasets, 10), strconv.FormatFloat(g.Average, 'f', 2, 64)}
		for _, r := range index.Ratings {
			rec = append(rec, strconv.FormatInt(g.Ratings[r], 10))
		}
		_ = cw.Write(rec)
	}
	row("overall", rep.Overall)
	for _, g := range rep.Territories {
		row("territory", g)
	}
	for _, g := range rep.Portals {
		row("portal", g)
	}
	cw.Flush()
}
