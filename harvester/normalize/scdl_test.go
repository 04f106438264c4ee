package normalize

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
)

func matches(ms []*moissonv1.ScdlMatch) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.GetItem() + "=" + m.GetEvidence()
	}
	return out
}

func evidenceFor(ms []*moissonv1.ScdlMatch, item string) string {
	for _, m := range ms {
		if m.GetItem() == item {
			return m.GetEvidence()
		}
	}
	return ""
}

func TestSCDLRows(t *testing.T) {
	ids := map[string]bool{}
	for _, r := range scdlTable {
		if ids[r.ID] {
			t.Errorf("item %s twice", r.ID)
		}
		ids[r.ID] = true
		if r.Label == "" || !strings.HasPrefix(r.SchemaURL, schemaBase+r.ID+"/latest/") {
			t.Errorf("item %s: label %q, schema URL %q", r.ID, r.Label, r.SchemaURL)
		}
		// declared, in every form a portal writes it
		for _, c := range []string{
			r.ID, strings.ToUpper(r.ID),
			"https://schema.data.gouv.fr/schemas/" + r.ID + "/latest/schema.json",
			"https://schema.data.gouv.fr/schemas/" + r.ID + "/2.1.3/schema.json",
			"https://schema.data.gouv.fr/" + r.ID + "/",
			r.SchemaURL,
		} {
			if ev := evidenceFor(SCDL("", nil, []string{c}, nil), r.ID); ev != EvidenceDeclared {
				t.Errorf("%s: conformsTo %q gave %q", r.ID, c, ev)
			}
		}
		for _, a := range r.Aliases {
			if ev := evidenceFor(SCDL("", nil, []string{"https://schema.data.gouv.fr/schemas/" + a + "/1.0.0/schema.json"}, nil), r.ID); ev != EvidenceDeclared {
				t.Errorf("%s: alias %q gave %q", r.ID, a, ev)
			}
		}
		// columns: the threshold exactly, in ODS's lower-case form
		if n := len(r.Columns); n > 0 {
			need := scdlColumnsNeeded(n)
			var cols []string
			for _, c := range r.Columns[:need] {
				cols = append(cols, strings.ToLower(c))
			}
			cols = append(cols, "other_column")
			if ev := evidenceFor(SCDL("", nil, nil, cols), r.ID); ev != EvidenceColumns {
				t.Errorf("%s: columns %v gave %q", r.ID, cols, ev)
			}
			if ev := evidenceFor(SCDL("", nil, nil, cols[:need-1]), r.ID); ev != "" {
				t.Errorf("%s: %d of %d columns gave %q, want nothing", r.ID, need-1, n, ev)
			}
		}
		if len(r.TitleYes) == 0 || len(r.TitleNo) == 0 {
			t.Errorf("%s: title examples missing", r.ID)
		}
		for _, title := range r.TitleYes {
			if ev := evidenceFor(SCDL(title, nil, nil, nil), r.ID); ev != EvidenceTitle {
				t.Errorf("%s: title %q gave %q", r.ID, title, ev)
			}
			if ev := evidenceFor(SCDL("Jeu de données", []string{title}, nil, nil), r.ID); ev != EvidenceTitle {
				t.Errorf("%s: keyword %q gave %q", r.ID, title, ev)
			}
		}
		for _, title := range r.TitleNo {
			if ev := evidenceFor(SCDL(title, nil, nil, nil), r.ID); ev != "" {
				t.Errorf("%s: title %q gave %q, want nothing", r.ID, title, ev)
			}
		}
	}
	// every pattern of every row has a TitleYes of its own
	for _, r := range scdlTable {
		for _, p := range r.TitlePatterns {
			used := false
			for _, title := range r.TitleYes {
				used = used || matchesPattern(p, title)
			}
			if !used {
				t.Errorf("%s: pattern %q has no TitleYes", r.ID, p)
			}
		}
	}
}

func matchesPattern(p, title string) bool {
	for i := range scdlTable {
		for j, q := range scdlTable[i].TitlePatterns {
			if q == p {
				return scdlC[i].titles[j].re.MatchString(key(title))
			}
		}
	}
	return false
}

func TestSCDLColumnsThreshold(t *testing.T) {
	for n, want := range map[int]int{0: 0, 3: 3, 4: 3, 6: 3, 7: 4, 8: 4, 10: 5} {
		if got := scdlColumnsNeeded(n); got != want {
			t.Errorf("scdlColumnsNeeded(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestSCDLCases(t *testing.T) {
	for _, c := range []struct {
		name                 string
		title                string
		keywords, conf, cols []string
		want                 []string
	}{
		{name: "nothing", title: "Arbres d'alignement", cols: []string{"id", "espece"}, want: []string{}},
		{name: "strongest wins", title: "Délibérations 2023",
			conf: []string{"https://schema.data.gouv.fr/schemas/scdl/deliberations/2.1.3/schema.json"},
			cols: []string{"COLL_NOM", "COLL_SIRET", "DELIB_ID", "DELIB_DATE"},
			want: []string{"scdl/deliberations=declared"}},
		{name: "columns beat title", title: "Délibérations",
			cols: []string{"coll_nom", "coll_siret", "delib_id", "delib_date", "delib_objet"},
			want: []string{"scdl/deliberations=columns"}},
		{name: "camelCase columns, several items, sorted", title: "Subventions et prénoms",
			cols: []string{"nomattribuant", "IDATTRIBUANT", "date_convention", "montant"},
			want: []string{"scdl/prenoms=title", "scdl/subventions=columns"}},
		{name: "irve declared by udata schema.name and real URL", conf: []string{"etalab/schema-irve-statique",
			"https://schema.data.gouv.fr/schemas/etalab/schema-irve-statique/2.2.0/schema-statique.json"},
			want: []string{"etalab/schema-irve-statique=declared"}},
		{name: "menus id is not plats id", conf: []string{"scdl/plats-menus-collectifs"},
			want: []string{"scdl/plats-menus-collectifs=declared"}},
		{name: "prefix of another id is not a declaration", conf: []string{"scdl/deliberations-v2", "xscdl/budget", "etalab/schema-irve-dynamique"},
			want: []string{}},
		{name: "keywords", title: "Jeu sans nom", keywords: []string{"defibrillateur", "bal"},
			want: []string{"atlasante/schema-dae=title", "etalab/schema-bal=title"}},
		{name: "accents and case", title: "ÉQUIPEMENTS PUBLICS", want: []string{"scdl/equipements=title"}},
	} {
		got := matches(SCDL(c.title, c.keywords, c.conf, c.cols))
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
		if !sort.StringsAreSorted(got) {
			t.Errorf("%s: not sorted: %v", c.name, got)
		}
	}
}

func TestSCDLItemsCopy(t *testing.T) {
	items := SCDLItems()
	if len(items) != len(scdlTable) || len(items) < 13 {
		t.Fatalf("%d items", len(items))
	}
	items[0].Columns[0] = "CHANGED"
	if SCDLItems()[0].Columns[0] == "CHANGED" {
		t.Error("SCDLItems shares its slices with the table")
	}
	for i, it := range items {
		if it.ID != scdlTable[i].ID || it.SchemaURL == "" || len(it.TitlePatterns) == 0 {
			t.Errorf("item %d: %+v", i, it)
		}
	}
}

// Every title pattern has a literal its matches contain (the cheap test
// before the regular expression), and the literal is right: a text without
// it matches no pattern.
func TestTitleLiterals(t *testing.T) {
	for i, c := range scdlC {
		for _, p := range c.titles {
			if p.literal == "" {
				t.Errorf("%s: no required literal found in %s (it still works, more slowly)", scdlTable[i].ID, p.re)
			}
			for _, yes := range scdlTable[i].TitleYes {
				if k := key(yes); p.re.MatchString(k) && !strings.Contains(k, p.literal) {
					t.Errorf("%s: %q matches %s without %q", scdlTable[i].ID, k, p.re, p.literal)
				}
			}
		}
	}
}
