package indextest

import (
	"context"
	"fmt"
	"html"
	"slices"
	"strings"
	"testing"
	"time"

	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/opendatafrance/moisson/indexer/index"
)

// What the suite pins down for the federated search:
//   - ModifiedAfter is inclusive, ModifiedBefore exclusive; a record without
//     a modification date matches no date filter.
//   - Highlight gives, for each item, the title (whole) and description
//     fragments where a word matched, the matches between index.HighlightPre
//     and index.HighlightPost, the rest HTML-escaped; nothing without text.
//   - Distinct counts datasets among the hits (Result.Distinct) and per facet
//     value (DistinctFields): groups of hits linked by shared duplicate keys
//     (index.DupKeys) carried by at most index.MaxGroupKey hits; Total still
//     counts records.
//   - SameAs lists, for each item, the other records of its group over the
//     whole index.
//   - A cursor walk sees every record that was there before it started
//     exactly once, whatever is added between its pages.

func (l *loaded) modifiedRange(t *testing.T) {
	at := func(days int) time.Time { return fixtureEpoch.AddDate(0, 0, days) }
	cases := []struct {
		after, before time.Time
		text          string
	}{
		{after: at(100)},
		{before: at(100)},
		{after: at(100), before: at(300)},
		{after: at(300), before: at(100)}, // empty
		{after: l.docs[5].Modified, before: l.docs[5].Modified.Add(time.Nanosecond)},
		{after: at(-1000)},              // everything dated
		{before: at(10000)},             // everything dated
		{after: at(50), text: "budget"}, // with words
		{after: time.Unix(0, 0).UTC()},  // the epoch
	}
	for _, c := range cases {
		var want []string
		for _, d := range l.docs {
			if d.Modified.IsZero() {
				continue
			}
			if (!c.after.IsZero() && d.Modified.Before(c.after)) || (!c.before.IsZero() && !d.Modified.Before(c.before)) {
				continue
			}
			if c.text != "" && !slices.Contains(l.all(t, index.Query{Text: c.text}), d.ID) {
				continue
			}
			want = append(want, d.ID)
		}
		got := l.all(t, index.Query{Text: c.text, ModifiedAfter: c.after, ModifiedBefore: c.before})
		sameSet(t, fmt.Sprintf("modified in [%v, %v) q=%q", c.after, c.before, c.text), got, want)
		if slices.Contains(got, idNoDate) {
			t.Errorf("modified in [%v, %v): the record without a date matched", c.after, c.before)
		}
	}
	// With filters and facets.
	q := index.Query{ModifiedAfter: at(200), Filters: map[string][]string{index.FieldFormat: {"CSV"}}, Facets: []string{index.FieldTerritory}, FacetSize: 100, Size: 100}
	res := l.search(t, q)
	if want := l.wantFacet(index.FieldTerritory, ids(res.Items)); !slices.Equal(res.Facets[index.FieldTerritory], want) {
		t.Errorf("modified_after + format facets: got %v, want %v", res.Facets[index.FieldTerritory], want)
	}
}

func (l *loaded) highlights(t *testing.T) {
	strip := func(s string) string {
		return html.UnescapeString(strings.NewReplacer(index.HighlightPre, "", index.HighlightPost, "").Replace(s))
	}
	res := l.search(t, index.Query{Text: "deliberation", Highlight: true, Size: 50})
	if len(res.Hits) != len(res.Items) || len(res.Items) == 0 {
		t.Fatalf("q=deliberation: %d hits for %d items", len(res.Hits), len(res.Items))
	}
	for i, d := range res.Items {
		h := res.Hits[i].Highlights
		title := h["title"]
		if len(title) != 1 || strip(title[0]) != d.GetTitle() {
			t.Errorf("%s: title highlight %q, want the whole title %q marked", d.GetId(), title, d.GetTitle())
			continue
		}
		if !strings.Contains(title[0], index.HighlightPre+"Délibérations"+index.HighlightPost) {
			t.Errorf("%s: title highlight %q, want %sDélibérations%s", d.GetId(), title[0], index.HighlightPre, index.HighlightPost)
		}
	}
	// A match in the description only: a description fragment, no title.
	res = l.search(t, index.Query{Text: "budget", Highlight: true, Size: 50})
	for i, d := range res.Items {
		h := res.Hits[i].Highlights
		if d.GetId() != idBudgetDescription {
			if len(h["title"]) == 0 {
				t.Errorf("q=budget %s: no title highlight", d.GetId())
			}
			continue
		}
		if len(h["title"]) != 0 {
			t.Errorf("q=budget %s: a title highlight %q although the title has no budget", d.GetId(), h["title"])
		}
		desc := strings.Join(h["description"], " … ")
		if !strings.Contains(desc, index.HighlightPre+"budget"+index.HighlightPost) {
			t.Errorf("q=budget %s: description highlight %q", d.GetId(), desc)
		}
		for _, f := range h["description"] {
			if !strings.Contains(d.GetDescription(), strings.TrimSpace(strip(f))) {
				t.Errorf("q=budget %s: fragment %q is not from the description", d.GetId(), f)
			}
		}
	}
	// Several words, accents folded: both marked.
	res = l.search(t, index.Query{Text: "EQUIPEMENT sportif", Highlight: true, Size: 5})
	if len(res.Items) != 1 || len(res.Hits) != 1 {
		t.Fatalf("q=EQUIPEMENT sportif: %d items, %d hits", len(res.Items), len(res.Hits))
	}
	if got := res.Hits[0].Highlights["title"]; len(got) != 1 || strings.Count(got[0], index.HighlightPre) != 2 {
		t.Errorf("q=EQUIPEMENT sportif: title highlight %q, want both words marked", got)
	}
	// Not asked, or no words: no highlights.
	for _, q := range []index.Query{{Text: "deliberation", Size: 5}, {Highlight: true, Size: 5}} {
		res := l.search(t, q)
		for _, h := range res.Hits {
			if len(h.Highlights) > 0 {
				t.Errorf("%+v: highlights %v", q, h.Highlights)
			}
		}
	}
}

// groupsOf splits ids into datasets the way the index must: records that
// share a duplicate key carried by at most index.MaxGroupKey of ids are in
// one group, transitively. A brute-force oracle: group ids by a fixpoint.
func (l *loaded) groupsOf(ids []string) map[string]int {
	keys := map[string][]string{}
	count := map[string]int{}
	for _, d := range l.docs {
		if slices.Contains(ids, d.ID) {
			keys[d.ID] = d.DupKeys
			for _, k := range d.DupKeys {
				count[k]++
			}
		}
	}
	group := map[string]int{}
	for i, id := range ids {
		group[id] = i
	}
	for changed := true; changed; {
		changed = false
		for _, a := range ids {
			for _, b := range ids {
				if group[a] == group[b] {
					continue
				}
				for _, k := range keys[a] {
					if count[k] <= index.MaxGroupKey && slices.Contains(keys[b], k) {
						g := min(group[a], group[b])
						group[a], group[b] = g, g
						changed = true
						break
					}
				}
			}
		}
	}
	return group
}

// wantDistinct counts the datasets among hits, overall and per value of
// field (a group counts once for each value one of its records has).
func (l *loaded) wantDistinct(field string, hits []string) (int64, []index.FacetCount) {
	group := l.groupsOf(hits)
	all := map[int]bool{}
	per := map[string]map[int]bool{}
	for _, d := range l.docs {
		if !slices.Contains(hits, d.ID) {
			continue
		}
		all[group[d.ID]] = true
		for _, v := range docValues(d, field) {
			if per[v] == nil {
				per[v] = map[int]bool{}
			}
			per[v][group[d.ID]] = true
		}
	}
	var out []index.FacetCount
	for k, groups := range per {
		out = append(out, index.FacetCount{Key: k, Count: int64(len(groups))})
	}
	slices.SortFunc(out, func(a, b index.FacetCount) int {
		if a.Count != b.Count {
			return int(b.Count - a.Count)
		}
		return strings.Compare(a.Key, b.Key)
	})
	return int64(len(all)), out
}

func (l *loaded) distinct(t *testing.T) {
	// The fixtures hold two records duplicated by title and publisher, one
	// dataset under three titles linked by identifiers, and two records
	// whose landing page is the portal's home page (not linked).
	shared := func(a, b string) bool {
		for _, k := range index.DupKeys(l.byID[a]) {
			if slices.Contains(index.DupKeys(l.byID[b]), k) {
				return true
			}
		}
		return false
	}
	for _, c := range [][2]string{{idArbres, idArbresCopy}, {idCadastreSolaire, idCadastreCopy}, {idRelais, idRelaisCopy}, {idRelaisCopy, idRelaisGeo}} {
		if !shared(c[0], c[1]) {
			t.Fatalf("%s and %s share no duplicate key: %q, %q", c[0], c[1], index.DupKeys(l.byID[c[0]]), index.DupKeys(l.byID[c[1]]))
		}
	}
	for _, c := range [][2]string{{idRelais, idRelaisGeo}, {idSiteRootA, idSiteRootB}} {
		if shared(c[0], c[1]) {
			t.Fatalf("%s and %s share a duplicate key: %q, %q", c[0], c[1], index.DupKeys(l.byID[c[0]]), index.DupKeys(l.byID[c[1]]))
		}
	}
	for _, q := range []index.Query{
		{},
		{Filters: map[string][]string{index.FieldTerritory: {"val-de-marne", "occitanie"}}},
		{Text: "cadastre"},
		{Filters: map[string][]string{index.FieldSource: {"val-de-marne-datagouv"}}},
		{Text: "budget"},
		{Text: "relais"},
		{Filters: map[string][]string{index.FieldTerritory: {"loire-atlantique"}}},
		{Filters: map[string][]string{index.FieldProtocol: {"ods", "csw"}}}, // the chain broken: ds-45 not selected
		{Filters: map[string][]string{index.FieldDupKey: {"i:" + relaisUUID}}},
	} {
		q.Distinct = true
		q.Facets = index.DistinctFields
		q.FacetSize = 100
		q.Size = 2
		res := l.search(t, q)
		hits := l.all(t, index.Query{Text: q.Text, Filters: q.Filters})
		if res.Total != int64(len(hits)) {
			t.Errorf("%+v: Total %d, want the %d records", q, res.Total, len(hits))
		}
		wantN, _ := l.wantDistinct(index.FieldTerritory, hits)
		if res.Distinct != wantN {
			t.Errorf("q=%q filters=%v: Distinct %d, want %d", q.Text, q.Filters, res.Distinct, wantN)
		}
		for _, f := range index.DistinctFields {
			_, want := l.wantDistinct(f, hits)
			if want == nil {
				want = []index.FacetCount{}
			}
			if got := res.Facets[f]; !slices.Equal(got, want) {
				t.Errorf("q=%q filters=%v distinct facet %s:\n got %v\nwant %v", q.Text, q.Filters, f, got, want)
			}
		}
	}
	// The whole corpus: four records fewer than datasets (two pairs, one
	// group of three).
	res := l.search(t, index.Query{Distinct: true, Size: 1})
	if res.Distinct != int64(len(l.ds)-4) {
		t.Errorf("Distinct over everything = %d, want %d", res.Distinct, len(l.ds)-4)
	}
	// "relais": Rennes' "Parcs relais", and Nantes' under three titles: two
	// datasets (the same title by another publisher is another dataset).
	if res := l.search(t, index.Query{Text: "relais", Distinct: true}); res.Total != 4 || res.Distinct != 2 {
		t.Errorf("q=relais: Total %d Distinct %d, want 4 records of 2 datasets", res.Total, res.Distinct)
	}
	// A small facet size keeps the first values by distinct count.
	res = l.search(t, index.Query{Distinct: true, Facets: []string{index.FieldTerritory}, FacetSize: 2, Size: 1})
	if _, want := l.wantDistinct(index.FieldTerritory, l.expected(nil)); !slices.Equal(res.Facets[index.FieldTerritory], want[:2]) {
		t.Errorf("distinct territory facet, size 2: %v, want %v", res.Facets[index.FieldTerritory], want[:2])
	}
	// Without Distinct, facets count records.
	res = l.search(t, index.Query{Facets: []string{index.FieldTerritory}, FacetSize: 100, Size: 1})
	if got := res.Facets[index.FieldTerritory]; !slices.Equal(got, l.wantFacet(index.FieldTerritory, l.expected(nil))) {
		t.Errorf("territory facet without Distinct: %v", got)
	}
}

func (l *loaded) sameAs(t *testing.T) {
	res := l.search(t, index.Query{SameAs: true, Size: 100, Sort: index.SortTitle})
	if len(res.Hits) != len(res.Items) {
		t.Fatalf("SameAs: %d hits for %d items", len(res.Hits), len(res.Items))
	}
	want := map[string][]string{
		idArbres: {idArbresCopy}, idArbresCopy: {idArbres},
		idCadastreSolaire: {idCadastreCopy}, idCadastreCopy: {idCadastreSolaire},
		idRelais: {idRelaisCopy, idRelaisGeo}, idRelaisCopy: {idRelais, idRelaisGeo}, idRelaisGeo: {idRelais, idRelaisCopy},
	}
	for i, d := range res.Items {
		if got := res.Hits[i].SameAs; !slices.Equal(got, want[d.GetId()]) {
			t.Errorf("%s same_as %v, want %v", d.GetId(), got, want[d.GetId()])
		}
	}
	// The other records count even when the query does not select them,
	// through a record it does not select either.
	res = l.search(t, index.Query{Text: "arbres", SameAs: true, Filters: map[string][]string{index.FieldSource: {"val-de-marne-datagouv"}}})
	if len(res.Items) != 1 || len(res.Hits) != 1 || !slices.Equal(res.Hits[0].SameAs, []string{idArbres}) {
		t.Errorf("q=arbres source=datagouv: %v %+v, want %s same as %s", ids(res.Items), res.Hits, idArbresCopy, idArbres)
	}
	res = l.search(t, index.Query{SameAs: true, Filters: map[string][]string{index.FieldProtocol: {"csw"}}})
	if len(res.Items) != 1 || !slices.Equal(res.Hits[0].SameAs, []string{idRelais, idRelaisCopy}) {
		t.Errorf("protocol=csw: %v %+v, want %s same as %s and %s", ids(res.Items), res.Hits, idRelaisGeo, idRelais, idRelaisCopy)
	}
}

func (l *loaded) coverage(t *testing.T) {
	now := fixtureEpoch.AddDate(1, 6, 0)
	rep, err := index.Coverage(context.Background(), l.idx, index.Query{}, now)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Datasets != int64(len(l.ds)) {
		t.Errorf("coverage datasets %d, want %d", rep.Datasets, len(l.ds))
	}
	terrs := map[string]bool{}
	for _, d := range l.docs {
		terrs[d.Territory] = true
	}
	if len(rep.Territories) != len(terrs) {
		t.Fatalf("%d territories, want %d", len(rep.Territories), len(terrs))
	}
	for _, row := range rep.Territories {
		in := l.expected(map[string][]string{index.FieldTerritory: {row.Territory}})
		if row.Datasets != int64(len(in)) {
			t.Errorf("%s: %d datasets, want %d", row.Territory, row.Datasets, len(in))
		}
		for _, dim := range []struct {
			field string
			got   []index.CoverageCell
		}{{index.FieldSchema, row.Schema}, {index.FieldTheme, row.Theme}, {index.FieldFormat, row.Format}, {index.FieldLicense, row.License}} {
			want := l.wantFacet(dim.field, in)
			var got []index.FacetCount
			for _, c := range dim.got {
				got = append(got, index.FacetCount{Key: c.Key, Count: c.Count})
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s × %s: got %v, want %v", row.Territory, dim.field, got, want)
			}
		}
		// Evidence: every fixture match is declared.
		for _, c := range row.Schema {
			if len(c.Evidence) != 1 || c.Evidence["declared"] != c.Count {
				t.Errorf("%s × %s: evidence %v, want declared %d", row.Territory, c.Key, c.Evidence, c.Count)
			}
		}
		if len(row.Freshness) != len(index.FreshnessWindows) {
			t.Fatalf("%s: freshness %v", row.Territory, row.Freshness)
		}
		for i, f := range row.Freshness {
			from := now.AddDate(0, -index.FreshnessWindows[i], 0)
			var n int64
			for _, d := range l.docs {
				if d.Territory == row.Territory && !d.Modified.IsZero() && !d.Modified.Before(from) {
					n++
				}
			}
			if f.Months != index.FreshnessWindows[i] || f.Count != n {
				t.Errorf("%s freshness %d months: %+v, want count %d", row.Territory, index.FreshnessWindows[i], f, n)
			}
			if row.Datasets > 0 && f.Share != float64(n)/float64(row.Datasets) {
				t.Errorf("%s freshness %d months: share %v", row.Territory, f.Months, f.Share)
			}
		}
	}
	// A base filter narrows the matrix.
	rep, err = index.Coverage(context.Background(), l.idx, index.Query{Filters: map[string][]string{index.FieldSchema: {"scdl/deliberations"}}}, now)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, row := range rep.Territories {
		got = append(got, fmt.Sprintf("%s:%d", row.Territory, row.Datasets))
	}
	if want := []string{"bretagne:2", "mulhouse:1"}; !slices.Equal(got, want) {
		t.Errorf("coverage of scdl/deliberations: %v, want %v", got, want)
	}
	// Distinct: datasets, duplicates counted once in each territory and
	// cell (Nantes' three records of one dataset, val-de-marne's copy).
	rep, err = index.Coverage(context.Background(), l.idx, index.Query{Distinct: true}, now)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := l.wantDistinct(index.FieldTerritory, l.expected(nil)); !rep.Distinct || rep.Datasets != want {
		t.Errorf("distinct coverage: %d datasets (distinct %t), want %d", rep.Datasets, rep.Distinct, want)
	}
	for _, row := range rep.Territories {
		in := l.expected(map[string][]string{index.FieldTerritory: {row.Territory}})
		if want, _ := l.wantDistinct(index.FieldTerritory, in); row.Datasets != want {
			t.Errorf("distinct coverage %s: %d datasets, want %d", row.Territory, row.Datasets, want)
		}
		for _, dim := range []struct {
			field string
			got   []index.CoverageCell
		}{{index.FieldSchema, row.Schema}, {index.FieldTheme, row.Theme}, {index.FieldFormat, row.Format}, {index.FieldLicense, row.License}} {
			_, want := l.wantDistinct(dim.field, in)
			var got []index.FacetCount
			for _, c := range dim.got {
				got = append(got, index.FacetCount{Key: c.Key, Count: c.Count})
			}
			if !slices.Equal(got, want) {
				t.Errorf("distinct %s × %s: got %v, want %v", row.Territory, dim.field, got, want)
			}
		}
	}
	for _, row := range rep.Territories {
		if row.Territory == "loire-atlantique" {
			if n := len(l.expected(map[string][]string{index.FieldTerritory: {row.Territory}})); row.Datasets != int64(n-2) {
				t.Errorf("distinct coverage of loire-atlantique: %d datasets, want %d records less the two copies", row.Datasets, n)
			}
		}
	}
}

func (l *loaded) qualityStats(t *testing.T) {
	rep, err := index.QualityStats(context.Background(), l.idx, index.Query{})
	if err != nil {
		t.Fatal(err)
	}
	avg := func(field, key string) (float64, int64, map[string]int64) {
		var sum, n int64
		ratings := map[string]int64{"excellent": 0, "good": 0, "sufficient": 0, "bad": 0}
		for _, d := range l.docs {
			if field != "" && !slices.Contains(docValues(d, field), key) {
				continue
			}
			sum += int64(d.Score)
			n++
			ratings[d.Quality]++
		}
		return float64(sum) / float64(n), n, ratings
	}
	check := func(what string, g index.QualityGroup, field string) {
		want, n, ratings := avg(field, g.Key)
		if g.Datasets != n || g.Average < want-1e-9 || g.Average > want+1e-9 {
			t.Errorf("%s %s: %d datasets, average %v; want %d, %v", what, g.Key, g.Datasets, g.Average, n, want)
		}
		for r, c := range ratings {
			if g.Ratings[r] != c {
				t.Errorf("%s %s: ratings %v, want %v", what, g.Key, g.Ratings, ratings)
				break
			}
		}
	}
	check("overall", rep.Overall, "")
	if len(rep.Territories) == 0 || len(rep.Portals) == 0 {
		t.Fatalf("quality: %d territories, %d portals", len(rep.Territories), len(rep.Portals))
	}
	for _, g := range rep.Territories {
		check("territory", g, index.FieldTerritory)
	}
	for _, g := range rep.Portals {
		check("portal", g, index.FieldPortal)
	}
}

// cursorUnderWrites walks result sets while records are added between the
// pages: every record there before the walk is seen exactly once.
func (s *suite) cursorUnderWrites(t *testing.T) {
	ctx := context.Background()
	idx := s.open(t)
	ds := Datasets()
	ops := make([]index.Op, len(ds))
	for i, d := range ds {
		ops[i] = index.Op{ID: d.GetId(), Version: 1, Dataset: d}
	}
	s.writeOK(t, idx, ops...)
	added := 0
	addSome := func() {
		var ops []index.Op
		for k := 0; k < 3; k++ {
			added++
			id := fmt.Sprintf("zz-%03d", added)
			d := &moissonv1.Dataset{Id: id, Title: fmt.Sprintf("Budget annexe %d", added), Description: "Budget et comptes, budget voté.",
				Keywords: []string{"budget"}, TerritoryId: "bretagne", SourceId: "bretagne-ckan", Protocol: "ckan",
				Publisher: &moissonv1.Publisher{Name: "Commune"},
				Modified:  timestamppb.New(fixtureEpoch.AddDate(0, 0, added*13%600)),
				Quality:   &moissonv1.Quality{Score: int32(added * 41 % 406), Rating: "good"}}
			// Titles sort before, among and after the fixtures.
			if added%3 == 1 {
				d.Title = "Aaa " + d.Title
			}
			ops = append(ops, index.Op{ID: id, Version: 1, Dataset: d})
		}
		s.writeOK(t, idx, ops...)
	}
	for _, q := range []index.Query{
		{Sort: index.SortModified},
		{Sort: index.SortTitle},
		{Sort: index.SortQuality},
		{Sort: index.SortRelevance},
		{Text: "budget"},
		{Text: "budget primitif"},
		{Text: "conseil", Sort: index.SortTitle},
	} {
		q.Size = 2
		before := map[string]bool{}
		res, err := idx.Search(ctx, index.Query{Text: q.Text, Size: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range res.Items {
			before[d.GetId()] = true
		}
		seen := map[string]int{}
		for page := 0; page < 200; page++ {
			res, err := idx.Search(ctx, q)
			if err != nil {
				t.Fatalf("%+v page %d: %v", q, page, err)
			}
			for _, d := range res.Items {
				seen[d.GetId()]++
			}
			if res.NextCursor == "" {
				break
			}
			q.Cursor = res.NextCursor
			if page < 8 {
				addSome()
			}
		}
		for id := range before {
			if seen[id] != 1 {
				t.Errorf("sort %q q=%q: %s seen %d times while records were added", q.Sort, q.Text, id, seen[id])
			}
		}
		for id, n := range seen {
			if n > 1 {
				t.Errorf("sort %q q=%q: %s seen %d times", q.Sort, q.Text, id, n)
			}
		}
	}
}
