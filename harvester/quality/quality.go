// Package quality scores the metadata of a harvested dataset after the
// European Data Portal's Metadata Quality Assessment (MQA): five dimensions,
// 405 points, one table of indicators (see README.md). What a harvester
// cannot know without probing the portals (URL reachability) is scored on
// what the metadata says; what Moisson's record does not carry (access
// rights) scores nothing.
package quality

import (
	"net/url"
	"strings"

	"github.com/opendatafrance/moisson/harvester/normalize"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
)

// Dimensions of the MQA.
const (
	Findability      = "findability"
	Accessibility    = "accessibility"
	Interoperability = "interoperability"
	Reusability      = "reusability"
	Contextuality    = "contextuality"
)

// Max is the best possible score.
const Max = 405

// Ratings, with the EDP's thresholds.
const (
	Excellent  = "excellent"  // 351–405
	Good       = "good"       // 221–350
	Sufficient = "sufficient" // 121–220
	Bad        = "bad"        // 0–120
)

// Rating is the EDP rating of a score.
func Rating(score int32) string {
	switch {
	case score >= 351:
		return Excellent
	case score >= 221:
		return Good
	case score >= 121:
		return Sufficient
	}
	return Bad
}

// Indicator is one row of the table: its dimension, its points and the test.
type Indicator struct {
	Name      string // as in QualityIndicators (proto field name)
	Dimension string
	Points    int32
	Rule      string // what the dataset must have, for the docs
	test      func(d *moissonv1.Dataset) bool
	set       func(q *moissonv1.QualityIndicators)
}

// Indicators is THE table; README.md lists the same rows (a test checks it).
var Indicators = []Indicator{
	{"keywords", Findability, 30, "at least one keyword (dcat:keyword)",
		func(d *moissonv1.Dataset) bool { return nonEmpty(d.GetKeywords()) },
		func(q *moissonv1.QualityIndicators) { q.Keywords = true }},
	{"categories", Findability, 30, "at least one theme (dcat:theme), EU data theme or the portal's own",
		func(d *moissonv1.Dataset) bool { return nonEmpty(d.GetThemes()) || nonEmpty(d.GetRawThemes()) },
		func(q *moissonv1.QualityIndicators) { q.Categories = true }},
	{"spatial", Findability, 20, "a spatial coverage (dct:spatial: URI, label, INSEE code or bounding box)",
		func(d *moissonv1.Dataset) bool {
			s := d.GetSpatial()
			return s.GetUri() != "" || s.GetLabel() != "" || s.GetInseeCode() != "" || s.GetBbox() != nil
		},
		func(q *moissonv1.QualityIndicators) { q.Spatial = true }},
	{"temporal", Findability, 20, "a temporal coverage (dct:temporal with a start or an end)",
		func(d *moissonv1.Dataset) bool {
			return d.GetTemporal().GetStart() != nil || d.GetTemporal().GetEnd() != nil
		},
		func(q *moissonv1.QualityIndicators) { q.Temporal = true }},

	{"access_url", Accessibility, 50, "every distribution has an http(s) access URL (reachability is not probed), and there is at least one",
		func(d *moissonv1.Dataset) bool {
			return allDists(d, func(x *moissonv1.Distribution) bool { return httpURL(x.GetUrl()) || httpURL(x.GetDownloadUrl()) })
		},
		func(q *moissonv1.QualityIndicators) { q.AccessUrl = true }},
	{"download_url", Accessibility, 20, "at least one distribution has a download URL (dcat:downloadURL)",
		func(d *moissonv1.Dataset) bool {
			return anyDist(d, func(x *moissonv1.Distribution) bool { return x.GetDownloadUrl() != "" })
		},
		func(q *moissonv1.QualityIndicators) { q.DownloadUrl = true }},
	{"download_url_valid", Accessibility, 30, "every download URL given is an http(s) URL (reachability is not probed), and there is at least one",
		func(d *moissonv1.Dataset) bool {
			n := 0
			for _, x := range d.GetDistributions() {
				if u := x.GetDownloadUrl(); u != "" {
					if !httpURL(u) {
						return false
					}
					n++
				}
			}
			return n > 0
		},
		func(q *moissonv1.QualityIndicators) { q.DownloadUrlValid = true }},

	{"format", Interoperability, 20, "every distribution has a format (dct:format), and there is at least one",
		func(d *moissonv1.Dataset) bool {
			return allDists(d, func(x *moissonv1.Distribution) bool { return x.GetFormat() != "" })
		},
		func(q *moissonv1.QualityIndicators) { q.Format = true }},
	{"media_type", Interoperability, 10, "every distribution has a media type (dcat:mediaType), and there is at least one",
		func(d *moissonv1.Dataset) bool {
			return allDists(d, func(x *moissonv1.Distribution) bool { return x.GetMediaType() != "" })
		},
		func(q *moissonv1.QualityIndicators) { q.MediaType = true }},
	{"format_vocabulary", Interoperability, 10, "every format is one of the controlled vocabulary (the canonical names of harvester/normalize), and there is at least one",
		func(d *moissonv1.Dataset) bool {
			return allDists(d, func(x *moissonv1.Distribution) bool { return known[x.GetFormat()] })
		},
		func(q *moissonv1.QualityIndicators) { q.FormatVocabulary = true }},
	{"non_proprietary", Interoperability, 20, "at least one distribution in a non-proprietary format (EDP list: CSV, JSON, GeoJSON, XML, RDF, ODS, GML, KML, GPKG…)",
		func(d *moissonv1.Dataset) bool {
			return anyDist(d, func(x *moissonv1.Distribution) bool { return nonProprietary[x.GetFormat()] })
		},
		func(q *moissonv1.QualityIndicators) { q.NonProprietary = true }},
	{"machine_readable", Interoperability, 20, "at least one distribution in a machine-readable format (EDP list: CSV, JSON, XML, RDF, XLSX, XLS, ODS, SHP, GeoJSON…; not PDF, HTML, images)",
		func(d *moissonv1.Dataset) bool {
			return anyDist(d, func(x *moissonv1.Distribution) bool { return MachineReadable(x.GetFormat()) })
		},
		func(q *moissonv1.QualityIndicators) { q.MachineReadable = true }},
	{"dcat_ap", Interoperability, 30, "the DCAT-AP mandatory properties: a title, a description, and every distribution with an access URL (at least one distribution)",
		func(d *moissonv1.Dataset) bool {
			return strings.TrimSpace(d.GetTitle()) != "" && strings.TrimSpace(d.GetDescription()) != "" &&
				allDists(d, func(x *moissonv1.Distribution) bool { return x.GetUrl() != "" || x.GetDownloadUrl() != "" })
		},
		func(q *moissonv1.QualityIndicators) { q.DcatAp = true }},

	{"license", Reusability, 20, "a licence (dct:license), normalised to anything but unknown",
		func(d *moissonv1.Dataset) bool {
			n := d.GetLicense().GetNormalized()
			return n != "" && n != "unknown"
		},
		func(q *moissonv1.QualityIndicators) { q.License = true }},
	{"license_vocabulary", Reusability, 10, "the licence is a known one (an id of the licence table: not other, not unknown)",
		func(d *moissonv1.Dataset) bool {
			n := d.GetLicense().GetNormalized()
			return n != "" && n != "unknown" && n != "other"
		},
		func(q *moissonv1.QualityIndicators) { q.LicenseVocabulary = true }},
	{"access_rights", Reusability, 10, "access rights (dct:accessRights): not in Moisson's record, never met",
		func(*moissonv1.Dataset) bool { return false },
		func(q *moissonv1.QualityIndicators) { q.AccessRights = true }},
	{"access_rights_vocabulary", Reusability, 5, "access rights from the EU vocabulary: not in Moisson's record, never met",
		func(*moissonv1.Dataset) bool { return false },
		func(q *moissonv1.QualityIndicators) { q.AccessRightsVocabulary = true }},
	{"contact_point", Reusability, 20, "a contact point (dcat:contactPoint) with a name, an email or a URL",
		func(d *moissonv1.Dataset) bool {
			c := d.GetContactPoint()
			return c.GetName() != "" || c.GetEmail() != "" || c.GetUrl() != ""
		},
		func(q *moissonv1.QualityIndicators) { q.ContactPoint = true }},
	{"publisher", Reusability, 10, "a publisher (dct:publisher) with a name or a URI",
		func(d *moissonv1.Dataset) bool {
			return d.GetPublisher().GetName() != "" || d.GetPublisher().GetUri() != ""
		},
		func(q *moissonv1.QualityIndicators) { q.Publisher = true }},

	{"rights", Contextuality, 5, "rights information on the distributions (dct:rights): the licence as harvested (raw) stands for it",
		func(d *moissonv1.Dataset) bool { return strings.TrimSpace(d.GetLicense().GetRaw()) != "" },
		func(q *moissonv1.QualityIndicators) { q.Rights = true }},
	{"byte_size", Contextuality, 5, "at least one distribution gives its size (dcat:byteSize)",
		func(d *moissonv1.Dataset) bool {
			return anyDist(d, func(x *moissonv1.Distribution) bool { return x.GetByteSize() > 0 })
		},
		func(q *moissonv1.QualityIndicators) { q.ByteSize = true }},
	{"issued", Contextuality, 5, "a date of issue (dct:issued)",
		func(d *moissonv1.Dataset) bool { return d.GetIssued() != nil },
		func(q *moissonv1.QualityIndicators) { q.Issued = true }},
	{"modified", Contextuality, 5, "a modification date (dct:modified)",
		func(d *moissonv1.Dataset) bool { return d.GetModified() != nil },
		func(q *moissonv1.QualityIndicators) { q.Modified = true }},
}

// Assess scores a dataset.
func Assess(d *moissonv1.Dataset) *moissonv1.Quality {
	q := &moissonv1.Quality{Indicators: &moissonv1.QualityIndicators{}}
	for _, ind := range Indicators {
		if !ind.test(d) {
			continue
		}
		ind.set(q.Indicators)
		q.Score += ind.Points
		switch ind.Dimension {
		case Findability:
			q.Findability += ind.Points
		case Accessibility:
			q.Accessibility += ind.Points
		case Interoperability:
			q.Interoperability += ind.Points
		case Reusability:
			q.Reusability += ind.Points
		case Contextuality:
			q.Contextuality += ind.Points
		}
	}
	q.Rating = Rating(q.Score)
	return q
}

// MachineReadable tells whether a canonical format is machine-readable.
func MachineReadable(format string) bool { return machineReadable[format] }

func nonEmpty(list []string) bool {
	for _, s := range list {
		if strings.TrimSpace(s) != "" {
			return true
		}
	}
	return false
}

func anyDist(d *moissonv1.Dataset, f func(*moissonv1.Distribution) bool) bool {
	for _, x := range d.GetDistributions() {
		if f(x) {
			return true
		}
	}
	return false
}

func allDists(d *moissonv1.Dataset, f func(*moissonv1.Distribution) bool) bool {
	if len(d.GetDistributions()) == 0 {
		return false
	}
	for _, x := range d.GetDistributions() {
		if !f(x) {
			return false
		}
	}
	return true
}

func httpURL(s string) bool {
	if _, _, ok := normalize.PlainHTTPURL(s); ok {
		return true // the plainest shape, which url.Parse takes too
	}
	u, err := url.Parse(strings.TrimSpace(s))
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func set(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

// known are the canonical format names of harvester/normalize.
var known = set("CSV", "TSV", "JSON", "GeoJSON", "JSON-LD", "NDJSON", "XML", "RDF", "Turtle", "N-Triples",
	"XLSX", "XLS", "ODS", "DOCX", "DOC", "ODT", "PPTX", "PDF", "HTML", "TXT", "ZIP", "7Z", "GZIP",
	"SHP", "KML", "KMZ", "GML", "GPX", "GPKG", "MapInfo", "DXF", "GeoTIFF", "TIFF", "JPEG", "PNG", "SVG", "MP4",
	"NetCDF", "Parquet", "SQL", "GTFS", "WMS", "WMTS", "WFS", "WCS", "CSW", "ArcGIS REST", "API")

// nonProprietary follows the EDP's list of non-proprietary formats.
var nonProprietary = set("CSV", "TSV", "JSON", "GeoJSON", "JSON-LD", "NDJSON", "XML", "RDF", "Turtle", "N-Triples",
	"ODS", "ODT", "HTML", "TXT", "GML", "KML", "KMZ", "GPX", "GPKG", "GeoTIFF", "TIFF", "PNG", "SVG", "NetCDF",
	"Parquet", "GTFS", "WMS", "WMTS", "WFS", "WCS", "7Z", "GZIP", "ZIP")

// machineReadable follows the EDP's list of machine-readable formats.
var machineReadable = set("CSV", "TSV", "JSON", "GeoJSON", "JSON-LD", "NDJSON", "XML", "RDF", "Turtle", "N-Triples",
	"XLSX", "XLS", "ODS", "SHP", "KML", "KMZ", "GML", "GPX", "GPKG", "MapInfo", "DXF", "GeoTIFF", "NetCDF",
	"Parquet", "SQL", "GTFS", "WFS", "WCS", "API", "ArcGIS REST")
