package web

// The observatory page (/observatoire): which obliged collectivités
// publish, per territory, with plots drawn on the server (SVG) and the
// table of collectivités (package observatory computes it all).

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/opendatafrance/moisson/api/observatory"
	"github.com/opendatafrance/moisson/indexer/index"
	"github.com/opendatafrance/moisson/referential"
)

// obsPageSize is how many collectivités a page of the table shows.
const obsPageSize = 100

// whyLabels say in French why a publisher was not resolved.
var whyLabels = map[string]string{
	"no-publisher":     "aucun producteur indiqué",
	"not-collectivite": "pas une collectivité (service de l'État, syndicat, association…)",
	"not-found":        "aucune collectivité du territoire ne porte ce nom",
	"ambiguous":        "plusieurs collectivités du territoire portent ce nom",
	"no-territory":     "territoire sans géographie configurée",
}

var obsSortLabels = []struct{ Value, Label string }{
	{"", "Type puis population"}, {"-population", "Population (décroissante)"}, {"name", "Nom (A → Z)"},
	{"-datasets", "Jeux de données (décroissant)"}, {"-scdl", "Éléments du SCDL (décroissant)"},
	{"-freshness", "Fraîcheur (décroissante)"}, {"-quality", "Qualité (décroissante)"}, {"-last_modified", "Dernière modification"},
}

type obsSummary struct {
	observatory.Summary
	Label                   string
	SharePct, PopPct        string
	ShareW, PopW            float64 // bar widths, % of the bar
	ObligedW, PublishingW   float64 // obliged vs publishing, % of the largest territory
	URL, PublishingNotURL   string
	ObligedKinds, KindsText string
}

type obsRow struct {
	observatory.Row
	KindLabel, TerritoryLabel, SearchURL string
	Freshness, Quality, LastModified     string
	SCDLText                             string
}

type obsLine struct {
	Territory, Label, Class, Points string
	Last                            int64
}

type obsTrend struct {
	Points string
	Rows   []struct{ Date, Share string }
}

type observatoryView struct {
	Note                      string
	GeneratedAt               time.Time
	Total                     obsSummary
	Summaries                 []obsSummary
	Rows                      []obsRow
	Count, Page, Pages        int
	PrevURL, NextURL          string
	Territories               []struct{ ID, Label string }
	Kinds                     []struct{ ID, Label string }
	Sorts                     []struct{ Value, Label string }
	F                         struct{ Territory, Kind, Obliged, Publishes, Sort string }
	JSONURL, CSVURL, ExcelURL string
	Lines                     []obsLine
	YearHeads                 []string
	YearRows                  []struct {
		Label  string
		Counts []int64
	}
	TimelineFrom, TimelineTo string
	Trend                    *obsTrend
	Unresolved               []struct {
		observatory.Unresolved
		WhyLabel, TerritoryLabel string
	}
	UnresolvedMore int
	SortURL        func(string) string
}

// pct writes a share as French does: "35,3 %".
func pct(f float64) string {
	return strings.Replace(strconv.FormatFloat(f*100, 'f', 1, 64), ".", ",", 1) + "\u00a0%"
}

// frMonth is "2026-11" → "novembre 2026" ("2019" stays).
func frMonth(m string) string {
	t, err := time.Parse("2006-01", m)
	if err != nil {
		return m
	}
	return frMonths[t.Month()-1] + " " + strconv.Itoa(t.Year())
}

func (u *UI) observatory(w http.ResponseWriter, r *http.Request) {
	if u.d.Observatory == nil {
		u.errorPage(w, r, http.StatusServiceUnavailable, "Observatoire indisponible", "L'observatoire n'est pas calculé par ce serveur.")
		return
	}
	q := r.URL.Query()
	var v observatoryView
	v.F.Territory, v.F.Kind, v.F.Obliged, v.F.Publishes, v.F.Sort = q.Get("territory"), q.Get("kind"), q.Get("obliged"), q.Get("publishes"), q.Get("sort")
	f, err := observatory.ParseFilter(q)
	var pe *observatory.ParamError
	if errors.As(err, &pe) {
		msg := "Le paramètre « " + pe.Param + " » vaut true ou false, pas « " + pe.Value + " »."
		switch pe.Param {
		case "kind":
			k := observatory.Kinds
			msg = "Le type « " + pe.Value + " » n'existe pas : " + strings.Join(k[:len(k)-1], ", ") + " ou " + k[len(k)-1] + "."
		case "sort":
			msg = "Ce tri n'existe pas : « " + pe.Value + " »."
		}
		u.errorPage(w, r, http.StatusBadRequest, "Paramètre incorrect", msg)
		return
	}
	pageNo := 1
	if p := q.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 10000 {
			u.errorPage(w, r, http.StatusBadRequest, "Paramètre incorrect", "La page « "+p+" » n'est pas un numéro de page.")
			return
		}
		pageNo = n
	}
	rep, err := u.d.Observatory(r.Context())
	if err != nil {
		u.d.Log.Error("web: observatory")
		u.errorPage(w, r, http.StatusServiceUnavailable, "Observatoire indisponible",
			"L'observatoire n'a pas pu être calculé : l'index ou la configuration des territoires ne répond pas. Réessayez dans quelques instants.")
		return
	}
	rows, sums, tls := rep.Select(f)
	v.Note = "L'obligation est calculée d'après la population seule : le référentiel (découpage administratif d'Etalab) ne donne pas le nombre d'agents, l'autre critère de la loi (50 agents). Une commune est comptée obligée à partir du seuil de son territoire (3\u202f500 habitants par défaut)."
	v.GeneratedAt = rep.GeneratedAt

	// Summaries and their bars.
	maxObliged := 1
	for _, s := range sums {
		maxObliged = max(maxObliged, s.Obliged)
	}
	sumOf := func(s observatory.Summary) obsSummary {
		os := obsSummary{Summary: s, Label: valueLabel(index.FieldTerritory, s.Territory), SharePct: pct(s.Share), PopPct: pct(s.PopulationShare),
			ShareW: s.Share * 100, PopW: s.PopulationShare * 100,
			ObligedW: 100 * float64(s.Obliged) / float64(maxObliged), PublishingW: 100 * float64(s.Publishing) / float64(maxObliged)}
		if s.Territory == "" {
			os.Label = "Ensemble des territoires"
		} else {
			os.URL = "/observatoire?territory=" + url.QueryEscape(s.Territory)
			os.PublishingNotURL = "/observatoire?territory=" + url.QueryEscape(s.Territory) + "&obliged=true&publishes=false"
		}
		var kinds []string
		for _, kind := range referential.Kinds {
			k := string(kind)
			if t, ok := s.ByKind[k]; ok && t.Obliged > 0 {
				kinds = append(kinds, fmt.Sprintf("%s %s/%s", kindPlural(k, t.Obliged), frInt(int64(t.Publishing)), frInt(int64(t.Obliged))))
			}
		}
		os.KindsText = strings.Join(kinds, " · ")
		return os
	}
	for _, s := range sums {
		v.Summaries = append(v.Summaries, sumOf(s))
	}
	v.Total = sumOf(rep.Total)

	// The table, one page of it.
	v.Count = len(rows)
	v.Pages = max(1, (len(rows)+obsPageSize-1)/obsPageSize)
	pageNo = min(pageNo, v.Pages)
	v.Page = pageNo
	for _, row := range rows[(pageNo-1)*obsPageSize : min(pageNo*obsPageSize, len(rows))] {
		or := obsRow{Row: row, KindLabel: kindLabels[row.Kind], TerritoryLabel: valueLabel(index.FieldTerritory, row.Territory),
			SearchURL: searchURL(url.Values{"collectivite": {row.Key}}), LastModified: frMonth(row.LastModified)}
		if row.Records > 0 {
			or.Freshness, or.Quality = pct(row.Freshness), strconv.Itoa(int(row.Quality+0.5))+"/405"
		}
		var items []string
		for _, it := range row.SCDL {
			items = append(items, SCDLLabel(it.Item))
		}
		or.SCDLText = strings.Join(items, ", ")
		v.Rows = append(v.Rows, or)
	}
	link := func(mod func(url.Values)) string {
		nq := url.Values{}
		for k, vs := range q {
			if k != "page" {
				nq[k] = vs
			}
		}
		mod(nq)
		if len(nq) == 0 {
			return "/observatoire"
		}
		return "/observatoire?" + nq.Encode()
	}
	if pageNo > 1 {
		v.PrevURL = link(func(nq url.Values) { nq.Set("page", strconv.Itoa(pageNo-1)) })
	}
	if pageNo < v.Pages {
		v.NextURL = link(func(nq url.Values) { nq.Set("page", strconv.Itoa(pageNo+1)) })
	}
	v.SortURL = func(by string) string {
		return link(func(nq url.Values) {
			if nq.Get("sort") == by {
				by = "-" + by
			}
			nq.Set("sort", by)
		})
	}
	for _, s := range rep.Summaries {
		v.Territories = append(v.Territories, struct{ ID, Label string }{s.Territory, valueLabel(index.FieldTerritory, s.Territory)})
	}
	for _, k := range referential.Kinds {
		v.Kinds = append(v.Kinds, struct{ ID, Label string }{string(k), kindLabels[string(k)]})
	}
	v.Sorts = obsSortLabels
	api := "/v1/observatory"
	aq := url.Values{}
	for _, k := range []string{"territory", "kind", "obliged", "publishes", "sort"} {
		if x := q.Get(k); x != "" {
			aq.Set(k, x)
		}
	}
	if len(aq) > 0 {
		api += "?" + aq.Encode()
	}
	v.JSONURL, v.CSVURL, v.ExcelURL = api, addQuery(api, "format=csv"), addQuery(api, "format=csv&dialect=excel-fr")

	v.timeline(tls, rep.GeneratedAt)
	if u.d.History != nil {
		v.trend(u.d.History(r.Context()), v.F.Territory)
	}
	if u.d.Unresolved != nil {
		list, err := u.d.Unresolved(r.Context(), f.Territories)
		if err == nil {
			for i, un := range list {
				if i == 30 {
					v.UnresolvedMore = len(list) - 30
					break
				}
				v.Unresolved = append(v.Unresolved, struct {
					observatory.Unresolved
					WhyLabel, TerritoryLabel string
				}{un, labelOr(whyLabels, un.Why), valueLabel(index.FieldTerritory, un.Territory)})
			}
		}
	}
	u.render(w, r, http.StatusOK, "observatory", page{Title: "Observatoire des collectivités", Nav: "observatory", Data: v})
}

func kindPlural(k string, n int) string {
	one := map[string]string{"commune": "commune", "epci": "EPCI", "departement": "département", "region": "région"}[k]
	if n > 1 && k != "epci" {
		return one + "s"
	}
	return one
}

// The timeline chart: one line per territory, the cumulative records by
// month of first publication, on a 640 × 240 box (40 px of margins).
const (
	chartW, chartH = 640.0, 240.0
	chartL, chartB = 40.0, 20.0
)

func (v *observatoryView) timeline(tls []observatory.Timeline, now time.Time) {
	first, last := "", now.UTC().Format("2006-01")
	for _, tl := range tls {
		if len(tl.Months) > 0 && (first == "" || tl.Months[0].Month < first) {
			first = tl.Months[0].Month
		}
	}
	if first == "" {
		return
	}
	// Before 2010: a portal's odd dates; the chart starts in 2010.
	if first < "2010-01" {
		first = "2010-01"
	}
	start, _ := time.Parse("2006-01", first)
	end, _ := time.Parse("2006-01", last)
	months := (end.Year()-start.Year())*12 + int(end.Month()-start.Month())
	if months < 1 {
		months = 1
	}
	var maxTotal int64 = 1
	cums := make([]map[int]int64, len(tls))
	for i, tl := range tls {
		cums[i] = map[int]int64{}
		var c int64
		for _, m := range tl.Months {
			t, err := time.Parse("2006-01", m.Month)
			if err != nil {
				continue
			}
			k := max(0, (t.Year()-start.Year())*12+int(t.Month()-start.Month()))
			c += m.Count
			cums[i][k] = c
		}
		maxTotal = max(maxTotal, c)
	}
	for i, tl := range tls {
		var b strings.Builder
		var c int64
		for k := 0; k <= months; k++ {
			if x, ok := cums[i][k]; ok {
				c = x
			}
			x := chartL + (chartW-chartL)*float64(k)/float64(months)
			y := (chartH - chartB) * (1 - float64(c)/float64(maxTotal))
			fmt.Fprintf(&b, "%.1f,%.1f ", x, y)
		}
		v.Lines = append(v.Lines, obsLine{Territory: tl.Territory, Label: valueLabel(index.FieldTerritory, tl.Territory),
			Class: fmt.Sprintf("s%d", i%9), Points: strings.TrimSpace(b.String()), Last: c})
	}
	v.TimelineFrom, v.TimelineTo = frMonth(first), frMonth(last)
	// The same as a table, by year.
	for y := start.Year(); y <= end.Year(); y++ {
		v.YearHeads = append(v.YearHeads, strconv.Itoa(y))
	}
	for _, tl := range tls {
		row := struct {
			Label  string
			Counts []int64
		}{Label: valueLabel(index.FieldTerritory, tl.Territory), Counts: make([]int64, len(v.YearHeads))}
		for _, m := range tl.Months {
			if y, err := strconv.Atoi(m.Month[:4]); err == nil {
				row.Counts[max(0, min(y-start.Year(), len(row.Counts)-1))] += m.Count
			}
		}
		v.YearRows = append(v.YearRows, row)
	}
}

// trend is the share of the obliged that publish, day by day, from the
// daily snapshots (of one territory, or all).
func (v *observatoryView) trend(history []observatory.Snapshot, territory string) {
	var pts []struct {
		date  string
		share float64
	}
	for _, s := range history {
		sum := s.Total
		if territory != "" {
			found := false
			for _, t := range s.Summaries {
				if t.Territory == territory {
					sum, found = t, true
				}
			}
			if !found {
				continue
			}
		}
		pts = append(pts, struct {
			date  string
			share float64
		}{s.Date, sum.Share})
	}
	if len(pts) < 2 {
		return
	}
	t := &obsTrend{}
	var b strings.Builder
	for i, p := range pts {
		x := chartL + (chartW-chartL)*float64(i)/float64(len(pts)-1)
		y := (chartH - chartB) * (1 - p.share)
		fmt.Fprintf(&b, "%.1f,%.1f ", x, y)
		d, _ := time.Parse("2006-01-02", p.date)
		t.Rows = append(t.Rows, struct{ Date, Share string }{frDate(d.Add(12 * time.Hour)), pct(p.share)})
	}
	t.Points = strings.TrimSpace(b.String())
	v.Trend = t
}
