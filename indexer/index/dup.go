package index

import (
	"strings"
	"unicode"

	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
)

// DupKey is the duplicate key of a record: two records with the same key are
// the same dataset (published on a territory's portal and on data.gouv.fr,
// or harvested through two portals or two sources). The rule (README,
// "Search"):
//
//   - "t:" + the title in key form + "|" + the publisher in key form, where
//     key form folds accents, lower-cases and turns every run of
//     non-alphanumerics into one space ("Délibérations  du Conseil !" →
//     "deliberations du conseil"), and the publisher is its name, else its
//     SIREN, else the member organisation, else the territory;
//   - a record without a title never groups: "id:" + its id.
//
// Identifiers (dataset IRI, portal id, landing page) are not used: each
// portal mints its own, and a harvested copy rarely keeps the original's,
// while it does keep the title and the publisher.
func DupKey(d *moissonv1.Dataset) string {
	title := keyForm(d.GetTitle())
	if title == "" {
		return "id:" + d.GetId()
	}
	pub := keyForm(d.GetPublisher().GetName())
	if pub == "" {
		pub = d.GetPublisher().GetSiren()
	}
	if pub == "" {
		pub = d.GetMemberId()
	}
	if pub == "" {
		pub = d.GetTerritoryId()
	}
	return "t:" + title + "|" + pub
}

// keyForm folds accents, lower-cases and collapses non-alphanumerics.
func keyForm(s string) string {
	s = strings.ToLower(Fold(s))
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		} else {
			space = true
		}
	}
	return b.String()
}

// DataFormats are the formats that make a distribution data (rather than a
// document, an image or a web page).
var DataFormats = map[string]bool{
	"CSV": true, "TSV": true, "JSON": true, "GeoJSON": true, "JSON-LD": true, "NDJSON": true, "XML": true,
	"RDF": true, "Turtle": true, "N-Triples": true, "XLSX": true, "XLS": true, "ODS": true, "SHP": true,
	"KML": true, "KMZ": true, "GML": true, "GPX": true, "GPKG": true, "MapInfo": true, "DXF": true,
	"GeoTIFF": true, "NetCDF": true, "Parquet": true, "SQL": true, "GTFS": true,
}

// HasData tells whether a dataset has downloadable data: at least one
// distribution with a download URL or in a data format (DataFormats).
func HasData(d *moissonv1.Dataset) bool {
	for _, x := range d.GetDistributions() {
		if strings.TrimSpace(x.GetDownloadUrl()) != "" || DataFormats[x.GetFormat()] {
			return true
		}
	}
	return false
}
