// Package observatory answers the question the pilot territories exist
// for: which collectivités the law for a Digital Republic obliges to open
// their data (communes from 3,500 inhabitants, every EPCI à fiscalité
// propre, départements, régions) publish, and what. It is computed from the
// index, whose records the indexer attributed to their collectivité
// (indexer/collectivite), and from the territories' geographies (the
// embedded referential): GET /v1/observatory, the page /observatoire, and
// a daily snapshot of the summary (Snapshots) for the trend.
//
// The referential has no agent counts, the law's second criterion (50
// agents): a commune counts as obliged from its population alone (the
// threshold is each territory's obliged_from), which the answers say.
package observatory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opendatafrance/moisson/indexer/index"
	"github.com/opendatafrance/moisson/proto/bus"
	"github.com/opendatafrance/moisson/referential"
	"golang.org/x/sync/singleflight"
)

// AgentsNote says what the obligation is computed from.
const AgentsNote = "Obligation computed from the population alone: the referential (@etalab/decoupage-administratif) has no agent counts, the law's other criterion (50 agents); a commune is counted from its territory's threshold (default 3,500 inhabitants)."

// Row is one collectivité: obliged, publishing, or both.
type Row struct {
	Key        string `json:"key"` // SIREN, or departement:35, region:53
	Siren      string `json:"siren,omitempty"`
	Code       string `json:"code"`
	Name       string `json:"name"`
	Kind       string `json:"kind"`
	Population int    `json:"population"`
	Territory  string `json:"territory"`
	Obliged    bool   `json:"obliged"`
	ObligedWhy string `json:"obliged_why,omitempty"`
	Publishes  bool   `json:"publishes"`
	// Datasets: distinct datasets (copies on several portals once);
	// Records: the records behind them.
	Datasets int64    `json:"datasets"`
	Records  int64    `json:"records"`
	Portals  []string `json:"portals"`
	SCDL     []SCDL   `json:"scdl"`
	// LastModified: the month of its latest modification (YYYY-MM; the
	// year, YYYY, when it is more than three years old).
	LastModified string `json:"last_modified,omitempty"`
	// Freshness: the share of its records modified in the last 12 months.
	Freshness float64 `json:"freshness"`
	// Quality: the mean metadata quality score of its records (of 405).
	Quality float64 `json:"quality"`
}

// SCDL is an item of the Socle Commun des Données Locales a collectivité
// covers, and how its records show it (declared, columns, title).
type SCDL struct {
	Item     string   `json:"item"`
	Evidence []string `json:"evidence"`
}

// Summary sums up a territory (or all of them).
type Summary struct {
	Territory string `json:"territory"` // "" for the total
	Name      string `json:"name"`
	// Configured: the territory declares a geography (without, nothing is
	// obliged).
	Configured bool `json:"configured"`
	Obliged    int  `json:"obliged"`
	Publishing int  `json:"publishing"` // obliged and publishing
	// Share of the obliged that publish.
	Share float64 `json:"share"`
	// ObligedPopulation: inhabitants of the obliged communes;
	// CoveredPopulation: those of them whose commune or EPCI publishes
	// (the local level: a département or a région publishing does not
	// count, else every region territory would be covered whole). Each
	// inhabitant counts once.
	ObligedPopulation int64   `json:"obliged_population"`
	CoveredPopulation int64   `json:"covered_population"`
	PopulationShare   float64 `json:"population_share"`
	// PublishingOthers: collectivités not obliged that publish.
	PublishingOthers int `json:"publishing_others"`
	// SCDLItems: SCDL items at least one collectivité covers.
	SCDLItems int `json:"scdl_items"`
	// Records of the territory: attributed to a collectivité or not.
	Records    int64          `json:"records"`
	Attributed int64          `json:"attributed"`
	Unresolved int64          `json:"unresolved"`
	ByKind     map[string]Tip `json:"by_kind"`
}

// Tip counts the obliged and publishing of one kind.
type Tip struct {
	Obliged    int `json:"obliged"`
	Publishing int `json:"publishing"`
}

// Month is one month of a timeline.
type Month struct {
	Month string `json:"month"` // YYYY-MM
	Count int64  `json:"count"`
}

// Timeline is a territory's records by month of first publication (issued,
// else first seen by the harvester).
type Timeline struct {
	Territory string  `json:"territory"`
	Months    []Month `json:"months"`
}

// Report is the whole observatory.
type Report struct {
	GeneratedAt   time.Time  `json:"generated_at"`
	Note          string     `json:"note"`
	Referential   string     `json:"referential"`
	Total         Summary    `json:"total"`
	Summaries     []Summary  `json:"summaries"`
	Collectivites []Row      `json:"collectivites"`
	Timelines     []Timeline `json:"timelines"`
}

// Territories lists the configured territories.
type Territories func(ctx context.Context) ([]bus.TerritoryInfo, error)

// Observatory computes reports, each kept for a minute (the index changes
// during every harvest; the observatory is a trend).
type Observatory struct {
	Index       index.Searcher
	Territories Territories
	TTL         time.Duration // default 1 minute

	mu    sync.Mutex
	last  *Report
	at    time.Time
	group singleflight.Group
}

// Report is the current report (computed at most once per TTL).
func (o *Observatory) Report(ctx context.Context) (*Report, error) {
	ttl := o.TTL
	if ttl <= 0 {
		ttl = time.Minute
	}
	o.mu.Lock()
	if o.last != nil && time.Since(o.at) < ttl {
		r := o.last
		o.mu.Unlock()
		return r, nil
	}
	o.mu.Unlock()
	v, err, _ := o.group.Do("report", func() (any, error) {
		r, err := Compute(ctx, o.Index, o.Territories, time.Now())
		if err == nil {
			o.mu.Lock()
			o.last, o.at = r, time.Now()
			o.mu.Unlock()
		}
		return r, err
	})
	if err != nil {
		return nil, err
	}
	return v.(*Report), nil
}

// Compute computes the report as of now.
func Compute(ctx context.Context, x index.Searcher, territories Territories, now time.Time) (*Report, error) {
	ref := referential.France()
	infos, err := territories(ctx)
	if err != nil {
		return nil, fmt.Errorf("the territories: %w", err)
	}
	rep := &Report{GeneratedAt: now.UTC(), Note: AgentsNote, Referential: ref.Source}
	// Territories with records but no configuration still show.
	known := map[string]bool{}
	for _, t := range infos {
		known[t.ID] = true
	}
	tr, err := x.Search(ctx, index.Query{Size: 1, Facets: []string{index.FieldTerritory}, FacetSize: 1000})
	if err != nil {
		return nil, err
	}
	for _, fc := range tr.Facets[index.FieldTerritory] {
		if !known[fc.Key] {
			infos = append(infos, bus.TerritoryInfo{ID: fc.Key, Name: fc.Key})
		}
	}
	slices.SortFunc(infos, func(a, b bus.TerritoryInfo) int { return cmp.Compare(a.ID, b.ID) })
	total := Summary{Name: "Total", ByKind: map[string]Tip{}}
	seen := map[string]bool{} // the total counts a collectivité once
	since := now.AddDate(-1, 0, 0).Format("2006-01")
	// Territories are computed four at a time (each is two searches).
	type result struct {
		rows []Row
		sum  Summary
		tl   Timeline
		err  error
	}
	results := make([]result, len(infos))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i, t := range infos {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			r := &results[i]
			r.rows, r.sum, r.tl, r.err = territory(ctx, x, ref, t, since)
		}()
	}
	wg.Wait()
	for i, t := range infos {
		rows, sum, tl, err := results[i].rows, results[i].sum, results[i].tl, results[i].err
		if err != nil {
			return nil, fmt.Errorf("territory %s: %w", t.ID, err)
		}
		rep.Collectivites = append(rep.Collectivites, rows...)
		rep.Summaries = append(rep.Summaries, sum)
		rep.Timelines = append(rep.Timelines, tl)
		total.Configured = total.Configured || sum.Configured
		total.Records += sum.Records
		total.Attributed += sum.Attributed
		total.Unresolved += sum.Unresolved
		// Territories do not overlap (if two did, their common
		// inhabitants would count twice here).
		total.CoveredPopulation += sum.CoveredPopulation
		for _, r := range rows {
			if seen[r.Key] {
				continue
			}
			seen[r.Key] = true
			addRow(&total, r)
		}
	}
	finish(&total)
	total.SCDLItems = countSCDL(rep.Collectivites)
	rep.Total = total
	return rep, nil
}

func addRow(s *Summary, r Row) {
	tip := s.ByKind[r.Kind]
	switch {
	case r.Obliged:
		s.Obliged++
		tip.Obliged++
		if r.Kind == string(referential.Commune) {
			s.ObligedPopulation += int64(r.Population)
		}
		if r.Publishes {
			s.Publishing++
			tip.Publishing++
		}
	case r.Publishes:
		s.PublishingOthers++
	}
	s.ByKind[r.Kind] = tip
}

func finish(s *Summary) {
	if s.Obliged > 0 {
		s.Share = float64(s.Publishing) / float64(s.Obliged)
	}
	if s.ObligedPopulation > 0 {
		s.PopulationShare = float64(s.CoveredPopulation) / float64(s.ObligedPopulation)
	}
}

func countSCDL(rows []Row) int {
	items := map[string]bool{}
	for _, r := range rows {
		for _, it := range r.SCDL {
			items[it.Item] = true
		}
	}
	return len(items)
}

// territory computes one territory: two searches (the collectivités with
// their distinct datasets, the first months and the unresolved; then the
// observatory facts of each collectivité).
func territory(ctx context.Context, x index.Searcher, ref *referential.Referential, t bus.TerritoryInfo, since string) ([]Row, Summary, Timeline, error) {
	sum := Summary{Territory: t.ID, Name: t.Name, Configured: !t.Geography.Empty(), ByKind: map[string]Tip{}}
	tl := Timeline{Territory: t.ID}
	filter := map[string][]string{index.FieldTerritory: {t.ID}}
	r1, err := x.Search(ctx, index.Query{Filters: filter, Size: 1, Distinct: true, FacetSize: index.MaxLargeFacetSize,
		Facets: []string{index.FieldCollectivite, index.FieldFirstMonth, index.FieldUnresolved}})
	if err != nil {
		return nil, sum, tl, err
	}
	r2, err := x.Search(ctx, index.Query{Filters: filter, Size: 1, FacetSize: index.MaxLargeFacetSize, Facets: []string{index.FieldObservatory}})
	if err != nil {
		return nil, sum, tl, err
	}
	sum.Records = r1.Total
	for _, fc := range r1.Facets[index.FieldUnresolved] {
		sum.Unresolved += fc.Count
	}
	sum.Attributed = sum.Records - sum.Unresolved
	for _, fc := range r1.Facets[index.FieldFirstMonth] {
		tl.Months = append(tl.Months, Month{fc.Key, fc.Count})
	}
	slices.SortFunc(tl.Months, func(a, b Month) int { return cmp.Compare(a.Month, b.Month) })

	type facts struct {
		records, scoreSum, fresh int64
		portals                  []string
		scdl                     map[string][]string
		last                     string
	}
	byKey := map[string]*facts{}
	get := func(k string) *facts {
		f := byKey[k]
		if f == nil {
			f = &facts{scdl: map[string][]string{}}
			byKey[k] = f
		}
		return f
	}
	for _, fc := range r2.Facets[index.FieldObservatory] {
		parts := strings.SplitN(fc.Key, index.Sep, 3)
		if len(parts) != 3 {
			continue
		}
		f := get(parts[0])
		switch parts[1] {
		case index.ObsQuality:
			score, _ := strconv.ParseInt(parts[2], 10, 64)
			f.records += fc.Count
			f.scoreSum += score * fc.Count
		case index.ObsPortal:
			f.portals = append(f.portals, parts[2])
		case index.ObsModified:
			if parts[2] >= since {
				f.fresh += fc.Count
			}
			f.last = max(f.last, parts[2])
		case index.ObsSCDL:
			item, ev, _ := strings.Cut(parts[2], " ")
			f.scdl[item] = append(f.scdl[item], ev)
		}
	}
	datasets := map[string]int64{}
	for _, fc := range r1.Facets[index.FieldCollectivite] {
		datasets[fc.Key] = fc.Count
	}
	fill := func(r *Row) {
		r.Datasets = datasets[r.Key]
		r.Publishes = r.Datasets > 0
		f := byKey[r.Key]
		if f == nil {
			r.Portals, r.SCDL = []string{}, []SCDL{}
			return
		}
		r.Records = f.records
		slices.Sort(f.portals)
		r.Portals = f.portals
		r.SCDL = []SCDL{}
		for item, evs := range f.scdl {
			slices.Sort(evs)
			r.SCDL = append(r.SCDL, SCDL{item, evs})
		}
		slices.SortFunc(r.SCDL, func(a, b SCDL) int { return cmp.Compare(a.Item, b.Item) })
		r.LastModified = f.last
		if f.records > 0 {
			r.Freshness = float64(f.fresh) / float64(f.records)
			r.Quality = float64(f.scoreSum) / float64(f.records)
		}
	}
	var rows []Row
	listed := map[string]bool{}
	obligedCommunes := map[string]int{} // code → population
	if sum.Configured {
		for _, ob := range ref.Area(t.Geography).Obliged(t.ObligedFrom) {
			r := rowOf(ob.Collectivite, t.ID)
			r.Obliged, r.ObligedWhy = true, ob.Why
			fill(&r)
			rows = append(rows, r)
			listed[r.Key] = true
			if ob.Kind == referential.Commune {
				obligedCommunes[ob.Code] = ob.Population
			}
		}
	}
	// Collectivités not obliged (or outside the area) that publish here.
	for key := range datasets {
		if listed[key] {
			continue
		}
		c := ref.ByKey(key)
		if c == nil {
			continue
		}
		r := rowOf(c, t.ID)
		fill(&r)
		rows = append(rows, r)
	}
	sortRows(rows, "", false)
	covered := map[string]bool{} // communes whose population is covered
	for _, r := range rows {
		addRow(&sum, r)
		if !r.Publishes {
			continue
		}
		for _, code := range communesOf(ref, r) {
			covered[code] = true
		}
	}
	for code := range covered {
		sum.CoveredPopulation += int64(obligedCommunes[code])
	}
	sum.SCDLItems = countSCDL(rows)
	finish(&sum)
	return rows, sum, tl, nil
}

// communesOf are the communes whose inhabitants a publishing collectivité
// covers at the local level: itself, or an EPCI's members.
func communesOf(ref *referential.Referential, r Row) []string {
	switch referential.Kind(r.Kind) {
	case referential.Commune:
		return []string{r.Code}
	case referential.EPCI:
		if c := ref.EPCI(r.Code); c != nil {
			return c.Members
		}
	}
	return nil
}

func rowOf(c *referential.Collectivite, territory string) Row {
	return Row{Key: c.Key(), Siren: c.Siren, Code: c.Code, Name: c.Name, Kind: string(c.Kind), Population: c.Population, Territory: territory}
}

// Sorts of the rows.
var Sorts = []string{"kind", "name", "population", "datasets", "scdl", "freshness", "quality", "last_modified"}

// sortRows orders rows by a Sorts key ("" is kind, then population), desc
// reversing it; ties by name, then key.
func sortRows(rows []Row, by string, desc bool) {
	slices.SortStableFunc(rows, func(a, b Row) int {
		var c int
		switch by {
		case "name":
			c = cmp.Compare(index.SortKey(a.Name), index.SortKey(b.Name))
		case "population":
			c = cmp.Compare(a.Population, b.Population)
		case "datasets":
			c = cmp.Compare(a.Datasets, b.Datasets)
		case "scdl":
			c = cmp.Compare(len(a.SCDL), len(b.SCDL))
		case "freshness":
			c = cmp.Compare(a.Freshness, b.Freshness)
		case "quality":
			c = cmp.Compare(a.Quality, b.Quality)
		case "last_modified":
			c = cmp.Compare(a.LastModified, b.LastModified)
		default:
			if c = cmp.Compare(referential.Kind(a.Kind).Rank(), referential.Kind(b.Kind).Rank()); c == 0 {
				c = -cmp.Compare(a.Population, b.Population)
			}
		}
		if desc {
			c = -c
		}
		if c == 0 {
			c = cmp.Compare(index.SortKey(a.Name), index.SortKey(b.Name))
		}
		if c == 0 {
			c = cmp.Compare(a.Key, b.Key)
		}
		return c
	})
}

// Filter selects rows.
type Filter struct {
	Territories []string
	Kinds       []string
	Obliged     *bool
	Publishes   *bool
	Sort        string // one of Sorts; "" kind then population
	Desc        bool
}

// Select is the rows of the report that pass f, sorted, and the summaries
// of the territories f keeps.
func (r *Report) Select(f Filter) ([]Row, []Summary, []Timeline) {
	var rows []Row
	for _, row := range r.Collectivites {
		if len(f.Territories) > 0 && !slices.Contains(f.Territories, row.Territory) ||
			len(f.Kinds) > 0 && !slices.Contains(f.Kinds, row.Kind) ||
			f.Obliged != nil && row.Obliged != *f.Obliged ||
			f.Publishes != nil && row.Publishes != *f.Publishes {
			continue
		}
		rows = append(rows, row)
	}
	sortRows(rows, f.Sort, f.Desc)
	var sums []Summary
	var tls []Timeline
	for i, s := range r.Summaries {
		if len(f.Territories) == 0 || slices.Contains(f.Territories, s.Territory) {
			sums = append(sums, s)
			tls = append(tls, r.Timelines[i])
		}
	}
	return rows, sums, tls
}
