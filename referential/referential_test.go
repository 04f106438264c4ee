package referential

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestTable(t *testing.T) {
	r := France()
	n := r.Counts()
	if n[Commune] < 34000 || n[EPCI] < 1200 || n[Departement] < 101 || n[Region] < 18 {
		t.Errorf("counts %v", n)
	}
	if c := r.Commune("35238"); c == nil || c.Name != "Rennes" || c.Siren != "213502388" || c.Departement != "35" || c.Population < 200000 {
		t.Errorf("Rennes: %+v", c)
	}
	if e := r.EPCI("243500139"); e == nil || e.Name != "Rennes Métropole" || e.Type != "METRO" || len(e.Members) < 40 {
		t.Errorf("Rennes Métropole: %+v", e)
	}
	if r.Source == "" {
		t.Error("no source line")
	}
}

// The obliged set of a real territory, Loire-Atlantique (département 44),
// checked against the table by hand: its communes of 3 500 inhabitants or
// more, its EPCI, the département; no région (not listed).
func TestObligedLoireAtlantique(t *testing.T) {
	r := France()
	a := r.Area(Geography{Departements: []string{"44"}})
	want := 0
	for _, c := range r.communes {
		if c.Departement == "44" && c.Population >= DefaultThreshold {
			want++
		}
	}
	kinds := map[Kind]int{}
	for _, o := range a.Obliged(0) {
		kinds[o.Kind]++
		if o.Kind == Commune && (o.Departement != "44" || o.Population < DefaultThreshold) {
			t.Errorf("obliged %+v", o.Collectivite)
		}
	}
	if kinds[Commune] != want || want < 60 || kinds[Departement] != 1 || kinds[Region] != 0 || kinds[EPCI] < 10 || kinds[EPCI] > 25 {
		t.Errorf("obliged by kind %v, communes want %d", kinds, want)
	}
	if a.EPCI["244400404"] == nil { // Nantes Métropole
		t.Error("Nantes Métropole not in the area")
	}
}

func TestNameKey(t *testing.T) {
	for in, want := range map[string]struct {
		key  string
		kind Kind
	}{
		"Ville de Saint-Malo":        {"saint malo", Commune},
		"SAINT MALO":                 {"saint malo", ""},
		"St-Malo":                    {"saint malo", ""},
		"Mairie d'Annecy":            {"annecy", Commune},
		"Commune de L'Haÿ-les-Roses": {"hay les roses", Commune},
		"Rennes Métropole":           {"rennes", EPCI},
		"Métropole du Grand Nancy":   {"grand nancy", EPCI},
		"Communauté d'agglomération du Grand Annecy": {"du grand annecy", EPCI},
		"Département de Loire-Atlantique":            {"loire atlantique", Departement},
		"Conseil départemental du Val-de-Marne":      {"val de marne", Departement},
		"Région Bretagne":                            {"bretagne", Region},
		"Ste-Foy-lès-Lyon":                           {"sainte foy les lyon", ""},
	} {
		k, kind := NameKey(in)
		if k != want.key || kind != want.kind {
			t.Errorf("NameKey(%q) = %q %q, want %q %q", in, k, kind, want.key, want.kind)
		}
	}
}

func TestResolve(t *testing.T) {
	r := France()
	bzh := r.Resolver(Territory{Geography: Geography{Regions: []string{"53"}},
		Publishers: map[string]string{"Service SIG de la Ville": "213502388", "Conseil départemental 35": "223500018"},
		Members:    []Member{{ID: "cd35", Collectivite: "departement:35", Siren: "223500018"}, {ID: "rennes", Collectivite: "243500139"}}})
	for _, tc := range []struct {
		name string
		ids  []string
		key  string
		how  string
	}{
		{"Ville de Rennes", nil, "213502388", ByName},
		{"RENNES", nil, "213502388", ByName},
		{"Rennes Métropole", nil, "243500139", ByName},
		{"Région Bretagne", nil, "region:53", ByName},
		{"Département d'Ille-et-Vilaine", nil, "departement:35", ByName},
		{"Conseil départemental du Finistère", nil, "departement:29", ByName},
		{"St-Malo", nil, "213502883", ByName},
		{"Mairie Saint-Malo", nil, "213502883", ByName},
		{"DDTM 35 (Direction départementale des territoires et de la mer)", nil, "", NotCollectivite},
		{"Service SIG de la Ville", nil, "213502388", ByOverride},
		{"Une organisation", []string{"https://annuaire.example/organisations/213502388"}, "213502388", BySiren},
		{"Mairie", []string{"SIRET 213 502 388 00019"}, "213502388", BySiren},
		// A département's SIREN is not in the table: a member declares it.
		{"CD35", []string{"http://data.ille-et-vilaine.fr/organisation/223500018"}, "departement:35", BySiren},
		{"Conseil départemental 35", nil, "departement:35", ByOverride},
		{"Préfecture d'Ille-et-Vilaine", nil, "", NotCollectivite},
		{"OpenStreetMap", nil, "", NotCollectivite},
		{"Mulhouse", nil, "", NotFound}, // not of this territory
		{"", nil, "", NoPublisher},
	} {
		res := bzh.Resolve(tc.name, tc.ids...)
		got := ""
		if res.Collectivite != nil {
			got = res.Key()
		}
		if got != tc.key || res.How != tc.how {
			t.Errorf("%q %v: %q (%s), want %q (%s)", tc.name, tc.ids, got, res.How, tc.key, tc.how)
		}
	}
	// A name two communes of the territory share stays unresolved.
	fr := r.Resolver(Territory{Geography: Geography{Regions: []string{"84"}}})
	if res := fr.Resolve("Beaumont"); res.Collectivite != nil || res.How != Ambiguous {
		t.Errorf("Beaumont in Auvergne-Rhône-Alpes resolved to %+v (%s)", res.Collectivite, res.How)
	}

	// A record: its publisher, else the SIREN prefixing its identifier,
	// else (no publisher at all) its member's collectivité.
	for _, tc := range []struct {
		rec      Record
		key, how string
	}{
		{Record{Publisher: "Ville de Rennes", OriginalID: "243500139_x"}, "213502388", ByName},
		{Record{Publisher: "Service des données", OriginalID: "213502388_budget-2024"}, "213502388", ByIdentifier},
		{Record{OriginalID: "21350238800019-deliberations"}, "213502388", ByIdentifier},
		{Record{OriginalID: "123456789_x", MemberID: "rennes"}, "243500139", ByMember},
		{Record{Publisher: "Service inconnu", MemberID: "rennes"}, "", NotFound},
		{Record{Publisher: "Préfecture", OriginalID: "213502388_x"}, "", NotCollectivite},
		{Record{}, "", NoPublisher},
	} {
		res := bzh.Record(tc.rec)
		got := ""
		if res.Collectivite != nil {
			got = res.Key()
		}
		if got != tc.key || res.How != tc.how {
			t.Errorf("%+v: %q (%s), want %q (%s)", tc.rec, got, res.How, tc.key, tc.how)
		}
	}
}

func BenchmarkResolve(b *testing.B) {
	rs := France().Resolver(Territory{Geography: Geography{Regions: []string{"53"}}})
	names := []string{"Ville de Rennes", "RENNES", "Rennes Métropole", "Région Bretagne", "Préfecture d'Ille-et-Vilaine", "St-Malo", "Service inconnu"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rs.Resolve(names[i%len(names)], "https://data.example.fr/org/42")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// FuzzResolve: any publisher name, SIREN text or identifier resolves
// without panicking, to a collectivité of the table or to a reason.
func FuzzResolve(f *testing.F) {
	rs := France().Resolver(Territory{Geography: Geography{Regions: []string{"53"}},
		Members: []Member{{ID: "m", Collectivite: "243500139"}}})
	for _, s := range []string{"Ville de Rennes", "Ville", "ville de", "Région Sud et CRIGE (DataSud)", "m2A et Ville de Mulhouse",
		"213502388_x", "SIRET 213 502 388 00019", "Département des Côtes d'Armor (Dat'Armor)", "St", "le", "l'", "Métropole", ""} {
		f.Add(s, s, s)
	}
	f.Fuzz(func(t *testing.T, name, siren, id string) {
		res := rs.Record(Record{Publisher: name, PublisherSiren: siren, PublisherURI: siren, OriginalID: id, MemberID: "m"})
		if res.Collectivite == nil && res.How == "" {
			t.Fatalf("%q %q %q: no resolution and no reason", name, siren, id)
		}
	})
}

// TestConcurrentResolve: the indexer's workers resolve at once with the
// same resolver (run with -race).
func TestConcurrentResolve(t *testing.T) {
	rs := France().Resolver(Territory{Geography: Geography{Regions: []string{"53"}}})
	names := []string{"Ville de Rennes", "Région Bretagne", "Département d'Ille-et-Vilaine", "Saint-Malo Agglomération", "Mairie de Vannes"}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				if res := rs.Resolve(names[(i+w)%len(names)]); res.Collectivite == nil {
					t.Errorf("%q unresolved (%s)", names[(i+w)%len(names)], res.How)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// The resolutions a resolver remembers are bounded in number and size:
// long names (a hostile portal's) resolve without being kept.
func TestNameMemoBounded(t *testing.T) {
	rs := France().Resolver(Territory{Geography: Geography{Regions: []string{"53"}}})
	long := strings.Repeat("Ville de Rennes ", 1000)
	if res := rs.Resolve(long); res.How == "" {
		t.Fatalf("no resolution for a long name")
	}
	rs.byName.Lock()
	_, kept := rs.byName.m[long]
	rs.byName.Unlock()
	if kept {
		t.Errorf("a name of %d bytes remembered", len(long))
	}
	for i := 0; i < maxNameMemo+10; i++ {
		rs.Resolve(fmt.Sprintf("Service %d", i))
	}
	rs.byName.Lock()
	defer rs.byName.Unlock()
	if len(rs.byName.m) > maxNameMemo {
		t.Errorf("%d names remembered, bound %d", len(rs.byName.m), maxNameMemo)
	}
	for k := range rs.byName.m {
		if len(k) > maxNameMemoLen {
			t.Errorf("a name of %d bytes remembered", len(k))
		}
	}
}
