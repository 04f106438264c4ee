package normalize

// Tests against the real payloads of <repo root>/../shared/fixtures/real
// (see SOURCES.md there). The fixtures are read at test time and never
// copied into the repository. Without them the tests skip, except when
// CI=true, where they fail.

import (
	"encoding/json"
	"github.com/opendatafrance/moisson/harvester/internal/sharedtest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
)

type fixtureCorpus struct {
	files map[string]string   // path relative to the fixture dir → content
	json  map[string][]string // JSON key → every string value under that key, all files
}

var (
	fixturesOnce sync.Once
	fixtures     *fixtureCorpus
	fixturesErr  string
)

// loadFixtures returns the corpus or skips (fails under CI=true) the test.
func loadFixtures(t *testing.T) *fixtureCorpus {
	t.Helper()
	fixturesOnce.Do(func() {
		dir := sharedtest.Path("fixtures", "real")
		if dir == "" {
			fixturesErr = "real fixtures not found at <repo root>/../shared/fixtures/real"
			return
		}
		c := &fixtureCorpus{files: map[string]string{}, json: map[string][]string{}}
		err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			c.files[rel] = string(b)
			if strings.HasSuffix(p, ".json") || strings.HasSuffix(p, ".jsonld") {
				var v any
				if json.Unmarshal(b, &v) == nil {
					collectJSON(v, c.json)
				}
			}
			return nil
		})
		if err != nil {
			fixturesErr = err.Error()
			return
		}
		fixtures = c
	})
	if fixtures == nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("real fixtures are required under CI=true: %s", fixturesErr)
		}
		t.Skipf("skipping: %s (set CI=true to make this an error)", fixturesErr)
	}
	return fixtures
}

func collectJSON(v any, out map[string][]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			switch s := e.(type) {
			case string:
				out[k] = append(out[k], s)
			case []any:
				for _, i := range s {
					if str, ok := i.(string); ok {
						out[k] = append(out[k], str)
					}
				}
			}
			collectJSON(e, out)
		}
	case []any:
		for _, e := range x {
			collectJSON(e, out)
		}
	}
}

// values gathers the JSON values of keys and the matches of the first group
// of each regexp over every XML/RDF/Turtle file, deduplicated and sorted.
func (c *fixtureCorpus) values(keys []string, res ...*regexp.Regexp) []string {
	set := map[string]bool{}
	for _, k := range keys {
		for _, v := range c.json[k] {
			set[v] = true
		}
	}
	for name, body := range c.files {
		if strings.HasSuffix(name, ".json") || strings.HasSuffix(name, ".md") {
			continue
		}
		for _, re := range res {
			for _, m := range re.FindAllStringSubmatch(body, -1) {
				set[strings.TrimSpace(m[1])] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for v := range set {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestFixtureLicenses(t *testing.T) {
	c := loadFixtures(t)
	vals := c.values([]string{"license", "license_id", "license_title", "license_url"},
		regexp.MustCompile(`(?s)<dct:license[^>/]*>([^<]+)</dct:license>`),
		regexp.MustCompile(`dct:license rdf:resource="([^"]+)"`),
		regexp.MustCompile(`dct:license\s+<([^>]+)>`),
		regexp.MustCompile(`dct:license\s+"([^"]+)"`),
		regexp.MustCompile(`<dct:title[^>]*>(Licence[^<]*)</dct:title>`),
	)
	if len(vals) < 15 {
		t.Fatalf("only %d licence strings extracted from the fixtures: %q", len(vals), vals)
	}
	for _, v := range vals {
		if id := License(v); !validLicenseID(id) {
			t.Errorf("License(%q) = %q, not a normalised id", v, id)
		}
	}
	want := map[string]string{
		"cc-by":                        "cc-by-4.0",
		"Creative Commons Attribution": "cc-by-4.0",
		"http://www.opendefinition.org/licenses/cc-by": "cc-by-4.0",
		"other-open":            "other",
		"Other (Open)":          "other",
		"notspecified":          "unknown",
		"License not specified": "unknown",
		"":                      "unknown",
		"http://www.etalab.gouv.fr/pages/Licence_ouverte_Open_licence-5899923.html": "etalab-1.0",
		"http://creativecommons.org/licenses/by/3.0/":                               "cc-by-3.0",
		"Licence Ouverte (Etalab)":                                                  "etalab-2.0",
		"Licence Ouverte Version 2.0":                                               "etalab-2.0",
		"Licence Ouverte Version 1.0":                                               "etalab-1.0",
		"Licence Ouverte version 2.0  https://www.etalab.gouv.fr/wp-content/uploads/2017/04/ETALAB-Licence-Ouverte-v2.0.pdf": "etalab-2.0",
		"http://publications.europa.eu/resource/authority/licence/CC_BYNCND_3_0":                                             "cc-by-nc-nd-3.0",
		"http://publications.europa.eu/resource/authority/licence/COM_REUSE":                                                 "other",
		"http://creativecommons.org/licenses/by-nc/2.0/":                                                                     "cc-by-nc-2.0",
		"https://data.some.org/link/to/license":                                                                              "other",
	}
	for raw, id := range want {
		if !contains(vals, raw) {
			t.Errorf("fixture licence string %q not found any more", raw)
			continue
		}
		if got := License(raw); got != id {
			t.Errorf("License(%q) = %q, want %q", raw, got, id)
		}
	}
	// Strings that only appear inside longer text or HTML.
	for raw, id := range map[string]string{
		"Licence Ouverte 1.0 http://www.data.gouv.fr/Licence-Ouverte-Open-Licence.": "etalab-1.0",
		"Licence Ouverte / Open License (compatible ODC-BY, CC-BY 2.0)":             "etalab-2.0",
		"Creative Commons Attribution 4.0 International License":                    "cc-by-4.0",
	} {
		if !c.anyFileContains(raw) {
			t.Errorf("fixture text %q not found any more", raw)
		}
		if got := License(raw); got != id {
			t.Errorf("License(%q) = %q, want %q", raw, got, id)
		}
	}
	etalabHTML := 0
	for _, v := range c.json["license"] {
		if strings.Contains(v, "<DIV") {
			etalabHTML++
			if got := License(v); got != "etalab-2.0" {
				t.Errorf("License(%q) = %q, want etalab-2.0", v, got)
			}
		}
	}
	if etalabHTML == 0 {
		t.Error("the HTML licence strings of evian.json are gone")
	}
}

func (c *fixtureCorpus) anyFileContains(s string) bool {
	for _, body := range c.files {
		if strings.Contains(body, s) {
			return true
		}
	}
	return false
}

func TestFixtureFormats(t *testing.T) {
	c := loadFixtures(t)
	vals := c.values([]string{"format", "mimetype", "mime"},
		regexp.MustCompile(`<(?:dct|dcterms):format[^>/]*>([^<]+)<`),
		regexp.MustCompile(`<dcat:mediaType[^>/]*>([^<]+)<`),
		regexp.MustCompile(`(?:dct:format|dcat:mediaType) rdf:resource="([^"]+)"`),
		regexp.MustCompile(`(?:dct:format|dcat:mediaType)\s+"([^"]+)"`),
		regexp.MustCompile(`(?:dct:format|dcat:mediaType)\s+<([^>]+)>`),
		regexp.MustCompile(`(?s)<gmd:MD_Format>\s*<gmd:name>\s*<gco:CharacterString>([^<]+)<`),
		regexp.MustCompile(`(?s)<gmd:protocol>\s*<gco:CharacterString>([^<]+)<`),
	)
	if len(vals) < 40 {
		t.Fatalf("only %d format strings extracted: %q", len(vals), vals)
	}
	names := map[string]bool{"": true}
	for _, r := range formats {
		names[r.Name] = true
	}
	// Values of the fixtures that are not formats we can name: they must
	// come back upper-cased, and nothing else may.
	unmapped := map[string]bool{"csv excel": true, "xcls": true, "wu": true, "wuwuwu": true, "image": true,
		"r package": true, "http://example.org/format": true}
	for _, v := range vals {
		got := Format(v)
		if unmapped[v] {
			if got != strings.ToUpper(strings.TrimSpace(v)) {
				t.Errorf("Format(%q) = %q, want it upper-cased", v, got)
			}
			continue
		}
		if !names[got] {
			t.Errorf("Format(%q) = %q: not a canonical name (add a row or list it as unmapped)", v, got)
		}
	}
	for raw, want := range map[string]string{
		"csv": "CSV", "text/csv": "CSV", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX",
		"ArcGIS GeoServices REST API": "ArcGIS REST", "Web Page": "HTML", "page web": "HTML", "parquet": "Parquet",
		"shapefile": "SHP", "n-triples": "N-Triples", "application/n-triples": "N-Triples", "image/tiff": "TIFF",
		"application/xls": "XLS", "xlsx": "XLSX", "WWW:LINK-1.0-http--link": "", "WWW:DOWNLOAD-1.0-http--download": "",
		"OGC:WMS": "WMS", "OGC:WMS-1.3.0-http-get-map": "WMS", "OGC:WFS-1.1.0-http-get-feature": "WFS",
		"GLG:KML-2.0-http-get-map": "KML", "ESRI Shapefile (SHP)": "SHP", "MapInfo TAB": "MapInfo", "NetCDF4": "NetCDF",
		".xlsx": "XLSX", ".xls": "XLS", "ttl": "Turtle", "http://publications.europa.eu/resource/authority/file-type/CSV": "CSV",
		"https://www.iana.org/assignments/media-types/application/json": "JSON",
		"http://www.iana.org/assignments/media-types/text/csv":          "CSV",
		"JPEG": "JPEG", "ODT": "ODT", "DOCX": "DOCX", "gtfs": "GTFS", "application/octet-stream": "",
		"GeoJSON": "GeoJSON", "KML": "KML", "www": "HTML", "text/html": "HTML", "txt": "TXT", "zip": "ZIP",
		"application/vnd.ogc.csw_xml": "CSW", "GML": "GML", "RDF": "RDF", "api": "API",
	} {
		if !contains(vals, raw) {
			t.Errorf("fixture format string %q not found any more", raw)
			continue
		}
		if got := Format(raw); got != want {
			t.Errorf("Format(%q) = %q, want %q", raw, got, want)
		}
	}
	// URLs of real resources.
	urls := c.values([]string{"url", "download_url", "accessURL"},
		regexp.MustCompile(`dcat:downloadURL rdf:resource="([^"]+)"`))
	byExt := 0
	for _, u := range urls {
		got := FormatFromURL(u)
		if got != "" && !names[got] {
			t.Errorf("FormatFromURL(%q) = %q", u, got)
		}
		if strings.HasSuffix(strings.ToLower(u), ".csv") {
			byExt++
			if got != "CSV" {
				t.Errorf("FormatFromURL(%q) = %q, want CSV", u, got)
			}
		}
	}
	if byExt == 0 {
		t.Error("no .csv URL found in the fixtures")
	}
}

func TestFixtureDates(t *testing.T) {
	c := loadFixtures(t)
	dateKey := regexp.MustCompile(`(?i)(date|modified|created|issued|_at$|last_update|revision_timestamp|start|end)`)
	var keys []string
	for k := range c.json {
		if dateKey.MatchString(k) {
			keys = append(keys, k)
		}
	}
	looksDate := regexp.MustCompile(`^\d{4}(-\d\d)?`)
	var vals []string
	for _, v := range c.values(keys,
		regexp.MustCompile(`<(?:dct|dcterms):(?:issued|modified|created)[^>/]*>([^<]+)<`),
		regexp.MustCompile(`<gco:Date(?:Time)?>([^<]+)<`),
		regexp.MustCompile(`(?:dct:issued|dct:modified|dcat:startDate|dcat:endDate)\s+"([^"]+)"`),
	) {
		if looksDate.MatchString(v) {
			vals = append(vals, v)
		}
	}
	if len(vals) < 100 {
		t.Fatalf("only %d date strings extracted", len(vals))
	}
	shapes := map[string]bool{}
	for _, v := range vals {
		shapes[regexp.MustCompile(`\d`).ReplaceAllString(v, "9")] = true
		if _, ok := Time(v); !ok {
			t.Errorf("Time(%q) failed", v)
		}
	}
	for _, s := range []string{"9999-99-99T99:99:99.999999+99:99", "9999-99-99 99:99:99.999999+99", "9999-99-99T99:99:99.999Z",
		"9999-99-99T99:99", "9999-99", "9999"} {
		if !shapes[s] {
			t.Errorf("no fixture date of shape %s any more", s)
		}
	}
	if !c.anyFileContains("<gco:Date>Unknown</gco:Date>") {
		t.Error(`"Unknown" gco:Date gone from the fixtures`)
	}
	if _, ok := Time("Unknown"); ok {
		t.Error(`Time("Unknown") succeeded`)
	}
}

func TestFixtureThemesAndSCDL(t *testing.T) {
	c := loadFixtures(t)
	for raw, want := range map[string][]string{
		"Spatial planning, Town planning, Buildings, Equipment, Housing": {"REGI"},
		"Culture, Heritage": {"EDUC"},
		"Environment":       {"ENVI"},
	} {
		if !contains(c.json["theme"], raw) {
			t.Errorf("ODS theme %q not found any more", raw)
		}
		if got := Themes([]string{raw}); !reflect.DeepEqual(got, want) {
			t.Errorf("Themes(%q) = %v, want %v", raw, got, want)
		}
	}
	uris := c.values(nil, regexp.MustCompile(`(http://publications\.europa\.eu/resource/authority/data-theme/[A-Z_]+)`))
	if len(uris) < 5 {
		t.Errorf("only %d data-theme URIs in the fixtures", len(uris))
	}
	for _, u := range uris {
		if got := Themes([]string{u}); len(got) != 1 || !strings.HasSuffix(u, "/"+got[0]) {
			t.Errorf("Themes(%q) = %v", u, got)
		}
	}
	// udata resource schema.name and a real schema URL declare IRVE.
	if !contains(c.json["name"], "etalab/schema-irve-statique") {
		t.Error("udata schema.name etalab/schema-irve-statique not found any more")
	}
	const irveURL = "https://schema.data.gouv.fr/schemas/etalab/schema-irve-statique/2.2.0/schema-statique.json"
	if !c.anyFileContains(irveURL) {
		t.Error("IRVE schema URL not found any more")
	}
	for _, conf := range []string{"etalab/schema-irve-statique", irveURL} {
		got := matches(SCDL("", nil, []string{conf}, nil))
		if !reflect.DeepEqual(got, []string{"etalab/schema-irve-statique=declared"}) {
			t.Errorf("SCDL(conformsTo %q) = %v", conf, got)
		}
	}
	// real udata tags
	for tag, want := range map[string]string{"irve": "etalab/schema-irve-statique", "bal": "etalab/schema-bal",
		"base-adresse-locale": "etalab/schema-bal", "defibrillateur": "atlasante/schema-dae", "defibrilateurs": "atlasante/schema-dae"} {
		if !contains(c.json["tags"], tag) {
			t.Errorf("udata tag %q not found any more", tag)
		}
		if ev := evidenceFor(SCDL("x", []string{tag}, nil, nil), want); ev != EvidenceTitle {
			t.Errorf("tag %q: %s evidence %q", tag, want, ev)
		}
	}
}

func TestFixtureIdentifiers(t *testing.T) {
	c := loadFixtures(t)
	sirets := c.json["siretisation:found_siret"]
	if len(sirets) == 0 {
		t.Fatal("no siretisation:found_siret in the fixtures")
	}
	for _, s := range sirets {
		if got := SIREN(s); got != s[:9] {
			t.Errorf("SIREN(%q) = %q, want %q", s, got, s[:9])
		}
	}
	// insee.fr information pages carry 5-digit numbers that are not communes.
	pages := c.values(nil, regexp.MustCompile(`(https?://(?:www\.)?insee\.fr/fr/[a-z]+/\d+)`))
	if len(pages) == 0 {
		t.Fatal("no insee.fr page URL in the fixtures")
	}
	for _, p := range pages {
		if got := INSEE(p); got != "" {
			t.Errorf("INSEE(%q) = %q, want none", p, got)
		}
	}
}
