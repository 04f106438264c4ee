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

// ComputeCoverage builds the comparison with index.Coverage (the same
// computation as GET /v1/coverage), plus the newest modification date of
// each territory; the nine pilot territories are always there.
func ComputeCoverage(ctx context.Context, ix index.Searcher, now time.Time) (*Coverage, error) {
	rep, err := index.Coverage(ctx, ix, index.Query{}, now)
	if err != nil {
		return nil, err
	}
	cov := &Coverage{GeneratedAt: rep.Generated}
	seen := map[string]bool{}
	facets := func(cs []index.CoverageCell) []index.FacetCount {
		out := make([]index.FacetCount, 0, len(cs))
		for _, c := range cs {
			out = append(out, index.FacetCount{Key: c.Key, Count: c.Count})
		}
		return out
	}
	for _, r := range rep.Territories {
		seen[r.Territory] = true
		t := CoverageTerritory{ID: r.Territory, Name: valueLabel(index.FieldTerritory, r.Territory), Total: r.Datasets,
			SCDL: map[string]CoverageCell{}, Formats: facets(r.Format), Licenses: facets(r.License), Themes: facets(r.Theme),
			Freshness: r.Freshness}
		for _, c := range r.Schema {
			t.SCDL[c.Key] = CoverageCell{Count: c.Count, Evidence: c.Evidence}
		}
		res, err := ix.Search(ctx, index.Query{Size: 1, Sort: index.SortModified,
			Filters: map[string][]string{index.FieldTerritory: {r.Territory}}})
		if err != nil {
			return nil, err
		}
		if len(res.Items) > 0 && res.Items[0].GetModified() != nil {
			t.LastModified = res.Items[0].GetModified().AsTime()
		}
		cov.Territories = append(cov.Territories, t)
	}
	for id, name := range territoryNames {
		if !seen[id] {
			cov.Territories = append(cov.Territories, CoverageTerritory{ID: id, Name: name, SCDL: map[string]CoverageCell{}})
		}
	}
	sort.Slice(cov.Territories, func(i, j int) bool { return cov.Territories[i].ID < cov.Territories[j].ID })
	return cov, nil
}

// coverageCache keeps the computed coverage for a while: it costs dozens of
// queries.
type coverageCache struct {
	mu  sync.Mutex
	at  time.Time
	cov *Coverage
}

const coverageTTL = 30 * time.Second

func (u *UI) getCoverage(ctx context.Context) (*Coverage, error) {
	if u.d.Coverage != nil {
		return u.d.Coverage(ctx)
	}
	u.cov.mu.Lock()
	defer u.cov.mu.Unlock()
	if u.cov.cov != nil && time.Since(u.cov.at) < coverageTTL {
		return u.cov.cov, nil
	}
	c, err := ComputeCoverage(ctx, u.d.Index, u.d.Now())
	if err != nil {
		return nil, err
	}
	u.cov.cov, u.cov.at = c, time.Now()
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
}

func (u *UI) coverage(w http.ResponseWriter, r *http.Request) {
	cov, err := u.getCoverage(r.Context())
	if err != nil {
		u.d.Log.Error("web: coverage")
		u.errorPage(w, r, http.StatusServiceUnavailable, "Couverture indisponible",
			"La comparaison n'a pas pu être calculée : l'index ne répond pas. Réessayez dans quelques instants.")
		return
	}
	v := coverageView{APIURL: "/v1/coverage", Levels: []int{1, 2, 3, 4, 5}}
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
