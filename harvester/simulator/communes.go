package simulator

import "strings"

// commune is a real commune of a territory (INSEE code and an approximate
// centre), used for titles, publishers and spatial coverage.
type commune struct {
	Name     string
	INSEE    string
	Lat, Lon float64
}

// communes lists, per territory id, a few real communes. A territory not in
// the table (a user's own configuration) falls back to fallbackCommunes.
var communes = map[string][]commune{
	"auvergne-rhone-alpes": {
		{"Grenoble", "38185", 45.1885, 5.7245},
		{"Échirolles", "38151", 45.1436, 5.7186},
		{"Saint-Martin-d'Hères", "38421", 45.1672, 5.7653},
		{"Meylan", "38229", 45.2095, 5.7790},
		{"Fontaine", "38169", 45.1927, 5.6856},
		{"Annecy", "74010", 45.8992, 6.1294},
		{"Sassenage", "38474", 45.2050, 5.6650},
	},
	"bourgogne-franche-comte": {
		{"Dijon", "21231", 47.3220, 5.0415},
		{"Besançon", "25056", 47.2378, 6.0241},
		{"Nevers", "58194", 46.9908, 3.1590},
		{"Auxerre", "89024", 47.7986, 3.5673},
		{"Belfort", "90010", 47.6397, 6.8638},
		{"Chalon-sur-Saône", "71076", 46.7806, 4.8539},
		{"Varennes-Vauzelles", "58303", 47.0180, 3.1420},
		{"Mâcon", "71270", 46.3069, 4.8287},
	},
	"bretagne": {
		{"Rennes", "35238", 48.1173, -1.6778},
		{"Brest", "29019", 48.3904, -4.4861},
		{"Quimper", "29232", 47.9960, -4.1020},
		{"Saint-Malo", "35288", 48.6493, -2.0257},
		{"Saint-Brieuc", "22278", 48.5136, -2.7603},
		{"Vannes", "56260", 47.6582, -2.7608},
		{"Lorient", "56121", 47.7483, -3.3700},
		{"Cesson-Sévigné", "35051", 48.1214, -1.6030},
		{"Lannion", "22113", 48.7326, -3.4566},
		{"Dinan", "22050", 48.4556, -2.0503},
	},
	"charente-maritime": {
		{"La Rochelle", "17300", 46.1603, -1.1511},
		{"Rochefort", "17299", 45.9421, -0.9588},
		{"Saintes", "17415", 45.7464, -0.6333},
		{"Aytré", "17028", 46.1339, -1.1150},
		{"Lagord", "17200", 46.1897, -1.1542},
		{"Périgny", "17274", 46.1531, -1.0961},
		{"Royan", "17306", 45.6248, -1.0290},
		{"Châtelaillon-Plage", "17094", 46.0736, -1.0889},
	},
	"loire-atlantique": {
		{"Nantes", "44109", 47.2184, -1.5536},
		{"Saint-Nazaire", "44184", 47.2735, -2.2138},
		{"Rezé", "44143", 47.1833, -1.5500},
		{"Saint-Herblain", "44162", 47.2122, -1.6497},
		{"Orvault", "44114", 47.2711, -1.6225},
		{"Châteaubriant", "44036", 47.7172, -1.3761},
		{"Ancenis-Saint-Géréon", "44003", 47.3656, -1.1772},
		{"Clisson", "44043", 47.0869, -1.2819},
	},
	"mulhouse": {
		{"Mulhouse", "68224", 47.7508, 7.3359},
		{"Wittenheim", "68376", 47.8086, 7.3369},
		{"Illzach", "68154", 47.7803, 7.3464},
		{"Kingersheim", "68166", 47.7917, 7.3253},
		{"Riedisheim", "68278", 47.7483, 7.3675},
		{"Rixheim", "68279", 47.7494, 7.4064},
		{"Wittelsheim", "68375", 47.8047, 7.2419},
		{"Pfastatt", "68256", 47.7697, 7.3028},
	},
	"occitanie": {
		{"Toulouse", "31555", 43.6047, 1.4442},
		{"Montpellier", "34172", 43.6108, 3.8767},
		{"Colomiers", "31149", 43.6114, 1.3350},
		{"Tournefeuille", "31557", 43.5853, 1.3442},
		{"Blagnac", "31069", 43.6364, 1.3900},
		{"Nîmes", "30189", 43.8367, 4.3601},
		{"Perpignan", "66136", 42.6887, 2.8948},
		{"Albi", "81004", 43.9289, 2.1464},
		{"Balma", "31044", 43.6111, 1.4994},
	},
	"paca": {
		{"Marseille", "13055", 43.2965, 5.3698},
		{"Nice", "06088", 43.7102, 7.2620},
		{"Toulon", "83137", 43.1242, 5.9280},
		{"Avignon", "84007", 43.9493, 4.8055},
		{"Aix-en-Provence", "13001", 43.5297, 5.4474},
		{"Antibes", "06004", 43.5808, 7.1239},
		{"Cannes", "06029", 43.5528, 7.0174},
		{"Digne-les-Bains", "04070", 44.0925, 6.2356},
		{"Gap", "05061", 44.5594, 6.0786},
		{"Cagnes-sur-Mer", "06027", 43.6644, 7.1489},
		{"Saint-Laurent-du-Var", "06123", 43.6730, 7.1900},
	},
	"val-de-marne": {
		{"Créteil", "94028", 48.7904, 2.4556},
		{"Vitry-sur-Seine", "94081", 48.7875, 2.3928},
		{"Champigny-sur-Marne", "94017", 48.8172, 2.5156},
		{"Saint-Maur-des-Fossés", "94068", 48.7939, 2.4936},
		{"Ivry-sur-Seine", "94041", 48.8156, 2.3849},
		{"Maisons-Alfort", "94046", 48.8058, 2.4378},
		{"Fontenay-sous-Bois", "94033", 48.8517, 2.4772},
		{"Villejuif", "94076", 48.7922, 2.3636},
		{"Vincennes", "94080", 48.8474, 2.4396},
	},
}

var fallbackCommunes = []commune{
	{"Paris", "75056", 48.8566, 2.3522},
	{"Lyon", "69123", 45.7640, 4.8357},
	{"Bordeaux", "33063", 44.8378, -0.5792},
	{"Lille", "59350", 50.6292, 3.0573},
	{"Strasbourg", "67482", 48.5734, 7.7521},
}

// communesOf returns the communes of a territory and the index of the
// member's own commune (its name appears in the member's name), or -1.
func communesOf(territoryID, memberName string) ([]commune, int) {
	list, ok := communes[territoryID]
	if !ok {
		list = fallbackCommunes
	}
	main := -1
	for i, c := range list {
		if strings.Contains(memberName, c.Name) && (main < 0 || len(c.Name) > len(list[main].Name)) {
			main = i
		}
	}
	return list, main
}

// dcatIDPrefix is the prefix OpenDataSoft portals put on dataset ids.
var dcatIDPrefix = map[string]string{
	"mulhouse":         "m2a_",
	"loire-atlantique": "224400028_",
}
