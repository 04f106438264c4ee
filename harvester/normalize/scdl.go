package normalize

import (
	"math/bits"
	"regexp"
	"regexp/syntax"
	"sort"
	"strings"
	"sync"

	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
)

// Evidence values of moissonv1.ScdlMatch, strongest first.
const (
	EvidenceDeclared = "declared" // conformsTo names the schema
	EvidenceColumns  = "columns"  // enough characteristic columns are present
	EvidenceTitle    = "title"    // the title or a keyword matches a pattern
)

// SCDLItem describes one item of the Socle Commun des Données Locales (or a
// schema counted with it) for the API and the UI.
type SCDLItem struct {
	ID, Label, SchemaURL string
	Columns              []string
	TitlePatterns        []string
}

// scdlRow is one SCDL item with what the matcher needs beyond SCDLItem.
//
// SchemaURL defaults to schemaBase + ID + "/latest/schema.json".
// Aliases are other schema ids that declare the same item (older ids).
// TitlePatterns are regular expressions over the key form of the title and
// of each keyword (folded, lower-cased, punctuation → space). The examples
// are tested: TitleYes must match by title, TitleNo must not match this item.
type scdlRow struct {
	SCDLItem
	Aliases  []string
	TitleYes []string
	TitleNo  []string
}

// schemaBase is where schema.data.gouv.fr publishes the latest version of a schema.
const schemaBase = "https://schema.data.gouv.fr/schemas/"

// scdlTable is THE SCDL table (TERRITORIES.md, "Socle Commun des Données Locales").
//
// Rules:
//   - declared: a conformsTo value (schema id, udata schema.name, any URL)
//     contains the schema id or an alias as a path ("…/scdl/deliberations/2.1.3/schema.json",
//     "https://schema.data.gouv.fr/scdl/deliberations/", "scdl/deliberations"),
//     case-insensitive, the id being followed by the end, '/', '@', '#', '?' or '.';
//   - columns: column names compared case-, accent- and punctuation-insensitively
//     ("COLL_NOM" = "coll_nom" = "collNom"); the item matches when at least
//     min(n, max(3, ⌈n/2⌉)) of its n characteristic columns are present
//     (3 of 3–6 columns, 4 of 7–8); items without columns never match by columns;
//   - title: a pattern matches the title or one keyword (accent- and case-insensitive).
//
// The strongest evidence per item wins (declared > columns > title).
var scdlTable = []scdlRow{
	{SCDLItem: SCDLItem{ID: "scdl/deliberations", Label: "Délibérations",
		Columns:       []string{"COLL_NOM", "COLL_SIRET", "DELIB_ID", "DELIB_DATE", "DELIB_MATIERE_CODE", "DELIB_OBJET", "VOTE_POUR"},
		TitlePatterns: []string{`\bdeliberations?\b`}},
		TitleYes: []string{"Délibérations du conseil municipal", "DELIBERATIONS 2022", "deliberation"},
		TitleNo:  []string{"Conseil municipal : ordre du jour"}},
	{SCDLItem: SCDLItem{ID: "scdl/subventions", Label: "Subventions",
		Columns:       []string{"nomAttribuant", "idAttribuant", "dateConvention", "nomBeneficiaire", "idBeneficiaire", "montant"},
		TitlePatterns: []string{`\bsubventions?\b`}},
		TitleYes: []string{"Subventions attribuées aux associations", "Données essentielles des conventions de subvention"},
		TitleNo:  []string{"Associations de la commune"}},
	{SCDLItem: SCDLItem{ID: "scdl/equipements", Label: "Équipements collectifs publics",
		Columns:       []string{"COLL_NOM", "EQUIP_UID", "EQUIP_THEME", "EQUIP_TYPE", "EQUIP_NOM", "EQUIP_LAT", "EQUIP_LONG"},
		TitlePatterns: []string{`\bequipements? (publics?|sportifs?|collectifs?|municipaux)\b`}},
		TitleYes: []string{"Équipements publics de Nantes", "Equipements sportifs", "Liste des équipements collectifs publics"},
		TitleNo:  []string{"Équipements de la voirie"}},
	{SCDLItem: SCDLItem{ID: "scdl/budget", Label: "Budget",
		Columns:       []string{"BGT_NATDEC", "BGT_ANNEE", "BGT_SIRET", "BGT_NATURE", "BGT_FONCTION", "BGT_MTREAL"},
		TitlePatterns: []string{`\bbudgets? (primitifs?|supplementaires?)\b`, `\bcomptes? administratifs?\b`, `\bdecisions? modificatives?\b`}},
		TitleYes: []string{"Budget primitif 2023", "Compte administratif 2021", "BP 2022 - Budget Primitif", "Décision modificative n°2"},
		TitleNo:  []string{"Budget participatif : projets lauréats"}},
	{SCDLItem: SCDLItem{ID: "scdl/catalogue", Label: "Catalogue des données",
		Columns:       []string{"COLL_NOM", "ID", "TITRE", "DESCRIPTION", "THEME", "DATE_PUBL", "LICENCE", "URL"},
		TitlePatterns: []string{`\bcatalogue (des|de) (donnees|jeux de donnees)\b`}},
		TitleYes: []string{"Catalogue des données de Rennes Métropole", "Catalogue de données"},
		TitleNo:  []string{"Catalogue des bibliothèques"}},
	{SCDLItem: SCDLItem{ID: "scdl/prenoms", Label: "Prénoms des nouveau-nés",
		Columns:       []string{"COMMUNE_NOM", "COLL_INSEE", "ENFANT_SEXE", "ENFANT_PRENOM", "NOMBRE_OCCURRENCES", "ANNEE"},
		TitlePatterns: []string{`\bprenoms?\b`}},
		TitleYes: []string{"Prénoms des enfants nés à Mulhouse", "PRENOMS 2020"},
		TitleNo:  []string{"Naissances par commune"}},
	{SCDLItem: SCDLItem{ID: "scdl/menus-collectifs", Label: "Menus de la restauration collective",
		Columns:       []string{"menuCollNom", "menuDate", "menuRepasType", "menuPlatNom"},
		TitlePatterns: []string{`\bmenus?\b.*\b(restauration|restaurants?|cantines?|scolaires?|collectifs?)\b`, `\b(restauration|restaurants?|cantines?|scolaires?)\b.*\bmenus?\b`}},
		TitleYes: []string{"Menus des restaurants scolaires", "Cantine : menus de la semaine", "Menus de la restauration collective"},
		TitleNo:  []string{"Menu du site web"}},
	{SCDLItem: SCDLItem{ID: "scdl/plats-menus-collectifs", Label: "Composition des plats de la restauration collective",
		Columns:       []string{"platCollNom", "platCode", "platNom"},
		TitlePatterns: []string{`\bcomposition des plats\b`, `\bplats\b.*\b(menus?|restauration|cantines?)\b`}},
		TitleYes: []string{"Composition des plats servis", "Plats des menus scolaires"},
		TitleNo:  []string{"Plateforme de la restauration"}},
	{SCDLItem: SCDLItem{ID: "etalab/schema-bal", Label: "Base Adresse Locale",
		Columns:       []string{"cle_interop", "voie_nom", "numero", "commune_insee", "long", "lat"},
		TitlePatterns: []string{`\bbase (adresse|adresses|d adresses) locale\b`, `^bal$`, `^bal \d \d\b`}},
		Aliases:  []string{"etalab/base-adresse-locale"},
		TitleYes: []string{"Base Adresse Locale de Saint-Malo", "bal", "BAL 1.3 - Nevers"},
		TitleNo:  []string{"Bal populaire du 14 juillet", "Adresses des écoles"}},
	{SCDLItem: SCDLItem{ID: "etalab/schema-irve-statique", Label: "Infrastructures de recharge pour véhicules électriques (IRVE)",
		SchemaURL:     schemaBase + "etalab/schema-irve-statique/latest/schema-statique.json",
		Columns:       []string{"nom_amenageur", "id_station_itinerance", "id_pdc_itinerance", "puissance_nominale"},
		TitlePatterns: []string{`\bbornes? de recharge\b`, `\birve\b`, `\binfrastructures? de recharge\b`, `\brecharge (pour |des )?vehicules? electriques?\b`}},
		Aliases:  []string{"etalab/schema-irve"},
		TitleYes: []string{"Infrastructures de recharge pour véhicules électriques", "Bornes de recharge", "IRVE"},
		TitleNo:  []string{"Véhicules électriques de la flotte municipale"}},
	{SCDLItem: SCDLItem{ID: "atlasante/schema-dae", Label: "Défibrillateurs automatisés externes (DAE)",
		Columns:       []string{"nom", "lat_coor1", "long_coor1", "com_insee"},
		TitlePatterns: []string{`\bdefibril+ateurs?\b`, `\bdae\b`}},
		Aliases:  []string{"arsante/schema-dae"},
		TitleYes: []string{"Défibrillateurs (DAE)", "defibrilateurs", "Localisation des DAE"},
		TitleNo:  []string{"Daensité"}},
	{SCDLItem: SCDLItem{ID: "etalab/schema-amenagements-cyclables", Label: "Aménagements cyclables",
		Columns:       []string{"ame_d", "ame_g", "regime_d", "regime_g", "sens_d", "sens_g", "code_com_d", "code_com_g"},
		TitlePatterns: []string{`\bamenagements? cyclables?\b`, `\bpistes? cyclables?\b`}},
		TitleYes: []string{"Aménagements cyclables", "Pistes cyclables de la métropole"},
		TitleNo:  []string{"Stationnement vélo"}},
	{SCDLItem: SCDLItem{ID: "139bercy/format-commande-publique", Label: "Marchés publics (DECP)",
		Columns:       []string{"acheteur.id", "codeCPV", "dateNotification", "formePrix", "dureeMois", "datePublicationDonnees"},
		TitlePatterns: []string{`\bmarches publics\b`, `\bdecp\b`, `\bcommande publique\b`, `\bdonnees essentielles (des |de la |du )?(marches|commande|contrats? de concession)\b`}},
		Aliases: []string{"scdl/marches-publics"},
		TitleYes: []string{"Données essentielles des marchés publics", "DECP 2023", "Marchés publics conclus", "Données de la commande publique",
			"Données essentielles des contrats de concession"},
		TitleNo: []string{"Marché de Noël", "Données essentielles des conventions de subvention"}},
}

type scdlCompiled struct {
	ids    []string // id then aliases, lower-case
	need   int      // of its distinct column keys (columnItems) a dataset must have
	titles []titlePattern
}

// titlePattern is a title pattern and a text it cannot match without:
// most texts match none, and a substring search is much cheaper than the
// regular expression.
type titlePattern struct {
	re      *regexp.Regexp
	literal string
}

// requiredLiteral is the longest literal every match of re contains ("" if
// it cannot tell).
func requiredLiteral(re *syntax.Regexp) string {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return ""
		}
		return string(re.Rune)
	case syntax.OpCapture, syntax.OpPlus:
		return requiredLiteral(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min > 0 {
			return requiredLiteral(re.Sub[0])
		}
	case syntax.OpConcat:
		best := ""
		for _, sub := range re.Sub {
			if l := requiredLiteral(sub); len(l) > len(best) {
				best = l
			}
		}
		return best
	}
	return ""
}

var scdlC []scdlCompiled

// columnItems are, by column key, the items whose columns hold it (bit i:
// item i), so that a dataset's columns are looked up once each rather than
// every item's columns in them.
var columnItems = map[string]uint64{}

// titleMemo keeps, for texts seen lately (keywords repeat from one dataset
// to the next), the items whose title patterns they match (bit i: item i).
var titleMemo = struct {
	sync.Mutex
	m map[string]uint64
}{}

func init() {
	if len(scdlTable) > 64 {
		panic("normalize: titleItems keeps the SCDL items in 64 bits")
	}
	for i := range scdlTable {
		r := &scdlTable[i]
		if r.SchemaURL == "" {
			r.SchemaURL = schemaBase + r.ID + "/latest/schema.json"
		}
		c := scdlCompiled{ids: []string{strings.ToLower(r.ID)}}
		for _, a := range r.Aliases {
			c.ids = append(c.ids, strings.ToLower(a))
		}
		keys := map[string]bool{}
		for _, col := range r.Columns {
			k := columnKey(col)
			keys[k] = true
			columnItems[k] |= 1 << i
		}
		c.need = scdlColumnsNeeded(len(keys))
		for _, p := range r.TitlePatterns {
			tp := titlePattern{re: regexp.MustCompile(p)}
			if parsed, err := syntax.Parse(p, syntax.Perl); err == nil {
				tp.literal = requiredLiteral(parsed)
			}
			c.titles = append(c.titles, tp)
		}
		scdlC = append(scdlC, c)
	}
}

// titleItems is the set of items (bit i: scdlTable[i]) one of whose title
// patterns matches the text t (in key form).
func titleItems(t string) uint64 {
	titleMemo.Lock()
	bits, ok := titleMemo.m[t]
	titleMemo.Unlock()
	if ok {
		return bits
	}
	for i := range scdlC {
		for _, p := range scdlC[i].titles {
			if (p.literal == "" || strings.Contains(t, p.literal)) && p.re.MatchString(t) {
				bits |= 1 << i
				break
			}
		}
	}
	titleMemo.Lock()
	if titleMemo.m == nil || len(titleMemo.m) >= 20000 {
		titleMemo.m = make(map[string]uint64, 1024)
	}
	titleMemo.m[t] = bits
	titleMemo.Unlock()
	return bits
}

// scdlColumnsNeeded is the column threshold: min(n, max(3, ⌈n/2⌉)).
func scdlColumnsNeeded(n int) int {
	need := max(3, (n+1)/2)
	return min(n, need)
}

// columnKey compares column names: folded, lower-case, letters and digits only.
func columnKey(s string) string {
	return strings.ReplaceAll(key(s), " ", "")
}

// SCDLItems lists the known SCDL items (copies; the caller may modify them).
func SCDLItems() []SCDLItem {
	out := make([]SCDLItem, len(scdlTable))
	for i, r := range scdlTable {
		it := r.SCDLItem
		it.Columns = append([]string(nil), r.Columns...)
		it.TitlePatterns = append([]string(nil), r.TitlePatterns...)
		out[i] = it
	}
	return out
}

// keywordKeys remembers key of keywords, columnKeys columnKey of column
// names (both repeat from one dataset to the next).
var keywordKeys, columnKeys memo[string]

// SCDL decides which SCDL items a dataset counts for and on which evidence
// (see scdlTable for the rules). The result has one match per item, the
// strongest evidence, sorted by item id.
func SCDL(title string, keywords, conformsTo, columns []string) []*moissonv1.ScdlMatch {
	declared := make([]string, 0, len(conformsTo))
	for _, c := range conformsTo {
		if c = strings.ToLower(strings.TrimSpace(c)); c != "" {
			declared = append(declared, c)
		}
	}
	// found[i]: how many of item i's columns the dataset has.
	var found [64]int
	if len(columns) > 0 {
		seen := make(map[string]bool, len(columns))
		for _, c := range columns {
			k := columnKeys.get(c, columnKey)
			if seen[k] {
				continue
			}
			seen[k] = true
			for set := columnItems[k]; set != 0; set &= set - 1 {
				found[bits.TrailingZeros64(set)]++
			}
		}
	}
	texts := make([]string, 0, len(keywords)+1)
	if k := key(title); k != "" {
		texts = append(texts, k)
	}
	for _, t := range keywords {
		// Keywords repeat from one dataset to the next; titles hardly do.
		if k := keywordKeys.get(t, key); k != "" {
			texts = append(texts, k)
		}
	}
	var titled uint64 // the items the title or a keyword names
	for _, t := range texts {
		titled |= titleItems(t)
	}
	var out []*moissonv1.ScdlMatch
	for i, r := range scdlTable {
		if ev := scdlEvidence(i, declared, found[i], titled); ev != "" {
			out = append(out, &moissonv1.ScdlMatch{Item: r.ID, Evidence: ev})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Item < out[j].Item })
	return out
}

func scdlEvidence(item int, declared []string, found int, titled uint64) string {
	c := &scdlC[item]
	for _, d := range declared {
		for _, id := range c.ids {
			if containsSchemaID(d, id) {
				return EvidenceDeclared
			}
		}
	}
	if c.need > 0 && found >= c.need {
		return EvidenceColumns
	}
	if titled&(1<<item) != 0 {
		return EvidenceTitle
	}
	return ""
}

// containsSchemaID tells whether s names schema id as a whole path: preceded
// by the start, '/', ':', '=' or a space, followed by the end, '/', '@',
// '#', '?' or '.'.
func containsSchemaID(s, id string) bool {
	for off := 0; ; {
		i := strings.Index(s[off:], id)
		if i < 0 {
			return false
		}
		i += off
		j := i + len(id)
		before := i == 0 || strings.ContainsRune("/:= ", rune(s[i-1]))
		after := j == len(s) || strings.ContainsRune("/@#?.", rune(s[j]))
		if before && after {
			return true
		}
		off = i + 1
	}
}
