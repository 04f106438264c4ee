package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/opendatafrance/moisson/indexer/index"
)

// Coverage compares what each territory publishes.
type Coverage struct {
	Territories []CoverageTerritory
	GeneratedAt time.Time
	Distinct    bool // datasets are counted, their copies once
}

// CoverageTerritory is one territory of the comparison.
type CoverageTerritory struct {
	ID, Name     string
	Total        int64
	SCDL         map[string]CoverageCell // SCDL item id → cell
	Formats      []index.FacetCount
	Licenses     []index.FacetCount
	Themes       []index.FacetCount
	Freshness    []index.FreshnessCell // datasets modified in the last 3, 12, 36 months
	LastModified time.Time             // newest modification date of its datasets
}

// CoverageCell is a territory × SCDL item: how many datasets, and by which
// evidence (declared, columns, title → count).
type CoverageCell struct {
	Count    int64
	Evidence map[string]int64
}

// SCDLItemIDs lists the SCDL items, in the order the coverage shows them.
func SCDLItemIDs() []string {
	out := make([]string, len(scdlItems))
	for i, it := range scdlItems {
		out[i] = it.ID
	}
	return out
}

// CoverageTerritories lists the territories a coverage shows, with or
// without datasets: those of the configured sources and the nine pilot
// territories.
func CoverageTerritories(sources []Source) []string {
	seen := map[string]bool{}
	var out []string
	add := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	for _, s := range sources {
		add(s.TerritoryID)
	}
	for id := range territoryNames {
		add(id)
	}
	sort.Strings(out)
	return out
}

// ComputeCoverage builds the comparison with index.Coverage (the same
// computation as GET /v1/coverage, completed with the same rows: every
// territory and every SCDL item, with or without datasets), plus the
// newest modification date of each territory. distinct counts datasets
// rather than records.
func ComputeCoverage(ctx context.Context, ix index.Searcher, now time.Time, territories []string, distinct bool) (*Coverage, error) {
	rep, err := index.Coverage(ctx, ix, index.Query{Distinct: distinct}, now)
	if err != nil {
		return nil, err
	}
	rep.Complete(territories, SCDLItemIDs())
	cov := &Coverage{GeneratedAt: rep.Generated, Distinct: distinct}
	facets := func(cs []index.CoverageCell) []index.FacetCount {
		out := make([]index.FacetCount, 0, len(cs))
		for _, c := range cs {
			out = append(out, index.FacetCount{Key: c.Key, Count: c.Count})
		}
		return out
	}
	for _, r := range rep.Territories {
		t := CoverageTerritory{ID: r.Territory, Name: valueLabel(index.FieldTerritory, r.Territory), Total: r.Datasets,
			SCDL: map[string]CoverageCell{}, Formats: facets(r.Format), Licenses: facets(r.License), Themes: facets(r.Theme),
			Freshness: r.Freshness}
		for _, c := range r.Schema {
			t.SCDL[c.Key] = CoverageCell{Count: c.Count, Evidence: c.Evidence}
		}
		if r.Datasets > 0 {
			res, err := ix.Search(ctx, index.Query{Size: 1, Sort: index.SortModified,
				Filters: map[string][]string{index.FieldTerritory: {r.Territory}}})
			if err != nil {
				return nil, err
			}
			if len(res.Items) > 0 && res.Items[0].GetModified() != nil {
				t.LastModified = res.Items[0].GetModified().AsTime()
			}
		}
		cov.Territories = append(cov.Territories, t)
	}
	return cov, nil
}

// coverageCache keeps the computed coverages (records, datasets) for a
// while: each costs dozens of queries.
type coverageCache struct {
	mu  sync.Mutex
	at  [2]time.Time
	cov [2]*Coverage
}

const coverageTTL = 30 * time.Second

func (u *UI) getCoverage(ctx context.Context, distinct bool) (*Coverage, error) {
	if u.d.Coverage != nil {
		return u.d.Coverage(ctx, distinct)
	}
	i := 0
	if distinct {
		i = 1
	}
	u.cov.mu.Lock()
	defer u.cov.mu.Unlock()
	if u.cov.cov[i] != nil && time.Since(u.cov.at[i]) < coverageTTL {
		return u.cov.cov[i], nil
	}
	c, err := ComputeCoverage(ctx, u.d.Index, u.d.Now(), CoverageTerritories(u.d.Sources(ctx)), distinct)
	if err != nil {
		return nil, err
	}
	u.cov.cov[i], u.cov.at[i] = c, time.Now()
	return c, nil
}

type heatCell struct {
	Count    int64
	Level    int // 0 (none) to 5
	URL      string
	Codes    string // "D 2 · T 1"
	Describe string // for the tooltip and screen readers
}

type heatRow struct {
	T       CoverageTerritory
	Cells   []heatCell
	Covered int
	URL     string
}

type bar struct {
	Label string
	Count int64
	Pct   int
	URL   string
}

type freshCell struct {
	Count int64
	Pct   int
}

type territoryBars struct {
	Fresh             []freshCell // aligned with coverageView.FreshHeads
	T                 CoverageTerritory
	Formats, Licenses []bar
	OtherFormats      int
}

type coverageView struct {
	Items      []scdlItem
	Rows       []heatRow
	Bars       []territoryBars
	Max        int64
	Evidence   []struct{ Code, Label string }
	APIURL     string
	Levels     []int
	FreshHeads []string
	Distinct   bool   // datasets counted, their copies once
	SwitchURL  string // the page counting the other way
	CSVURL     string
	ExcelURL   string // CSV for French Excel
}

// addQuery appends parameters to a URL.
func addQuery(u, params string) string {
	if strings.Contains(u, "?") {
		return u + "&" + params
	}
	return u + "?" + params
}

func (u *UI) coverage(w http.ResponseWriter, r *http.Request) {
	distinct := false
	switch d := r.URL.Query().Get("distinct"); d {
	case "", "false":
	case "true":
		distinct = true
	default:
		u.errorPage(w, r, http.StatusBadRequest, "Paramètre incorrect",
			"Le paramètre « distinct » vaut true (compter les jeux de données, leurs copies une fois) ou false (compter les fiches), pas « "+d+" ».")
		return
	}
	cov, err := u.getCoverage(r.Context(), distinct)
	if err != nil {
		u.d.Log.Error("web: coverage")
		u.errorPage(w, r, http.StatusServiceUnavailable, "Couverture indisponible",
			"La comparaison n'a pas pu être calculée : l'index ne répond pas. Réessayez dans quelques instants.")
		return
	}
	v := coverageView{APIURL: "/v1/coverage", Levels: []int{1, 2, 3, 4, 5}, Distinct: distinct, SwitchURL: "/couverture?distinct=true"}
	if distinct {
		v.APIURL, v.SwitchURL = "/v1/coverage?distinct=true", "/couverture"
	}
	v.CSVURL, v.ExcelURL = addQuery(v.APIURL, "format=csv"), addQuery(v.APIURL, "format=csv&dialect=excel-fr")
	for _, m := range index.FreshnessWindows {
		if m%12 == 0 {
			v.FreshHeads = append(v.FreshHeads, plural(int64(m/12), "an", "ans"))
		} else {
			v.FreshHeads = append(v.FreshHeads, fmt.Sprintf("%d mois", m))
		}
	}
	for _, e := range evidenceOrder {
		v.Evidence = append(v.Evidence, struct{ Code, Label string }{e.Code, evidenceLabels[e.Kind]})
	}
	// The SCDL items in their order, then any other the index holds.
	v.Items = append(v.Items, scdlItems...)
	known := map[string]bool{}
	for _, it := range scdlItems {
		known[it.ID] = true
	}
	var extra []string
	for _, t := range cov.Territories {
		for id, c := range t.SCDL {
			if !known[id] {
				known[id] = true
				extra = append(extra, id)
			}
			if c.Count > v.Max {
				v.Max = c.Count
			}
		}
	}
	sort.Strings(extra)
	for _, id := range extra {
		v.Items = append(v.Items, scdlItem{id, id, id})
	}
	for _, t := range cov.Territories {
		row := heatRow{T: t, URL: searchURL(url.Values{"territory": {t.ID}})}
		for _, it := range v.Items {
			c := t.SCDL[it.ID]
			hc := heatCell{Count: c.Count,
				URL: searchURL(url.Values{"territory": {t.ID}, "schema": {it.ID}})}
			if c.Count > 0 {
				row.Covered++
				hc.Level = int((c.Count*5 + v.Max - 1) / v.Max)
				var codes, words []string
				for _, e := range evidenceOrder {
					if n := c.Evidence[e.Kind]; n > 0 {
						codes = append(codes, fmt.Sprintf("%s %d", e.Code, n))
						words = append(words, fmt.Sprintf("%d par %s", n, evidenceLabels[e.Kind]))
					}
				}
				hc.Codes = strings.Join(codes, " · ")
				hc.Describe = fmt.Sprintf("%s, %s : %s", t.Name, it.Label, plural(c.Count, "jeu de données", "jeux de données"))
				if len(words) > 0 {
					hc.Describe += " (" + strings.Join(words, ", ") + ")"
				}
			} else {
				hc.Describe = fmt.Sprintf("%s, %s : aucun jeu de données", t.Name, it.Label)
			}
			row.Cells = append(row.Cells, hc)
		}
		v.Rows = append(v.Rows, row)
		tb := territoryBars{T: t}
		for _, m := range index.FreshnessWindows {
			fc := freshCell{}
			for _, f := range t.Freshness {
				if f.Months == m {
					fc = freshCell{f.Count, int(f.Share*100 + 0.5)}
				}
			}
			tb.Fresh = append(tb.Fresh, fc)
		}
		pct := func(n int64) int {
			if t.Total == 0 {
				return 0
			}
			return int((n*100 + t.Total/2) / t.Total)
		}
		for i, f := range t.Formats {
			if i == 8 {
				tb.OtherFormats = len(t.Formats) - 8
				break
			}
			tb.Formats = append(tb.Formats, bar{f.Key, f.Count, pct(f.Count), searchURL(url.Values{"territory": {t.ID}, "format": {f.Key}})})
		}
		for _, f := range t.Licenses {
			tb.Licenses = append(tb.Licenses, bar{LicenseLabel(f.Key), f.Count, pct(f.Count), searchURL(url.Values{"territory": {t.ID}, "license": {f.Key}})})
		}
		v.Bars = append(v.Bars, tb)
	}
	u.render(w, r, http.StatusOK, "coverage", page{Title: "Couverture du socle commun par territoire", Nav: "coverage", Data: v})
}
