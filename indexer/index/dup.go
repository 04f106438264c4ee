package index

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode"

	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
)

// DupKeys are the duplicate keys of a record. Two records that share a key
// are the same dataset (published on a territory's portal and on
// data.gouv.fr, or harvested through two portals or two sources), and so
// are records linked through a chain of shared keys. The rule (README,
// "Duplicates"):
//
//   - "t:" + the title in key form + "|" + the publisher in key form, where
//     key form folds accents, lower-cases and turns every run of
//     non-alphanumerics into one space ("Délibérations  du Conseil !" →
//     "deliberations du conseil"), and the publisher is its name, else its
//     SIREN, else the member organisation, else the territory;
//   - "u:" + each web address of the record in key form (URLKey): its
//     landing page, its IRI, and the identifiers that are addresses (a
//     harvested copy's link to its original, dct:identifier, owl:sameAs);
//   - "i:" + the UUID of each of these values and of its original id that
//     holds exactly one (CKAN package ids and GeoNetwork fileIdentifiers
//     are UUIDs, or hold one as in "fr-120066022-ldd-<uuid>", and copies
//     keep them in dct:identifier or in the address of the original);
//   - a record with none of these has "id:" + its id, which groups nothing.
//
// Other identifiers (numbers, slugs) are left out: each portal mints its
// own, so "budget-2024" on two portals says nothing. A key that more than
// MaxGroupKey records carry is not identifying either (a portal's home page
// given as every dataset's landing page, a title a publisher reuses every
// year): grouping ignores it.
func DupKeys(d *moissonv1.Dataset) []string {
	var keys []string
	add := func(k string) {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	if title := keyForm(d.GetTitle()); title != "" {
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
		add("t:" + title + "|" + pub)
	}
	values := append([]string{d.GetLandingPage(), d.GetUri(), d.GetOriginalId()}, d.GetIdentifiers()...)
	for _, v := range values {
		if u := URLKey(v); u != "" {
			add("u:" + u)
		}
		if len(v) < 36 || strings.Count(v, "-") < 4 {
			continue // cannot hold a UUID: spare the pattern
		}
		if ids := uuidPattern.FindAllStringSubmatch(v, 2); len(ids) == 1 {
			add("i:" + strings.ToLower(ids[0][1]))
		}
	}
	if len(keys) == 0 {
		add("id:" + d.GetId())
	}
	return keys
}

// MaxGroupKey is how many records at most may carry a duplicate key for it
// to group them. One dataset is published in a few places (a member's
// portal, the territory's, data.gouv.fr, an aggregator); a key on more
// records is a listing page or a reused title.
const MaxGroupKey = 10

// uuidPattern finds a UUID not within a longer run of hexadecimal digits.
var uuidPattern = regexp.MustCompile(`(?i)(?:^|[^0-9a-f])([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:$|[^0-9a-f])`)

// URLKey is the key form of a web address: host (lower case, without
// "www." and a default port) and path without its trailing slash, then the
// query and the fragment as they are (GeoNetwork pages name the record in
// the fragment); the scheme is dropped (http and https name the same page).
// It is "" for what is not an http(s) address, and for a site's root, which
// names no dataset.
func URLKey(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	host := strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.")
	if p := u.Port(); p != "" && p != "80" && p != "443" {
		host += ":" + p
	}
	path := strings.TrimRight(u.EscapedPath(), "/")
	if path == "" && u.RawQuery == "" && u.Fragment == "" {
		return ""
	}
	k := host + path
	if u.RawQuery != "" {
		k += "?" + u.RawQuery
	}
	if u.Fragment != "" {
		k += "#" + u.EscapedFragment()
	}
	return k
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
