package server

// Export of a search and the federated catalogue (DCAT-AP, Hydra-paged).
// Both walk the index with cursors, one page at a time: memory does not grow
// with the size of what is written.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/opendatafrance/moisson/indexer/index"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"go.uber.org/zap"
)

// Catalogue paging.
const (
	DefaultCatalogPageSize = 100
	MaxCatalogPageSize     = 1000
	exportPage             = 100
)

func (s *Server) catalogRoutes(route routeFunc) {
	route("GET /catalog.jsonld", s.catalog("jsonld"))
	route("GET /catalog.ttl", s.catalog("ttl"))
	route("GET /catalog.rdf", s.catalog("rdf"))
}

var rdfContentTypes = map[string]string{
	"ttl":    "text/turtle; charset=utf-8",
	"rdf":    "application/rdf+xml; charset=utf-8",
	"jsonld": "application/ld+json; charset=utf-8",
}

// exportTypes are the formats of GET /v1/datasets/export.
var exportTypes = map[string]string{
	"csv":    "text/csv; charset=utf-8",
	"jsonl":  "application/x-ndjson; charset=utf-8",
	"ttl":    rdfContentTypes["ttl"],
	"rdf":    rdfContentTypes["rdf"],
	"jsonld": rdfContentTypes["jsonld"],
}

func datasetIRI(base, id string) string { return base + "/v1/datasets/" + url.PathEscape(id) }

// walk calls fn for every record of q, page by page; first is the first
// page, already searched.
func (s *Server) walk(ctx context.Context, q index.Query, first *index.Result, fn func(*moissonv1.Dataset, *index.Hit) error) error {
	res := first
	for {
		for i, d := range res.Items {
			var hit *index.Hit
			if i < len(res.Hits) {
				hit = &res.Hits[i]
			}
			if err := fn(d, hit); err != nil {
				return err
			}
		}
		if res.NextCursor == "" || len(res.Items) == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		q.Cursor = res.NextCursor
		var err error
		if res, err = s.Index.Search(ctx, q); err != nil {
			return err
		}
	}
}

var errNoPage = errors.New("no such page")

// seek returns the cursor after the first skip records of the catalogue
// (title order), past the index's window: the walk reads ids only, never
// the records of the pages before.
func (s *Server) seek(ctx context.Context, skip int) (string, error) {
	cursor := ""
	for skip > 0 {
		step := min(skip, MaxCatalogPageSize)
		res, err := s.Index.Search(ctx, index.Query{Sort: index.SortTitle, Size: step, Cursor: cursor, KeysOnly: true})
		if err != nil {
			return "", err
		}
		skip -= len(res.Items)
		if res.NextCursor == "" || len(res.Items) == 0 {
			return "", errNoPage
		}
		cursor = res.NextCursor
	}
	return cursor, nil
}

func (s *Server) searchError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, index.ErrBadCursor) {
		writeError(w, http.StatusBadRequest, "bad_cursor", "cursor is not one this API issued for this sort; start again without it")
		return
	}
	s.fail(w, r, err)
}

// export streams every record of a search: GET /v1/datasets/export?format=…
// with the parameters of GET /v1/datasets (size and cursor aside).
func (s *Server) export(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	format := v.Get("format")
	if format == "" {
		format = "csv"
	}
	ct, ok := exportTypes[format]
	if !ok {
		writeError(w, http.StatusBadRequest, "bad_parameter", fmt.Sprintf("format must be one of csv, jsonl, ttl, rdf, jsonld; got %q", format))
		return
	}
	lf, _, err := parseListFormat(r, "jsonl", "ttl", "rdf", "jsonld")
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_parameter", err.Error())
		return
	}
	q, err := parseQuery(v, map[string]bool{"format": true, "dialect": true})
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_parameter", err.Error())
		return
	}
	if q.Cursor != "" || v.Has("size") {
		writeError(w, http.StatusBadRequest, "bad_parameter", "an export walks the whole result: size and cursor are not accepted")
		return
	}
	if !s.resolve(w, r, &q) {
		return
	}
	q.Size, q.Facets, q.Highlight, q.SameAs = exportPage, nil, false, format != "ttl" && format != "rdf" && format != "jsonld"
	first, err := s.Index.Search(r.Context(), q)
	if err != nil {
		s.searchError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", `attachment; filename="moisson-datasets.`+format+`"`)
	w.Header().Set("X-Total-Count", strconv.FormatInt(first.Total, 10))
	flush := func() {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}
	var werr error
	switch format {
	case "csv":
		lf.csv = true
		c := newCSV(w, lf, "", csvColumns, "quality_score")
		n := 0
		werr = s.walk(r.Context(), q, first, func(d *moissonv1.Dataset, hit *index.Hit) error {
			if err := c.row(csvRow(d, hit)...); err != nil {
				return err
			}
			if n++; n%exportPage == 0 {
				return c.flush(w)
			}
			return nil
		})
		if err := c.close(); werr == nil {
			werr = err
		}
	case "jsonl":
		n := 0
		werr = s.walk(r.Context(), q, first, func(d *moissonv1.Dataset, hit *index.Hit) error {
			b := itemJSON(d, hit)
			if _, err := w.Write(append(b, '\n')); err != nil {
				return err
			}
			if n++; n%exportPage == 0 {
				flush()
			}
			return nil
		})
	default:
		base := s.baseURL(r)
		rw := newRDFWriter(format, w)
		catalogIRI := base + "/catalog"
		if werr = rw.begin(); werr == nil {
			werr = s.walk(r.Context(), q, first, func(d *moissonv1.Dataset, _ *index.Hit) error {
				iri := datasetIRI(base, d.GetId())
				if err := rw.write(datasetNode(d, iri)); err != nil {
					return err
				}
				return rw.link(catalogIRI, nsDCAT+"dataset", iri)
			})
			if werr == nil {
				werr = rw.end()
			}
		}
	}
	if werr != nil && s.Log != nil {
		s.Log.Warn("export interrupted", zap.Error(werr))
	}
}

var csvColumns = []string{"id", "title", "description", "territory", "member", "source", "portal", "protocol", "publisher",
	"license", "formats", "themes", "schemas", "keywords", "issued", "modified", "landing_page", "uri", "download_urls",
	"has_data", "quality_score", "quality_rating", "same_as"}

func csvRow(d *moissonv1.Dataset, hit *index.Hit) []string {
	var formats, downloads, schemas []string
	for _, x := range d.GetDistributions() {
		if f := x.GetFormat(); f != "" && !contains(formats, f) {
			formats = append(formats, f)
		}
		if u := x.GetDownloadUrl(); u != "" {
			downloads = append(downloads, u)
		}
	}
	for _, m := range d.GetScdl() {
		if !contains(schemas, m.GetItem()) {
			schemas = append(schemas, m.GetItem())
		}
	}
	date := func(t interface{ IsValid() bool }, s string) string {
		if t == nil || !t.IsValid() {
			return ""
		}
		return s
	}
	issued, modified := "", ""
	if d.GetIssued() != nil {
		issued = date(d.GetIssued(), stamp(d.GetIssued()))
	}
	if d.GetModified() != nil {
		modified = date(d.GetModified(), stamp(d.GetModified()))
	}
	var same []string
	if hit != nil {
		same = hit.SameAs
	}
	hasData := "false"
	if index.HasData(d) {
		hasData = "true"
	}
	return []string{d.GetId(), d.GetTitle(), d.GetDescription(), d.GetTerritoryId(), d.GetMemberId(), d.GetSourceId(),
		d.GetPortalUrl(), d.GetProtocol(), d.GetPublisher().GetName(), d.GetLicense().GetNormalized(),
		strings.Join(formats, "|"), strings.Join(d.GetThemes(), "|"), strings.Join(schemas, "|"), strings.Join(d.GetKeywords(), "|"),
		issued, modified, d.GetLandingPage(), d.GetUri(), strings.Join(downloads, "|"), hasData,
		strconv.Itoa(int(d.GetQuality().GetScore())), d.GetQuality().GetRating(), strings.Join(same, "|")}
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// catalog serves one page of the whole catalogue in a DCAT-AP syntax:
// ?page=N (from 1), ?page_size= (1–1000, default 100). Next links carry a
// cursor, so a harvester following them reads each page in one search;
// a page asked by number alone is found by walking the pages before it.
func (s *Server) catalog(syntax string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := r.URL.Query()
		for k := range v {
			if k != "page" && k != "page_size" && k != "cursor" {
				writeError(w, http.StatusBadRequest, "bad_parameter", "unknown parameter "+k+" (accepted: page, page_size, cursor)")
				return
			}
		}
		page, size := 1, DefaultCatalogPageSize
		if p := v.Get("page"); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil || n < 1 {
				writeError(w, http.StatusBadRequest, "bad_parameter", fmt.Sprintf("page must be a whole number from 1, got %q", p))
				return
			}
			page = n
		}
		if p := v.Get("page_size"); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil || n < 1 || n > MaxCatalogPageSize {
				writeError(w, http.StatusBadRequest, "bad_parameter", fmt.Sprintf("page_size must be a whole number from 1 to %d, got %q", MaxCatalogPageSize, p))
				return
			}
			size = n
		}
		ctx := r.Context()
		cursor, err := s.openCursor(v.Get("cursor"))
		if err != nil {
			writeError(w, http.StatusBadRequest, "bad_cursor", err.Error())
			return
		}
		q := index.Query{Sort: index.SortTitle, Size: size, Cursor: cursor}
		if q.Cursor == "" && page > 1 {
			skip := (page - 1) * size
			if skip+size <= index.MaxWindow {
				q.Offset = skip // the index seeks to the page
			} else if q.Cursor, err = s.seek(ctx, skip); err != nil {
				if errors.Is(err, errNoPage) {
					writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("the catalogue has no page %d (pages of %d datasets)", page, size))
					return
				}
				s.searchError(w, r, err)
				return
			}
		}
		res, err := s.Index.Search(ctx, q)
		if err != nil {
			s.searchError(w, r, err)
			return
		}
		if len(res.Items) == 0 && page > 1 {
			writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("the catalogue has no page %d (pages of %d datasets)", page, size))
			return
		}
		base := s.baseURL(r)
		last := max(1, int((res.Total+int64(size)-1)/int64(size)))
		pageURL := func(n int, cursor string) string {
			u := fmt.Sprintf("%s/catalog.%s?page=%d", base, syntax, n)
			if size != DefaultCatalogPageSize {
				u += "&page_size=" + strconv.Itoa(size)
			}
			if cursor != "" {
				u += "&cursor=" + url.QueryEscape(cursor)
			}
			return u
		}
		w.Header().Set("Content-Type", rdfContentTypes[syntax])
		rw := newRDFWriter(syntax, w)
		catalogIRI := base + "/catalog"
		if err := rw.begin(); err != nil {
			return
		}
		cat := &rdfNode{IRI: catalogIRI, Types: []string{nsDCAT + "Catalog"}}
		cat.lit(nsDCT+"title", "Moisson — catalogue fédéré des territoires OpenDataLocale")
		cat.lit(nsDCT+"description", "Les jeux de données moissonnés sur les portails des territoires pilotes OpenDataLocale, normalisés en DCAT-AP.")
		cat.iri(nsDCT+"language", euLang+"FRA")
		cat.iri(nsFOAF+"homepage", base+"/")
		pub := &rdfNode{Types: []string{nsFOAF + "Agent"}}
		pub.lit(nsFOAF+"name", "Moisson")
		cat.node(nsDCT+"publisher", pub)
		view := &rdfNode{IRI: pageURL(page, v.Get("cursor")), Types: []string{nsHydra + "PagedCollection"}}
		view.typed(nsHydra+"totalItems", strconv.FormatInt(res.Total, 10), nsXSD+"integer")
		view.typed(nsHydra+"itemsPerPage", strconv.Itoa(size), nsXSD+"integer")
		view.iri(nsHydra+"firstPage", pageURL(1, ""))
		view.iri(nsHydra+"lastPage", pageURL(last, ""))
		if page > 1 {
			view.iri(nsHydra+"previousPage", pageURL(page-1, ""))
		}
		if res.NextCursor != "" {
			next := pageURL(page+1, s.sealCursor(res.NextCursor))
			view.iri(nsHydra+"nextPage", next)
			view.iri(nsHydra+"next", next)
		}
		if err := rw.write(cat); err != nil {
			return
		}
		if err := rw.write(view); err != nil {
			return
		}
		for _, d := range res.Items {
			iri := datasetIRI(base, d.GetId())
			if err := rw.write(datasetNode(d, iri)); err != nil {
				return
			}
			if err := rw.link(catalogIRI, nsDCAT+"dataset", iri); err != nil {
				return
			}
		}
		_ = rw.end()
	}
}
