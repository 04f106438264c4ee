package indextest

import (
	"fmt"
	"strings"
	"time"

	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// fixture is the short form of one dataset of the suite.
type fixture struct {
	title, description string
	keywords           []string
	territory          string
	publisher          string
	protocol           string
	license            string // normalised; "" becomes "unknown" in the index
	formats            []string
	themes             []string
	scdl               []string
	source             string // "" = <territory>-<protocol>
	noDate             bool   // no modification date
	landing            string // "" = a page of its own on the territory's portal
	identifiers        []string
}

// Named fixtures the checks refer to (index in fixtures + 1 = the number in
// the id, ds-NN).
const (
	idDeliberationsRennes  = "ds-01"
	idEquipementsSportifs  = "ds-02"
	idSubventions          = "ds-03"
	idEauElision           = "ds-04" // "eau" only as "l'eau", in the description
	idEquipementsCulturels = "ds-05" // équipements, but nothing sportif
	idBudgetPrimitif       = "ds-06"
	idBudgetOccitanie      = "ds-07"
	idBudgetDescription    = "ds-08" // budget in the description only
	idMarchesPublics       = "ds-09" // d'équipements in the description
	idVelo                 = "ds-11" // vélo only in the keywords
	idDeliberationsMulh    = "ds-17"
	idDeliberationsCP      = "ds-18"
	idBudgetParticipatif   = "ds-21"
	idOeuvres              = "ds-36" // Œuvres
	idArbres               = "ds-13" // duplicated by ds-41
	idCadastreSolaire      = "ds-32" // duplicated by ds-42
	idArbresCopy           = "ds-41" // the same dataset on data.gouv.fr
	idCadastreCopy         = "ds-42" // the same dataset through another portal
	idNoDate               = "ds-43" // no modification date, no distribution
	// One dataset under three titles, linked by identifiers only: ds-45
	// (data.gouv.fr) names ds-44's landing page as its original, and ds-46
	// (a GeoNetwork record) shares a UUID with ds-45.
	idRelais      = "ds-44"
	idRelaisCopy  = "ds-45"
	idRelaisGeo   = "ds-46"
	idSiteRootA   = "ds-47" // ds-47 and ds-48 give the portal's home page as landing page: not the same dataset
	idSiteRootB   = "ds-48"
	relaisUUID    = "5a26b0f6-0ccf-46ad-ac58-734054b91977"
	relaisLanding = "https://data.loire-atlantique.example.fr/datasets/orig-44"
)

var fixtures = []fixture{
	{title: "Délibérations du conseil municipal de Rennes", description: "Liste des délibérations adoptées par le conseil municipal de la ville depuis 2015, avec le texte intégral des actes.",
		keywords: []string{"délibérations", "conseil municipal"}, territory: "bretagne", publisher: "Ville de Rennes", protocol: "ods", license: "etalab-2.0",
		formats: []string{"CSV", "JSON"}, themes: []string{"GOVE"}, scdl: []string{"scdl/deliberations"}},
	{title: "Équipements sportifs de Mulhouse", description: "Localisation des gymnases, stades et piscines de l'agglomération, avec leurs horaires.",
		keywords: []string{"sport", "gymnases"}, territory: "mulhouse", publisher: "Mulhouse Alsace Agglomération", protocol: "ods", license: "odbl-1.0",
		formats: []string{"CSV", "GeoJSON"}, themes: []string{"EDUC"}, scdl: []string{"scdl/equipements"}},
	{title: "Subventions attribuées aux associations", description: "Montants des subventions versées par la Région aux associations en 2023.",
		keywords: []string{"subventions", "associations"}, territory: "bretagne", publisher: "Région Bretagne", protocol: "ckan", license: "etalab-2.0",
		formats: []string{"CSV", "XLSX"}, themes: []string{"GOVE", "ECON"}, scdl: []string{"scdl/subventions"}},
	{title: "Analyses du contrôle sanitaire", description: "Résultats du contrôle sanitaire de l'eau distribuée dans les communes du département.",
		keywords: []string{"santé"}, territory: "loire-atlantique", publisher: "Département de Loire-Atlantique", protocol: "dcat", license: "etalab-2.0",
		formats: []string{"CSV"}, themes: []string{"HEAL"}},
	{title: "Équipements culturels de Rennes", description: "Bibliothèques, musées et salles de spectacle de la ville.",
		keywords: []string{"culture"}, territory: "bretagne", publisher: "Ville de Rennes", protocol: "ods", license: "odbl-1.0",
		formats: []string{"CSV", "GeoJSON"}, themes: []string{"EDUC"}, scdl: []string{"scdl/equipements"}},
	{title: "Budget primitif 2024", description: "Montants votés par le conseil départemental, par chapitre et par fonction.",
		keywords: []string{"finances"}, territory: "loire-atlantique", publisher: "Département de Loire-Atlantique", protocol: "dcat", license: "etalab-2.0",
		formats: []string{"CSV", "PDF"}, themes: []string{"ECON"}, scdl: []string{"scdl/budget"}},
	{title: "Budget primitif de la Région Occitanie", description: "Crédits de paiement votés en séance plénière.",
		keywords: []string{"finances"}, territory: "occitanie", publisher: "Région Occitanie", protocol: "udata", license: "etalab-2.0",
		formats: []string{"CSV"}, themes: []string{"ECON"}, scdl: []string{"scdl/budget"}},
	{title: "Comptes administratifs des communes", description: "Données financières consolidées des communes du territoire : recettes et dépenses de fonctionnement et d'investissement, hors budget annexe, pour chaque exercice depuis 2012.",
		keywords: []string{"finances", "communes"}, territory: "val-de-marne", publisher: "Département du Val-de-Marne", protocol: "ods", license: "cc-by-4.0",
		formats: []string{"XLSX"}, themes: []string{"ECON"}},
	{title: "Marchés publics conclus en 2023", description: "Données essentielles des marchés publics d'équipements et de services passés par la collectivité.",
		keywords: []string{"commande publique"}, territory: "paca", publisher: "Région Sud", protocol: "ckan", license: "etalab-2.0",
		formats: []string{"JSON", "XLSX"}, themes: []string{"ECON"}, scdl: []string{"scdl/marches-publics"}},
	{title: "Prénoms des nouveau-nés à Nantes", description: "Prénoms déclarés à l'état civil, par année et par sexe.",
		keywords: []string{"état civil"}, territory: "loire-atlantique", publisher: "Nantes Métropole", protocol: "ods", license: "odbl-1.0",
		formats: []string{"CSV"}, themes: []string{"SOCI"}, scdl: []string{"scdl/prenoms"}},
	{title: "Stationnements deux-roues", description: "Emplacements de stationnement des cycles sur l'espace public.",
		keywords: []string{"vélo", "mobilité"}, territory: "mulhouse", publisher: "Ville de Mulhouse", protocol: "ods", license: "odbl-1.0",
		formats: []string{"GeoJSON", "SHP"}, themes: []string{"TRAN"}},
	{title: "Horaires des piscines municipales", description: "Horaires d'ouverture au public, par saison.",
		keywords: []string{"sport"}, territory: "mulhouse", publisher: "Ville de Mulhouse", protocol: "ods", license: "odbl-1.0",
		formats: []string{"CSV"}, themes: []string{"EDUC"}},
	{title: "Arbres d'alignement", description: "Inventaire du patrimoine arboré le long des voies.",
		keywords: []string{"nature", "arbres"}, territory: "val-de-marne", publisher: "Département du Val-de-Marne", protocol: "ods", license: "etalab-2.0",
		formats: []string{"GeoJSON", "CSV"}, themes: []string{"ENVI"}},
	{title: "Points d'apport volontaire du verre", description: "Conteneurs à verre et à papier.",
		keywords: []string{"déchets"}, territory: "occitanie", publisher: "Toulouse Métropole", protocol: "ods", license: "odbl-1.0",
		formats: []string{"GeoJSON"}, themes: []string{"ENVI"}},
	{title: "Lignes et arrêts du réseau de transport", description: "Tracés des lignes et position des arrêts.",
		keywords: []string{"transport", "mobilité"}, territory: "paca", publisher: "Métropole Aix-Marseille-Provence", protocol: "dcat", license: "",
		formats: []string{"SHP", "GeoJSON"}, themes: []string{"TRAN"}},
	{title: "Zones de baignade", description: "Sites de baignade surveillés et résultats de la surveillance estivale.",
		keywords: []string{"loisirs"}, territory: "paca", publisher: "Région Sud", protocol: "ckan", license: "etalab-2.0",
		formats: []string{"CSV"}, themes: []string{"HEAL"}},
	{title: "Délibérations du conseil communautaire", description: "Actes adoptés par le conseil communautaire de l'agglomération.",
		keywords: []string{"délibérations"}, territory: "mulhouse", publisher: "Mulhouse Alsace Agglomération", protocol: "ods", license: "etalab-2.0",
		formats: []string{"CSV", "PDF"}, themes: []string{"GOVE"}, scdl: []string{"scdl/deliberations"}},
	{title: "Délibérations de la commission permanente", description: "Décisions de la commission permanente du conseil régional.",
		keywords: []string{"délibérations", "région"}, territory: "bretagne", publisher: "Région Bretagne", protocol: "ckan", license: "etalab-2.0",
		formats: []string{"JSON"}, themes: []string{"GOVE"}, scdl: []string{"scdl/deliberations"}},
	{title: "Subventions aux clubs sportifs", description: "Aides versées aux clubs de la ville pour la saison.",
		keywords: []string{"sport", "subventions"}, territory: "mulhouse", publisher: "Ville de Mulhouse", protocol: "ods", license: "odbl-1.0",
		formats: []string{"CSV"}, themes: []string{"GOVE"}, scdl: []string{"scdl/subventions"}},
	{title: "Catalogue des données de la métropole", description: "Liste des jeux de données publiés sur le portail.",
		keywords: []string{"catalogue"}, territory: "loire-atlantique", publisher: "Nantes Métropole", protocol: "ods", license: "odbl-1.0",
		formats: []string{"CSV", "JSON"}, themes: []string{"GOVE"}, scdl: []string{"scdl/catalogue"}},
	{title: "Budget participatif : projets lauréats", description: "Projets proposés par les habitants et retenus après le vote.",
		keywords: []string{"participation"}, territory: "bretagne", publisher: "Ville de Rennes", protocol: "ods", license: "odbl-1.0",
		formats: []string{"CSV"}, themes: []string{"GOVE"}},
	{title: "Accidents de la circulation", description: "Accidents corporels recensés par les forces de l'ordre.",
		keywords: []string{"sécurité routière"}, territory: "val-de-marne", publisher: "Département du Val-de-Marne", protocol: "ods", license: "etalab-2.0",
		formats: []string{"CSV"}, themes: []string{"TRAN"}},
	{title: "Pistes cyclables", description: "Aménagements cyclables du territoire.",
		keywords: []string{"vélo", "mobilité"}, territory: "occitanie", publisher: "Toulouse Métropole", protocol: "ods", license: "odbl-1.0",
		formats: []string{"GeoJSON", "SHP"}, themes: []string{"TRAN"}},
	{title: "Parcs relais", description: "Parkings en entrée de ville reliés aux transports en commun.",
		keywords: []string{"stationnement"}, territory: "bretagne", publisher: "Rennes Métropole", protocol: "ods", license: "odbl-1.0",
		formats: []string{"CSV", "GeoJSON"}, themes: []string{"TRAN"}},
	{title: "Défibrillateurs automatisés externes", description: "Localisation des appareils accessibles au public.",
		keywords: []string{"santé"}, territory: "charente-maritime", publisher: "Département de la Charente-Maritime", protocol: "dcat", license: "etalab-2.0",
		formats: []string{"CSV"}, themes: []string{"HEAL"}},
	{title: "Écoles maternelles et élémentaires", description: "Adresses et effectifs des écoles publiques.",
		keywords: []string{"éducation"}, territory: "charente-maritime", publisher: "Ville de La Rochelle", protocol: "udata", license: "etalab-2.0",
		formats: []string{"CSV", "JSON"}, themes: []string{"EDUC"}},
	{title: "Collèges publics", description: "Établissements, secteurs de recrutement et effectifs.",
		keywords: []string{"éducation"}, territory: "val-de-marne", publisher: "Département du Val-de-Marne", protocol: "ods", license: "etalab-2.0",
		formats: []string{"CSV", "SHP"}, themes: []string{"EDUC"}},
	{title: "Lycées de la Région", description: "Liste des lycées publics et privés sous contrat.",
		keywords: []string{"éducation"}, territory: "auvergne-rhone-alpes", publisher: "Région Auvergne-Rhône-Alpes", protocol: "udata", license: "etalab-2.0",
		formats: []string{"CSV"}, themes: []string{"EDUC"}},
	{title: "Consommation électrique par commune", description: "Consommation annuelle d'électricité par secteur.",
		keywords: []string{"énergie"}, territory: "auvergne-rhone-alpes", publisher: "Région Auvergne-Rhône-Alpes", protocol: "udata", license: "",
		formats: []string{"CSV", "XLSX"}, themes: []string{"ENER"}},
	{title: "Production d'énergie renouvelable", description: "Installations solaires, éoliennes et hydrauliques raccordées.",
		keywords: []string{"énergie"}, territory: "bourgogne-franche-comte", publisher: "Région Bourgogne-Franche-Comté", protocol: "dcat", license: "cc-by-4.0",
		formats: []string{"CSV"}, themes: []string{"ENER"}},
	{title: "Plan local d'urbanisme", description: "Zonage et règlement du PLU en vigueur.",
		keywords: []string{"urbanisme"}, territory: "bourgogne-franche-comte", publisher: "Dijon Métropole", protocol: "dcat", license: "etalab-2.0",
		formats: []string{"SHP", "PDF"}, themes: []string{"REGI"}},
	{title: "Cadastre solaire", description: "Potentiel de production photovoltaïque des toitures.",
		keywords: []string{"énergie"}, territory: "occitanie", publisher: "Toulouse Métropole", protocol: "ods", license: "odbl-1.0",
		formats: []string{"GeoJSON"}, themes: []string{"ENER"}},
	{title: "Population légale des communes", description: "Populations municipales et totales au dernier recensement.",
		keywords: []string{"démographie"}, territory: "charente-maritime", publisher: "Département de la Charente-Maritime", protocol: "dcat", license: "etalab-2.0",
		formats: []string{"XLSX"}, themes: []string{"SOCI"}},
	{title: "Marchés forains", description: "Jours et lieux des marchés de plein air.",
		keywords: []string{"commerce"}, territory: "val-de-marne", publisher: "Ville de Créteil", protocol: "ods", license: "",
		formats: []string{"CSV"}, themes: []string{"ECON"}},
	{title: "Fréquentation des médiathèques", description: "Entrées et prêts mensuels par établissement.",
		keywords: []string{"culture"}, territory: "charente-maritime", publisher: "Ville de La Rochelle", protocol: "udata", license: "cc-by-4.0",
		formats: []string{"CSV"}, themes: []string{"EDUC"}},
	{title: "Œuvres d'art dans l'espace public", description: "Sculptures et fresques installées dans la ville.",
		keywords: []string{"culture", "patrimoine"}, territory: "paca", publisher: "Ville de Marseille", protocol: "ckan", license: "etalab-2.0",
		formats: []string{"JSON"}, themes: []string{"EDUC"}},
	{title: "Travaux sur la voirie", description: "Chantiers en cours et à venir sur les routes départementales.",
		keywords: []string{"travaux"}, territory: "auvergne-rhone-alpes", publisher: "Métropole de Lyon", protocol: "udata", license: "etalab-2.0",
		formats: []string{"GeoJSON"}, themes: []string{"TRAN"}},
	{title: "Aides aux entreprises", description: "Aides économiques accordées par la Région aux entreprises du territoire.",
		keywords: []string{"économie"}, territory: "bourgogne-franche-comte", publisher: "Région Bourgogne-Franche-Comté", protocol: "dcat", license: "etalab-2.0",
		formats: []string{"CSV", "XLSX"}, themes: []string{"ECON"}},
	{title: "Ordre du jour du conseil municipal", description: "Points inscrits aux séances publiques.",
		keywords: []string{"conseil municipal"}, territory: "mulhouse", publisher: "Ville de Mulhouse", protocol: "ods", license: "odbl-1.0",
		formats: []string{"PDF"}, themes: []string{"GOVE"}},
	{title: "Qualité de l'air", description: "Indices quotidiens de la qualité de l'air par commune.",
		keywords: []string{"environnement", "air"}, territory: "auvergne-rhone-alpes", publisher: "Région Auvergne-Rhône-Alpes", protocol: "udata", license: "odbl-1.0",
		formats: []string{"CSV", "JSON"}, themes: []string{"ENVI"}},
	// Duplicates: ds-13 again on data.gouv.fr (another apostrophe, other
	// case), ds-32 again through another portal of the territory.
	{title: "ARBRES D’ALIGNEMENT", description: "Inventaire des arbres le long des voies (copie).",
		keywords: []string{"nature"}, territory: "val-de-marne", publisher: "Département du Val-de-Marne", protocol: "udata", license: "etalab-2.0",
		formats: []string{"CSV"}, themes: []string{"ENVI"}, source: "val-de-marne-datagouv"},
	{title: "Cadastre solaire", description: "Potentiel photovoltaïque des toitures de la métropole.",
		keywords: []string{"énergie"}, territory: "occitanie", publisher: "Toulouse Métropole", protocol: "dcat", license: "odbl-1.0",
		formats: []string{"GeoJSON", "CSV"}, themes: []string{"ENER"}},
	{title: "Note de synthèse des séances", description: "Résumé des séances, sans fichier joint.",
		keywords: []string{"synthèse"}, territory: "paca", publisher: "Région Sud", protocol: "ckan", license: "",
		themes: []string{"GOVE"}, noDate: true},
	{title: "Parcs relais", description: "Places et taux d'occupation des parkings P+R.",
		keywords: []string{"mobilité"}, territory: "loire-atlantique", publisher: "Nantes Métropole", protocol: "ods", license: "odbl-1.0",
		formats: []string{"CSV", "JSON"}, themes: []string{"TRAN"}},
	{title: "P+R de l'agglomération nantaise", description: "Parkings relais : capacité et occupation en temps réel.",
		keywords: []string{"mobilité"}, territory: "loire-atlantique", publisher: "Nantes Métropole", protocol: "udata", license: "odbl-1.0",
		formats: []string{"CSV"}, themes: []string{"TRAN"}, source: "loire-atlantique-datagouv",
		identifiers: []string{"HTTP://www.data.loire-atlantique.example.fr/datasets/orig-44/", "urn:uuid:" + relaisUUID}},
	{title: "Localisation des parcs relais", description: "Emprises des parkings relais de la métropole.",
		keywords: []string{"mobilité"}, territory: "loire-atlantique", publisher: "Loire-Atlantique", protocol: "csw", license: "etalab-2.0",
		formats: []string{"SHP"}, themes: []string{"TRAN"}, identifiers: []string{strings.ToUpper(relaisUUID)}},
	{title: "Aires de covoiturage", description: "Aires aménagées pour le covoiturage.",
		keywords: []string{"mobilité"}, territory: "paca", publisher: "Région Sud", protocol: "ckan", license: "etalab-2.0",
		formats: []string{"CSV"}, themes: []string{"TRAN"}, landing: "https://data.paca.example.fr/"},
	{title: "Bornes de recharge", description: "Points de recharge pour véhicules électriques.",
		keywords: []string{"mobilité"}, territory: "paca", publisher: "Région Sud", protocol: "ckan", license: "etalab-2.0",
		formats: []string{"CSV"}, themes: []string{"TRAN"}, landing: "https://data.paca.example.fr/"},
}

// fixtureID is the id of the i-th fixture (0-based).
func fixtureID(i int) string { return fmt.Sprintf("ds-%02d", i+1) }

var fixtureEpoch = time.Date(2022, 1, 3, 8, 0, 0, 0, time.UTC)

// Datasets builds the fixtures of the suite as records: about 40 French
// datasets over several territories, publishers, formats, licences and SCDL
// items, with distinct modification dates (not in id order).
func Datasets() []*moissonv1.Dataset {
	out := make([]*moissonv1.Dataset, 0, len(fixtures))
	for i, f := range fixtures {
		id := fixtureID(i)
		source := f.territory + "-" + f.protocol
		if f.source != "" {
			source = f.source
		}
		// 37 and 500 are coprime: distinct days, shuffled against ids.
		modified := fixtureEpoch.AddDate(0, 0, (i*37)%500).Add(time.Duration(i) * time.Minute)
		d := &moissonv1.Dataset{
			Id:          id,
			SourceId:    source,
			TerritoryId: f.territory,
			PortalUrl:   "https://data." + f.territory + ".example.fr",
			OriginalId:  fmt.Sprintf("orig-%d", i+1),
			LandingPage: fmt.Sprintf("https://data.%s.example.fr/datasets/orig-%d", f.territory, i+1),
			Protocol:    f.protocol,
			Title:       f.title,
			Description: f.description,
			Keywords:    f.keywords,
			Themes:      f.themes,
			Language:    "fr",
			Publisher:   &moissonv1.Publisher{Name: f.publisher},
			License:     &moissonv1.License{Raw: f.license, Normalized: f.license},
			Issued:      timestamppb.New(fixtureEpoch.AddDate(-1, 0, i)),
			Modified:    timestamppb.New(modified),
			Identifiers: f.identifiers,
			HarvestedAt: timestamppb.New(fixtureEpoch.AddDate(2, 0, 0)),
			RunId:       "run-1",
			ContentHash: fmt.Sprintf("hash-%d", i+1),
			Quality:     fixtureQuality(i),
		}
		if i%2 == 0 {
			d.MemberId = "member-" + f.territory
		}
		// The indexer's attribution (indexer/collectivite): every third
		// record to Rennes or to Rennes Métropole, every third unresolved.
		switch i % 3 {
		case 0:
			d.Collectivite = &moissonv1.CollectiviteRef{Key: "213502388", Kind: "commune", Code: "35238", Siren: "213502388",
				Name: "Rennes", How: "name", Publisher: f.publisher}
			if i%2 == 1 {
				d.Collectivite = &moissonv1.CollectiviteRef{Key: "243500139", Kind: "epci", Code: "243500139", Siren: "243500139",
					Name: "Rennes Métropole", How: "siren", Publisher: f.publisher}
			}
		case 1:
			d.Collectivite = &moissonv1.CollectiviteRef{How: "not-found", Publisher: f.publisher}
		}
		if f.landing != "" {
			d.LandingPage = f.landing
		}
		if f.noDate {
			d.Modified = nil
		}
		for k, format := range f.formats {
			dist := &moissonv1.Distribution{
				Url:    fmt.Sprintf("https://data.%s.example.fr/files/%d.%s", f.territory, i+1, format),
				Format: format,
				Title:  f.title + " (" + format + ")",
			}
			if (i+k)%3 == 0 {
				dist.DownloadUrl = dist.Url + "?download=1"
			}
			d.Distributions = append(d.Distributions, dist)
		}
		for _, item := range f.scdl {
			d.ConformsTo = append(d.ConformsTo, item)
			d.Scdl = append(d.Scdl, &moissonv1.ScdlMatch{Item: item, Evidence: "declared"})
		}
		out = append(out, d)
	}
	return out
}

// fixtureQuality gives the i-th fixture a score spread over 0..405 (several
// fixtures share a score: the quality sort needs its tie-breaker).
func fixtureQuality(i int) *moissonv1.Quality {
	score := int32((i * 97) % 406 / 10 * 10)
	rating := "bad"
	switch {
	case score >= 351:
		rating = "excellent"
	case score >= 221:
		rating = "good"
	case score >= 121:
		rating = "sufficient"
	}
	return &moissonv1.Quality{Score: score, Rating: rating, Findability: score / 4,
		Indicators: &moissonv1.QualityIndicators{Keywords: true}}
}
