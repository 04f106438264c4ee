// Package web is Moisson's web interface, in French: cross-territory search
// with facets, a dataset page, the SCDL coverage comparison and the harvest
// status of every source. Pages are rendered on the server (html/template)
// and work without JavaScript; the static files are embedded.
//
// The package does not import api/server: the server wires it with Deps
// (the index searcher, the list of sources, the coverage).
package web

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"html"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/opendatafrance/moisson/api/observatory"
	"github.com/opendatafrance/moisson/indexer/index"
	"github.com/opendatafrance/moisson/proto/bus"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"go.uber.org/zap"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Source is what the status pages show of one source.
type Source struct {
	bus.SourceInfo
	Status        string // NEVER, RUNNING, SUCCEEDED, PARTIAL, FAILED, DISABLED
	Diagnosis     string // in English
	DiagnosisCode string // what it is about (harvest.Diag*): dns, connection, tls, timeout, moved, gone...
	NeedsReview   bool
	ReviewReason  string
	Running       *bus.Lease
	NextRun       *time.Time
	Runs          []*moissonv1.HarvestRun // newest first
	LastSuccess   *moissonv1.HarvestRun
	DeadLetters   uint64 // records the index refused for good
}

// Last is the latest run (nil when never harvested).
func (s *Source) Last() *moissonv1.HarvestRun {
	if len(s.Runs) == 0 {
		return nil
	}
	return s.Runs[0]
}

// Deps is what the web interface reads.
type Deps struct {
	Index index.Searcher
	// Sources lists every known source with its runs.
	Sources func(ctx context.Context) []Source
	// Unindexed counts the records harvested and not yet in the index
	// (nil: not known).
	Unindexed func(ctx context.Context) int64
	// Coverage answers the coverage comparison (distinct: datasets counted,
	// their copies once); nil computes it from Index.
	Coverage func(ctx context.Context, distinct bool) (*Coverage, error)
	// NotFound answers a 404 to clients that did not ask for HTML (the API's
	// JSON error).
	NotFound http.HandlerFunc
	Log      *zap.Logger
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
	// SealCursor and OpenCursor seal the index's cursors in links and
	// open them again (the API's own); nil leaves them as they are.
	SealCursor func(string) string
	OpenCursor func(string) (string, error)
	// Observatory answers the observatory (nil: the page says it is not
	// available); Unresolved lists the publishers not resolved, History
	// the daily snapshots.
	Observatory func(ctx context.Context) (*observatory.Report, error)
	Unresolved  func(ctx context.Context, territories []string) ([]observatory.Unresolved, error)
	History     func(ctx context.Context) []observatory.Snapshot
}

// UI serves the pages.
type UI struct {
	d      Deps
	pages  map[string]*template.Template
	static map[string]staticFile
	cov    coverageCache
}

type staticFile struct {
	data  []byte
	etag  string
	ctype string
}

// New parses the templates and indexes the static files.
func New(d Deps) (*UI, error) {
	if d.Log == nil {
		d.Log = zap.NewNop()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Sources == nil {
		d.Sources = func(context.Context) []Source { return nil }
	}
	if d.SealCursor == nil || d.OpenCursor == nil {
		d.SealCursor = func(c string) string { return c }
		d.OpenCursor = func(c string) (string, error) { return c, nil }
	}
	u := &UI{d: d, pages: map[string]*template.Template{}, static: map[string]staticFile{}}
	for _, p := range []string{"search", "dataset", "coverage", "observatory", "status", "source", "error"} {
		t, err := template.New("layout.html").Funcs(funcs(d.Now)).ParseFS(templateFS, "templates/layout.html", "templates/"+p+".html")
		if err != nil {
			return nil, err
		}
		u.pages[p] = t
	}
	err := fs.WalkDir(staticFS, "static", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		u.static[strings.TrimPrefix(p, "static/")] = staticFile{data: b, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, ctype: contentType(p)}
		return nil
	})
	return u, err
}

func contentType(p string) string {
	switch path.Ext(p) {
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	}
	return "application/octet-stream"
}

// Routes are the pages, as registered by Register.
var Routes = []string{
	"GET /{$}",
	"GET /jeux-de-donnees/{id}",
	"GET /couverture",
	"GET /observatoire",
	"GET /moissons",
	"GET /moissons/{id}",
	"GET /static/{file...}",
	"GET /",
}

// Register adds the pages to a router. "GET /" answers every other GET: a
// French 404 page for browsers, Deps.NotFound for the others.
func (u *UI) Register(route func(pattern string, h http.HandlerFunc)) {
	route("GET /{$}", u.search)
	route("GET /jeux-de-donnees/{id}", u.dataset)
	route("GET /couverture", u.coverage)
	route("GET /observatoire", u.observatory)
	route("GET /moissons", u.status)
	route("GET /moissons/{id}", u.source)
	route("GET /static/{file...}", u.staticFile)
	route("GET /", u.notFound)
}

// StaticURL is the URL of a static file, with its version for caching.
func (u *UI) StaticURL(name string) string {
	if f, ok := u.static[name]; ok {
		return "/static/" + name + "?v=" + strings.Trim(f.etag, `"`)
	}
	return "/static/" + name
}

func (u *UI) staticFile(w http.ResponseWriter, r *http.Request) {
	f, ok := u.static[r.PathValue("file")]
	if !ok {
		u.notFound(w, r)
		return
	}
	w.Header().Set("Content-Type", f.ctype)
	w.Header().Set("ETag", f.etag)
	if r.URL.Query().Get("v") != "" {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "public, max-age=300")
	}
	http.ServeContent(w, r, "", time.Time{}, strings.NewReader(string(f.data)))
}

// page is what every template receives.
type page struct {
	Title   string
	Nav     string // search, coverage, status
	Static  func(string) string
	Now     time.Time
	Data    any
	Status  int
	Message string
}

func (u *UI) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	p.Static = u.StaticURL
	p.Now = u.d.Now()
	var b strings.Builder
	if err := u.pages[name].Execute(&b, p); err != nil {
		u.d.Log.Error("web: template", zap.String("page", name), zap.Error(err))
		http.Error(w, "Erreur interne : la page n'a pas pu être affichée.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", "fr")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'")
	w.Header().Set("Referrer-Policy", "same-origin")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

func (u *UI) errorPage(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	u.render(w, r, status, "error", page{Title: title, Status: status, Message: msg})
}

// ErrorPage answers a French error page (the server's guards use it for
// the web pages' requests).
func (u *UI) ErrorPage(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	u.errorPage(w, r, status, title, msg)
}

func wantsHTML(r *http.Request) bool {
	if strings.HasPrefix(r.URL.Path, "/v1/") {
		return false
	}
	a := r.Header.Get("Accept")
	return strings.Contains(a, "text/html") || strings.Contains(a, "application/xhtml")
}

func (u *UI) notFound(w http.ResponseWriter, r *http.Request) {
	if !wantsHTML(r) && u.d.NotFound != nil && !strings.HasPrefix(r.URL.Path, "/static/") &&
		!strings.HasPrefix(r.URL.Path, "/jeux-de-donnees/") && !strings.HasPrefix(r.URL.Path, "/moissons/") {
		u.d.NotFound(w, r)
		return
	}
	u.errorPage(w, r, http.StatusNotFound, "Page introuvable",
		"Cette adresse ne correspond à aucune page de Moisson. Elle a peut-être changé, ou le lien est incomplet.")
}

// ---- search ----

// facetDef is one facet of the sidebar.
type facetDef struct {
	Field, Label string
}

var facetDefs = []facetDef{
	{index.FieldTerritory, "Territoire"},
	{index.FieldSchema, "Élément du SCDL"},
	{index.FieldTheme, "Thème"},
	{index.FieldFormat, "Format"},
	{index.FieldLicense, "Licence"},
	{index.FieldPublisher, "Producteur"},
	{index.FieldCollectivite, "Collectivité"},
	{index.FieldPortal, "Portail"},
	{index.FieldQuality, "Qualité des métadonnées"},
	{index.FieldHasData, "Fichiers"},
	{index.FieldProtocol, "Protocole"},
}

// filterParams are the query parameters the search page reads as filters
// (the same names as GET /v1/datasets).
var filterParams = []string{index.FieldTerritory, index.FieldPublisher, index.FieldFormat, index.FieldLicense,
	index.FieldSource, index.FieldProtocol, index.FieldTheme, index.FieldSchema, index.FieldPortal, index.FieldQuality, index.FieldHasData,
	index.FieldCollectivite}

var fieldLabels = map[string]string{
	index.FieldTerritory: "Territoire", index.FieldPublisher: "Producteur", index.FieldFormat: "Format",
	index.FieldLicense: "Licence", index.FieldSource: "Source", index.FieldProtocol: "Protocole",
	index.FieldTheme: "Thème", index.FieldSchema: "Élément du SCDL", index.FieldPortal: "Portail",
	index.FieldQuality: "Qualité des métadonnées", index.FieldHasData: "Fichiers", index.FieldCollectivite: "Collectivité",
}

var sortOptions = []struct{ Value, Label string }{
	{"relevance", "Pertinence"}, {"-modified", "Modifiés récemment"}, {"title", "Titre (A → Z)"}, {"-quality", "Meilleures métadonnées"},
}

var sortValues = map[string]string{"relevance": index.SortRelevance, "-modified": index.SortModified, "title": index.SortTitle,
	"-quality": index.SortQuality}

// valueLabel is the French label of a facet value.
func valueLabel(field, v string) string {
	switch field {
	case index.FieldTerritory:
		if n, ok := territoryNames[v]; ok {
			return n
		}
	case index.FieldLicense:
		return LicenseLabel(v)
	case index.FieldTheme:
		if l, ok := themeLabels[v]; ok {
			return l
		}
	case index.FieldSchema:
		return SCDLLabel(v)
	case index.FieldQuality:
		if l, ok := qualityLabels[v]; ok {
			return l
		}
	case index.FieldHasData:
		switch v {
		case "true":
			return "Avec fichiers téléchargeables"
		case "false":
			return "Sans fichier téléchargeable"
		}
	case index.FieldPortal:
		return strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(v, "https://"), "http://"), "/")
	case index.FieldProtocol:
		return labelOr(protocolLabels, v)
	case index.FieldCollectivite:
		return CollectiviteLabel(v)
	}
	return v
}

type facetValue struct {
	Key, Label string
	Count      int64
	Selected   bool
	URL        string // toggles the value
}

type facetView struct {
	Field, Label string
	Values       []facetValue
	// Beyond the values shown: OtherCount datasets in OtherValues values
	// (at least, when AllShown is false and the index has more than it
	// listed), and the page listing them all.
	OtherCount  int64
	OtherValues int
	MoreThan    bool
	AllURL      string
}

type activeFilter struct {
	Field, FieldLabel, Label, RemoveURL string
}

// hint is a filter value no dataset has, with the close ones.
type hint struct {
	FieldLabel, Value string
	Suggestions       []struct{ Label, URL string }
}

type pageLink struct {
	N       int
	URL     string
	Current bool
}

type searchView struct {
	Q, Sort        string
	Sorts          []struct{ Value, Label string }
	Hidden         []struct{ Name, Value string } // active filters kept by the form
	Total          int64
	Items          []itemView
	Facets         []facetView
	Active         []activeFilter
	Hints          []hint
	NextURL        string
	PrevURL        string
	FirstURL       string // when on a later page
	Pages          []pageLink
	Page           int
	From, To       int64 // the items shown, 1-based
	APIURL         string
	Exports        []struct{ Label, URL string }
	Error          string
	Searched       bool
	ClearURL       string
	Paged          bool
	TerritoryNames map[string]string
	// AllFacet, when set, is the one facet listed whole (?facette=).
	AllFacet *facetView
	BackURL  string
}

type itemView struct {
	ID, Title, Description, Territory, TerritoryID, Publisher, License, LicenseID string
	// TitleHTML and DescriptionHTML carry the matched words in <mark>,
	// everything else escaped (highlighted, from the index's highlights).
	TitleHTML, DescriptionHTML template.HTML
	Formats                    []string
	Modified                   time.Time
	PortalURL, PortalLink      string
	SCDL                       []string
}

// searchURL builds a search page URL from values (empty ones dropped).
func searchURL(v url.Values) string {
	c := url.Values{}
	for k, vs := range v {
		for _, x := range vs {
			if x != "" {
				c.Add(k, x)
			}
		}
	}
	if len(c) == 0 {
		return "/"
	}
	return "/?" + c.Encode()
}

// Search page sizes.
const (
	pageSize       = 20
	facetShown     = 12  // values of a facet in the sidebar
	facetCounted   = 101 // values asked to tell the remainder
	facetListedAll = 1000
)

func (u *UI) search(w http.ResponseWriter, r *http.Request) {
	in := r.URL.Query()
	v := searchView{Sorts: sortOptions, TerritoryNames: territoryNames, Page: 1}
	v.Q = strings.TrimSpace(in.Get("q"))
	if len(v.Q) > 500 {
		v.Q = v.Q[:500]
	}
	v.Sort = in.Get("sort")
	if _, ok := sortValues[v.Sort]; !ok {
		v.Sort = ""
	}
	q := index.Query{Text: v.Q, Size: pageSize, Filters: map[string][]string{}, FacetSize: facetCounted, Sort: sortValues[v.Sort],
		Highlight: v.Q != ""}
	for _, f := range facetDefs {
		q.Facets = append(q.Facets, f.Field)
	}
	// base holds the state without the page: every link built from it
	// starts again at the first page.
	base := url.Values{}
	if v.Q != "" {
		base.Set("q", v.Q)
	}
	if v.Sort != "" {
		base.Set("sort", v.Sort)
	}
	for _, f := range filterParams {
		seen := map[string]bool{}
		for _, x := range in[f] {
			if x = strings.TrimSpace(x); x != "" && !seen[x] {
				seen[x] = true
				q.Filters[f] = append(q.Filters[f], x)
			}
		}
	}
	// Values as people type them name the values the index holds.
	filters, unknown, err := index.ResolveFilters(r.Context(), u.d.Index, q.Filters)
	if err == nil {
		q.Filters = filters
	}
	for _, f := range filterParams {
		for _, x := range q.Filters[f] {
			base.Add(f, x)
			v.Hidden = append(v.Hidden, struct{ Name, Value string }{f, x})
		}
	}
	for _, un := range unknown {
		h := hint{FieldLabel: fieldLabels[un.Field], Value: un.Value}
		for _, s := range un.DidYouMean {
			n := url.Values{}
			for k, vs := range base {
				for _, x := range vs {
					if !(k == un.Field && x == un.Value) {
						n.Add(k, x)
					}
				}
			}
			n.Add(un.Field, s)
			h.Suggestions = append(h.Suggestions, struct{ Label, URL string }{valueLabel(un.Field, s), searchURL(n)})
		}
		v.Hints = append(v.Hints, h)
	}
	v.Searched = len(base) > 0
	// A page by number within the index's window, by cursor beyond it.
	if p, err := strconv.Atoi(in.Get("page")); err == nil && p > 1 {
		v.Page = p
	}
	if c := in.Get("cursor"); c != "" {
		if q.Cursor, err = u.d.OpenCursor(c); err != nil {
			v.Error = "Ce lien de page n'est pas valable (modifié ou incomplet). Reprenez à la première page."
			q.Cursor, v.Page = "", 1
		}
	} else if off := (v.Page - 1) * pageSize; off+pageSize <= index.MaxWindow {
		q.Offset = off
	} else {
		v.Page = 1
	}
	v.Paged = v.Page > 1
	res, err := u.d.Index.Search(r.Context(), q)
	if errors.Is(err, index.ErrBadCursor) {
		v.Error = "Ce lien de page n'est plus valable (l'ordre de tri a changé ou le lien est incomplet). Reprenez à la première page."
		q.Cursor, q.Offset, v.Page, v.Paged = "", 0, 1, false
		res, err = u.d.Index.Search(r.Context(), q)
	}
	if err != nil {
		u.d.Log.Error("web: search", zap.Error(err))
		u.errorPage(w, r, http.StatusServiceUnavailable, "Recherche indisponible",
			"L'index ne répond pas pour le moment. Réessayez dans quelques instants.")
		return
	}
	v.Total = res.Total
	for i, d := range res.Items {
		it := newItemView(d)
		if i < len(res.Hits) {
			it.highlight(res.Hits[i].Highlights)
		}
		v.Items = append(v.Items, it)
	}
	if len(v.Items) > 0 {
		v.From = int64((v.Page-1)*pageSize + 1)
		v.To = v.From + int64(len(v.Items)) - 1
	}
	// A facet with a value chosen counts as if none of its values were
	// (the other filters still apply), so that the other values stay
	// offered with their counts: choosing two territories is two clicks.
	for _, f := range facetDefs {
		if len(q.Filters[f.Field]) == 0 {
			continue
		}
		fq := index.Query{Text: q.Text, Size: 1, Filters: map[string][]string{}, Facets: []string{f.Field}, FacetSize: q.FacetSize}
		for k, vs := range q.Filters {
			if k != f.Field {
				fq.Filters[k] = vs
			}
		}
		if fr, err := u.d.Index.Search(r.Context(), fq); err == nil {
			res.Facets[f.Field] = fr.Facets[f.Field]
		} else {
			u.d.Log.Warn("web: facet", zap.String("field", f.Field), zap.Error(err))
		}
	}
	selected := func(field, key string) bool {
		for _, x := range q.Filters[field] {
			if x == key {
				return true
			}
		}
		return false
	}
	toggle := func(field, key string) string {
		n := url.Values{}
		for k, vs := range base {
			for _, x := range vs {
				if k == field && x == key {
					continue
				}
				n.Add(k, x)
			}
		}
		if !selected(field, key) {
			n.Add(field, key)
		}
		return searchURL(n)
	}
	facetOf := func(f facetDef, counts []index.FacetCount, shown int) facetView {
		fv := facetView{Field: f.Field, Label: f.Label}
		inFacet := map[string]bool{}
		for _, c := range counts {
			inFacet[c.Key] = true
			fv.Values = append(fv.Values, facetValue{Key: c.Key, Label: valueLabel(f.Field, c.Key), Count: c.Count,
				Selected: selected(f.Field, c.Key), URL: toggle(f.Field, c.Key)})
		}
		// A selected value always shows, even when the facet does not list it.
		for _, x := range q.Filters[f.Field] {
			if !inFacet[x] {
				fv.Values = append(fv.Values, facetValue{Key: x, Label: valueLabel(f.Field, x), Selected: true, URL: toggle(f.Field, x)})
			}
		}
		fv.Values = sortFacet(f.Field, fv.Values)
		if len(fv.Values) > shown {
			var kept []facetValue
			for i, x := range fv.Values {
				if i < shown || x.Selected {
					kept = append(kept, x)
					continue
				}
				fv.OtherCount += x.Count
				fv.OtherValues++
			}
			fv.Values = kept
			fv.MoreThan = len(counts) >= facetCounted
			n := url.Values{}
			for k, vs := range base {
				n[k] = vs
			}
			n.Set("facette", f.Field)
			fv.AllURL = searchURL(n)
		}
		return fv
	}
	for _, f := range facetDefs {
		if fv := facetOf(f, res.Facets[f.Field], facetShown); len(fv.Values) > 0 {
			v.Facets = append(v.Facets, fv)
		}
	}
	// ?facette=FIELD lists every value of one facet.
	if all := in.Get("facette"); all != "" {
		for _, f := range facetDefs {
			if f.Field != all {
				continue
			}
			fq := index.Query{Text: q.Text, Size: 1, Filters: map[string][]string{}, Facets: []string{f.Field}, FacetSize: facetListedAll}
			for k, vs := range q.Filters {
				if k != f.Field {
					fq.Filters[k] = vs
				}
			}
			if fr, err := u.d.Index.Search(r.Context(), fq); err == nil {
				fv := facetOf(f, fr.Facets[f.Field], facetListedAll)
				v.AllFacet = &fv
				v.BackURL = searchURL(base)
			}
		}
	}
	for _, f := range filterParams {
		for _, x := range q.Filters[f] {
			v.Active = append(v.Active, activeFilter{Field: f, FieldLabel: fieldLabels[f], Label: valueLabel(f, x), RemoveURL: toggle(f, x)})
		}
	}
	if len(v.Active) > 0 {
		keep := url.Values{}
		if v.Q != "" {
			keep.Set("q", v.Q)
		}
		v.ClearURL = searchURL(keep)
	}
	pageURL := func(n int, cursor string) string {
		p := url.Values{}
		for k, vs := range base {
			p[k] = vs
		}
		if n > 1 {
			p.Set("page", strconv.Itoa(n))
		}
		if cursor != "" {
			p.Set("cursor", u.d.SealCursor(cursor))
		}
		return searchURL(p)
	}
	lastInWindow := index.MaxWindow / pageSize
	last := int((res.Total + pageSize - 1) / pageSize)
	if res.NextCursor != "" {
		if q.Cursor == "" && v.Page+1 <= lastInWindow {
			v.NextURL = pageURL(v.Page+1, "")
		} else {
			v.NextURL = pageURL(v.Page+1, res.NextCursor)
		}
	}
	if v.Paged {
		v.FirstURL = pageURL(1, "")
		if v.Page-1 <= lastInWindow {
			v.PrevURL = pageURL(v.Page-1, "")
		}
	}
	if last > 1 {
		for n := max(1, v.Page-3); n <= min(last, v.Page+3, lastInWindow); n++ {
			v.Pages = append(v.Pages, pageLink{N: n, URL: pageURL(n, ""), Current: n == v.Page})
		}
		if v.Page > lastInWindow {
			v.Pages = append(v.Pages, pageLink{N: v.Page, Current: true})
		}
	}
	api := url.Values{}
	for k, vs := range base {
		api[k] = vs
	}
	v.APIURL = "/v1/datasets"
	if len(api) > 0 {
		v.APIURL += "?" + api.Encode()
	}
	for _, e := range []struct{ label, format, dialect string }{
		{"CSV", "csv", ""}, {"CSV pour Excel", "csv", "excel-fr"}, {"JSON", "jsonl", ""}, {"DCAT (Turtle)", "ttl", ""}, {"DCAT (RDF/XML)", "rdf", ""},
	} {
		x := url.Values{}
		for k, vs := range base {
			if k == index.FieldFormat {
				x["distribution_format"] = vs
				continue
			}
			if k != "sort" {
				x[k] = vs
			}
		}
		x.Set("format", e.format)
		if e.dialect != "" {
			x.Set("dialect", e.dialect)
		}
		v.Exports = append(v.Exports, struct{ Label, URL string }{e.label, "/v1/datasets/export?" + x.Encode()})
	}
	title := "Rechercher dans les données des territoires"
	if v.Q != "" {
		title = "« " + v.Q + " » — recherche"
	}
	u.render(w, r, http.StatusOK, "search", page{Title: title, Nav: "search", Data: v})
}

// highlight sets the item's title and description with the matched words
// marked, from the index's highlights (matched words between <mark> tags,
// the rest HTML-escaped): the text is escaped again here, whatever the
// index sent, and only the <mark> tags survive.
func (it *itemView) highlight(h map[string][]string) {
	if t := h["title"]; len(t) > 0 {
		it.TitleHTML = markOnly(t[0])
	}
	if d := h["description"]; len(d) > 0 {
		var parts []string
		for _, f := range d {
			parts = append(parts, string(markOnly(f)))
		}
		it.DescriptionHTML = template.HTML("… " + strings.Join(parts, " … ") + " …")
	}
}

// markOnly makes an HTML fragment of highlighted text: its <mark> tags, and
// everything else as text.
func markOnly(s string) template.HTML {
	var b strings.Builder
	for i, seg := range strings.Split(s, index.HighlightPre) {
		if i > 0 {
			b.WriteString("<mark>")
		}
		inner, rest, closed := strings.Cut(seg, index.HighlightPost)
		b.WriteString(template.HTMLEscapeString(html.UnescapeString(inner)))
		if closed && i > 0 {
			b.WriteString("</mark>")
			b.WriteString(template.HTMLEscapeString(html.UnescapeString(rest)))
		} else if closed {
			b.WriteString(template.HTMLEscapeString(html.UnescapeString(rest)))
		} else if i > 0 {
			b.WriteString("</mark>")
		}
	}
	return template.HTML(b.String())
}

// sortFacet keeps counts order, but territories and SCDL items with equal
// counts by label.
func sortFacet(field string, vs []facetValue) []facetValue {
	sort.SliceStable(vs, func(i, j int) bool {
		if vs[i].Count != vs[j].Count {
			return vs[i].Count > vs[j].Count
		}
		return vs[i].Label < vs[j].Label
	})
	return vs
}

func newItemView(d *moissonv1.Dataset) itemView {
	it := itemView{ID: d.GetId(), Title: d.GetTitle(), TerritoryID: d.GetTerritoryId(),
		Territory: valueLabel(index.FieldTerritory, d.GetTerritoryId()), Publisher: d.GetPublisher().GetName(),
		LicenseID: d.GetLicense().GetNormalized(), License: LicenseLabel(d.GetLicense().GetNormalized()),
		PortalURL: d.GetPortalUrl(), PortalLink: d.GetLandingPage()}
	if it.Title == "" {
		it.Title = "(sans titre) " + d.GetOriginalId()
	}
	if it.PortalLink == "" {
		it.PortalLink = d.GetPortalUrl()
	}
	it.Description = excerpt(d.GetDescription(), 260)
	seen := map[string]bool{}
	for _, dist := range d.GetDistributions() {
		if f := dist.GetFormat(); f != "" && !seen[f] {
			seen[f] = true
			it.Formats = append(it.Formats, f)
		}
	}
	for _, m := range d.GetScdl() {
		it.SCDL = append(it.SCDL, SCDLLabel(m.GetItem()))
	}
	if m := d.GetModified(); m != nil {
		it.Modified = m.AsTime()
	}
	return it
}

// excerpt cuts s at a word boundary near n characters.
func excerpt(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	cut := string(r[:n])
	if i := strings.LastIndexByte(cut, ' '); i > n/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,.;:") + "…"
}

// ---- dataset ----

type datasetView struct {
	D         *moissonv1.Dataset
	Item      itemView
	Themes    []string
	SCDL      []struct{ Label, Evidence, SearchURL string }
	SourceURL string
	APIURL    string
	// SameAs are the other records of the same dataset (published on
	// other portals or harvested through other sources).
	SameAs []itemView
}

// maxSameAsShown bounds the other records a dataset page lists.
const maxSameAsShown = 20

func (u *UI) dataset(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	d, err := u.d.Index.Get(r.Context(), id)
	if errors.Is(err, index.ErrNotFound) {
		u.errorPage(w, r, http.StatusNotFound, "Jeu de données introuvable",
			"Aucun jeu de données n'a l'identifiant « "+id+" ». Il a peut-être été retiré de son portail depuis la dernière moisson.")
		return
	}
	if err != nil {
		u.d.Log.Error("web: dataset", zap.Error(err))
		u.errorPage(w, r, http.StatusServiceUnavailable, "Index indisponible", "L'index ne répond pas pour le moment. Réessayez dans quelques instants.")
		return
	}
	v := datasetView{D: d, Item: newItemView(d), SourceURL: "/moissons/" + url.PathEscape(d.GetSourceId()),
		APIURL: "/v1/datasets/" + url.PathEscape(d.GetId())}
	v.Item.Description = d.GetDescription()
	for _, t := range d.GetThemes() {
		v.Themes = append(v.Themes, valueLabel(index.FieldTheme, t))
	}
	for _, m := range d.GetScdl() {
		ev := evidenceLabels[m.GetEvidence()]
		if ev == "" {
			ev = m.GetEvidence()
		}
		v.SCDL = append(v.SCDL, struct{ Label, Evidence, SearchURL string }{SCDLLabel(m.GetItem()), ev,
			searchURL(url.Values{"schema": {m.GetItem()}, "territory": {d.GetTerritoryId()}})})
	}
	same := &index.Result{Items: []*moissonv1.Dataset{d}}
	if err := index.FillSameAs(r.Context(), u.d.Index.Search, same); err != nil {
		// The page is still worth showing without its duplicates.
		u.d.Log.Warn("web: same_as", zap.String("id", id), zap.Error(err))
	} else {
		for i, other := range same.Hits[0].SameAs {
			if i == maxSameAsShown {
				break
			}
			if o, err := u.d.Index.Get(r.Context(), other); err == nil {
				v.SameAs = append(v.SameAs, newItemView(o))
			}
		}
	}
	u.render(w, r, http.StatusOK, "dataset", page{Title: v.Item.Title, Nav: "search", Data: v})
}
