package normalize

import (
	"regexp"
	"sort"
	"strings"
)

// themeRow is one EU data theme (http://publications.europa.eu/resource/authority/data-theme).
//
// Words are matched as whole words against the key form of each raw value
// (folded, lower-cased, punctuation → space); a trailing '*' lets the last
// word continue ("transport*" matches "transports", "transportation").
// Examples are raw values that must give this code (tested, and each is
// also checked to give no other code).
type themeRow struct {
	Code     string
	Label    string // French label
	Words    []string
	Examples []string
}

// themes is THE theme table. Rules: a value that is an EU data-theme URI or
// a bare theme code ("GOVE", "gove") gives that code; otherwise every row
// whose words occur in the value gives its code, so one value can give more
// than one theme ("Environnement et santé" → ENVI, HEAL). Values that match
// nothing give nothing. "Finances publiques", "budget" go to GOVE, generic
// "finance" to ECON; housing, town and spatial planning go to REGI; culture,
// heritage and sport go to EDUC (the EU theme is "Education, culture and sport").
var themes = []themeRow{
	{Code: "AGRI", Label: "Agriculture, pêche, sylviculture et alimentation",
		Words: []string{"agriculture*", "agricole*", "peche", "pecheries", "sylviculture", "foret*", "forestier*", "forestry",
			"alimentation", "alimentaire*", "food", "farming", "fisheries", "fishery", "elevage", "viticulture", "agri food"},
		Examples: []string{"Agriculture, Pêche, Sylviculture, Alimentation", "agriculture", "Food"}},
	{Code: "ECON", Label: "Économie et finances",
		Words: []string{"economie*", "economique*", "economy", "economic*", "business", "entreprise*", "pme", "emploi*", "employment",
			"commerce*", "tourisme", "tourism", "finance", "financial", "hebergement", "hotellerie", "industrie hoteliere",
			"accommodation", "hospitality", "industrie*", "artisanat", "marche du travail", "developpement economique"},
		Examples: []string{"Economie, Business, PME, Développement économique, Emploi", "économie", "Tourisme", "Hébergement, industrie hôtelière"}},
	{Code: "EDUC", Label: "Éducation, culture et sport",
		Words: []string{"education", "enseignement*", "formation*", "ecole*", "scolaire*", "lycee*", "universite*", "recherche",
			"research", "culture*", "culturel*", "patrimoine*", "heritage", "musee*", "bibliotheque*", "mediatheque*", "sport*", "loisir*", "leisure"},
		Examples: []string{"Education, Formation, Recherche, Enseignement", "Culture, Patrimoine", "Culture, Heritage", "Sports, Loisirs"}},
	{Code: "ENER", Label: "Énergie",
		Words:    []string{"energie*", "energy", "energetique*", "electricite", "electricity", "gaz", "renouvelable*", "photovoltaique", "solaire", "eolien*"},
		Examples: []string{"Énergie", "Energy", "consommation-d-energie"}},
	{Code: "ENVI", Label: "Environnement",
		Words: []string{"environnement*", "environment*", "ecologie*", "ecologique", "climat*", "climate", "biodiversite", "biodiversity",
			"nature", "eau", "water", "dechet*", "waste", "air", "pollution", "bruit", "noise", "espaces verts", "faune", "flore",
			"hydrographie", "risques naturels", "developpement durable"},
		Examples: []string{"Environnement", "Environment", "Qualité de l'air", "Déchets", "transition-ecologique"}},
	{Code: "GOVE", Label: "Gouvernement et secteur public",
		Words: []string{"administration*", "gouvernement", "government", "gouvernance", "public sector", "secteur public", "finances publiques",
			"public finance", "budget*", "citoyennete", "citizenship", "election*", "democratie", "collectivite*", "institution*",
			"marches publics", "commande publique", "deliberation*", "services publics", "action publique"},
		Examples: []string{"Administration, Gouvernement, Finances publiques, Citoyenneté", "Government", "Budget", "Élections"}},
	{Code: "HEAL", Label: "Santé",
		Words:    []string{"sante", "health", "medical*", "medecin*", "hopita*", "hospital*", "vaccin*", "covid*", "epidemie*", "soins"},
		Examples: []string{"Santé", "Health", "vaccination"}},
	{Code: "INTR", Label: "Questions internationales",
		Words:    []string{"international*", "relations internationales", "europe", "europeen*", "european", "cooperation internationale", "jumelage*", "union europeenne"},
		Examples: []string{"Relations internationales", "International issues", "union-europeenne"}},
	{Code: "JUST", Label: "Justice, système juridique et sécurité publique",
		Words:    []string{"justice", "securite", "security", "police", "criminalite", "crime", "delinquance", "legal", "juridique", "tribunal*"},
		Examples: []string{"Justice, Sécurité, Police, Criminalité", "Justice"}},
	{Code: "REGI", Label: "Régions et villes",
		Words: []string{"amenagement*", "urbanisme", "urban*", "town planning", "spatial planning", "logement*", "housing", "habitat",
			"batiment*", "buildings", "foncier*", "cadastre", "territoire*", "region*", "ville*", "cities", "quartier*", "politique de la ville"},
		Examples: []string{"Aménagement du territoire, Urbanisme, Bâtiments, Equipements, Logement",
			"Spatial planning, Town planning, Buildings, Equipment, Housing", "Logement"}},
	{Code: "SOCI", Label: "Population et société",
		Words: []string{"societe", "society", "population*", "demographie*", "demography", "social*", "sociaux", "solidarite*", "enfance",
			"petite enfance", "jeunesse", "famille*", "personnes agees", "handicap*", "insertion", "pauvrete", "precarite", "etat civil", "naissances"},
		Examples: []string{"Population, Société", "Services sociaux", "Solidarité", "Population and society"}},
	{Code: "TECH", Label: "Science et technologie",
		Words:    []string{"science*", "technologie*", "technology", "numerique*", "digital", "telecommunication*", "internet", "innovation*", "informatique"},
		Examples: []string{"Science, Technologie", "Numérique", "Science and technology"}},
	{Code: "TRAN", Label: "Transports",
		Words: []string{"transport*", "deplacement*", "mobilite*", "mobility", "circulation", "trafic", "traffic", "stationnement", "parking*",
			"velo*", "cyclable*", "bus", "tramway", "metro", "voirie", "route*", "routier*", "gare*", "aeroport*", "covoiturage"},
		Examples: []string{"Transports, Déplacements", "Transport", "mobilite"}},
}

var (
	themeRes    []*regexp.Regexp
	themeCodes  map[string]bool
	themeURIRef = regexp.MustCompile(`(?i)/data-theme/([a-z_]+)\b`)
)

func init() {
	themeCodes = map[string]bool{}
	for _, r := range themes {
		themeCodes[r.Code] = true
		alts := make([]string, len(r.Words))
		for i, w := range r.Words {
			star := strings.HasSuffix(w, "*")
			alts[i] = regexp.QuoteMeta(strings.TrimSuffix(w, "*"))
			if star {
				alts[i] += `[a-z0-9]*`
			}
		}
		themeRes = append(themeRes, regexp.MustCompile(`\b(?:`+strings.Join(alts, "|")+`)\b`))
	}
}

// Themes maps raw themes, categories and keywords (French or English, ODS
// themes, CKAN groups, EU data-theme URIs) to EU data theme codes,
// deduplicated and sorted. Unknown values give nothing.
func Themes(raw []string) []string {
	set := map[string]bool{}
	for _, v := range raw {
		for _, c := range themeCodesOf(v) {
			set[c] = true
		}
	}
	out := make([]string, 0, len(set))
	for c := range set {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// themeMemo remembers the codes of the terms already seen: portals repeat
// their tags and groups, and the theme table is a list of regular
// expressions.
var themeMemo memo[[]string]

func themeCodesOf(v string) []string { return themeMemo.get(v, themeCodesOfUncached) }

func themeCodesOfUncached(v string) []string {
	if m := themeURIRef.FindStringSubmatch(v); m != nil {
		if c := strings.ToUpper(m[1]); themeCodes[c] {
			return []string{c}
		}
		return nil
	}
	k := key(v)
	if c := strings.ToUpper(k); themeCodes[c] {
		return []string{c}
	}
	var out []string
	for i, re := range themeRes {
		if re.MatchString(k) {
			out = append(out, themes[i].Code)
		}
	}
	return out
}
