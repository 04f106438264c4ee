package simulator

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/opendatafrance/moisson/harvester/config"
)

// Dataset is a generated dataset, independent of any portal software. Each
// protocol renderer writes it the way its portal would.
type Dataset struct {
	ID          string // the portal's own identifier (CKAN package id, ODS dataset_id)
	Name        string // URL slug (CKAN name)
	Title       string
	Description string
	Keywords    []string
	Themes      []string // portal theme labels (ODS themes, CKAN groups' titles)
	Publisher   string   // organisation name
	// PublisherSiren: the SIREN the portal gives for it (in an IRI, a
	// business number), or "".
	PublisherSiren string
	// CollSiren: the SIREN of the collectivité it is ("" for a State
	// service…), what a data.gouv.fr organisation's business number holds.
	CollSiren string
	OrgSlug   string // organisation slug (CKAN organization.name)
	OrgID     string // organisation id (CKAN organization.id)
	// RemoteURL and RemoteID: for a harvested copy (data.gouv.fr), the
	// landing page and id of the original on its portal.
	RemoteURL, RemoteID string

	// License as the portal writes it: a CKAN license_id for ckan sources,
	// an IRI or a label for dcat sources; LicenseTitle and LicenseURL are
	// the CKAN license_title/license_url (also filled for dcat sources).
	License      string
	LicenseTitle string
	LicenseURL   string

	Created  time.Time
	Modified time.Time

	LandingPage string
	URI         string // the DCAT dataset IRI (dcat sources), "" for ckan
	Contact     string // contact e-mail
	Resources   []Resource

	// ConformsTo lists the schema URLs the dataset declares (empty when it
	// declares nothing, even if it is an SCDL instance).
	ConformsTo []string
	// Columns are the field names of the main file (SCDL evidence for
	// portals that expose them; ckan and dcat renderers do not).
	Columns []string
	// SCDL is the schema id the dataset really is an instance of ("" if
	// none) and Evidence how it shows: "declared", "columns" or "title".
	SCDL     string
	Evidence string

	SpatialLabel string
	SpatialINSEE string // INSEE commune code, "" for a territory-wide dataset
	Lat, Lon     float64
}

// Resource is a file of a dataset (CKAN resource, DCAT distribution).
type Resource struct {
	ID        string
	Title     string
	URL       string
	Format    string // as the portal writes it ("CSV", "geojson", "SHP"...)
	MediaType string
	Size      int64  // 0 = unknown
	Schema    string // SCDL schema id the file declares, or ""
	Modified  time.Time
	// BlankNode: in DCAT, the distribution is a blank node (else an IRI).
	BlankNode bool
}

// SchemaURL is the schema.data.gouv.fr URL of a schema id.
func SchemaURL(id string) string {
	return "https://schema.data.gouv.fr/schemas/" + id + "/latest/schema.json"
}

// ---- deterministic randomness --------------------------------------------

// rng draws only from PCG's Uint64 (whose output is fixed by the algorithm),
// never from math/rand helpers, so results are stable across Go versions.
type rng struct{ p *rand.PCG }

func newRNG(seed int64, source string, i int) *rng {
	h := fnv.New64a()
	h.Write([]byte(source))
	return &rng{rand.NewPCG(uint64(seed), h.Sum64()^(uint64(i)+1)*0x9E3779B97F4A7C15)}
}

func (r *rng) intn(n int) int {
	if n <= 0 {
		return 0
	}
	return int(r.p.Uint64() % uint64(n))
}

func (r *rng) chance(percent int) bool { return r.intn(100) < percent }

func (r *rng) pick(list []string) string { return list[r.intn(len(list))] }

func (r *rng) uuid() string {
	a, b := r.p.Uint64(), r.p.Uint64()
	a = a&^(0xf<<12) | 4<<12   // version 4
	b = b&^(0x3<<62) | 0x2<<62 // variant
	var u [36]byte
	hexInto(u[0:8], a>>32)
	u[8] = '-'
	hexInto(u[9:13], (a>>16)&0xffff)
	u[13] = '-'
	hexInto(u[14:18], a&0xffff)
	u[18] = '-'
	hexInto(u[19:23], b>>48)
	u[23] = '-'
	hexInto(u[24:36], b&0xffffffffffff)
	return string(u[:])
}

// hexInto writes v in lower-case hexadecimal, zero-padded to fill b.
func hexInto(b []byte, v uint64) {
	const digits = "0123456789abcdef"
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = digits[v&0xf]
		v >>= 4
	}
}

// timeBetween returns a time in [from, to), with microseconds.
func (r *rng) timeBetween(from, to time.Time) time.Time {
	span := to.Sub(from) / time.Microsecond
	if span <= 0 {
		return from
	}
	return from.Add(time.Duration(r.p.Uint64()%uint64(span)) * time.Microsecond)
}

// ---- templates -----------------------------------------------------------

// genStart is when the generated catalogues begin (the law for a Digital
// Republic is of October 2016; portals opened from 2011).
var genStart = time.Date(2014, 1, 1, 0, 0, 0, 0, time.UTC)

const (
	thAdmin   = "Administration, Gouvernement, Finances, Citoyenneté"
	thEnv     = "Environnement"
	thTransp  = "Transports, Déplacements"
	thSport   = "Sports, Loisirs"
	thSociety = "Population, Société"
	thHealth  = "Santé"
	thUrba    = "Urbanisme, Aménagement du territoire"
	thEnergy  = "Énergie"
	thEduc    = "Éducation, Formation, Recherche, Enseignement"
)

// tmpl is a kind of dataset: how to title and describe it, its files.
type tmpl struct {
	key      string
	weight   int
	schema   string // SCDL schema id, "" for an ordinary dataset
	yearly   bool   // about one year (ctx.year): published from that year on
	title    func(g *genCtx) string
	desc     func(g *genCtx) string
	keywords []string
	themes   []string
	formats  []string // canonical formats, the first is the main file
	columns  []string
}

// genCtx is what a template may use.
type genCtx struct {
	r        *rng
	commune  commune // the commune the dataset speaks of
	year     int     // the year it is about (budgets, counts)
	today    time.Time
	terrName string
	pub      publisher
}

func (g *genCtx) de() string { return deCommune(g.commune.Name) }
func (g *genCtx) a() string  { return aCommune(g.commune.Name) }

// kind is the publisher's kind ("" when it is no collectivité).
func (g *genCtx) kind() string {
	if g.pub.Coll == nil {
		return ""
	}
	return string(g.pub.Coll.Kind)
}

// area is what the publisher's datasets cover, for titles: "de Rennes",
// "de Rennes Métropole", "de la Loire-Atlantique".
func (g *genCtx) area() string {
	if c := g.pub.Coll; c != nil {
		switch c.Kind {
		case "epci":
			return "de " + expandEPCI(c.Name)
		case "departement":
			return deDepartement(c.Name)
		case "region":
			return deCommune(c.Name)
		}
	}
	return g.de()
}

// who names the publisher in a sentence: "la Ville de Rennes", "Rennes
// Métropole", "le Département de la Loire-Atlantique".
func (g *genCtx) who() string {
	c := g.pub.Coll
	if c == nil && g.pub.Platform {
		// A platform publishing for its members: the commune's data.
		return "la Ville " + g.de()
	}
	if c == nil {
		return g.pub.Name
	}
	switch c.Kind {
	case "commune":
		return "la Ville " + deCommune(c.Name)
	case "epci":
		return expandEPCI(c.Name)
	case "departement":
		return "le Département " + deDepartement(c.Name)
	}
	return "la Région " + c.Name
}

// council is the publisher's deliberating assembly.
func (g *genCtx) council() string {
	switch g.kind() {
	case "epci":
		return "conseil communautaire"
	case "departement":
		return "conseil départemental"
	case "region":
		return "conseil régional"
	}
	return "conseil municipal"
}

// elections held in France, by kind: titles name real ones only.
var elections = []struct {
	kind  string
	years []int
}{
	{"municipales", []int{2014, 2020, 2026}}, {"européennes", []int{2014, 2019, 2024}},
	{"législatives", []int{2017, 2022, 2024}}, {"présidentielle", []int{2017, 2022}},
	{"régionales", []int{2015, 2021}}, {"départementales", []int{2015, 2021}},
}

// election picks an election held by today (its results published by July
// of its year).
func (g *genCtx) election() (string, int) {
	for {
		e := elections[g.r.intn(len(elections))]
		y := e.years[g.r.intn(len(e.years))]
		if time.Date(y, 7, 1, 0, 0, 0, 0, time.UTC).Before(g.today) {
			return e.kind, y
		}
	}
}

// deCommune writes "de Rennes", "d'Annecy", "de La Rochelle".
func deCommune(name string) string {
	if startsWithVowel(name) {
		return "d'" + name
	}
	if strings.HasPrefix(name, "Le ") {
		return "du " + name[3:]
	}
	return "de " + name
}

func aCommune(name string) string {
	if strings.HasPrefix(name, "Le ") {
		return "au " + name[3:]
	}
	return "à " + name
}

func startsWithVowel(s string) bool {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return false
	}
	c, _ := utf8.DecodeRuneInString(foldAccents(string(r)))
	return strings.ContainsRune("AEIOUYaeiouyH", c)
}

var templates = []tmpl{
	// --- SCDL ---
	{key: "deliberations", weight: 9, schema: "scdl/deliberations",
		title: func(g *genCtx) string {
			if g.r.chance(25) {
				return fmt.Sprintf("Délibérations du %s %s %d", g.council(), g.area(), g.year)
			}
			return "Délibérations du " + g.council() + " " + g.area()
		},
		desc: func(g *genCtx) string {
			return fmt.Sprintf("Liste des délibérations adoptées par le %s %s depuis %d : objet, date de séance, matière et résultat des votes (pour, contre, abstentions). Publication au format du Socle commun des données locales.", g.council(), g.area(), g.year)
		},
		keywords: []string{"délibérations", "conseil", "vote", "SCDL"},
		themes:   []string{thAdmin}, formats: []string{"CSV", "JSON"},
		columns: []string{"COLL_NOM", "COLL_SIRET", "DELIB_ID", "DELIB_DATE", "DELIB_MATIERE_CODE", "DELIB_MATIERE_NOM", "DELIB_OBJET", "BUDG_ANNEE", "VOTE_EFFECTIF", "VOTE_REEL", "VOTE_POUR", "VOTE_CONTRE", "VOTE_ABSTENTION", "DELIB_URL"}},
	{key: "subventions", weight: 6, yearly: true, schema: "scdl/subventions",
		title: func(g *genCtx) string {
			return fmt.Sprintf("Subventions %s aux associations (%d)", g.area(), g.year)
		},
		desc: func(g *genCtx) string {
			return fmt.Sprintf("Données essentielles des conventions de subvention conclues en %d par %s avec les associations : bénéficiaire, objet, montant et date de la convention (montants supérieurs à 23 000 €).", g.year, g.who())
		},
		keywords: []string{"subventions", "associations", "transparence"},
		themes:   []string{thAdmin}, formats: []string{"CSV", "XLSX"},
		columns: []string{"nomAttribuant", "idAttribuant", "dateConvention", "referenceDecision", "nomBeneficiaire", "idBeneficiaire", "objet", "montant", "nature", "conditionsVersement"}},
	{key: "equipements", weight: 6, schema: "scdl/equipements",
		title: func(g *genCtx) string {
			if g.r.chance(60) {
				return "Équipements sportifs " + g.de()
			}
			return "Équipements publics " + g.de()
		},
		desc: func(g *genCtx) string {
			return "Localisation et caractéristiques des équipements collectifs publics " + g.de() + " : gymnases, stades, salles, bibliothèques, avec le type d'équipement et ses coordonnées."
		},
		keywords: []string{"équipements", "sport", "gymnase"},
		themes:   []string{thSport}, formats: []string{"CSV", "GeoJSON", "SHP"},
		columns: []string{"COLL_NOM", "COLL_SIRET", "EQUIP_UID", "EQUIP_THEME", "EQUIP_TYPE", "EQUIP_NOM", "ADR_NUMERO", "ADR_NOMVOIE", "ADR_CODEPOSTAL", "ADR_COMMUNE", "EQUIP_LAT", "EQUIP_LONG"}},
	{key: "budget", weight: 5, yearly: true, schema: "scdl/budget",
		title: func(g *genCtx) string {
			if g.r.chance(30) {
				return fmt.Sprintf("Compte administratif %d %s", g.year, g.area())
			}
			return fmt.Sprintf("Budget primitif %d %s", g.year, g.area())
		},
		desc: func(g *genCtx) string {
			return fmt.Sprintf("Budget de %s pour l'exercice %d, par nature et par fonction (nomenclature M57), en dépenses et en recettes.", g.who(), g.year)
		},
		keywords: []string{"budget", "finances", "comptabilité publique"},
		themes:   []string{thAdmin}, formats: []string{"CSV", "PDF"},
		columns: []string{"BGT_NATDEC", "BGT_ANNEE", "BGT_SIRET", "BGT_NOM", "BGT_CONTNAT", "BGT_NATURE", "BGT_FONCTION", "BGT_OPERATION", "BGT_MTREAL", "BGT_MTBUDGPREC"}},
	{key: "prenoms", weight: 4, schema: "scdl/prenoms",
		title: func(g *genCtx) string { return "Prénoms des enfants nés " + g.a() },
		desc: func(g *genCtx) string {
			return fmt.Sprintf("Prénoms déclarés à l'état civil %s depuis %d, par sexe et par année, avec le nombre d'occurrences.", g.de(), g.year)
		},
		keywords: []string{"prénoms", "état civil", "naissances"},
		themes:   []string{thSociety}, formats: []string{"CSV", "JSON"},
		columns: []string{"COLL_INSEE", "COLL_NOM", "ENFANT_SEXE", "ENFANT_PRENOM", "NOMBRE_OCCURRENCES", "ANNEE"}},
	{key: "menus", weight: 3, schema: "scdl/menus-collectifs",
		title: func(g *genCtx) string { return "Menus des restaurants scolaires " + g.de() },
		desc: func(g *genCtx) string {
			return "Menus servis dans les restaurants scolaires " + g.de() + " : entrée, plat, fromage et dessert, avec l'indication des produits bio et d'origine locale."
		},
		keywords: []string{"menus", "cantine", "restauration scolaire"},
		themes:   []string{thEduc}, formats: []string{"CSV", "JSON"},
		columns: []string{"menuCollNom", "menuCollSiret", "menuDate", "menuRepasType", "menuPlatType", "menuPlatNom", "menuPlatId"}},
	{key: "bal", weight: 4, schema: "etalab/schema-bal",
		title: func(g *genCtx) string { return "Base Adresse Locale " + g.de() },
		desc: func(g *genCtx) string {
			return "Adresses de la commune " + g.de() + " certifiées par la mairie : numéros, voies, lieux-dits et positions, au format BAL 1.4."
		},
		keywords: []string{"adresses", "BAL", "voies"},
		themes:   []string{thUrba}, formats: []string{"CSV"},
		columns: []string{"uid_adresse", "cle_interop", "commune_insee", "commune_nom", "voie_nom", "numero", "suffixe", "position", "x", "y", "long", "lat", "source", "date_der_maj"}},
	{key: "irve", weight: 3, schema: "etalab/schema-irve-statique",
		title: func(g *genCtx) string {
			return "Infrastructures de recharge pour véhicules électriques (IRVE) " + g.de()
		},
		desc: func(g *genCtx) string {
			return "Bornes de recharge pour véhicules électriques " + g.de() + " : aménageur, opérateur, puissance nominale et conditions d'accès de chaque point de charge."
		},
		keywords: []string{"IRVE", "bornes de recharge", "mobilité électrique"},
		themes:   []string{thTransp, thEnergy}, formats: []string{"CSV", "GeoJSON"},
		columns: []string{"nom_amenageur", "siren_amenageur", "nom_operateur", "id_station_itinerance", "nom_station", "id_pdc_itinerance", "puissance_nominale", "coordonneesXY", "date_mise_en_service"}},
	{key: "dae", weight: 3, schema: "atlasante/schema-dae",
		title: func(g *genCtx) string { return "Défibrillateurs (DAE) " + g.de() },
		desc: func(g *genCtx) string {
			return "Emplacement des défibrillateurs automatisés externes accessibles au public " + g.de() + ", avec les horaires d'accès."
		},
		keywords: []string{"défibrillateurs", "DAE", "santé"},
		themes:   []string{thHealth}, formats: []string{"CSV", "GeoJSON"},
		columns: []string{"gid", "nom", "lat_coor1", "long_coor1", "adr_num", "adr_voie", "com_cp", "com_insee", "com_nom", "acc", "acc_lib", "disp_j", "disp_h"}},
	{key: "decp", weight: 3, yearly: true, schema: "139bercy/format-commande-publique",
		title: func(g *genCtx) string {
			return fmt.Sprintf("Données essentielles des marchés publics %d %s", g.year, g.area())
		},
		desc: func(g *genCtx) string {
			return fmt.Sprintf("Marchés publics conclus par %s en %d : objet, procédure, titulaires et montants (données essentielles de la commande publique).", g.who(), g.year)
		},
		keywords: []string{"marchés publics", "DECP", "commande publique"},
		themes:   []string{thAdmin}, formats: []string{"JSON", "XML"},
		columns: []string{"id", "acheteur.id", "nature", "objet", "codeCPV", "procedure", "dureeMois", "dateNotification", "montant", "titulaires"}},
	// --- ordinary datasets ---
	{key: "air", weight: 5, yearly: true,
		title: func(g *genCtx) string {
			return fmt.Sprintf("Qualité de l'air : mesures horaires %s %d", g.de(), g.year)
		},
		desc: func(g *genCtx) string {
			return "Concentrations horaires de NO2, PM10 et O3 relevées par les stations de l'agglomération " + g.de() + ". Valeurs en µg/m³ ; seuil d'information pour le NO2 : > 200 µg/m³ & seuil d'alerte < 400 µg/m³.\nSource : association agréée de surveillance de la qualité de l'air."
		},
		keywords: []string{"qualité de l'air", "pollution", "NO2"}, themes: []string{thEnv}, formats: []string{"CSV", "JSON"}},
	{key: "stationnement", weight: 5,
		title: func(g *genCtx) string { return "Parkings et places de stationnement " + g.de() },
		desc: func(g *genCtx) string {
			return "Localisation des parkings publics " + g.de() + ", nombre de places, tarifs et places réservées aux personnes à mobilité réduite."
		},
		keywords: []string{"stationnement", "parkings", "mobilité"}, themes: []string{thTransp}, formats: []string{"GeoJSON", "CSV", "SHP"}},
	{key: "piscines", weight: 4,
		title: func(g *genCtx) string { return "Horaires des piscines municipales " + g.de() },
		desc: func(g *genCtx) string {
			return "Horaires d'ouverture au public des piscines " + g.de() + " en période scolaire et pendant les vacances, avec les fermetures exceptionnelles."
		},
		keywords: []string{"piscines", "horaires", "natation"}, themes: []string{thSport}, formats: []string{"CSV", "JSON"}},
	{key: "arbres", weight: 4,
		title: func(g *genCtx) string { return "Arbres d'alignement " + g.de() },
		desc: func(g *genCtx) string {
			return "Patrimoine arboré : essence, hauteur, circonférence et année de plantation des arbres d'alignement gérés par la collectivité. L'inventaire est mis à jour après chaque campagne d'élagage."
		},
		keywords: []string{"arbres", "patrimoine arboré", "espaces verts"}, themes: []string{thEnv}, formats: []string{"GeoJSON", "SHP", "CSV"}},
	{key: "velo", weight: 4, yearly: true,
		title: func(g *genCtx) string { return fmt.Sprintf("Comptages vélo %d %s", g.year, g.commune.Name) },
		desc: func(g *genCtx) string {
			return fmt.Sprintf("Nombre de passages de vélos relevés chaque heure par les compteurs automatiques %s en %d.", g.de(), g.year)
		},
		keywords: []string{"vélo", "comptages", "mobilités douces"}, themes: []string{thTransp}, formats: []string{"CSV", "JSON"}},
	{key: "population", weight: 3, yearly: true,
		title: func(g *genCtx) string {
			return fmt.Sprintf("Population légale %d des communes %s", g.year, g.area())
		},
		desc: func(g *genCtx) string {
			return fmt.Sprintf("Populations municipales, comptées à part et totales en vigueur au 1er janvier %d (recensement de l'Insee), pour chaque commune du territoire.", g.year)
		},
		keywords: []string{"population", "recensement", "démographie"}, themes: []string{thSociety}, formats: []string{"XLSX", "CSV"}},
	{key: "elections", weight: 3, yearly: true,
		title: func(g *genCtx) string {
			kind, year := g.election()
			g.year = year
			return fmt.Sprintf("Élections %s %d : résultats par bureau de vote %s", kind, year, g.a())
		},
		desc: func(g *genCtx) string {
			return "Résultats par bureau de vote " + g.de() + " : inscrits, votants, exprimés et voix obtenues par chaque liste ou candidat."
		},
		keywords: []string{"élections", "résultats", "bureaux de vote"}, themes: []string{thAdmin}, formats: []string{"CSV", "XLSX"}},
	{key: "dechets", weight: 4,
		title: func(g *genCtx) string { return "Collecte des déchets : calendrier et secteurs " + g.de() },
		desc: func(g *genCtx) string {
			return "Jours de collecte des ordures ménagères et des emballages par secteur, et points d'apport volontaire d'équipements de tri (verre, papier) " + g.de() + "."
		},
		keywords: []string{"déchets", "collecte", "tri sélectif"}, themes: []string{thEnv}, formats: []string{"CSV", "GeoJSON", "PDF"}},
	{key: "transports", weight: 4,
		title: func(g *genCtx) string { return "Arrêts et lignes du réseau de transports en commun " + g.de() },
		desc: func(g *genCtx) string {
			return "Offre théorique du réseau de bus et de tramway " + g.de() + " au format GTFS, et localisation des arrêts. Le fichier \"stops.txt\" décrit les arrêts."
		},
		keywords: []string{"transports en commun", "GTFS", "bus"}, themes: []string{thTransp}, formats: []string{"ZIP", "GeoJSON"}},
	{key: "eau", weight: 3, yearly: true,
		title: func(g *genCtx) string {
			return fmt.Sprintf("Qualité de l'eau potable distribuée %s %d", g.a(), g.year)
		},
		desc: func(g *genCtx) string {
			return "Résultats du contrôle sanitaire de l'eau distribuée " + g.de() + " : paramètres bactériologiques et physico-chimiques, conformité aux limites de qualité."
		},
		keywords: []string{"eau potable", "contrôle sanitaire", "santé"}, themes: []string{thHealth, thEnv}, formats: []string{"CSV", "PDF"}},
	{key: "plu", weight: 2,
		title: func(g *genCtx) string { return "Plan local d'urbanisme (PLU) " + g.de() },
		desc: func(g *genCtx) string {
			return "Zonage, prescriptions et servitudes du plan local d'urbanisme " + g.de() + " en vigueur, au standard CNIG."
		},
		keywords: []string{"urbanisme", "PLU", "zonage"}, themes: []string{thUrba}, formats: []string{"SHP", "PDF"}},
	{key: "marches", weight: 2,
		title: func(g *genCtx) string { return "Marchés forains et marchés de plein air " + g.de() },
		desc: func(g *genCtx) string {
			return "Lieux, jours et horaires des marchés alimentaires et forains " + g.de() + "."
		},
		keywords: []string{"marchés", "commerce", "alimentation"}, themes: []string{"Économie, Entreprises"}, formats: []string{"CSV", "GeoJSON"}},
}

var templateWeight = func() int {
	t := 0
	for _, tp := range templates {
		t += tp.weight
	}
	return t
}()

func pickTemplate(r *rng) *tmpl {
	n := r.intn(templateWeight)
	for i := range templates {
		if n < templates[i].weight {
			return &templates[i]
		}
		n -= templates[i].weight
	}
	return &templates[len(templates)-1]
}

// ---- formats and licences ------------------------------------------------

type formatInfo struct {
	ckan      []string // spellings seen on CKAN portals
	ods       string   // OpenDataSoft-style label
	mediaType string
	ext       string
}

var formats = map[string]formatInfo{
	"CSV":     {[]string{"CSV", "csv", "text/csv"}, "CSV", "text/csv", "csv"},
	"JSON":    {[]string{"JSON", "json"}, "JSON", "application/json", "json"},
	"GeoJSON": {[]string{"GeoJSON", "geojson", "GEOJSON"}, "GeoJSON", "application/geo+json", "geojson"},
	"SHP":     {[]string{"SHP", "Shapefile (zip)", "ZIP"}, "SHP", "application/zip", "zip"},
	"XLSX":    {[]string{"XLSX", "xlsx"}, "XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"},
	"PDF":     {[]string{"PDF", "pdf"}, "PDF", "application/pdf", "pdf"},
	"XML":     {[]string{"XML", "xml"}, "XML", "application/xml", "xml"},
	"ZIP":     {[]string{"ZIP", "GTFS", "zip"}, "ZIP", "application/zip", "zip"},
}

type licence struct {
	ckanID, title, url string
	dcatIRI, dcatLabel string
	weight             int
}

var licences = []licence{
	{"fr-lo", "Licence Ouverte (Etalab)", "https://www.etalab.gouv.fr/licence-ouverte-open-licence", "https://www.etalab.gouv.fr/licence-ouverte-open-licence", "Licence Ouverte (Etalab)", 25},
	{"lov2", "Licence Ouverte v2.0 (Etalab)", "https://www.etalab.gouv.fr/wp-content/uploads/2017/04/ETALAB-Licence-Ouverte-v2.0.pdf", "https://www.etalab.gouv.fr/licence-ouverte-open-licence", "Licence Ouverte v2.0 (Etalab)", 40},
	{"odc-odbl", "Open Data Commons Open Database License (ODbL)", "http://www.opendefinition.org/licenses/odc-odbl", "https://opendatacommons.org/licenses/odbl/1-0/", "Open Database License (ODbL)", 25},
	{"cc-by", "Creative Commons Attribution", "http://www.opendefinition.org/licenses/cc-by", "https://creativecommons.org/licenses/by/4.0/", "CC BY 4.0", 10},
}

func pickLicence(r *rng) licence {
	n := r.intn(100)
	for _, l := range licences {
		if n < l.weight {
			return l
		}
		n -= l.weight
	}
	return licences[0]
}

// ---- the generator -------------------------------------------------------

// generator makes the datasets of one source; dataset i depends only on the
// seed, the source id, i and the titles of datasets 0..i-1 (uniqueness), so
// growing a source keeps its first datasets unchanged.
type generator struct {
	seed     int64
	src      *config.Source
	protocol string
	today    time.Time
	pool     *pool
	platform string // the member's name when it is no collectivité (Mégalis, ARNia)
	titles   map[string]bool
	ids      map[string]bool
	next     map[string]int // unique's memo
	site     string         // siteURL(src)
	// original, for a data.gouv.fr source, draws a dataset of another
	// portal of the territory to hold a harvested copy of (nil: none).
	original func(r *rng) *Dataset
}

func newGenerator(seed int64, src *config.Source, site string, today time.Time) *generator {
	g := &generator{seed: seed, src: src, protocol: src.Protocol, today: today, pool: newPool(src),
		titles: map[string]bool{}, ids: map[string]bool{}, next: map[string]int{}, site: site}
	if m := src.Member; m != nil && m.Collectivite == "" {
		g.platform = m.Name
	}
	return g
}

// portalURL is the site root the portal's own URLs start with: for CKAN
// the endpoint without /api/3/action, else the endpoint's scheme and host.
func (g *generator) portalURL() string { return g.site }

func siteURL(src *config.Source) string {
	u, err := url.Parse(src.Endpoint)
	if err != nil || u.Host == "" {
		if src.Portal != nil && src.Portal.URL != "" {
			return strings.TrimRight(src.Portal.URL, "/")
		}
		return "https://portal.example.org"
	}
	root := u.Scheme + "://" + u.Host
	if src.Protocol == "ckan" {
		p := strings.TrimRight(u.Path, "/")
		for _, suffix := range []string{"/api/3/action", "/api/action", "/api/3"} {
			if strings.HasSuffix(p, suffix) {
				return root + strings.TrimSuffix(p, suffix)
			}
		}
	}
	return root
}

func (g *generator) host() string {
	u := g.portalURL()
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
	}
	if i := strings.IndexByte(u, '/'); i >= 0 {
		u = u[:i]
	}
	return u
}

func (g *generator) gen(i int) Dataset {
	r := newRNG(g.seed, g.src.ID, i)
	if g.original != nil && r.chance(20) {
		if o := g.original(r); o != nil {
			return g.copyOf(r, o)
		}
	}
	terrName := ""
	if g.src.Territory != nil {
		terrName = g.src.Territory.Name
	}
	// A template and a publisher whose title the source has not used yet
	// (a portal has one "Budget primitif 2021 de Rennes"); after a few
	// draws, the title gets a distinguishing suffix.
	var (
		tp    *tmpl
		pub   publisher
		ctx   *genCtx
		title string
	)
	for attempt := 0; ; attempt++ {
		pub = g.pool.draw(r, g.platform)
		tp = pickTemplate(r)
		// The SCDL is collectivités' data: a State service or an
		// association publishes other things.
		for k := 0; tp.schema != "" && pub.Coll == nil && !pub.Platform && k < 50; k++ {
			tp = pickTemplate(r)
		}
		// The year a dataset is about (budgets, counts, elections).
		year := genStart.Year() + 2 + r.intn(g.today.Year()-genStart.Year()-1)
		ctx = &genCtx{r: r, commune: pub.Place, year: year, today: g.today, terrName: terrName, pub: pub}
		title = tp.title(ctx)
		if !g.titles[title] {
			break
		}
		if attempt == 8 {
			title = g.unique(g.titles, title, "%s – partie %d")
			break
		}
	}
	c := pub.Place

	var d Dataset
	d.Publisher, d.PublisherSiren, d.OrgSlug = pub.Name, pub.Siren, pub.Slug
	if pub.Coll != nil {
		d.CollSiren = pub.Coll.Siren
	}
	if org := g.src.Params["organization"]; org != "" {
		d.OrgSlug = org
	}
	d.OrgID = uuidFrom(g.seed, "org:"+d.OrgSlug)
	g.titles[title] = true // already, when suffixed
	d.Title = title
	d.Description = tp.desc(ctx)
	if r.chance(10) {
		d.Description += "\n\nMise à jour " + r.pick([]string{"quotidienne", "hebdomadaire", "mensuelle", "annuelle"}) + ". Contact : opendata@" + g.host() + "."
	}

	// Identifiers.
	d.Name = g.unique(g.ids, slugify(title), "%s-%d")
	switch g.protocol {
	case "ckan":
		d.ID = r.uuid()
	default:
		d.ID = g.idPrefix(pub) + strings.ReplaceAll(d.Name, "-", "_")
		if g.ids[d.ID] && d.ID != d.Name {
			d.ID = g.unique(g.ids, d.ID, "%s-%d")
		} else {
			g.ids[d.ID] = true
		}
	}

	d.Keywords = append([]string(nil), tp.keywords...)
	if r.chance(50) {
		d.Keywords = append(d.Keywords, strings.ToLower(c.Name))
	}
	d.Themes = append([]string(nil), tp.themes...)

	lic := pickLicence(r)
	d.LicenseTitle, d.LicenseURL = lic.title, lic.url
	switch g.protocol {
	case "ckan":
		d.License = lic.ckanID
	default:
		if r.chance(75) {
			d.License = lic.dcatIRI
		} else {
			d.License = lic.dcatLabel
		}
	}

	d.Created, d.Modified = g.dates(r, tp, ctx.year)

	portal := g.portalURL()
	switch g.protocol {
	case "ckan":
		d.LandingPage = portal + "/dataset/" + d.Name
	default:
		d.LandingPage = portal + "/explore/dataset/" + d.ID + "/"
		d.URI = d.LandingPage
	}
	d.Contact = "opendata@" + g.host()

	if r.chance(80) {
		d.SpatialLabel, d.SpatialINSEE, d.Lat, d.Lon = c.Name, c.INSEE, c.Lat, c.Lon
	} else {
		d.SpatialLabel = terrName
	}

	// SCDL evidence.
	declared := false
	if tp.schema != "" {
		d.SCDL = tp.schema
		switch n := r.intn(100); {
		case n < 50:
			d.Evidence, declared = "declared", true
			d.ConformsTo = []string{SchemaURL(tp.schema)}
			d.Columns = append([]string(nil), tp.columns...)
		case n < 80:
			d.Evidence = "columns"
			d.Columns = append([]string(nil), tp.columns...)
		default:
			d.Evidence = "title"
			d.Columns = []string{"id", "nom", "date", "valeur"}
		}
	} else {
		d.Columns = []string{"id", "nom", "commune", "date_maj", "valeur"}
	}

	// Resources: the main format first, then 0–2 others of the template.
	nres := 1 + r.intn(len(tp.formats))
	blank := r.chance(50)
	for k := 0; k < nres; k++ {
		canon := tp.formats[k]
		fi := formats[canon]
		res := Resource{ID: r.uuid(), BlankNode: blank}
		res.MediaType = fi.mediaType
		if g.protocol == "ckan" {
			res.Format = r.pick(fi.ckan)
		} else {
			res.Format = fi.ods
		}
		file := d.Name + "." + fi.ext
		res.Title = fmt.Sprintf("%s (%s)", d.Title, canon)
		if k == 0 && r.chance(50) {
			res.Title = file
		}
		if g.protocol == "ckan" {
			res.URL = portal + "/dataset/" + d.ID + "/resource/" + res.ID + "/download/" + file
		} else {
			res.URL = portal + "/api/explore/v2.1/catalog/datasets/" + d.ID + "/exports/" + strings.ToLower(fi.ext)
		}
		if !r.chance(15) {
			res.Size = int64(2000 + r.intn(20_000_000))
		}
		if declared && k == 0 {
			res.Schema = tp.schema
		}
		res.Modified = r.timeBetween(d.Created, d.Modified.Add(time.Second))
		d.Resources = append(d.Resources, res)
	}
	return d
}

// dates draws when a dataset was published and last modified: yearly
// data (a template whose title names a year) from its year on, the rest
// any time since genStart; modified up to today, a good share of them in
// the last twelve months.
func (g *generator) dates(r *rng, tp *tmpl, year int) (created, modified time.Time) {
	from := genStart
	if tp.yearly {
		from = time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	to := g.today
	if tp.yearly {
		to = time.Date(year+1, 7, 1, 0, 0, 0, 0, time.UTC)
	}
	if to.After(g.today) {
		to = g.today
	}
	if !from.Before(to) {
		from = to.AddDate(0, -1, 0)
	}
	created = r.timeBetween(from, to)
	switch n := r.intn(100); {
	case n < 30 && !tp.yearly:
		// Living data, touched this year.
		modified = r.timeBetween(maxTime(created, g.today.AddDate(-1, 0, 0)), g.today)
	case n < 60:
		modified = r.timeBetween(created, minTime(created.AddDate(0, 3, 0), g.today))
	default:
		modified = r.timeBetween(created, g.today)
	}
	return created, modified
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// idPrefix is the prefix a portal puts on its dataset ids: m2A's "m2a_";
// the Loire-Atlantique network's, the publisher's SIREN ("224400028_" for
// the Département).
func (g *generator) idPrefix(pub publisher) string {
	terr := ""
	if g.src.Territory != nil {
		terr = g.src.Territory.ID
	}
	if terr != "loire-atlantique" {
		return dcatIDPrefix[terr]
	}
	switch {
	case pub.Coll != nil && pub.Coll.Siren != "":
		return pub.Coll.Siren + "_"
	case pub.Coll != nil && g.src.Member != nil && g.src.Member.Siren != "" && g.pool.self == pub.Coll:
		return g.src.Member.Siren + "_"
	}
	return ""
}

// copyOf is a data.gouv.fr copy of a dataset of another portal: the same
// title, publisher, description, dates and files; its own ids and page,
// and a link to the original (udata's harvest.remote_url).
func (g *generator) copyOf(r *rng, o *Dataset) Dataset {
	d := *o
	d.Keywords = append([]string(nil), o.Keywords...)
	d.Resources = append([]Resource(nil), o.Resources...)
	d.RemoteURL, d.RemoteID = o.LandingPage, o.ID
	if org := g.src.Params["organization"]; org != "" {
		// Harvested into the organisation the source lists: on udata the
		// organisation is the publisher.
		pub := g.pool.draw(r, g.platform)
		d.Publisher, d.PublisherSiren, d.OrgSlug, d.CollSiren = pub.Name, pub.Siren, org, ""
		if pub.Coll != nil {
			d.CollSiren = pub.Coll.Siren
		}
	} else {
		d.OrgSlug = slugify(d.Publisher)
	}
	title := g.unique(g.titles, d.Title, "%s (%d)")
	d.Title = title
	d.Name = g.unique(g.ids, slugify(title), "%s-%d")
	d.ID = d.Name
	d.OrgID = uuidFrom(g.seed, "org:"+d.OrgSlug)
	d.LandingPage = g.portalURL() + "/fr/datasets/" + d.Name + "/"
	d.URI = ""
	for k := range d.Resources {
		d.Resources[k].ID = r.uuid()
	}
	return d
}

// uuidFrom derives a stable UUID from a string.
func uuidFrom(seed int64, s string) string {
	return newRNG(seed, s, 0).uuid()
}

// unique returns s when seen does not hold it, else the first of
// format(s, 2), format(s, 3)… that it does not hold; seen then holds the
// answer. The maps only grow, so every suffix below the one found last
// for s stays taken: next remembers where to start, or a catalogue where
// many titles share a base would cost the square of its size.
func (g *generator) unique(seen map[string]bool, s, format string) string {
	if !seen[s] {
		seen[s] = true
		return s
	}
	key := format + "\x00" + s
	k := max(2, g.next[key])
	out := fmt.Sprintf(format, s, k)
	for seen[out] {
		k++
		out = fmt.Sprintf(format, s, k)
	}
	g.next[key] = k + 1
	seen[out] = true
	return out
}

// slugify makes a CKAN-style name: lower-case ASCII letters, digits, dashes.
func slugify(s string) string {
	var b strings.Builder
	dash := false
	for _, c := range foldAccents(strings.ToLower(s)) {
		switch {
		case c < 128 && (unicode.IsLetter(c) || unicode.IsDigit(c)):
			b.WriteRune(c)
			dash = false
		default:
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
				dash = true
			}
		}
	}
	out := strings.TrimRight(b.String(), "-")
	if len(out) > 90 {
		out = strings.TrimRight(out[:90], "-")
	}
	if out == "" {
		out = "jeu-de-donnees"
	}
	return out
}

var accentFolder = strings.NewReplacer(
	"à", "a", "â", "a", "ä", "a", "á", "a", "ç", "c", "é", "e", "è", "e", "ê", "e", "ë", "e",
	"î", "i", "ï", "i", "í", "i", "ô", "o", "ö", "o", "ó", "o", "ù", "u", "û", "u", "ü", "u", "ú", "u",
	"ÿ", "y", "ñ", "n", "œ", "oe", "æ", "ae",
	"À", "A", "Â", "A", "Ä", "A", "Ç", "C", "É", "E", "È", "E", "Ê", "E", "Ë", "E",
	"Î", "I", "Ï", "I", "Ô", "O", "Ö", "O", "Ù", "U", "Û", "U", "Ü", "U", "Œ", "OE", "Æ", "AE",
)

// foldAccents removes the diacritics of French letters.
func foldAccents(s string) string { return accentFolder.Replace(s) }
