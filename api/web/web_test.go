package web

import (
	"context"
	"fmt"
	"html"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opendatafrance/moisson/api/observatory"
	"github.com/opendatafrance/moisson/indexer/index"
	"github.com/opendatafrance/moisson/proto/bus"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// memIndex is a small in-memory index.Searcher: filters, facets, words in
// titles, pages by offset cursors.
type memIndex struct{ docs []*moissonv1.Dataset }

func docValues(d *moissonv1.Dataset, field string) []string {
	switch field {
	case index.FieldTerritory:
		return []string{d.GetTerritoryId()}
	case index.FieldPublisher:
		return []string{d.GetPublisher().GetName()}
	case index.FieldLicense:
		return []string{d.GetLicense().GetNormalized()}
	case index.FieldSource:
		return []string{d.GetSourceId()}
	case index.FieldProtocol:
		return []string{d.GetProtocol()}
	case index.FieldTheme:
		return d.GetThemes()
	case index.FieldFormat:
		var out []string
		for _, x := range d.GetDistributions() {
			out = append(out, x.GetFormat())
		}
		return out
	case index.FieldSchema:
		var out []string
		for _, m := range d.GetScdl() {
			out = append(out, m.GetItem())
		}
		return out
	case index.FieldQuality:
		return []string{"good"}
	case index.FieldHasData:
		return []string{strconv.FormatBool(len(d.GetDistributions()) > 0)}
	case index.FieldDupKey:
		return index.DupKeys(d)
	case index.FieldEvidence:
		var out []string
		for _, m := range d.GetScdl() {
			out = append(out, m.GetItem()+" "+m.GetEvidence())
		}
		return out
	}
	return nil
}

func (m *memIndex) Search(_ context.Context, q index.Query) (*index.Result, error) {
	var hits []*moissonv1.Dataset
	for _, d := range m.docs {
		ok := true
		for _, w := range strings.Fields(strings.ToLower(index.Fold(q.Text))) {
			ok = ok && strings.Contains(strings.ToLower(index.Fold(d.GetTitle())), strings.TrimSuffix(w, "s"))
		}
		for f, vals := range q.Filters {
			any := false
			for _, v := range vals {
				for _, dv := range docValues(d, f) {
					any = any || dv == v
				}
			}
			ok = ok && any
		}
		mod := d.GetModified().AsTime()
		if !q.ModifiedAfter.IsZero() && mod.Before(q.ModifiedAfter) || !q.ModifiedBefore.IsZero() && !mod.Before(q.ModifiedBefore) {
			ok = false
		}
		if ok {
			hits = append(hits, d)
		}
	}
	switch q.Sort {
	case index.SortModified:
		sort.SliceStable(hits, func(i, j int) bool { return hits[i].GetModified().AsTime().After(hits[j].GetModified().AsTime()) })
	case index.SortTitle:
		sort.SliceStable(hits, func(i, j int) bool { return hits[i].GetTitle() < hits[j].GetTitle() })
	}
	res := &index.Result{Total: int64(len(hits)), Facets: map[string][]index.FacetCount{}}
	for _, f := range q.Facets {
		counts := map[string]int64{}
		for _, d := range hits {
			seen := map[string]bool{}
			for _, v := range docValues(d, f) {
				if !seen[v] {
					seen[v] = true
					counts[v]++
				}
			}
		}
		list := []index.FacetCount{}
		for k, c := range counts {
			list = append(list, index.FacetCount{Key: k, Count: c})
		}
		sort.Slice(list, func(i, j int) bool {
			if list[i].Count != list[j].Count {
				return list[i].Count > list[j].Count
			}
			return list[i].Key < list[j].Key
		})
		if q.FacetSize > 0 && len(list) > q.FacetSize {
			list = list[:q.FacetSize]
		}
		res.Facets[f] = list
	}
	off := q.Offset
	if q.Cursor != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(q.Cursor, "o"))
		if err != nil || !strings.HasPrefix(q.Cursor, "o") {
			return nil, index.ErrBadCursor
		}
		off = n
	}
	size := q.Size
	if size <= 0 {
		size = 20
	}
	end := min(off+size, len(hits))
	if off < end {
		res.Items = hits[off:end]
	}
	if end < len(hits) {
		res.NextCursor = "o" + strconv.Itoa(end)
	}
	if q.Highlight && q.Text != "" {
		// As the backends do: the whole title, HTML-escaped, the words
		// that matched in <mark>.
		for _, d := range res.Items {
			t := html.EscapeString(d.GetTitle())
			for _, w := range strings.Fields(q.Text) {
				t = regexp.MustCompile(`(?i)`+regexp.QuoteMeta(html.EscapeString(w))).ReplaceAllString(t, index.HighlightPre+"$0"+index.HighlightPost)
			}
			res.Hits = append(res.Hits, index.Hit{Highlights: map[string][]string{"title": {t}}})
		}
	}
	return res, nil
}

func (m *memIndex) Get(_ context.Context, id string) (*moissonv1.Dataset, error) {
	for _, d := range m.docs {
		if d.GetId() == id {
			return d, nil
		}
	}
	return nil, index.ErrNotFound
}

func (m *memIndex) Count(context.Context) (int64, error) { return int64(len(m.docs)), nil }

var day = time.Date(2024, 3, 3, 12, 0, 0, 0, time.UTC)

func dataset(i int, territory, title, license string, formats []string, scdl ...string) *moissonv1.Dataset {
	d := &moissonv1.Dataset{
		Id: fmt.Sprintf("ds%03d", i), SourceId: territory + "-ods", TerritoryId: territory, Protocol: "ods",
		PortalUrl: "https://data." + territory + ".example", LandingPage: fmt.Sprintf("https://data.%s.example/explore/%d", territory, i),
		OriginalId: fmt.Sprintf("orig-%d", i), Title: title, Description: "Description de " + title,
		Publisher: &moissonv1.Publisher{Name: "Ville de " + territory}, License: &moissonv1.License{Normalized: license, Raw: license},
		Themes: []string{"GOVE"}, Modified: timestamppb.New(day.Add(-time.Duration(i) * 24 * time.Hour)),
	}
	for _, f := range formats {
		d.Distributions = append(d.Distributions, &moissonv1.Distribution{Format: f, DownloadUrl: "https://dl.example/" + f, Title: "Export " + f, ByteSize: 2048})
	}
	for i := 0; i+1 < len(scdl); i += 2 {
		d.Scdl = append(d.Scdl, &moissonv1.ScdlMatch{Item: scdl[i], Evidence: scdl[i+1]})
	}
	return d
}

func testIndex() *memIndex {
	m := &memIndex{}
	m.docs = append(m.docs,
		dataset(1, "bretagne", "Délibérations du conseil municipal de Rennes", "etalab-2.0", []string{"CSV", "JSON"}, "scdl/deliberations", "declared"),
		dataset(2, "bretagne", "Délibérations 2023", "odbl-1.0", []string{"CSV"}, "scdl/deliberations", "title"),
		dataset(3, "occitanie", "Délibérations de Toulouse Métropole", "etalab-2.0", []string{"CSV"}, "scdl/deliberations", "columns"),
		dataset(4, "occitanie", "Budget primitif 2023", "cc-by-sa-4.0", []string{"XLSX"}, "scdl/budget", "title"),
		dataset(5, "paca", "Arbres d'alignement", "", []string{"GeoJSON"}),
	)
	for i := 6; i < 50; i++ {
		m.docs = append(m.docs, dataset(i, "mulhouse", fmt.Sprintf("Comptages vélo %02d", i), "etalab-2.0", []string{"CSV"}))
	}
	// ds005 again on data.gouv.fr, under another title: its link to the
	// original makes it the same dataset.
	copy := dataset(50, "paca", "Alignements d'arbres (Région Sud)", "", []string{"GeoJSON"})
	copy.SourceId, copy.Protocol, copy.Identifiers = "paca-datagouv", "udata", []string{m.docs[4].GetLandingPage()}
	m.docs = append(m.docs, copy)
	return m
}

func run(id, st string, started time.Time, dur time.Duration, seen, errs int64) *moissonv1.HarvestRun {
	r := &moissonv1.HarvestRun{RunId: id, SourceId: "rennes-ods", TerritoryId: "bretagne", Status: moissonv1.HarvestRun_Status(moissonv1.HarvestRun_Status_value[st]),
		StartedAt: timestamppb.New(started), Seen: seen, Published: seen, ErrorCount: errs, Pages: 2, Trigger: "schedule"}
	if dur > 0 {
		r.FinishedAt = timestamppb.New(started.Add(dur))
	}
	for i := int64(0); i < errs && i < 30; i++ {
		r.Errors = append(r.Errors, &moissonv1.HarvestError{At: timestamppb.New(started), Kind: "http", Url: "https://data.rennes.example/page/" + strconv.FormatInt(i, 10),
			Message: "HTTP 503 Service Unavailable after 3 tries"})
	}
	return r
}

var now = time.Date(2024, 3, 10, 10, 0, 0, 0, time.UTC)

func testSources(context.Context) []Source {
	next := now.Add(2 * time.Hour)
	return []Source{
		{SourceInfo: bus.SourceInfo{SourceID: "rennes-ods", TerritoryID: "bretagne", Territory: "Bretagne", Portal: "data.rennesmetropole.fr",
			PortalURL: "https://data.rennesmetropole.fr", Protocol: "ods", Schedule: "every 24h0m0s"},
			Status: "PARTIAL", NextRun: &next, DeadLetters: 3,
			Runs: []*moissonv1.HarvestRun{
				run("20240310T090000Z-b", "PARTIAL", now.Add(-time.Hour), 12300*time.Millisecond, 180, 42),
				run("20240309T090000Z-a", "SUCCEEDED", now.Add(-25*time.Hour), 9*time.Second, 200, 0),
			}},
		{SourceInfo: bus.SourceInfo{SourceID: "toulouse-ods", TerritoryID: "occitanie", Territory: "Occitanie", Protocol: "ods"}, Status: "FAILED",
			Diagnosis: "the portal answers 404 at its endpoint: moved?",
			Runs:      []*moissonv1.HarvestRun{run("20240310T080000Z-c", "FAILED", now.Add(-2*time.Hour), 800*time.Millisecond, 0, 1)}},
		{SourceInfo: bus.SourceInfo{SourceID: "paca-ckan", TerritoryID: "paca", Protocol: "ckan"}, Status: "NEVER"},
		{SourceInfo: bus.SourceInfo{SourceID: "mulhouse-ods", TerritoryID: "mulhouse", Protocol: "ods", Endpoint: "https://data.mulhouse-alsace.fr/api/explore/v2.1"},
			Status: "FAILED", DiagnosisCode: "dns",
			Diagnosis: "unreachable portal: the host name data.mulhouse-alsace.fr could not be resolved (DNS)",
			Runs:      []*moissonv1.HarvestRun{run("20240310T070000Z-d", "FAILED", now.Add(-3*time.Hour), 40*time.Millisecond, 0, 1)}},
		{SourceInfo: bus.SourceInfo{SourceID: "paca-dcat", TerritoryID: "paca", Protocol: "dcat", Disabled: "alternative to paca-ckan (the same datasets as a DCAT export)"}, Status: "DISABLED"},
	}
}

func newTestUI(t *testing.T) (*UI, http.Handler) {
	t.Helper()
	u, err := New(Deps{Index: testIndex(), Sources: testSources, Now: func() time.Time { return now },
		NotFound: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(404)
			io.WriteString(w, `{"error":{"code":"not_found","message":"no such route"}}`)
		}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	u.Register(func(p string, h http.HandlerFunc) { mux.HandleFunc(p, h) })
	return u, mux
}

func get(t *testing.T, h http.Handler, target string, header ...string) (int, string, http.Header) {
	t.Helper()
	req := httptest.NewRequest("GET", target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String(), rec.Header()
}

func mustContain(t *testing.T, page, what string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(page, w) {
			t.Errorf("%s: missing %q", what, w)
		}
	}
}

// hrefs lists the (unescaped) links of a page whose text contains label.
func links(page string) map[string]string {
	out := map[string]string{}
	re := regexp.MustCompile(`(?s)<a [^>]*href="([^"]*)"[^>]*>(.*?)</a>`)
	tags := regexp.MustCompile(`<[^>]+>`)
	for _, m := range re.FindAllStringSubmatch(page, -1) {
		text := strings.Join(strings.Fields(html.UnescapeString(tags.ReplaceAllString(m[2], " "))), " ")
		out[text] = html.UnescapeString(m[1])
	}
	return out
}

func TestSearchPage(t *testing.T) {
	_, h := newTestUI(t)
	code, page, hdr := get(t, h, "/?q=d%C3%A9lib%C3%A9rations")
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
		t.Fatalf("status %d, type %q", code, hdr.Get("Content-Type"))
	}
	mustContain(t, page, "search page",
		`<html lang="fr">`, `<a class="skip" href="#contenu">Aller au contenu</a>`, `<main id="contenu"`,
		`3 jeux de données pour «&nbsp;délibérations&nbsp;»`,
		`Délibérations du conseil municipal de Rennes`, `<span class="badge territory" title="Territoire">Bretagne</span>`,
		`Licence Ouverte 2.0`, `ODbL 1.0`, `<time datetime="2024-03-02T12:00:00Z">2 mars 2024</time>`,
		`href="https://data.bretagne.example/explore/1"`, `Voir sur le portail`,
		`<h3 id="facet-territory">Territoire</h3>`, `Élément du SCDL`, `Producteur`, `Licence`, `Format`,
		`Gouvernement et secteur public`, `Qualité des métadonnées`, `<span class="label">Bonne</span>`,
		`<span class="label">Avec fichiers téléchargeables</span>`, `<option value="-quality">Meilleures métadonnées</option>`)
	// The search works without JavaScript: a GET form with named fields.
	form := regexp.MustCompile(`(?s)<form class="search" method="get" action="/"[^>]*>.*?</form>`).FindString(page)
	if form == "" {
		t.Fatal("no GET search form")
	}
	mustContain(t, form, "form", `<label for="q">`, `id="q" name="q" value="délibérations"`, `name="sort"`, `<button type="submit">Rechercher</button>`)

	// Facet links apply the filter and keep the words; the count is shown.
	l := links(page)
	occ, ok := l["Occitanie 1"]
	if !ok {
		t.Fatalf("no Occitanie facet link with its count; links: %v", l)
	}
	u, _ := url.Parse(occ)
	if u.Path != "/" || u.Query().Get("territory") != "occitanie" || u.Query().Get("q") != "délibérations" || u.Query().Get("cursor") != "" {
		t.Errorf("facet link %q", occ)
	}
	code, page2, _ := get(t, h, occ)
	if code != 200 {
		t.Fatal(code)
	}
	mustContain(t, page2, "filtered page", `1 jeu de données pour`, `Délibérations de Toulouse Métropole`,
		`<input type="hidden" name="territory" value="occitanie">`, `aria-current="true"`, `Territoire&nbsp;: Occitanie`)
	if strings.Contains(page2, "Délibérations 2023") {
		t.Error("the territory filter does not filter")
	}
	// The other territories stay offered with their counts (without the
	// territory filter, with the words): a second one adds to the first.
	l2 := links(page2)
	bzh, ok := l2["Bretagne 2"]
	if !ok {
		t.Fatalf("filtered page: no Bretagne 2 facet link; links: %v", l2)
	}
	if u, _ := url.Parse(bzh); !slices.Equal(u.Query()["territory"], []string{"occitanie", "bretagne"}) || u.Query().Get("q") != "délibérations" {
		t.Errorf("second territory link %q", bzh)
	}
	_, page5, _ := get(t, h, bzh)
	mustContain(t, page5, "two territories", `3 jeux de données pour`)
	// The selected value toggles off; "Tout effacer" keeps the words.
	var off string
	for text, href := range l2 {
		if strings.HasPrefix(text, "Retirer le filtre Territoire") {
			off = href
		}
	}
	if off == "" || strings.Contains(off, "territory=") || !strings.Contains(off, "q=") {
		t.Errorf("remove-filter link %q", off)
	}
	if c := l2["Tout effacer"]; c != "/?q=d%C3%A9lib%C3%A9rations" {
		t.Errorf("clear link %q", c)
	}
	// Licences and SCDL items are labelled in French in the facets.
	_, page3, _ := get(t, h, "/?q=budget")
	mustContain(t, page3, "budget", "CC BY-SA 4.0", "Budget")
	_, page4, _ := get(t, h, "/?territory=paca")
	mustContain(t, page4, "paca", "Licence non précisée", "Provence-Alpes-Côte d&#39;Azur")
}

func TestSearchPaging(t *testing.T) {
	_, h := newTestUI(t)
	_, page, _ := get(t, h, "/?territory=mulhouse&sort=title")
	mustContain(t, page, "page 1", "44 jeux de données", "Comptages vélo 06", "Suivant", "Résultats 1 à 20 sur 44")
	l := links(page)
	next := l["Suivant →"]
	u, _ := url.Parse(next)
	if u.Query().Get("page") != "2" || u.Query().Get("territory") != "mulhouse" || u.Query().Get("sort") != "title" {
		t.Fatalf("next link %q", next)
	}
	if l["3 (page)"] != "/?page=3&sort=title&territory=mulhouse" {
		t.Errorf("numbered pages: %v", l)
	}
	_, page2, _ := get(t, h, next)
	if strings.Contains(page2, "Comptages vélo 06") || !strings.Contains(page2, "Comptages vélo 26") || !strings.Contains(page2, "Résultats 21 à 40 sur 44") {
		t.Error("page 2 does not follow page 1")
	}
	if prev := links(page2)["← Précédent"]; prev != "/?sort=title&territory=mulhouse" {
		t.Errorf("previous page link %q", prev)
	}
	_, page3, _ := get(t, h, "/?territory=mulhouse&sort=title&page=3")
	if !strings.Contains(page3, "Comptages vélo 46") || strings.Contains(page3, "Suivant") {
		t.Error("page 3 is not the last")
	}
	// A cursor this index did not issue: the first page, with a French notice.
	code, page4, _ := get(t, h, "/?territory=mulhouse&cursor=garbage")
	if code != 200 || !strings.Contains(page4, "Ce lien de page n&#39;est plus valable") || !strings.Contains(page4, "Comptages vélo 06") {
		t.Errorf("bad cursor: %d", code)
	}
	// An unknown sort is ignored, not an error.
	if code, _, _ := get(t, h, "/?sort=nope"); code != 200 {
		t.Errorf("unknown sort: %d", code)
	}
}

func TestDatasetPage(t *testing.T) {
	_, h := newTestUI(t)
	code, page, _ := get(t, h, "/jeux-de-donnees/ds001")
	if code != 200 {
		t.Fatal(code)
	}
	mustContain(t, page, "dataset", `<h1>Délibérations du conseil municipal de Rennes</h1>`, `Voir sur le portail d'origine`,
		`Licence Ouverte 2.0`, `Délibérations</a> — reconnu par schéma déclaré`, `href="/?schema=scdl%2Fdeliberations&amp;territory=bretagne"`,
		`<th scope="col">Format</th>`, `2,0 Ko`, `href="https://dl.example/CSV"`, `href="/moissons/bretagne-ods"`, `href="/v1/datasets/ds001"`)
	if strings.Contains(page, "Le même jeu de données ailleurs") {
		t.Error("ds001 has no duplicate, yet its page lists some")
	}
	_, page, _ = get(t, h, "/jeux-de-donnees/ds005")
	mustContain(t, page, "dataset with a copy", "Le même jeu de données ailleurs", `href="/jeux-de-donnees/ds050">Alignements d&#39;arbres (Région Sud)</a>`)
	code, page, _ = get(t, h, "/jeux-de-donnees/nope", "Accept", "text/html")
	if code != 404 || !strings.Contains(page, "Jeu de données introuvable") || !strings.Contains(page, `lang="fr"`) {
		t.Errorf("unknown dataset: %d", code)
	}
}

func TestNotFound(t *testing.T) {
	_, h := newTestUI(t)
	code, page, hdr := get(t, h, "/pas-une-page", "Accept", "text/html,application/xhtml+xml")
	if code != 404 || !strings.Contains(page, "<h1>Page introuvable</h1>") || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
		t.Errorf("browser 404: %d %q", code, hdr.Get("Content-Type"))
	}
	code, page, _ = get(t, h, "/pas-une-page")
	if code != 404 || !strings.Contains(page, `"not_found"`) {
		t.Errorf("API client 404: %d %s", code, page)
	}
	code, page, _ = get(t, h, "/v1/nope", "Accept", "text/html")
	if code != 404 || !strings.Contains(page, `"not_found"`) {
		t.Errorf("/v1/ 404 must stay JSON: %d %s", code, page)
	}
}

func TestCoveragePage(t *testing.T) {
	_, h := newTestUI(t)
	code, page, _ := get(t, h, "/couverture")
	if code != 200 {
		t.Fatal(code)
	}
	mustContain(t, page, "coverage", `<caption>Nombre de jeux de données par territoire et par élément du SCDL`,
		`<th scope="col"><abbr title="Délibérations (scdl/deliberations)">Délibérations</abbr></th>`,
		`<span class="code">D</span> schéma déclaré`, `<span class="code">T</span> titre ou mots-clés`,
		`Bretagne, Délibérations : 2 jeux de données (1 par schéma déclaré, 1 par titre ou mots-clés)`,
		`<span class="codes" aria-hidden="true">D 1 · T 1</span>`, `Occitanie, Budget : 1 jeu de données (1 par titre ou mots-clés)`,
		`Val-de-Marne, Délibérations : aucun jeu de données`, `2 / 13`,
		`<h2 id="bars-title">Formats et licences par territoire</h2>`, `CC BY-SA 4.0`,
		`<th scope="col" class="num">Modifiés depuis 3 mois</th>`, `<th scope="col" class="num">Modifiés depuis 3 ans</th>`,
		`<td class="num">2 <span class="small">(100&nbsp;%)</span></td>`, `<time datetime="2024-03-02T12:00:00Z">2 mars 2024</time>`)
	// The cell links to the matching search, and that search finds as many.
	cell := regexp.MustCompile(`<td class="heat l(\d)"><a href="([^"]*)" title="Bretagne, Délibérations`).FindStringSubmatch(page)
	if cell == nil {
		t.Fatal("no Bretagne × Délibérations cell")
	}
	if cell[1] != "5" {
		t.Errorf("the fullest cell has level %s, want 5", cell[1])
	}
	href := html.UnescapeString(cell[2])
	if href != "/?schema=scdl%2Fdeliberations&territory=bretagne" {
		t.Errorf("cell link %q", href)
	}
	_, res, _ := get(t, h, href)
	mustContain(t, res, "cell search", "2 jeux de données")
	// Nine territories, even those with nothing.
	if n := strings.Count(page, `<th scope="row"><a href="/?territory=`); n != 9 {
		t.Errorf("%d territory rows, want 9", n)
	}
	// Bars are SVG (no inline style: the CSP forbids it).
	if !strings.Contains(page, `<rect class="bf" width="100" height="10"/>`) {
		t.Error("no full bar for Mulhouse's CSV")
	}
}

func TestStatusPages(t *testing.T) {
	_, h := newTestUI(t)
	code, page, _ := get(t, h, "/moissons")
	if code != 200 {
		t.Fatal(code)
	}
	mustContain(t, page, "status", `<caption id="status-caption">`, `<th scope="col">État</th>`,
		`<span aria-hidden="true">!</span> Partielle`, `<span aria-hidden="true">✗</span> Échec`, `Jamais moissonnée`,
		`il y a 1 h`, `12,3 s`, `800 ms`, `180`, `HTTP 503 Service Unavailable after 3 tries`, `the portal answers 404 at its endpoint: moved?`,
		`dans 2 h`, `href="/moissons/rennes-ods"`, `href="/v1/sources/rennes-ods/runs/20240310T090000Z-b/errors?format=csv"`,
		`Provence-Alpes-Côte d&#39;Azur`,
		`Autre accès au même portail, non moissonné&nbsp;: la source <a href="/moissons/paca-ckan">paca-ckan</a> le moissonne. <span lang="en">(the same datasets as a DCAT export)</span>`)
	code, page, _ = get(t, h, "/moissons/paca-dcat")
	if code != 200 {
		t.Fatal(code)
	}
	mustContain(t, page, "disabled source", `Source désactivée&nbsp;: Autre accès au même portail`)
	// What stopped a source is said in French, the harvester's words beside.
	code, page, _ = get(t, h, "/moissons/mulhouse-ods")
	if code != 200 {
		t.Fatal(code)
	}
	mustContain(t, page, "unreachable source", `Portail injoignable : le nom d&#39;hôte data.mulhouse-alsace.fr est introuvable (DNS).`,
		`<span class="small block" lang="en">unreachable portal: the host name data.mulhouse-alsace.fr could not be resolved (DNS)</span>`)
	code, page, _ = get(t, h, "/moissons/rennes-ods")
	if code != 200 {
		t.Fatal(code)
	}
	mustContain(t, page, "source", `<h1>Source rennes-ods</h1>`, `Erreurs de la dernière moisson (les 20 premières)`,
		`Et 22 autres erreurs`, `Historique des moissons`, `href="/v1/sources/rennes-ods/runs?format=csv"`,
		`href="/v1/sources/rennes-ods/runs/20240309T090000Z-a/changes"`, `href="/v1/sources/rennes-ods/runs/20240309T090000Z-a/errors"`,
		`10 mars 2024 à 10 h 00`, `planifiée`, `Réussie`, `href="/?source=rennes-ods"`, `href="/v1/sources/rennes-ods/dead-letters?format=csv"`,
		`<dt>Planification</dt><dd>toutes les 24 h</dd>`, `<dt>Protocole</dt><dd>API Explore d&#39;OpenDataSoft</dd>`)
	if strings.Contains(page, "every 24h") {
		t.Error("the schedule is in English")
	}
	if n := strings.Count(page, `<tr><td><time`); n != 20 {
		t.Errorf("%d error rows, want 20", n)
	}
	code, page, _ = get(t, h, "/moissons/nope")
	if code != 404 || !strings.Contains(page, "Source introuvable") {
		t.Errorf("unknown source: %d", code)
	}
}

func TestStaticFiles(t *testing.T) {
	u, h := newTestUI(t)
	code, css, hdr := get(t, h, "/static/style.css")
	if code != 200 || hdr.Get("Content-Type") != "text/css; charset=utf-8" || hdr.Get("ETag") == "" {
		t.Fatalf("css: %d %v", code, hdr)
	}
	if !strings.Contains(css, ":focus-visible") {
		t.Error("no focus style")
	}
	code, _, _ = get(t, h, "/static/style.css", "If-None-Match", hdr.Get("ETag"))
	if code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d, want 304", code)
	}
	if v := u.StaticURL("app.js"); !strings.HasPrefix(v, "/static/app.js?v=") {
		t.Errorf("static URL %q", v)
	}
	_, _, hdr = get(t, h, u.StaticURL("app.js"))
	if !strings.Contains(hdr.Get("Cache-Control"), "immutable") {
		t.Errorf("versioned static file: Cache-Control %q", hdr.Get("Cache-Control"))
	}
	if code, _, _ := get(t, h, "/static/nope.css"); code != 404 {
		t.Errorf("unknown static file: %d", code)
	}
}

// TestNoInlineStyleOrScript: the Content-Security-Policy allows neither.
func TestNoInlineStyleOrScript(t *testing.T) {
	entries, _ := templateFS.ReadDir("templates")
	for _, e := range entries {
		b, _ := templateFS.ReadFile("templates/" + e.Name())
		s := string(b)
		if strings.Contains(s, "style=") || strings.Contains(s, "<style") || regexp.MustCompile(`<script>|<script [^>]*>[^<]`).MatchString(s) || strings.Contains(s, " onclick=") {
			t.Errorf("%s has inline style or script", e.Name())
		}
	}
}

func TestFrenchFormats(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{frDate(time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)), "1er mars 2024"},
		{frDate(time.Date(2023, 12, 31, 23, 30, 0, 0, time.UTC)), "1er janvier 2024"}, // Paris time
		{frDateTime(time.Date(2024, 8, 15, 12, 5, 0, 0, time.UTC)), "15 août 2024 à 14 h 05"},
		{frDuration(850 * time.Millisecond), "850 ms"},
		{frDuration(12340 * time.Millisecond), "12,3 s"},
		{frDuration(245 * time.Second), "4 min 05 s"},
		{frInt(1234567), "1\u202f234\u202f567"},
		{frInt(999), "999"},
		{frBytes(1536), "1,5 Ko"},
		{frAgo(now.Add(-3*time.Minute), now), "il y a 3 min"},
		{frAgo(now.Add(50*time.Hour), now), "dans 2 jours"},
		{plural(1, "jeu", "jeux"), "1 jeu"},
		{plural(2, "jeu", "jeux"), "2 jeux"},
		{LicenseLabel("cc-by-sa-4.0"), "CC BY-SA 4.0"},
		{LicenseLabel("etalab-2.0"), "Licence Ouverte 2.0"},
		{LicenseLabel("unknown"), "Licence non précisée"},
		{SCDLLabel("scdl/subventions"), "Subventions"},
		{excerpt("un deux trois quatre cinq six", 12), "un deux…"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// TestPaletteContrast reads the colours of style.css and checks that every
// text colour on its background reaches 4.5:1 (WCAG AA).
func TestPaletteContrast(t *testing.T) {
	b, err := os.ReadFile("static/style.css")
	if err != nil {
		t.Fatal(err)
	}
	css := string(b)
	vars := map[string]string{}
	for _, m := range regexp.MustCompile(`--([a-z-]+):\s*(#[0-9a-fA-F]{6})`).FindAllStringSubmatch(css, -1) {
		vars[m[1]] = m[2]
	}
	pairs := [][2]string{
		{vars["ink"], vars["bg"]}, {vars["muted"], vars["bg"]}, {vars["muted"], vars["paper"]}, {vars["link"], vars["bg"]},
		{vars["ok-ink"], vars["ok-bg"]}, {vars["warn-ink"], vars["warn-bg"]}, {vars["fail-ink"], vars["fail-bg"]},
		{vars["run-ink"], vars["run-bg"]}, {vars["none-ink"], vars["none-bg"]}, {"#ffffff", vars["brand"]},
		{vars["link"], vars["run-bg"]}, {vars["ink"], vars["run-bg"]},
	}
	for _, m := range regexp.MustCompile(`\.heat\.l\d \{ background: (#[0-9a-f]{6}); color: (#[0-9a-f]{6}); \}`).FindAllStringSubmatch(css, -1) {
		pairs = append(pairs, [2]string{m[2], m[1]})
	}
	for _, m := range regexp.MustCompile(`\.badge\.territory \{ background: (#[0-9a-f]{6}); color: (#[0-9a-f]{6}); \}`).FindAllStringSubmatch(css, -1) {
		pairs = append(pairs, [2]string{m[2], m[1]})
	}
	if len(pairs) < 19 {
		t.Fatalf("found %d colour pairs in style.css: the test no longer reads it", len(pairs))
	}
	for _, p := range pairs {
		if p[0] == "" || p[1] == "" {
			t.Fatalf("missing colour variable in %v", p)
		}
		if r := contrast(p[0], p[1]); r < 4.5 {
			t.Errorf("%s on %s: contrast %.2f, want at least 4.5", p[0], p[1], r)
		}
	}
}

func luminance(hex string) float64 {
	c := func(s string) float64 {
		v, _ := strconv.ParseUint(s, 16, 8)
		x := float64(v) / 255
		if x <= 0.03928 {
			return x / 12.92
		}
		return math.Pow((x+0.055)/1.055, 2.4)
	}
	return 0.2126*c(hex[1:3]) + 0.7152*c(hex[3:5]) + 0.0722*c(hex[5:7])
}

func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func TestLabelsCoverEveryKnownID(t *testing.T) {
	if len(territoryNames) != 9 {
		t.Errorf("%d territories, want the nine pilot territories", len(territoryNames))
	}
	seen := map[string]bool{}
	for _, it := range scdlItems {
		if seen[it.ID] || it.Label == "" || it.Short == "" {
			t.Errorf("SCDL item %q duplicated or unlabelled", it.ID)
		}
		seen[it.ID] = true
	}
	if len(themeLabels) != 13 {
		t.Errorf("%d themes, want the 13 EU data themes", len(themeLabels))
	}
	for code, st := range statusLabels {
		if st.Label == "" || st.Class == "" {
			t.Errorf("status %s unlabelled", code)
		}
	}
}

// The search page forgives: filter values in any case, an unknown value
// answered with the close ones; it marks the words found, pages through
// any result, offers the rest of a long facet and the exports of the
// search.
func TestSearchForgives(t *testing.T) {
	_, h := newTestUI(t)
	_, page, _ := get(t, h, "/?territory=BRETAGNE")
	mustContain(t, page, "territory in capitals", "2 jeux de données", "Délibérations 2023")
	_, page, _ = get(t, h, "/?territory=bretagn")
	mustContain(t, page, "unknown territory", `Aucun jeu de données n'a la valeur «&nbsp;bretagn&nbsp;» pour le filtre Territoire. Vouliez-vous dire&nbsp;: <a href="/?territory=bretagne">Bretagne</a>&nbsp;?`)
	_, page, _ = get(t, h, "/?q=D%C3%A9lib%C3%A9rations&territory=bretagne")
	mustContain(t, page, "highlights", `<mark>Délibérations</mark> du conseil municipal de Rennes`,
		`href="/v1/datasets/export?format=csv&amp;q=D%C3%A9lib%C3%A9rations&amp;territory=bretagne" download>CSV</a>`,
		`href="/v1/datasets/export?dialect=excel-fr&amp;format=csv&amp;q=D%C3%A9lib%C3%A9rations&amp;territory=bretagne" download>CSV pour Excel</a>`,
		`download>DCAT (Turtle)</a>`)
	// A title that holds markup stays text, marked or not.
	m := &memIndex{docs: []*moissonv1.Dataset{dataset(1, "paca", `<script>alert(1)</script> Budget`, "", nil)}}
	for i := 2; i <= 30; i++ {
		d := dataset(i, "paca", fmt.Sprintf("Budget %d", i), "", nil)
		d.Publisher.Name = fmt.Sprintf("Commune %02d", i)
		m.docs = append(m.docs, d)
	}
	u, _ := New(Deps{Index: m, Now: func() time.Time { return now }})
	mux := http.NewServeMux()
	u.Register(func(p string, h http.HandlerFunc) { mux.HandleFunc(p, h) })
	_, page, _ = get(t, mux, "/?q=budget")
	if strings.Contains(page, "<script>alert") || !strings.Contains(page, `&lt;script&gt;alert(1)&lt;/script&gt; <mark>Budget</mark>`) {
		t.Error("markup in a title is not kept as text")
	}
	// 30 publishers: 12 shown, the rest counted, all listed on demand.
	mustContain(t, page, "facet remainder", `autres&nbsp;: 18 jeux dans 18 valeurs`, `href="/?facette=publisher&amp;q=budget">voir toutes les valeurs`)
	_, page, _ = get(t, mux, "/?facette=publisher&q=budget")
	mustContain(t, page, "whole facet", "Producteur&nbsp;: toutes les valeurs (30)", "Commune 30", "Commune 02")
}

func TestFrenchSchedules(t *testing.T) {
	for in, want := range map[string]string{"every 24h0m0s": "toutes les 24 h", "every 6h30m0s": "toutes les 6 h 30",
		"every 15m0s": "toutes les 15 min", "every 168h0m0s": "toutes les 7 jours",
		"cron 0 3 * * * (UTC)": "selon l'expression cron « 0 3 * * * » (heure UTC)"} {
		if got := frSchedule(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

// Records harvested and not yet indexed are said on the status page: a
// source can be SUCCEEDED while its datasets are not searchable yet.
func TestStatusUnindexed(t *testing.T) {
	u, err := New(Deps{Index: testIndex(), Sources: testSources, Now: func() time.Time { return now },
		Unindexed: func(context.Context) int64 { return 1042 }})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	u.Register(func(p string, h http.HandlerFunc) { mux.HandleFunc(p, h) })
	_, page, _ := get(t, mux, "/moissons")
	mustContain(t, page, "unindexed", "1\u202f042 enregistrements moissonnés attendent encore leur indexation")
}

// The observatory page refuses what /v1/observatory refuses (one parser,
// observatory.ParseFilter), with the reason in French.
func TestObservatoryPageParameters(t *testing.T) {
	u, h := newTestUI(t)
	u.d.Observatory = func(context.Context) (*observatory.Report, error) { return &observatory.Report{}, nil }
	for target, want := range map[string]string{
		"/observatoire?kind=ville":                     "Le type « ville » n'existe pas : commune, epci, departement ou region.",
		"/observatoire?obliged=peut-etre":              "Le paramètre « obliged » vaut true ou false, pas « peut-etre ».",
		"/observatoire?publishes=2x":                   "Le paramètre « publishes » vaut true ou false, pas « 2x ».",
		"/observatoire?sort=-taille":                   "Ce tri n'existe pas : « -taille ».",
		"/observatoire?kind=epci&kind=truc":            "Le type « truc » n'existe pas",
		"/observatoire?sort=-datasets&obliged=1&kind=": "",
	} {
		code, page, _ := get(t, h, target, "Accept", "text/html")
		switch {
		case want == "" && code != 200:
			t.Errorf("%s: %d, want 200", target, code)
		case want != "" && (code != 400 || !strings.Contains(html.UnescapeString(page), want)):
			t.Errorf("%s: %d, want 400 with %q", target, code, want)
		}
	}
}
