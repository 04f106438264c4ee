package index

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Coverage compares territories: what each one publishes by SCDL item (with
// how each match was found), theme, format and licence, and how fresh its
// datasets are. It is built from facet counts (one search per territory and
// one per freshness window), never by walking the datasets; both backends
// share it.

// CoverageCell is one key of one dimension of a territory.
type CoverageCell struct {
	Key   string `json:"key"`
	Count int64  `json:"count"`
	// Evidence counts the datasets by how the SCDL match was found
	// (declared, columns, title): SCDL items only.
	Evidence map[string]int64 `json:"evidence,omitempty"`
}

// FreshnessWindows are the windows of Freshness, in months.
var FreshnessWindows = []int{3, 12, 36}

// FreshnessCell is the datasets modified in the last Months months.
type FreshnessCell struct {
	Months int     `json:"months"`
	Count  int64   `json:"count"`
	Share  float64 `json:"share"` // of the territory's datasets, 0..1
}

// TerritoryCoverage is one row of the coverage matrix.
type TerritoryCoverage struct {
	Territory string          `json:"territory"`
	Datasets  int64           `json:"datasets"`
	Schema    []CoverageCell  `json:"schema"`
	Theme     []CoverageCell  `json:"theme"`
	Format    []CoverageCell  `json:"format"`
	License   []CoverageCell  `json:"license"`
	Freshness []FreshnessCell `json:"freshness"`
}

// CoverageReport is the matrix.
type CoverageReport struct {
	Generated time.Time `json:"generated"`
	Datasets  int64     `json:"datasets"`
	// Distinct: the counts are of datasets (duplicates counted once), not
	// of records.
	Distinct    bool                `json:"distinct,omitempty"`
	Territories []TerritoryCoverage `json:"territories"`
}

// coverageFacetSize bounds the keys of one dimension of one territory.
const coverageFacetSize = 1000

// Coverage computes the matrix over the datasets base selects (its Text,
// Filters and Distinct; its sort, size and cursor are ignored). Territories
// are in key order; the cells of each dimension by count descending, then
// key. With Distinct, every count is of datasets rather than records: the
// copies of a dataset on several portals of a territory (or on
// data.gouv.fr) count once (ApplyDistinct).
func Coverage(ctx context.Context, s Searcher, base Query, now time.Time) (*CoverageReport, error) {
	q := Query{Text: base.Text, Filters: base.Filters, ModifiedAfter: base.ModifiedAfter, ModifiedBefore: base.ModifiedBefore,
		Size: 1, Facets: []string{FieldTerritory}, FacetSize: coverageFacetSize, Distinct: base.Distinct}
	total := func(r *Result) int64 {
		if base.Distinct {
			return r.Distinct
		}
		return r.Total
	}
	all, err := s.Search(ctx, q)
	if err != nil {
		return nil, err
	}
	rep := &CoverageReport{Generated: now.UTC(), Datasets: total(all), Distinct: base.Distinct, Territories: []TerritoryCoverage{}}
	terrs := slices.Clone(all.Facets[FieldTerritory])
	slices.SortFunc(terrs, func(a, b FacetCount) int { return strings.Compare(a.Key, b.Key) })
	// The searches of the territories and of the freshness windows are
	// independent: run side by side, a report computed afresh takes the
	// time of a few searches rather than of all of them.
	rows := make([]TerritoryCoverage, len(terrs))
	fresh := make([]*Result, len(FreshnessWindows))
	err = forEach(len(terrs)+len(FreshnessWindows), coverageParallel, func(i int) error {
		if i >= len(terrs) {
			months := FreshnessWindows[i-len(terrs)]
			fq := q
			from := now.AddDate(0, -months, 0)
			if from.Before(base.ModifiedAfter) {
				from = base.ModifiedAfter
			}
			fq.ModifiedAfter = from
			res, err := s.Search(ctx, fq)
			fresh[i-len(terrs)] = res
			return err
		}
		t := terrs[i]
		tq := q
		tq.Filters = withFilter(base.Filters, FieldTerritory, t.Key)
		tq.Facets = []string{FieldSchema, FieldEvidence, FieldTheme, FieldFormat, FieldLicense}
		res, err := s.Search(ctx, tq)
		if err != nil {
			return err
		}
		row := TerritoryCoverage{Territory: t.Key, Datasets: total(res),
			Theme: cells(res.Facets[FieldTheme]), Format: cells(res.Facets[FieldFormat]), License: cells(res.Facets[FieldLicense])}
		row.Schema = cells(res.Facets[FieldSchema])
		for _, ev := range res.Facets[FieldEvidence] {
			item, kind, ok := strings.Cut(ev.Key, " ")
			if !ok {
				continue
			}
			for i := range row.Schema {
				if row.Schema[i].Key == item {
					if row.Schema[i].Evidence == nil {
						row.Schema[i].Evidence = map[string]int64{}
					}
					row.Schema[i].Evidence[kind] += ev.Count
				}
			}
		}
		rows[i] = row
		return nil
	})
	if err != nil {
		return nil, err
	}
	rep.Territories = append(rep.Territories, rows...)
	for w, months := range FreshnessWindows {
		counts := map[string]int64{}
		for _, c := range fresh[w].Facets[FieldTerritory] {
			counts[c.Key] = c.Count
		}
		for i := range rep.Territories {
			row := &rep.Territories[i]
			cell := FreshnessCell{Months: months, Count: counts[row.Territory]}
			if row.Datasets > 0 {
				cell.Share = float64(cell.Count) / float64(row.Datasets)
			}
			row.Freshness = append(row.Freshness, cell)
		}
	}
	return rep, nil
}

// Complete adds the rows and cells the report has no dataset for: a row for
// each of territories it lacks (a territory that publishes nothing is
// news), a zero cell for each of items (SCDL item ids) a row lacks, after
// its other cells. Territories stay in key order.
func (r *CoverageReport) Complete(territories, items []string) {
	have := map[string]bool{}
	for _, t := range r.Territories {
		have[t.Territory] = true
	}
	for _, id := range territories {
		if have[id] {
			continue
		}
		have[id] = true
		row := TerritoryCoverage{Territory: id, Theme: []CoverageCell{}, Format: []CoverageCell{}, License: []CoverageCell{}}
		for _, m := range FreshnessWindows {
			row.Freshness = append(row.Freshness, FreshnessCell{Months: m})
		}
		r.Territories = append(r.Territories, row)
	}
	slices.SortFunc(r.Territories, func(a, b TerritoryCoverage) int { return strings.Compare(a.Territory, b.Territory) })
	for i := range r.Territories {
		row := &r.Territories[i]
		for _, item := range items {
			if !slices.ContainsFunc(row.Schema, func(c CoverageCell) bool { return c.Key == item }) {
				row.Schema = append(row.Schema, CoverageCell{Key: item})
			}
		}
		if row.Schema == nil {
			row.Schema = []CoverageCell{}
		}
	}
}

// coverageParallel bounds the searches of a report run at once.
const coverageParallel = 4

// forEach calls f(0)…f(n-1), at most limit at once, and returns the first
// error (the calls not started yet are then skipped).
func forEach(n, limit int, f func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	sem := make(chan struct{}, max(limit, 1))
	for i := 0; i < n; i++ {
		mu.Lock()
		failed := first != nil
		mu.Unlock()
		if failed {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := f(i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

func cells(fc []FacetCount) []CoverageCell {
	out := make([]CoverageCell, 0, len(fc))
	for _, c := range fc {
		out = append(out, CoverageCell{Key: c.Key, Count: c.Count})
	}
	return out
}

func withFilter(filters map[string][]string, field, value string) map[string][]string {
	out := maps.Clone(filters)
	if out == nil {
		out = map[string][]string{}
	}
	out[field] = []string{value}
	return out
}

// QualityGroup is the metadata quality of a group of datasets.
type QualityGroup struct {
	Key      string           `json:"key,omitempty"`
	Datasets int64            `json:"datasets"`
	Average  float64          `json:"average"` // mean score, 0..405
	Ratings  map[string]int64 `json:"ratings"` // excellent, good, sufficient, bad
}

// QualityReport averages the quality score overall, per territory and per
// portal.
type QualityReport struct {
	Overall     QualityGroup   `json:"overall"`
	Territories []QualityGroup `json:"territories"`
	Portals     []QualityGroup `json:"portals"`
}

// Ratings are the values of the quality facet, best first.
var Ratings = []string{"excellent", "good", "sufficient", "bad"}

// QualityStats computes the report over what base selects, from facets
// on the score (one search per territory and per portal).
func QualityStats(ctx context.Context, s Searcher, base Query) (*QualityReport, error) {
	q := Query{Text: base.Text, Filters: base.Filters, ModifiedAfter: base.ModifiedAfter, ModifiedBefore: base.ModifiedBefore,
		Size: 1, FacetSize: coverageFacetSize, Facets: []string{FieldTerritory, FieldPortal, FieldQualityScore, FieldQuality}}
	res, err := s.Search(ctx, q)
	if err != nil {
		return nil, err
	}
	rep := &QualityReport{Overall: qualityGroup("", res), Territories: []QualityGroup{}, Portals: []QualityGroup{}}
	for _, dim := range []struct {
		field string
		out   *[]QualityGroup
	}{{FieldTerritory, &rep.Territories}, {FieldPortal, &rep.Portals}} {
		keys := slices.Clone(res.Facets[dim.field])
		slices.SortFunc(keys, func(a, b FacetCount) int { return strings.Compare(a.Key, b.Key) })
		for _, k := range keys {
			gq := q
			gq.Filters = withFilter(base.Filters, dim.field, k.Key)
			gq.Facets = []string{FieldQualityScore, FieldQuality}
			gr, err := s.Search(ctx, gq)
			if err != nil {
				return nil, err
			}
			*dim.out = append(*dim.out, qualityGroup(k.Key, gr))
		}
	}
	return rep, nil
}

func qualityGroup(key string, res *Result) QualityGroup {
	g := QualityGroup{Key: key, Datasets: res.Total, Ratings: map[string]int64{}}
	for _, r := range Ratings {
		g.Ratings[r] = 0
	}
	var sum, n int64
	for _, c := range res.Facets[FieldQualityScore] {
		v, err := strconv.ParseInt(c.Key, 10, 64)
		if err != nil {
			continue
		}
		sum += v * c.Count
		n += c.Count
	}
	if n > 0 {
		g.Average = float64(sum) / float64(n)
	}
	for _, c := range res.Facets[FieldQuality] {
		g.Ratings[c.Key] = c.Count
	}
	return g
}
