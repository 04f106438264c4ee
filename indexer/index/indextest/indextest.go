// Package indextest is the contract test suite of index.Index: every backend
// (bleve, Elasticsearch) runs Run and must pass it unchanged, so the API
// behaves the same whichever index serves it.
//
// What the suite pins down, beyond the doc comments of package index:
//   - Text is plain words, analysed for French (elision, case, accents, light
//     stemming); every word must match in title, description or keywords; no
//     query syntax (quotes, |, -, +, parentheses, field:value) is honoured,
//     and none makes Search fail.
//   - A title match ranks above a match in the description only.
//   - Facets count the hits of the query, filters included; values are
//     ordered by count descending, then key ascending; FacetSize keeps the
//     first ones.
//   - Cursors are bound to their sort order: a cursor used with another sort,
//     or one the backend did not issue, is index.ErrBadCursor.
//   - Writes: one item per op; a smaller version than the indexed one is
//     superseded (nil item, nothing changes); equal versions rewrite; a
//     delete removes a document whose version is not above its own; a late
//     upsert older than a delete, redelivered shortly after it, does not
//     bring the document back (Elasticsearch keeps delete tombstones for
//     index.gc_deletes, 60 s by default; the suite checks within seconds);
//     deleting an unknown id is fine; an upsert without a dataset and an
//     empty id are permanent item errors that do not stop the others.
package indextest

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"

	"github.com/opendatafrance/moisson/indexer/index"
)

// Run runs the contract suite. open returns a new, empty index (and arranges
// its cleanup with t.Cleanup); settle makes every write so far visible to
// Search and Count (an Elasticsearch refresh; a no-op where writes are
// visible at once).
func Run(t *testing.T, open func(t *testing.T) index.Index, settle func(index.Index)) {
	s := &suite{open: open, settle: settle}
	t.Run("Read", s.read)
	t.Run("Versioning", s.versioning)
	t.Run("WriteItems", s.writeItems)
	t.Run("DeleteThenLateUpsert", s.deleteThenLateUpsert)
	t.Run("CursorUnderWrites", s.cursorUnderWrites)
	t.Run("Groups", s.groups)
}

type suite struct {
	open   func(t *testing.T) index.Index
	settle func(index.Index)
}

// loaded holds an index filled with the fixtures and what the checks expect.
type loaded struct {
	idx  index.Index
	ds   []*moissonv1.Dataset
	byID map[string]*moissonv1.Dataset
	docs []*index.Document
}

func (s *suite) read(t *testing.T) {
	ctx := context.Background()
	idx := s.open(t)
	ds := Datasets()
	ops := make([]index.Op, len(ds))
	for i, d := range ds {
		ops[i] = index.Op{ID: d.GetId(), Version: 100, Dataset: d}
	}
	// Two batches, to write through more than one request.
	half := len(ops) / 2
	for _, batch := range [][]index.Op{ops[:half], ops[half:]} {
		items, err := idx.Write(ctx, batch)
		if err != nil {
			t.Fatalf("Write: %v", err)
		}
		if len(items) != len(batch) {
			t.Fatalf("Write returned %d items for %d ops", len(items), len(batch))
		}
		for i, e := range items {
			if e != nil {
				t.Fatalf("Write item %d (%s): %v", i, batch[i].ID, e)
			}
		}
	}
	s.settle(idx)
	l := &loaded{idx: idx, ds: ds, byID: map[string]*moissonv1.Dataset{}}
	for _, d := range ds {
		l.byID[d.GetId()] = d
		doc, err := index.NewDocument(d, 100)
		if err != nil {
			t.Fatal(err)
		}
		l.docs = append(l.docs, doc)
	}

	t.Run("Count", func(t *testing.T) { l.count(t) })
	t.Run("Get", func(t *testing.T) { l.get(t) })
	t.Run("MatchAll", func(t *testing.T) { l.matchAll(t) })
	t.Run("French", func(t *testing.T) { l.french(t) })
	t.Run("Ranking", func(t *testing.T) { l.ranking(t) })
	t.Run("PlainText", func(t *testing.T) { l.plainText(t) })
	t.Run("Filters", func(t *testing.T) { l.filters(t) })
	t.Run("Facets", func(t *testing.T) { l.facets(t) })
	t.Run("Sort", func(t *testing.T) { l.sorts(t) })
	t.Run("Cursor", func(t *testing.T) { l.cursors(t) })
	t.Run("BadCursor", func(t *testing.T) { l.badCursors(t) })
	t.Run("Offset", func(t *testing.T) { l.offsets(t) })
	t.Run("ResolveFilters", func(t *testing.T) { l.resolve(t) })
	t.Run("ModifiedRange", func(t *testing.T) { l.modifiedRange(t) })
	t.Run("Highlights", func(t *testing.T) { l.highlights(t) })
	t.Run("Distinct", func(t *testing.T) { l.distinct(t) })
	t.Run("SameAs", func(t *testing.T) { l.sameAs(t) })
	t.Run("Coverage", func(t *testing.T) { l.coverage(t) })
	t.Run("QualityStats", func(t *testing.T) { l.qualityStats(t) })
}

func (l *loaded) search(t *testing.T, q index.Query) *index.Result {
	t.Helper()
	res, err := l.idx.Search(context.Background(), q)
	if err != nil {
		t.Fatalf("Search(%+v): %v", q, err)
	}
	if res.Total < int64(len(res.Items)) {
		t.Fatalf("Search(%+v): Total %d below the %d items returned", q, res.Total, len(res.Items))
	}
	return res
}

// all returns the ids of every hit of q (one page, large enough).
func (l *loaded) all(t *testing.T, q index.Query) []string {
	t.Helper()
	q.Size = len(l.ds) + 10
	res := l.search(t, q)
	if res.NextCursor != "" {
		t.Fatalf("Search(%+v): a cursor although all %d hits fit in one page", q, res.Total)
	}
	if int64(len(res.Items)) != res.Total {
		t.Fatalf("Search(%+v): %d items, Total %d", q, len(res.Items), res.Total)
	}
	return ids(res.Items)
}

func ids(items []*moissonv1.Dataset) []string {
	out := make([]string, len(items))
	for i, d := range items {
		out[i] = d.GetId()
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func sameSet(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(sorted(got), sorted(want)) {
		t.Errorf("%s: got %v, want %v", what, sorted(got), sorted(want))
	}
}

func (l *loaded) count(t *testing.T) {
	n, err := l.idx.Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(len(l.ds)) {
		t.Errorf("Count = %d, want %d", n, len(l.ds))
	}
}

func (l *loaded) get(t *testing.T) {
	ctx := context.Background()
	for _, id := range []string{idDeliberationsRennes, idOeuvres, idEauElision} {
		got, err := l.idx.Get(ctx, id)
		if err != nil {
			t.Fatalf("Get(%s): %v", id, err)
		}
		if !proto.Equal(got, l.byID[id]) {
			t.Errorf("Get(%s) = %v, want %v", id, got, l.byID[id])
		}
	}
	for _, id := range []string{"ds-404", "DS-01", "ds-1"} {
		if _, err := l.idx.Get(ctx, id); !errors.Is(err, index.ErrNotFound) {
			t.Errorf("Get(%q) error = %v, want ErrNotFound", id, err)
		}
	}
}

func (l *loaded) matchAll(t *testing.T) {
	res := l.search(t, index.Query{Size: 100})
	if res.Total != int64(len(l.ds)) || len(res.Items) != len(l.ds) {
		t.Fatalf("empty query: Total %d, %d items, want %d", res.Total, len(res.Items), len(l.ds))
	}
	for _, d := range res.Items {
		if !proto.Equal(d, l.byID[d.GetId()]) {
			t.Errorf("Search item %s differs from what was written: %v", d.GetId(), d)
		}
	}
	res = l.search(t, index.Query{Text: "   ", Size: 5})
	if res.Total != int64(len(l.ds)) || len(res.Items) != 5 {
		t.Errorf("blank query: Total %d, %d items; want %d, 5", res.Total, len(res.Items), len(l.ds))
	}
}

func (l *loaded) french(t *testing.T) {
	deliberations := []string{idDeliberationsRennes, idDeliberationsMulh, idDeliberationsCP}
	cases := []struct {
		text string
		want []string
	}{
		// Stemming and accents: the singular without accents finds
		// "Délibérations".
		{"deliberation", deliberations},
		{"délibérations", deliberations},
		{"DÉLIBÉRATIONS", deliberations},
		{"Deliberations", deliberations},
		// Every word must match, in any of the fields: "Équipements
		// culturels" and "clubs sportifs" do not.
		{"equipements sportifs", []string{idEquipementsSportifs}},
		{"ÉQUIPEMENT SPORTIF", []string{idEquipementsSportifs}},
		{"sportifs mulhouse", []string{idEquipementsSportifs}}, // title + description ("de Mulhouse" is in the title)
		// Elision: "d'équipements" in a description.
		{"equipements", []string{idEquipementsSportifs, idEquipementsCulturels, idMarchesPublics}},
		// Elision: "l'eau", and only that, is in the description.
		{"eau", []string{idEauElision}},
		{"l'eau", []string{idEauElision}},
		{"L’EAU", []string{idEauElision}},
		// Keywords are searched: "vélo" is only a keyword.
		{"velo", []string{idVelo, "ds-23"}},
		// Ligatures.
		{"oeuvres", []string{idOeuvres}},
		{"ŒUVRES", []string{idOeuvres}},
		{"budget", []string{idBudgetPrimitif, idBudgetOccitanie, idBudgetDescription, idBudgetParticipatif}},
		{"conseil municipal rennes", []string{idDeliberationsRennes}},
		{"introuvablexyz", nil},
		{"budget introuvablexyz", nil},
	}
	for _, c := range cases {
		got := l.all(t, index.Query{Text: c.text})
		sameSet(t, fmt.Sprintf("q=%q", c.text), got, c.want)
	}
}

func (l *loaded) ranking(t *testing.T) {
	got := l.all(t, index.Query{Text: "budget", Sort: index.SortRelevance})
	if len(got) == 0 || got[len(got)-1] != idBudgetDescription {
		t.Errorf("q=budget: %v, want the description-only match %s last", got, idBudgetDescription)
	}
	got = l.all(t, index.Query{Text: "equipements"})
	if len(got) == 0 || got[len(got)-1] != idMarchesPublics {
		t.Errorf("q=equipements: %v, want the description-only match %s last", got, idMarchesPublics)
	}
	// The default sort is relevance.
	def := l.all(t, index.Query{Text: "budget"})
	if !slices.Equal(def, l.all(t, index.Query{Text: "budget", Sort: index.SortRelevance})) {
		t.Errorf("q=budget: the default sort is not relevance")
	}
}

func (l *loaded) plainText(t *testing.T) {
	ctx := context.Background()
	// None of these may fail: user text is never query syntax.
	for _, text := range []string{
		`title:foo OR (`, `"unbalanced`, `a AND -b`, `*`, `?`, `+-|~()"\`, `eau~2`, `budget*`,
		`(budget)`, `[1 TO 2]`, `{}`, `/regex/`, `\`, `!`, `&&`, `||`, `NOT`, `-`, `"`,
		`title:"budget"`, `budget^10`, `%`, `<script>`, strings.Repeat("budget ", 50),
	} {
		if _, err := l.idx.Search(ctx, index.Query{Text: text, Size: 5}); err != nil {
			t.Errorf("q=%q: %v", text, err)
		}
	}
	same := func(text, plain string) {
		t.Helper()
		got := l.all(t, index.Query{Text: text})
		want := l.all(t, index.Query{Text: plain})
		sameSet(t, fmt.Sprintf("q=%q (as the words %q)", text, plain), got, want)
	}
	// "title:foo OR (" is the words title, foo and or: nothing has them.
	if got := l.all(t, index.Query{Text: `title:foo OR (`}); len(got) != 0 {
		t.Errorf("q=`title:foo OR (`: %v, want nothing", got)
	}
	// A leading minus is no negation.
	same(`-eau`, `eau`)
	// A bar is no disjunction: budget and vélo are never together.
	if got := l.all(t, index.Query{Text: `budget | velo`}); len(got) != 0 {
		t.Errorf("q=`budget | velo`: %v, want nothing (the words must all match)", got)
	}
	// Quotes make no phrase: reversed words still match.
	same(`"municipal conseil"`, `municipal conseil`)
	if got := l.all(t, index.Query{Text: `"municipal conseil"`}); len(got) == 0 {
		t.Errorf(`q="municipal conseil": nothing, want the datasets with both words`)
	}
	// Parentheses and plus signs are no grouping.
	same(`+(budget)`, `budget`)
	// A field prefix is a word like any other.
	if got := l.all(t, index.Query{Text: `title:budget`}); len(got) != 0 {
		t.Errorf("q=title:budget: %v, want nothing (no dataset has the word title)", got)
	}
}

// expected returns the ids of the fixtures that match filters.
func (l *loaded) expected(filters map[string][]string) []string {
	var out []string
	for _, d := range l.docs {
		if matches(d, filters) {
			out = append(out, d.ID)
		}
	}
	return out
}

func docValues(d *index.Document, field string) []string {
	if !index.IsFacetField(field) {
		panic("unknown field " + field)
	}
	return index.DocValues(d, field)
}

// multiValued tells the facet fields a dataset may have several values of.
func multiValued(field string) bool {
	return field == index.FieldFormat || field == index.FieldTheme || field == index.FieldSchema
}

func matches(d *index.Document, filters map[string][]string) bool {
	for field, accepted := range filters {
		if len(accepted) == 0 {
			continue
		}
		ok := false
		for _, v := range docValues(d, field) {
			if slices.Contains(accepted, v) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func (l *loaded) filters(t *testing.T) {
	cases := []map[string][]string{
		{index.FieldTerritory: {"bretagne"}},
		{index.FieldTerritory: {"bretagne", "mulhouse"}},
		{index.FieldTerritory: {"bretagne"}, index.FieldFormat: {"CSV"}},
		{index.FieldFormat: {"GeoJSON", "SHP"}, index.FieldLicense: {"odbl-1.0"}},
		{index.FieldLicense: {"unknown"}},
		{index.FieldSchema: {"scdl/deliberations"}},
		{index.FieldSchema: {"scdl/deliberations", "scdl/subventions"}, index.FieldTerritory: {"mulhouse"}},
		{index.FieldPublisher: {"Ville de Rennes"}},
		{index.FieldPublisher: {"Région Bretagne", "Département du Val-de-Marne"}},
		{index.FieldSource: {"mulhouse-ods"}, index.FieldProtocol: {"ods"}},
		{index.FieldProtocol: {"udata", "dcat"}, index.FieldTheme: {"ECON"}},
		{index.FieldTheme: {"GOVE"}, index.FieldTerritory: {"occitanie"}}, // nothing
		{index.FieldTerritory: {"nowhere"}},
		{index.FieldTerritory: {}},           // no value: no constraint
		{index.FieldTerritory: {"Bretagne"}}, // values are exact
		{index.FieldMember: {"member-bretagne"}},
		{index.FieldMember: {"member-paca", "member-mulhouse"}, index.FieldFormat: {"CSV"}},
		{index.FieldPortal: {"https://data.occitanie.example.fr"}},
		{index.FieldQuality: {"excellent", "good"}},
		{index.FieldQuality: {"bad"}, index.FieldTerritory: {"paca"}},
		{index.FieldHasData: {"true"}},
		{index.FieldHasData: {"false"}},
		{index.FieldHasData: {"true"}, index.FieldFormat: {"PDF"}},
		{index.FieldEvidence: {"scdl/budget declared"}},
		{index.FieldDupKey: {index.DupKeys(l.byID[idArbres])[0]}},
		{index.FieldDupKey: {"i:" + relaisUUID}},
		{index.FieldQualityScore: {"0"}},
	}
	for _, f := range cases {
		want := l.expected(f)
		got := l.all(t, index.Query{Filters: f, Sort: index.SortModified})
		sameSet(t, fmt.Sprintf("filters %v", f), got, want)
	}
	// With text: the words and the filters.
	got := l.all(t, index.Query{Text: "deliberations", Filters: map[string][]string{index.FieldTerritory: {"bretagne"}}})
	sameSet(t, "q=deliberations territory=bretagne", got, []string{idDeliberationsRennes, idDeliberationsCP})
	got = l.all(t, index.Query{Text: "budget", Filters: map[string][]string{index.FieldFormat: {"PDF", "XLSX"}}})
	sameSet(t, "q=budget format=PDF|XLSX", got, []string{idBudgetPrimitif, idBudgetDescription})
}

// wantFacet counts field over the fixtures among ids, ordered as the contract
// says: count descending, then key ascending.
func (l *loaded) wantFacet(field string, ids []string) []index.FacetCount {
	counts := map[string]int64{}
	for _, d := range l.docs {
		if !slices.Contains(ids, d.ID) {
			continue
		}
		for _, v := range docValues(d, field) {
			counts[v]++
		}
	}
	out := make([]index.FacetCount, 0, len(counts))
	for k, n := range counts {
		out = append(out, index.FacetCount{Key: k, Count: n})
	}
	slices.SortFunc(out, func(a, b index.FacetCount) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	return out
}

func (l *loaded) facets(t *testing.T) {
	queries := []index.Query{
		{},
		{Filters: map[string][]string{index.FieldTerritory: {"bretagne", "mulhouse"}}},
		{Text: "deliberations"},
		{Text: "equipements", Filters: map[string][]string{index.FieldFormat: {"CSV"}}},
		{Filters: map[string][]string{index.FieldLicense: {"etalab-2.0"}, index.FieldFormat: {"CSV", "JSON"}}},
	}
	for _, q := range queries {
		q.Facets = index.FacetFields
		q.FacetSize = 100
		q.Size = 3
		res := l.search(t, q)
		hits := l.all(t, index.Query{Text: q.Text, Filters: q.Filters})
		if res.Total != int64(len(hits)) {
			t.Errorf("%+v: Total %d with facets, %d without", q, res.Total, len(hits))
		}
		for _, field := range index.FacetFields {
			want := l.wantFacet(field, hits)
			got := res.Facets[field]
			if !slices.Equal(got, want) {
				t.Errorf("q=%q filters=%v facet %s:\n got %v\nwant %v", q.Text, q.Filters, field, got, want)
				continue
			}
			// Each count is the total of the search narrowed to that value.
			accepted := q.Filters[field]
			for _, fc := range got {
				narrowed := map[string][]string{}
				for k, v := range q.Filters {
					narrowed[k] = v
				}
				narrowed[field] = []string{fc.Key}
				n := l.search(t, index.Query{Text: q.Text, Filters: narrowed, Size: 1}).Total
				if len(accepted) > 0 && multiValued(field) {
					// Filtered on CSV, a dataset in CSV and XLSX counts
					// for XLSX; narrowing to XLSX drops the CSV condition,
					// so the narrowed search may find more.
					if n < fc.Count {
						t.Errorf("q=%q filters=%v: facet %s=%s counts %d, the narrowed search finds only %d", q.Text, q.Filters, field, fc.Key, fc.Count, n)
					}
					continue
				}
				if n != fc.Count {
					t.Errorf("q=%q filters=%v: facet %s=%s counts %d, the narrowed search finds %d", q.Text, q.Filters, field, fc.Key, fc.Count, n)
				}
			}
		}
	}
	// FacetSize keeps the first values.
	res := l.search(t, index.Query{Facets: []string{index.FieldTerritory, index.FieldFormat}, FacetSize: 2, Size: 1})
	for _, field := range []string{index.FieldTerritory, index.FieldFormat} {
		want := l.wantFacet(field, l.expected(nil))[:2]
		if !slices.Equal(res.Facets[field], want) {
			t.Errorf("FacetSize 2, facet %s: got %v, want %v", field, res.Facets[field], want)
		}
	}
	// Only the facets asked for.
	if len(res.Facets) != 2 {
		t.Errorf("asked for 2 facets, got %d: %v", len(res.Facets), res.Facets)
	}
}

func (l *loaded) wantOrder(sortBy string, filter func(*index.Document) bool) []string {
	var docs []*index.Document
	for _, d := range l.docs {
		if filter == nil || filter(d) {
			docs = append(docs, d)
		}
	}
	slices.SortFunc(docs, func(a, b *index.Document) int {
		var c int
		switch sortBy {
		case index.SortModified:
			c = b.Modified.Compare(a.Modified)
		case index.SortTitle:
			c = strings.Compare(a.TitleSort, b.TitleSort)
		case index.SortQuality:
			c = cmp.Compare(b.Score, a.Score)
		}
		if c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	out := make([]string, len(docs))
	for i, d := range docs {
		out[i] = d.ID
	}
	return out
}

func (l *loaded) sorts(t *testing.T) {
	for _, sortBy := range []string{index.SortModified, index.SortTitle, index.SortQuality} {
		got := l.all(t, index.Query{Sort: sortBy})
		if want := l.wantOrder(sortBy, nil); !slices.Equal(got, want) {
			t.Errorf("sort %s:\n got %v\nwant %v", sortBy, got, want)
		}
		// Sorting applies to text searches too.
		got = l.all(t, index.Query{Text: "budget", Sort: sortBy})
		want := l.wantOrder(sortBy, func(d *index.Document) bool {
			return slices.Contains([]string{idBudgetPrimitif, idBudgetOccitanie, idBudgetDescription, idBudgetParticipatif}, d.ID)
		})
		if !slices.Equal(got, want) {
			t.Errorf("q=budget sort %s:\n got %v\nwant %v", sortBy, got, want)
		}
	}
	// "Équipements" sorts with the e, not after z.
	got := l.all(t, index.Query{Sort: index.SortTitle})
	pos := slices.Index(got, idEquipementsSportifs)
	if pos < 0 || pos > slices.Index(got, "ds-33") /* Population… */ {
		t.Errorf("sort title: %s (Équipements…) at %d in %v", idEquipementsSportifs, pos, got)
	}
	if _, err := l.idx.Search(context.Background(), index.Query{Sort: "nonsense"}); err == nil {
		t.Errorf("sort nonsense: no error")
	}
}

// walk pages through q with cursors and returns the ids in order.
func (l *loaded) walk(t *testing.T, q index.Query) []string {
	t.Helper()
	var out []string
	seen := map[string]bool{}
	var total int64 = -1
	maxPages := len(l.ds)/max(q.Size, 1) + 3
	for page := 0; ; page++ {
		if page > maxPages {
			t.Fatalf("%+v: still a cursor after %d pages", q, page)
		}
		res := l.search(t, q)
		if total >= 0 && res.Total != total {
			t.Errorf("%+v: Total changed from %d to %d between pages", q, total, res.Total)
		}
		total = res.Total
		if len(res.Items) > q.Size {
			t.Fatalf("%+v: %d items, size %d", q, len(res.Items), q.Size)
		}
		if len(res.Items) < q.Size && res.NextCursor != "" {
			t.Errorf("%+v: a short page (%d) with a cursor", q, len(res.Items))
		}
		for _, d := range res.Items {
			if seen[d.GetId()] {
				t.Errorf("%+v: %s seen twice", q, d.GetId())
			}
			seen[d.GetId()] = true
			out = append(out, d.GetId())
		}
		if res.NextCursor == "" {
			break
		}
		if len(res.Items) == 0 {
			t.Fatalf("%+v: an empty page with a cursor", q)
		}
		q.Cursor = res.NextCursor
	}
	if int64(len(out)) != total {
		t.Errorf("%+v: walked %d items, Total %d", q, len(out), total)
	}
	return out
}

func (l *loaded) cursors(t *testing.T) {
	for _, q := range []index.Query{
		{Sort: index.SortModified},
		{Sort: index.SortTitle},
		{Sort: index.SortRelevance},
		{Text: "conseil"},
		{Text: "budget", Sort: index.SortTitle},
		{Filters: map[string][]string{index.FieldFormat: {"CSV"}}, Sort: index.SortModified},
		{Sort: index.SortQuality},
		{Text: "budget", Sort: index.SortQuality},
		{ModifiedAfter: fixtureEpoch.AddDate(0, 6, 0), Sort: index.SortModified},
	} {
		whole := l.all(t, q)
		q.Size = 7
		got := l.walk(t, q)
		if q.Sort == index.SortModified || q.Sort == index.SortTitle || q.Text != "" {
			// A stable order: paging gives the same sequence as one page.
			if !slices.Equal(got, whole) {
				t.Errorf("%+v: pages give\n %v\none page gives\n %v", q, got, whole)
			}
		} else {
			sameSet(t, fmt.Sprintf("%+v", q), got, whole)
		}
	}
	// A page size dividing the total: no empty trailing page with a cursor.
	n := len(l.ds)
	for _, size := range []int{1, n / 2, n, n + 1} {
		if size < 1 {
			continue
		}
		got := l.walk(t, index.Query{Sort: index.SortTitle, Size: size})
		if len(got) != n {
			t.Errorf("size %d: walked %d of %d", size, len(got), n)
		}
	}
}

// resolve: filter values as people type them name the values the index
// holds, case and accents aside; the others come back with close ones.
func (l *loaded) resolve(t *testing.T) {
	got, unknown, err := index.ResolveFilters(context.Background(), l.idx, map[string][]string{
		index.FieldTerritory: {"BRETAGNE", "bretagn"}, index.FieldFormat: {"csv"},
		index.FieldPublisher: {"ville de rennes"}, index.FieldEvidence: {"scdl/budget declared"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{index.FieldTerritory: {"bretagne", "bretagn"}, index.FieldFormat: {"CSV"},
		index.FieldPublisher: {"Ville de Rennes"}, index.FieldEvidence: {"scdl/budget declared"}}
	for f, w := range want {
		if !slices.Equal(got[f], w) {
			t.Errorf("%s: %v, want %v", f, got[f], w)
		}
	}
	if len(unknown) != 1 || unknown[0].Value != "bretagn" || !slices.Equal(unknown[0].DidYouMean, []string{"bretagne"}) {
		t.Errorf("unknown values: %+v, want bretagn with bretagne", unknown)
	}
}

// offsets: the page asked by number (Offset) is the page the cursors reach.
func (l *loaded) offsets(t *testing.T) {
	ctx := context.Background()
	for _, sortBy := range []string{index.SortTitle, index.SortModified} {
		whole := l.all(t, index.Query{Sort: sortBy})
		for _, off := range []int{0, 5, 7, len(whole) - 3, len(whole)} {
			res := l.search(t, index.Query{Sort: sortBy, Size: 5, Offset: off})
			want := whole[min(off, len(whole)):min(off+5, len(whole))]
			if got := ids(res.Items); !slices.Equal(got, want) || res.Total != int64(len(whole)) {
				t.Errorf("%s offset %d: %v (total %d), want %v", sortBy, off, got, res.Total, want)
			}
			if (off+5 < len(whole)) != (res.NextCursor != "") {
				t.Errorf("%s offset %d: next cursor %q", sortBy, off, res.NextCursor)
			}
			if res.NextCursor != "" {
				next := l.search(t, index.Query{Sort: sortBy, Size: 5, Cursor: res.NextCursor})
				if got := ids(next.Items); !slices.Equal(got, whole[off+5:min(off+10, len(whole))]) {
					t.Errorf("%s offset %d then its cursor: %v", sortBy, off, got)
				}
			}
		}
	}
	for _, q := range []index.Query{{Size: 5, Offset: index.MaxWindow}, {Size: 5, Offset: -1}, {Size: 5, Offset: 5, Cursor: "x"}} {
		if _, err := l.idx.Search(ctx, q); !errors.Is(err, index.ErrOffset) {
			t.Errorf("offset %d cursor %q: %v, want ErrOffset", q.Offset, q.Cursor, err)
		}
	}
}

func (l *loaded) badCursors(t *testing.T) {
	ctx := context.Background()
	first := l.search(t, index.Query{Sort: index.SortModified, Size: 5})
	if first.NextCursor == "" {
		t.Fatal("no cursor on a first page of 5")
	}
	bad := []struct {
		name   string
		sortBy string
		cursor string
	}{
		{"garbage", index.SortModified, "garbage!"},
		{"not base64", index.SortModified, "%%%"},
		{"base64 of nonsense", index.SortModified, base64.RawURLEncoding.EncodeToString([]byte(`{"x":1}`))},
		{"base64 of text", index.SortModified, base64.StdEncoding.EncodeToString([]byte("hello world"))},
		{"truncated", index.SortModified, first.NextCursor[:len(first.NextCursor)/2]},
		{"another sort's", index.SortTitle, first.NextCursor},
		{"another sort's (relevance)", index.SortRelevance, first.NextCursor},
	}
	for _, b := range bad {
		_, err := l.idx.Search(ctx, index.Query{Sort: b.sortBy, Size: 5, Cursor: b.cursor})
		if !errors.Is(err, index.ErrBadCursor) {
			t.Errorf("%s cursor %q: error %v, want ErrBadCursor", b.name, b.cursor, err)
		}
	}
	// The good one still works.
	if res := l.search(t, index.Query{Sort: index.SortModified, Size: 5, Cursor: first.NextCursor}); len(res.Items) != 5 {
		t.Errorf("second page: %d items", len(res.Items))
	}
}

// version tests

func dataset(id, title string) *moissonv1.Dataset {
	return &moissonv1.Dataset{Id: id, Title: title, TerritoryId: "bretagne", SourceId: "bretagne-ckan", Protocol: "ckan",
		Modified: nil, Publisher: &moissonv1.Publisher{Name: "Région Bretagne"}}
}

func (s *suite) write(t *testing.T, idx index.Index, ops ...index.Op) []error {
	t.Helper()
	items, err := idx.Write(context.Background(), ops)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if len(items) != len(ops) {
		t.Fatalf("Write: %d items for %d ops", len(items), len(ops))
	}
	s.settle(idx)
	return items
}

func (s *suite) writeOK(t *testing.T, idx index.Index, ops ...index.Op) {
	t.Helper()
	for i, e := range s.write(t, idx, ops...) {
		if e != nil {
			t.Fatalf("op %d (%s v%d delete=%v): %v", i, ops[i].ID, ops[i].Version, ops[i].Delete, e)
		}
	}
}

func title(t *testing.T, idx index.Index, id string) string {
	t.Helper()
	d, err := idx.Get(context.Background(), id)
	if errors.Is(err, index.ErrNotFound) {
		return "<not found>"
	}
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	return d.GetTitle()
}

func searchTitles(t *testing.T, idx index.Index, text string) []string {
	t.Helper()
	res, err := idx.Search(context.Background(), index.Query{Text: text, Size: 50})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range res.Items {
		out = append(out, d.GetTitle())
	}
	slices.Sort(out)
	return out
}

func upsert(id string, v int64, title string) index.Op {
	return index.Op{ID: id, Version: v, Dataset: dataset(id, title)}
}

func del(id string, v int64) index.Op { return index.Op{ID: id, Version: v, Delete: true} }

func (s *suite) versioning(t *testing.T) {
	idx := s.open(t)
	now := time.Now().UnixNano()
	v := func(n int64) int64 { return now + n }

	s.writeOK(t, idx, upsert("a", v(2), "Alpha deux"))
	// A late redelivery of an older version: superseded, reported written.
	s.writeOK(t, idx, upsert("a", v(1), "Alpha un"))
	if got := title(t, idx, "a"); got != "Alpha deux" {
		t.Errorf("after v2 then v1: %q, want Alpha deux", got)
	}
	if got := searchTitles(t, idx, "alpha"); !slices.Equal(got, []string{"Alpha deux"}) {
		t.Errorf("search after v2 then v1: %v", got)
	}
	// The same version again (a redelivery): written, unchanged.
	s.writeOK(t, idx, upsert("a", v(2), "Alpha deux"))
	// A newer one wins.
	s.writeOK(t, idx, upsert("a", v(3), "Alpha trois"))
	if got := title(t, idx, "a"); got != "Alpha trois" {
		t.Errorf("after v3: %q", got)
	}
	// A delete older than the document: nothing happens.
	s.writeOK(t, idx, del("a", v(2)))
	if got := title(t, idx, "a"); got != "Alpha trois" {
		t.Errorf("after an older delete: %q, want Alpha trois", got)
	}
	// A newer delete removes it, from Get, Search and Count.
	s.writeOK(t, idx, del("a", v(4)))
	if got := title(t, idx, "a"); got != "<not found>" {
		t.Errorf("after delete v4: %q", got)
	}
	if got := searchTitles(t, idx, "alpha"); len(got) != 0 {
		t.Errorf("search after delete: %v", got)
	}
	if n, err := idx.Count(context.Background()); err != nil || n != 0 {
		t.Errorf("Count after delete = %d, %v; want 0", n, err)
	}
	// A newer upsert after the delete brings it back.
	s.writeOK(t, idx, upsert("a", v(5), "Alpha cinq"))
	if got := title(t, idx, "a"); got != "Alpha cinq" {
		t.Errorf("after v5 upsert: %q", got)
	}
	// A delete of an id never seen is fine.
	s.writeOK(t, idx, del("never-seen", v(1)))

	// In one batch, ops apply in order.
	s.writeOK(t, idx,
		upsert("b", v(1), "Bravo un"),
		upsert("b", v(2), "Bravo deux"),
		upsert("c", v(2), "Charlie deux"),
		upsert("c", v(1), "Charlie un"),
		upsert("d", v(1), "Delta un"),
		del("d", v(2)),
	)
	for id, want := range map[string]string{"b": "Bravo deux", "c": "Charlie deux", "d": "<not found>"} {
		if got := title(t, idx, id); got != want {
			t.Errorf("batch: %s = %q, want %q", id, got, want)
		}
	}
	if n, err := idx.Count(context.Background()); err != nil || n != 3 {
		t.Errorf("Count = %d, %v; want 3 (a, b, c)", n, err)
	}
}

func (s *suite) deleteThenLateUpsert(t *testing.T) {
	idx := s.open(t)
	now := time.Now().UnixNano()
	s.writeOK(t, idx, upsert("e", now+1, "Echo un"))
	s.writeOK(t, idx, del("e", now+3))
	// The upsert v2 was in flight (or is redelivered) and lands after the
	// delete v3: it must not resurrect the dataset.
	s.writeOK(t, idx, upsert("e", now+2, "Echo deux"))
	if got := title(t, idx, "e"); got != "<not found>" {
		t.Errorf("upsert v2 after delete v3 resurrected it: %q", got)
	}
	// Nor may the delete's own redelivery, or an equal-version upsert of
	// another op, change that.
	s.writeOK(t, idx, del("e", now+3))
	if got := title(t, idx, "e"); got != "<not found>" {
		t.Errorf("after the delete's redelivery: %q", got)
	}
	if n, err := idx.Count(context.Background()); err != nil || n != 0 {
		t.Errorf("Count = %d, %v; want 0", n, err)
	}
}

func (s *suite) writeItems(t *testing.T) {
	idx := s.open(t)
	items, err := idx.Write(context.Background(), nil)
	if err != nil || len(items) != 0 {
		t.Fatalf("Write(nil) = %v, %v; want no items, no error", items, err)
	}
	ops := []index.Op{
		upsert("w1", 1, "Whisky un"),
		{ID: "w2", Version: 1}, // an upsert without a dataset
		upsert("", 1, "Sans identifiant"),
		upsert("w3", 1, "Whisky trois"),
		del("w4", 1),
	}
	items = s.write(t, idx, ops...)
	for i, want := range []bool{false, true, true, false, false} {
		switch {
		case want && !index.IsPermanent(items[i]):
			t.Errorf("op %d (%+v): %v, want a PermanentError", i, ops[i], items[i])
		case !want && items[i] != nil:
			t.Errorf("op %d (%s): %v, want nil", i, ops[i].ID, items[i])
		}
	}
	for id, want := range map[string]string{"w1": "Whisky un", "w2": "<not found>", "w3": "Whisky trois"} {
		if got := title(t, idx, id); got != want {
			t.Errorf("%s = %q, want %q", id, got, want)
		}
	}
	if n, err := idx.Count(context.Background()); err != nil || n != 2 {
		t.Errorf("Count = %d, %v; want 2", n, err)
	}
}
