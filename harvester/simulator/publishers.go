package simulator

// Who publishes the generated datasets: real collectivités of the portal's
// territory, drawn from the referential (package referential), weighted by
// population, as on real portals: the member running the portal publishes
// most, the large collectivités of its area much, many obliged communes
// nothing. Names come in the forms portals write them ("Ville de Rennes",
// "RENNES", "Rennes Métropole", "Département de la Loire-Atlantique"),
// some with their SIREN; some publishers are State services, syndicates or
// associations, and a few names are ones the resolution cannot match.

import (
	"hash/fnv"
	"math"
	"sort"
	"strings"
	"sync"

	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/referential"
)

// publisher is the publisher of a generated dataset.
type publisher struct {
	Name  string // as the portal writes it
	Siren string // given by the portal (an IRI, a business number), or ""
	Slug  string // its organisation slug on the portal
	// Coll is the collectivité it is (nil: a State service, a syndicate…);
	// Place is the commune its datasets speak of.
	Coll  *referential.Collectivite
	Place commune
	// Platform: a member that publishes for its collectivités (Mégalis,
	// ARNia) under its own name.
	Platform bool
}

// pool draws the publishers of one source.
type pool struct {
	self    *referential.Collectivite // the member's collectivité, if any
	selfPct int                       // share of datasets it publishes
	others  []*referential.Collectivite
	cum     []float64 // cumulative weights of others
	nonColl []string  // publishers that are no collectivité
	nonPct  int
	area    *referential.Area
	terrID  string
	fixed   string // a CKAN organisation filter: every dataset is its own
	// What depends on the collectivité or the name alone, for the next
	// dataset of the same: an EPCI's largest commune, a name's slug.
	largest map[*referential.Collectivite]string
	slugs   map[string]string
}

// slug is slugify(name), remembered (a pool has a few hundred names).
func (p *pool) slug(name string) string {
	if s, ok := p.slugs[name]; ok {
		return s
	}
	if p.slugs == nil || len(p.slugs) >= 4096 {
		p.slugs = map[string]string{}
	}
	s := slugify(name)
	p.slugs[name] = s
	return s
}

// State services, syndicates and associations that publish on territorial
// portals ({dep}: a département code, {dn}: its name, {reg}: the région's).
var nonCollectivites = []string{
	"DDT {dep}", "DDTM {dep}", "DREAL {reg}", "Préfecture de la région {reg}", "SDIS {dep}",
	"Syndicat départemental d'énergie {dep}", "Office de tourisme", "Agence d'urbanisme",
	"OpenStreetMap France", "Association de surveillance de la qualité de l'air", "Insee, direction régionale {reg}",
	"Chambre d'agriculture {dep}", "Syndicat mixte des transports", "IGN",
}

func newPool(src *config.Source) *pool {
	ref := referential.France()
	p := &pool{}
	var geo referential.Geography
	if t := src.Territory; t != nil {
		geo, p.terrID = t.Geography, t.ID
	}
	if m := src.Member; m != nil && m.Collectivite != "" {
		p.self = ref.ByKey(m.Collectivite)
	}
	if org := src.Params["organization"]; org != "" {
		// An organisation filter (CKAN, udata): every dataset is the
		// organisation's, the member's own.
		p.fixed = org
	}
	// The area the portal's publishers come from: the member's own
	// collectivité's (an EPCI: its communes; a département: its
	// communes), else the territory's.
	scope := geo
	if p.self != nil {
		switch p.self.Kind {
		case referential.EPCI:
			scope = referential.Geography{EPCI: []string{p.self.Code}}
		case referential.Departement:
			scope = referential.Geography{Departements: []string{p.self.Code}}
		case referential.Commune:
			scope = referential.Geography{Communes: []string{p.self.Code}}
			if e := ref.EPCIOf(p.self.Code); e != nil {
				scope = referential.Geography{EPCI: []string{e.Code}}
			}
		}
	}
	if scope.Empty() {
		// A territory without geography: its known communes.
		list := communes[p.terrID]
		if len(list) == 0 {
			list = fallbackCommunes
		}
		for _, c := range list {
			scope.Communes = append(scope.Communes, c.INSEE)
		}
	}
	p.area = ref.Area(scope)
	// Publishing is concentrated: weights grow faster than population.
	add := func(c *referential.Collectivite, w float64) {
		if c == p.self || w <= 0 {
			return
		}
		p.others = append(p.others, c)
		last := 0.0
		if n := len(p.cum); n > 0 {
			last = p.cum[n-1]
		}
		p.cum = append(p.cum, last+w)
	}
	var list []*referential.Collectivite
	for _, c := range p.area.Communes {
		list = append(list, c)
	}
	for _, c := range p.area.EPCI {
		list = append(list, c)
	}
	for _, c := range p.area.Departements {
		list = append(list, c)
	}
	// Map order is random: sort for a deterministic pool.
	sort.Slice(list, func(i, j int) bool { return list[i].Key() < list[j].Key() })
	for _, c := range list {
		switch c.Kind {
		case referential.Commune:
			if c.Population >= 1500 {
				add(c, math.Pow(float64(c.Population), 1.3))
			}
		case referential.EPCI:
			add(c, 0.5*math.Pow(float64(c.Population), 1.3))
		case referential.Departement:
			add(c, 0.3*math.Pow(float64(deptPopulation(p.area, c.Code)), 1.3))
		}
	}
	switch {
	case p.self != nil:
		// A collectivité's portal: mostly its own data.
		p.selfPct, p.nonPct = 55, 8
		if p.self.Kind == referential.Commune {
			p.selfPct = 80
		}
	case src.Protocol == "csw":
		// A State geo-catalogue: State services first.
		p.nonPct = 55
	default:
		// A platform publishing for its members (Mégalis, ARNia).
		p.nonPct = 12
	}
	p.nonColl = nonCollectivites
	return p
}

func deptPopulation(a *referential.Area, code string) int {
	n := 0
	for _, c := range a.Communes {
		if c.Departement == code {
			n += c.Population
		}
	}
	return n
}

// draw picks a publisher.
func (p *pool) draw(r *rng, platform string) publisher {
	if p.fixed != "" {
		// One organisation, one name: its official one.
		pub := publisher{Name: platform, Place: p.anyCommune(r), Platform: true}
		if p.self != nil {
			pub = publisher{Name: officialName(p.self), Coll: p.self, Place: p.placeFor(r, p.self)}
		}
		pub.Slug = p.fixed
		return pub
	}
	n := r.intn(100)
	switch {
	case p.self != nil && n < p.selfPct:
		return p.form(r, p.self)
	case n >= 100-p.nonPct:
		if platform != "" && r.chance(30) {
			return publisher{Name: platform, Slug: slugify(platform), Place: p.anyCommune(r), Platform: true}
		}
		return p.nonCollectivite(r)
	case len(p.others) > 0:
		x := float64(r.intn(1<<30)) / float64(1<<30) * p.cum[len(p.cum)-1]
		i := sort.SearchFloat64s(p.cum, x)
		if i >= len(p.others) {
			i = len(p.others) - 1
		}
		return p.form(r, p.others[i])
	case p.self != nil:
		return p.form(r, p.self)
	}
	return p.nonCollectivite(r)
}

// anyCommune is a commune of the area, weighted like the publishers.
func (p *pool) anyCommune(r *rng) commune {
	for k := 0; k < 8 && len(p.others) > 0; k++ {
		x := float64(r.intn(1<<30)) / float64(1<<30) * p.cum[len(p.cum)-1]
		i := min(sort.SearchFloat64s(p.cum, x), len(p.others)-1)
		if c := p.others[i]; c.Kind == referential.Commune {
			return placeOf(c, p.terrID)
		}
	}
	if p.self != nil {
		return p.placeFor(r, p.self)
	}
	return placeOf(referential.France().Commune("75056"), p.terrID)
}

func (p *pool) nonCollectivite(r *rng) publisher {
	c := p.anyCommune(r)
	ref := referential.France()
	name := r.pick(p.nonColl)
	dep, reg := c.INSEE[:2], ""
	if cc := ref.Commune(c.INSEE); cc != nil {
		dep = cc.Departement
		if rg := ref.Region(cc.Region); rg != nil {
			reg = rg.Name
		}
		if d := ref.Departement(cc.Departement); d != nil && strings.Contains(name, "{dn}") {
			name = strings.ReplaceAll(name, "{dn}", d.Name)
		}
	}
	name = strings.ReplaceAll(strings.ReplaceAll(name, "{dep}", dep), "{reg}", reg)
	name = strings.TrimSpace(strings.TrimSuffix(name, " "))
	return publisher{Name: name, Slug: p.slug(name), Place: c}
}

// form writes a collectivité's name the way a portal would.
func (p *pool) form(r *rng, c *referential.Collectivite) publisher {
	pub := publisher{Coll: c, Place: p.placeFor(r, c)}
	n := r.intn(100)
	switch c.Kind {
	case referential.Commune:
		switch {
		case n < 35:
			pub.Name = "Ville " + deCommune(c.Name)
		case n < 48:
			pub.Name = strings.ToUpper(c.Name)
		case n < 60:
			pub.Name = "Commune " + deCommune(c.Name)
		case n < 68:
			pub.Name = "Mairie " + deCommune(c.Name)
		case n < 93:
			pub.Name = c.Name
		default:
			// A service's name: what an override is for.
			pub.Name = "Service SIG - Ville " + deCommune(c.Name)
		}
	case referential.EPCI:
		switch {
		case n < 60:
			pub.Name = c.Name
		case n < 90:
			pub.Name = expandEPCI(c.Name)
		default:
			pub.Name = strings.ToUpper(c.Name)
		}
	case referential.Departement:
		switch {
		case n < 55:
			pub.Name = "Département " + deDepartement(c.Name)
		case n < 90:
			pub.Name = "Conseil départemental " + deDepartement(c.Name)
		default:
			pub.Name = c.Name
		}
	case referential.Region:
		switch {
		case c.Code == "93" && n < 50:
			// Its brand: a name no table holds (the configuration's
			// overrides map it).
			pub.Name = "Région Sud"
		case n < 70:
			pub.Name = "Région " + c.Name
		default:
			pub.Name = "Conseil régional " + deCommune(c.Name)
		}
	}
	if c.Siren != "" && r.chance(15) {
		pub.Siren = c.Siren
	}
	pub.Slug = p.slug(pub.Name)
	return pub
}

// placeFor is the commune a collectivité's dataset speaks of: itself, else
// one of its communes.
func (p *pool) placeFor(r *rng, c *referential.Collectivite) commune {
	ref := referential.France()
	switch c.Kind {
	case referential.Commune:
		return placeOf(c, p.terrID)
	case referential.EPCI:
		if len(c.Members) > 0 {
			// Its largest commune mostly.
			best, ok := p.largest[c]
			if !ok {
				for _, m := range c.Members {
					if mc := ref.Commune(m); mc != nil && (best == "" || mc.Population > ref.Commune(best).Population) {
						best = m
					}
				}
				if p.largest == nil {
					p.largest = map[*referential.Collectivite]string{}
				}
				p.largest[c] = best
			}
			if r.chance(40) {
				best = c.Members[r.intn(len(c.Members))]
			}
			if mc := ref.Commune(best); mc != nil {
				return placeOf(mc, p.terrID)
			}
		}
	}
	for k := 0; k < 16 && len(p.others) > 0; k++ {
		o := p.others[r.intn(len(p.others))]
		if o.Kind == referential.Commune && (c.Kind != referential.Departement || o.Departement == c.Code) {
			return placeOf(o, p.terrID)
		}
	}
	return placeOf(ref.Commune("75056"), p.terrID)
}

// officialName is the name a collectivité's own organisation carries.
func officialName(c *referential.Collectivite) string {
	switch c.Kind {
	case referential.Commune:
		return "Ville " + deCommune(c.Name)
	case referential.Departement:
		return "Département " + deDepartement(c.Name)
	case referential.Region:
		return "Région " + c.Name
	}
	return c.Name
}

// expandEPCI writes an EPCI's name with its kind in full ("CA du Grand
// Annecy" → "Communauté d'agglomération du Grand Annecy").
func expandEPCI(name string) string {
	for _, x := range []struct{ short, long string }{
		{"CA ", "Communauté d'agglomération "}, {"CC ", "Communauté de communes "}, {"CU ", "Communauté urbaine "},
	} {
		if strings.HasPrefix(name, x.short) {
			return x.long + name[len(x.short):]
		}
	}
	return name
}

// deDepartement writes "de la Loire-Atlantique", "des Côtes-d'Armor",
// "du Finistère", "de l'Hérault", "d'Ille-et-Vilaine".
func deDepartement(name string) string {
	first := strings.FieldsFunc(name, func(r rune) bool { return r == '-' || r == ' ' })[0]
	switch first {
	case "Côtes", "Bouches", "Alpes", "Pyrénées", "Hautes", "Hauts", "Deux", "Landes", "Vosges", "Yvelines", "Ardennes", "Alpes-de-Haute-Provence":
		return "des " + name
	case "Nord", "Rhône", "Var", "Finistère", "Morbihan", "Gard", "Doubs", "Jura", "Cher", "Calvados", "Cantal", "Gers", "Lot",
		"Tarn", "Loiret", "Val", "Haut", "Bas", "Pas", "Puy", "Territoire", "Vaucluse", "Tarn-et-Garonne", "Lot-et-Garonne":
		return "du " + name
	case "Ille":
		return "d'" + name
	}
	if startsWithVowel(name) {
		return "de l'" + name
	}
	return "de la " + name
}

// communeIndex indexes the communes table for placeOf: by INSEE code, and
// by the two and three first digits of the code (a département's), in the
// order of the territories' ids and of their lists.
var communeIndex = sync.OnceValue(func() (idx struct {
	byCode   map[string]commune
	byPrefix map[string][]commune
}) {
	idx.byCode, idx.byPrefix = map[string]commune{}, map[string][]commune{}
	ids := make([]string, 0, len(communes))
	for id := range communes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		for _, a := range communes[id] {
			if _, dup := idx.byCode[a.INSEE]; !dup {
				idx.byCode[a.INSEE] = a
			}
			for _, n := range []int{2, 3} {
				if len(a.INSEE) > n {
					idx.byPrefix[a.INSEE[:n]] = append(idx.byPrefix[a.INSEE[:n]], a)
				}
			}
		}
	}
	return idx
})

// placeOf is a commune with a position: a known one's, else near the known
// communes of its département (the referential has no coordinates; the
// position is approximate, stable per commune).
func placeOf(c *referential.Collectivite, territoryID string) commune {
	if c == nil {
		return commune{"Paris", "75056", 48.8566, 2.3522}
	}
	idx := communeIndex()
	if a, ok := idx.byCode[c.Code]; ok {
		return a
	}
	var anchors []commune
	if len(c.Departement) >= 2 {
		anchors = idx.byPrefix[c.Departement]
	}
	if len(anchors) == 0 {
		anchors = communes[territoryID]
	}
	if len(anchors) == 0 {
		anchors = fallbackCommunes
	}
	h := fnv.New64a()
	h.Write([]byte(c.Code))
	v := h.Sum64()
	a := anchors[v%uint64(len(anchors))]
	dLat := (float64(v>>8&0xffff)/65535 - 0.5) * 0.4
	dLon := (float64(v>>24&0xffff)/65535 - 0.5) * 0.5
	return commune{Name: c.Name, INSEE: c.Code, Lat: math.Round((a.Lat+dLat)*1e4) / 1e4, Lon: math.Round((a.Lon+dLon)*1e4) / 1e4}
}
