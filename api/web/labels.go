package web

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/opendatafrance/moisson/referential"
)

// French labels of the identifiers the index holds. They are kept here, not
// imported from the harvester (the api module does not depend on it); the
// test TestLabelsCoverEveryKnownID keeps them complete.

// territoryNames are the nine pilot territories, in display form.
var territoryNames = map[string]string{
	"auvergne-rhone-alpes":    "Auvergne-Rhône-Alpes",
	"bourgogne-franche-comte": "Bourgogne-Franche-Comté",
	"bretagne":                "Bretagne",
	"charente-maritime":       "Charente-Maritime",
	"loire-atlantique":        "Loire-Atlantique",
	"mulhouse":                "Mulhouse Alsace Agglomération",
	"occitanie":               "Occitanie",
	"paca":                    "Provence-Alpes-Côte d'Azur",
	"val-de-marne":            "Val-de-Marne",
}

// licenseLabels are the normalised licence ids (harvester/normalize).
var licenseLabels = map[string]string{
	"etalab-2.0": "Licence Ouverte 2.0",
	"etalab-1.0": "Licence Ouverte 1.0",
	"odbl-1.0":   "ODbL 1.0",
	"odc-by-1.0": "ODC-BY 1.0",
	"pddl-1.0":   "PDDL 1.0",
	"cc0-1.0":    "CC0 1.0 (domaine public)",
	"other":      "Autre licence",
	"unknown":    "Licence non précisée",
	"":           "Licence non précisée",
}

// LicenseLabel is the French label of a normalised licence id; cc-by-4.0
// style ids give "CC BY 4.0"; anything else is shown as it is.
func LicenseLabel(id string) string {
	if l, ok := licenseLabels[id]; ok {
		return l
	}
	if rest, ok := strings.CutPrefix(id, "cc-"); ok {
		if i := strings.LastIndexByte(rest, '-'); i > 0 {
			return "CC " + strings.ToUpper(rest[:i]) + " " + rest[i+1:]
		}
	}
	return id
}

// themeLabels are the EU data themes.
var themeLabels = map[string]string{
	"AGRI": "Agriculture, pêche, sylviculture et alimentation",
	"ECON": "Économie et finances",
	"EDUC": "Éducation, culture et sport",
	"ENER": "Énergie",
	"ENVI": "Environnement",
	"GOVE": "Gouvernement et secteur public",
	"HEAL": "Santé",
	"INTR": "Questions internationales",
	"JUST": "Justice, système juridique et sécurité publique",
	"REGI": "Régions et villes",
	"SOCI": "Population et société",
	"TECH": "Science et technologie",
	"TRAN": "Transports",
}

// scdlItem is one item of the Socle Commun des Données Locales (or a
// national schema counted with it), in the order the coverage page shows.
type scdlItem struct{ ID, Label, Short string }

var scdlItems = []scdlItem{
	{"scdl/deliberations", "Délibérations", "Délibérations"},
	{"scdl/subventions", "Subventions", "Subventions"},
	{"139bercy/format-commande-publique", "Marchés publics (DECP)", "Marchés"},
	{"scdl/equipements", "Équipements collectifs publics", "Équipements"},
	{"scdl/budget", "Budget", "Budget"},
	{"scdl/catalogue", "Catalogue des données", "Catalogue"},
	{"scdl/prenoms", "Prénoms des nouveau-nés", "Prénoms"},
	{"scdl/menus-collectifs", "Menus de la restauration collective", "Menus"},
	{"scdl/plats-menus-collectifs", "Composition des plats de la restauration collective", "Plats"},
	{"etalab/schema-bal", "Base Adresse Locale", "BAL"},
	{"etalab/schema-irve-statique", "Infrastructures de recharge pour véhicules électriques (IRVE)", "IRVE"},
	{"atlasante/schema-dae", "Défibrillateurs automatisés externes (DAE)", "DAE"},
	{"etalab/schema-amenagements-cyclables", "Aménagements cyclables", "Vélo"},
}

// SCDLLabel is the French label of a SCDL item id.
func SCDLLabel(id string) string {
	for _, it := range scdlItems {
		if it.ID == id {
			return it.Label
		}
	}
	return id
}

// qualityLabels are the metadata quality ratings.
var qualityLabels = map[string]string{
	"excellent": "Excellente", "good": "Bonne", "sufficient": "Suffisante", "bad": "Insuffisante",
}

// evidenceLabels say why a dataset counts for a SCDL item.
var evidenceLabels = map[string]string{
	"declared": "schéma déclaré",
	"columns":  "colonnes caractéristiques",
	"title":    "titre ou mots-clés",
}

// evidenceOrder is strongest first, with a one-letter code for the heatmap.
var evidenceOrder = []struct{ Kind, Code string }{{"declared", "D"}, {"columns", "C"}, {"title", "T"}}

// statusLabels are the harvest statuses of a source.
var statusLabels = map[string]struct{ Label, Icon, Class string }{
	"SUCCEEDED": {"Réussie", "✓", "ok"},
	"PARTIAL":   {"Partielle", "!", "warn"},
	"FAILED":    {"Échec", "✗", "fail"},
	"RUNNING":   {"En cours", "↻", "run"},
	"NEVER":     {"Jamais moissonnée", "–", "none"},
	"DISABLED":  {"Désactivée", "–", "none"},
}

var errorKindLabels = map[string]string{
	"http": "HTTP", "timeout": "délai dépassé", "paging": "pagination", "parse": "lecture",
	"normalise": "normalisation", "publish": "publication", "dns": "nom d'hôte introuvable (DNS)",
	"connection": "connexion impossible", "tls": "TLS (certificat)", "too_large": "trop volumineux",
	"robots": "interdit par robots.txt", "forbidden": "adresse interdite",
}

// protocolLabels name the protocols a source is read with.
var protocolLabels = map[string]string{
	"ckan": "API CKAN", "dcat": "DCAT (RDF)", "ods": "API Explore d'OpenDataSoft", "d4c": "API Data4Citizen",
	"datafair": "API Data Fair", "udata": "API udata (data.gouv.fr)", "csw": "CSW (catalogue OGC)",
}

// softwareLabels name the software a portal runs.
var softwareLabels = map[string]string{
	"ods": "OpenDataSoft", "ckan": "CKAN", "d4c": "Data4Citizen", "datafair": "Data Fair", "udata": "udata",
	"geonetwork": "GeoNetwork", "dkan": "DKAN", "socrata": "Socrata", "arcgis": "ArcGIS Hub", "isogeo": "Isogeo",
}

// labelOr is the label of id in labels, else id as it is.
func labelOr(labels map[string]string, id string) string {
	if l, ok := labels[id]; ok {
		return l
	}
	return id
}

// frSchedule says a schedule ("every 24h0m0s", "cron 0 3 * * * (UTC)") in
// French: "toutes les 24 h", "selon l'expression cron « 0 3 * * * » (UTC)".
func frSchedule(s string) string {
	if rest, ok := strings.CutPrefix(s, "every "); ok {
		if d, err := time.ParseDuration(rest); err == nil && d > 0 {
			return "toutes les " + frEvery(d)
		}
	}
	if rest, ok := strings.CutPrefix(s, "cron "); ok {
		expr := strings.TrimSpace(strings.TrimSuffix(rest, "(UTC)"))
		return "selon l'expression cron « " + expr + " » (heure UTC)"
	}
	return s
}

// frEvery is a period as people write it: "24 h", "6 h 30", "15 min", "2 jours".
func frEvery(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0 && d >= 48*time.Hour:
		return fmt.Sprintf("%d jours", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%d h", d/time.Hour)
	case d >= time.Hour:
		return fmt.Sprintf("%d h %02d", d/time.Hour, (d%time.Hour)/time.Minute)
	case d%time.Minute == 0:
		return fmt.Sprintf("%d min", d/time.Minute)
	}
	return fmt.Sprintf("%d s", d/time.Second)
}

var triggerLabels = map[string]string{
	"schedule": "planifiée", "manual": "manuelle", "startup": "démarrage", "takeover": "reprise", "api": "API",
}

var frMonths = [...]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
	"septembre", "octobre", "novembre", "décembre"}

// paris is the time zone dates are shown in.
var paris = func() *time.Location {
	if l, err := time.LoadLocation("Europe/Paris"); err == nil {
		return l
	}
	return time.FixedZone("CET", 3600)
}()

// frDate is "3 mars 2024" ("1er mars 2024").
func frDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(paris)
	day := strconv.Itoa(t.Day())
	if t.Day() == 1 {
		day = "1er"
	}
	return day + " " + frMonths[t.Month()-1] + " " + strconv.Itoa(t.Year())
}

// frDateTime is "3 mars 2024 à 14 h 05".
func frDateTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	l := t.In(paris)
	return frDate(t) + fmt.Sprintf(" à %d h %02d", l.Hour(), l.Minute())
}

// frAgo is "il y a 5 min", "dans 2 h" relative to now.
func frAgo(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < 45*time.Second:
		if future {
			return "dans un instant"
		}
		return "à l'instant"
	case d < time.Hour:
		s = fmt.Sprintf("%d min", int(math.Round(d.Minutes())))
	case d < 48*time.Hour:
		s = fmt.Sprintf("%d h", int(math.Round(d.Hours())))
	default:
		s = fmt.Sprintf("%d jours", int(math.Round(d.Hours()/24)))
	}
	if future {
		return "dans " + s
	}
	return "il y a " + s
}

// frDuration is "850 ms", "12,3 s", "4 min 05 s".
func frDuration(d time.Duration) string {
	switch {
	case d < 0:
		return ""
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return strings.Replace(strconv.FormatFloat(d.Seconds(), 'f', 1, 64), ".", ",", 1) + " s"
	case d < time.Hour:
		return fmt.Sprintf("%d min %02d s", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%d h %02d min", int(d.Hours()), int(d.Minutes())%60)
	}
}

// frInt is 12345 → "12 345" (narrow no-break space as thousands separator).
func frInt(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString("\u202f")
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// frBytes is 1536 → "1,5 Ko".
func frBytes(n int64) string {
	if n <= 0 {
		return ""
	}
	units := []string{"o", "Ko", "Mo", "Go", "To"}
	f, i := float64(n), 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d o", n)
	}
	return strings.Replace(strconv.FormatFloat(f, 'f', 1, 64), ".", ",", 1) + " " + units[i]
}

// plural is "1 jeu de données" / "3 jeux de données".
func plural(n int64, one, many string) string {
	if n == 0 || n == 1 {
		return frInt(n) + " " + one
	}
	return frInt(n) + " " + many
}

// CollectiviteLabel names a collectivité by its key (a SIREN, or
// departement:35, region:53): "Rennes (commune)", "Rennes Métropole
// (EPCI)".
func CollectiviteLabel(key string) string {
	c := referential.France().ByKey(key)
	if c == nil {
		return key
	}
	return c.Name + " (" + kindLabels[string(c.Kind)] + ")"
}

// kindLabels are the kinds of collectivités, in French.
var kindLabels = map[string]string{"commune": "commune", "epci": "EPCI", "departement": "département", "region": "région"}
