package referential

import (
	"regexp"
	"strings"
	"sync"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Publisher resolution: the collectivité a dataset's publisher names, in
// this order:
//
//  1. an explicit SIREN (or SIRET) of the publisher: a commune or an EPCI
//     of the table, wherever it is;
//  2. its name, matched against the collectivités of the territory's area
//     after normalisation (accents, case, "Ville de", "Commune de",
//     "Mairie de", "Métropole", "Communauté d'agglomération", "St"/"Saint",
//     hyphens, articles), where the words of the name tell the kind
//     ("Département de …", "… Métropole", "CC …"); a name that fits two
//     collectivités stays unresolved rather than guessed;
//  3. the overrides of the configuration (publisher name → SIREN or
//     kind:code) for what remains.
//
// Publishers that are not collectivités (a State agency, an association, a
// partnership platform) stay unresolved, said so.

// How a publisher was resolved, or why not.
const (
	BySiren      = "siren"      // a SIREN in the publisher's fields or IRI
	ByName       = "name"       // its name
	ByOverride   = "override"   // the territory's publishers overrides
	ByIdentifier = "identifier" // a SIREN prefixing the dataset's identifier (224400028_…)
	ByMember     = "member"     // no publisher: the collectivité of the member running the portal

	NoPublisher     = "no-publisher"     // no name, no SIREN, no member collectivité
	NotCollectivite = "not-collectivite" // a State agency, an association, a platform…
	NotFound        = "not-found"        // no collectivité of the territory has this name
	Ambiguous       = "ambiguous"        // several have it
)

// Resolution is what a publisher resolved to.
type Resolution struct {
	*Collectivite        // nil: unresolved
	How           string // how it was resolved, or why not
}

// Territory is what the resolution and the obligation of a territory need,
// as the configuration declares it.
type Territory struct {
	Geography Geography `json:"geography"`
	// ObligedFrom: the population from which a commune must publish
	// (default DefaultThreshold).
	ObligedFrom int `json:"obliged_from,omitempty"`
	// Publishers: overrides, publisher name → SIREN or kind:code.
	Publishers map[string]string `json:"publishers,omitempty"`
	Members    []Member          `json:"members,omitempty"`
}

// Member is a member organisation of a territory that names its
// collectivité: records of its portals without a publisher are that
// collectivité's, and its SIREN names it (a département's or a région's
// SIREN is not in the table).
type Member struct {
	ID           string `json:"id"`
	Collectivite string `json:"collectivite,omitempty"` // SIREN or kind:code
	Siren        string `json:"siren,omitempty"`
}

// Resolver resolves the publishers of one territory.
type Resolver struct {
	r         *Referential
	area      *Area
	exact     map[string][]*Collectivite // name key → collectivités of the area so named
	stripped  map[string][]*Collectivite // EPCI, départements, régions by their name without its kind's words
	overrides map[string]*Collectivite   // name key → collectivité
	sirens    map[string]*Collectivite   // SIRENs the members declare
	members   map[string]*Collectivite   // member id → its collectivité
	// byName remembers what a publisher name resolves to (portals name a
	// few hundred publishers over and over; the indexer's workers resolve
	// at once).
	byName struct {
		sync.Mutex
		m map[string]Resolution
	}
}

// maxNameMemo bounds Resolver.byName; past it, it starts over. Names
// longer than maxNameMemoLen (no collectivité's) are not remembered, so it
// holds at most 4 MiB whatever the portals send.
const (
	maxNameMemo    = 1 << 14
	maxNameMemoLen = 256
)

// Resolver is the resolver of a territory.
func (r *Referential) Resolver(t Territory) *Resolver {
	rs := &Resolver{r: r, area: r.Area(t.Geography), exact: map[string][]*Collectivite{}, stripped: map[string][]*Collectivite{},
		overrides: map[string]*Collectivite{}, sirens: map[string]*Collectivite{}, members: map[string]*Collectivite{}}
	overrides := t.Publishers
	for _, m := range t.Members {
		c := r.ByKey(strings.TrimSpace(m.Collectivite))
		if c == nil {
			c = r.BySiren(m.Siren)
		}
		if c == nil {
			continue
		}
		rs.members[m.ID] = c
		if m.Siren != "" {
			rs.sirens[m.Siren] = c
		}
	}
	add := func(m map[string][]*Collectivite, k string, c *Collectivite) {
		if k == "" {
			return
		}
		for _, x := range m[k] {
			if x == c {
				return
			}
		}
		m[k] = append(m[k], c)
	}
	for _, c := range rs.area.Communes {
		k, _ := NameKey(c.Name)
		add(rs.exact, k, c)
	}
	for _, group := range []map[string]*Collectivite{rs.area.EPCI, rs.area.Departements, rs.area.Regions} {
		for _, c := range group {
			k, _ := NameKey(c.Name)
			add(rs.exact, string(c.Kind)+" "+k, c)
			add(rs.stripped, string(c.Kind)+" "+stripKind(k), c)
		}
	}
	for name, id := range overrides {
		c := r.ByKey(strings.TrimSpace(id))
		if c == nil {
			c = rs.sirens[strings.TrimSpace(id)]
		}
		if c != nil {
			k, _ := NameKey(name)
			rs.overrides[k] = c
		}
	}
	return rs
}

// Area is the resolver's area.
func (rs *Resolver) Area() *Area { return rs.area }

// Resolve resolves a publisher: its name, and any text that may hold its
// SIREN (its IRI, identifier, business number).
func (rs *Resolver) Resolve(name string, sirenTexts ...string) Resolution {
	for _, t := range sirenTexts {
		for _, siren := range sirensIn(t) {
			if c := rs.bySiren(siren); c != nil {
				return Resolution{c, BySiren}
			}
		}
	}
	return rs.resolveName(name)
}

// resolveName is Resolve by the name alone, remembered.
func (rs *Resolver) resolveName(name string) Resolution {
	if len(name) > maxNameMemoLen {
		return rs.resolveNameOnce(name)
	}
	rs.byName.Lock()
	res, ok := rs.byName.m[name]
	rs.byName.Unlock()
	if ok {
		return res
	}
	res = rs.resolveNameOnce(name)
	rs.byName.Lock()
	if rs.byName.m == nil || len(rs.byName.m) >= maxNameMemo {
		rs.byName.m = map[string]Resolution{}
	}
	rs.byName.m[name] = res
	rs.byName.Unlock()
	return res
}

func (rs *Resolver) resolveNameOnce(name string) Resolution {
	k, hint := NameKey(name)
	if k == "" {
		return Resolution{How: NoPublisher}
	}
	if c := rs.overrides[k]; c != nil {
		return Resolution{c, ByOverride}
	}
	if notCollectivite.MatchString(k) {
		return Resolution{How: NotCollectivite}
	}
	var cands []*Collectivite
	if hint == "" || hint == Commune {
		cands = append(cands, rs.exact[k]...)
	}
	for _, kind := range []Kind{EPCI, Departement, Region} {
		// A bare name is a commune's when a commune has it ("RENNES"),
		// else the collectivité of another kind that has it ("Bretagne").
		if hint != "" && hint != kind || hint == "" && len(cands) > 0 {
			continue
		}
		cands = append(cands, rs.exact[string(kind)+" "+k]...)
		if hint == kind {
			for _, c := range rs.stripped[string(kind)+" "+stripKind(k)] {
				if !contains(cands, c) {
					cands = append(cands, c)
				}
			}
		}
	}
	switch len(cands) {
	case 1:
		return Resolution{cands[0], ByName}
	case 0:
		return Resolution{How: NotFound}
	}
	return Resolution{How: Ambiguous}
}

func (rs *Resolver) bySiren(siren string) *Collectivite {
	if c := rs.sirens[siren]; c != nil {
		return c
	}
	return rs.r.BySiren(siren)
}

// Member is the collectivité a member of the territory declares (nil:
// none).
func (rs *Resolver) Member(id string) *Collectivite { return rs.members[id] }

func contains(list []*Collectivite, c *Collectivite) bool {
	for _, x := range list {
		if x == c {
			return true
		}
	}
	return false
}

var (
	reSiren = regexp.MustCompile(`(?:^|[^0-9])([0-9]{3} ?[0-9]{3} ?[0-9]{3})(?:[0-9 ]{5,6})?(?:$|[^0-9])`)
	// Publishers that name no collectivité, whatever else they say.
	notCollectivite = regexp.MustCompile(`\b(association|etat|prefecture|sgar|ministere|gouvernement|agence|institut|universite|openstreetmap|osm|insee|ign|ignf|sdis|syndicat|office|societe|sa|sas|sem|spl|parc naturel|chambre|ademe|cerema|epf|dreal|ddt|ddtm|ddcs|ars|caf|caisse des depots|sante publique|pole emploi|france travail|la poste|sncf|enedis|grdf|edf|rte|data gouv|base adresse nationale|datara|crige|geobretagne|megalis|picto|ideo)\b`)
)

// sirensIn lists the SIRENs (9 digits, or the first 9 of a SIRET) a text
// holds, valid by the Luhn key.
func sirensIn(t string) []string {
	// A SIREN is 9 digits: a text with fewer (most IRIs and identifiers)
	// holds none, and the expression need not run.
	digits := 0
	for i := 0; i < len(t) && digits < 9; i++ {
		if t[i]-'0' < 10 {
			digits++
		}
	}
	if digits < 9 {
		return nil
	}
	var out []string
	for _, m := range reSiren.FindAllStringSubmatch(t, -1) {
		s := strings.ReplaceAll(m[1], " ", "")
		if luhn(s) {
			out = append(out, s)
		}
	}
	return out
}

func luhn(s string) bool {
	sum := 0
	for i := len(s) - 1; i >= 0; i-- {
		d := int(s[i] - '0')
		if (len(s)-1-i)%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// folders fold accents. A transform.Chain keeps state between calls: one
// per goroutine at a time (the indexer's workers resolve at once).
var folders = sync.Pool{New: func() any {
	return transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
}}

// foldAccents removes the accents of s.
func foldAccents(s string) string {
	t := folders.Get().(transform.Transformer)
	defer folders.Put(t)
	f, _, err := transform.String(t, s)
	if err != nil {
		return s
	}
	return f
}

// prefixes say what kind of collectivité a name is, and are not part of
// its name (in key form: folded, lower case).
var prefixes = []struct {
	words string
	kind  Kind
}{
	{"mairie de la", Commune}, {"mairie de", Commune}, {"mairie d", Commune}, {"mairie du", Commune}, {"mairie des", Commune},
	{"ville de la", Commune}, {"ville de", Commune}, {"ville d", Commune}, {"ville du", Commune}, {"ville des", Commune},
	{"commune de la", Commune}, {"commune de", Commune}, {"commune d", Commune}, {"commune du", Commune}, {"commune des", Commune},
	{"communaute d agglomeration", EPCI}, {"communaute de communes", EPCI}, {"communaute urbaine", EPCI},
	{"metropole de", EPCI}, {"metropole du", EPCI}, {"metropole d", EPCI}, {"metropole", EPCI}, {"agglomeration", EPCI},
	{"ca", EPCI}, {"cc", EPCI}, {"cu", EPCI}, {"agglo", EPCI},
	{"conseil departemental de", Departement}, {"conseil departemental du", Departement}, {"conseil departemental des", Departement},
	{"conseil departemental d", Departement}, {"conseil departemental", Departement},
	{"departement de la", Departement}, {"departement de", Departement}, {"departement du", Departement}, {"departement des", Departement},
	{"departement d", Departement}, {"departement", Departement},
	{"conseil regional de", Region}, {"conseil regional d", Region}, {"conseil regional", Region}, {"region", Region},
	// Last: the bare words ("Mairie Evian-les-Bains").
	{"mairie", Commune}, {"ville", Commune}, {"commune", Commune},
}

// suffixes say the same at the end ("Rennes Métropole", "Grand Annecy
// Agglomération").
var suffixes = []struct {
	words string
	kind  Kind
}{
	{"metropole", EPCI}, {"agglomeration", EPCI}, {"agglo", EPCI}, {"communaute", EPCI},
}

// NameKey is the key form of a collectivité's or a publisher's name, and
// the kind its words tell ("" when they tell none): folded, lower case,
// every run of other characters than letters and digits one space,
// "st"/"ste" written out, the words of its kind and the leading articles
// removed. "Ville de Saint-Malo", "SAINT MALO" and "St-Malo" share a key.
func NameKey(s string) (string, Kind) {
	f := strings.ToLower(foldAccents(s))
	var b strings.Builder
	space := true
	for _, r := range f {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
			space = false
		} else if !space {
			b.WriteByte(' ')
			space = true
		}
	}
	words := strings.Fields(b.String())
	for i, w := range words {
		switch w {
		case "st":
			words[i] = "saint"
		case "ste":
			words[i] = "sainte"
		}
	}
	k := strings.Join(words, " ")
	var kind Kind
	for _, p := range prefixes {
		if k == p.words || strings.HasPrefix(k, p.words+" ") {
			k, kind = strings.TrimSpace(strings.TrimPrefix(k, p.words)), p.kind
			break
		}
	}
	for _, sfx := range suffixes {
		if strings.HasSuffix(k, " "+sfx.words) {
			k = strings.TrimSuffix(k, " "+sfx.words)
			if kind == "" {
				kind = sfx.kind
			}
			break
		}
	}
	for _, art := range []string{"le ", "la ", "les ", "l "} {
		if strings.HasPrefix(k, art) && len(k) > len(art)+2 {
			k = k[len(art):]
			break
		}
	}
	return k, kind
}

// stripKind removes from a key the words that name an EPCI's, a
// département's or a région's kind or make a name of it ("grand", "pays",
// articles), leaving what names its place.
func stripKind(k string) string {
	var out []string
	for _, w := range strings.Fields(k) {
		switch w {
		case "de", "du", "des", "d", "l", "la", "le", "les", "et", "en", "sur", "grand", "pays", "communes", "commune":
			continue
		}
		out = append(out, w)
	}
	return strings.Join(out, " ")
}

// Record is what resolution reads of a record.
type Record struct {
	Publisher      string // the publisher's name
	PublisherSiren string // a SIREN or SIRET the portal gives for it
	PublisherURI   string // its IRI (DCAT-AP-FR puts the SIREN in it)
	OriginalID     string // the portal's dataset identifier
	MemberID       string // the member of the territory running the portal
}

// reIDPrefix: a SIREN or SIRET prefixing a dataset identifier, as the
// Loire-Atlantique portals and SCDL publications do (224400028_budget).
var reIDPrefix = regexp.MustCompile(`^([0-9]{9})(?:[0-9]{5})?[_-]`)

// Record resolves a record's publisher: its SIREN, its name (overrides
// first), a SIREN prefixing the dataset identifier, and, when the record
// names no publisher at all, the collectivité of the member whose portal
// published it.
func (rs *Resolver) Record(rec Record) Resolution {
	res := rs.Resolve(rec.Publisher, rec.PublisherSiren, rec.PublisherURI)
	if res.Collectivite != nil || res.How == NotCollectivite {
		return res
	}
	if m := reIDPrefix.FindStringSubmatch(rec.OriginalID); m != nil && luhn(m[1]) {
		if c := rs.bySiren(m[1]); c != nil {
			return Resolution{c, ByIdentifier}
		}
	}
	if res.How == NoPublisher {
		if c := rs.members[rec.MemberID]; c != nil {
			return Resolution{c, ByMember}
		}
	}
	return res
}
