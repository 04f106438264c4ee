package csw

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/opendatafrance/moisson/harvester/internal/sharedtest"
	"github.com/opendatafrance/moisson/harvester/source/sourcetest"

	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/simulator"
	"github.com/opendatafrance/moisson/harvester/source"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
)

func repoFixtures() string { return sharedtest.Path("fixtures", "real") }

func fixtureDir(t testing.TB) string {
	t.Helper()
	return sharedtest.Fixtures(t)
}

// sink records what the adapter hands over.
type sink struct{ sourcetest.Sink }

func (s *sink) byID(id string) *moissonv1.Dataset {
	for _, r := range s.Recs {
		if r.Dataset.OriginalId == id {
			return r.Dataset
		}
	}
	return nil
}

func formats(d *moissonv1.Dataset) string {
	set := map[string]bool{}
	for _, x := range d.Distributions {
		if x.Format != "" {
			set[x.Format] = true
		}
	}
	var out []string
	for f := range set {
		out = append(out, f)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

const csw = "opendatateam__udata/udata/harvest/tests/csw_dcat/"

// Counts from SOURCES.md: records, numberOfRecordsMatched, paging problems.
var fixtureCounts = []struct {
	path             string
	records          int
	matched          int64
	pagingProblems   int
	normaliseProblem int
}{
	{csw + "geonetwork-iso19139-page-1.xml", 2, 6, 0, 0},
	{csw + "geonetwork-iso19139-page-3.xml", 2, 6, 0, 0},
	{csw + "geonetwork-iso19139-page-5.xml", 2, 6, 0, 0},
	{csw + "geoide-iso19139-single-dataset.xml", 1, 1, 0, 0},
	{csw + "geoplateforme-iso19139-IGNF_RPG.xml", 1, 1, 0, 0},
	{csw + "records/combles.xml", 1, -1, 0, 0},
	{csw + "geonetwork-dcat-page-1.xml", 2, 6, 0, 0},
	{csw + "geonetwork-dcat-page-3.xml", 2, 6, 0, 2}, // lenient RDF repairs reported by dcat
	{csw + "geonetwork-dcat-page-5.xml", 2, 6, 0, 1},
	// GeoNetwork's GeoDCAT-AP output says numberOfRecordsReturned=6 for 2 records.
	{csw + "geonetwork-geodcatap-page-1.xml", 2, 6, 1, 0},
	{csw + "geonetwork-geodcatap-page-3.xml", 2, 6, 1, 0},
	{csw + "geonetwork-geodcatap-page-5.xml", 2, 6, 1, 0},
	{"magda-io__magda-csw-connector/src/test/tern.xml", 10, 61, 0, 0},
	{"magda-io__magda-csw-connector/src/test/vic-geonetwork.xml", 10, 6952, 0, 0},
	{"magda-io__magda-csw-connector/src/test/aurin-response.xml", 2, 2, 0, 0},
	{"geopython__OWSLib/tests/resources/inspire-getrecords-response.xml", 2, 216, 0, 0},
	{"geopython__OWSLib/tests/resources/csw_dov_getrecordbyid.xml", 1, -1, 0, 0},
}

func readFile(t *testing.T, path, base string) (*sink, error) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{}
	return s, Read(context.Background(), bytes.NewReader(b), base, s)
}

func TestReadFixtureCounts(t *testing.T) {
	dir := fixtureDir(t)
	for _, c := range fixtureCounts {
		t.Run(filepath.Base(c.path), func(t *testing.T) {
			s, err := readFile(t, filepath.Join(dir, c.path), "")
			if err != nil {
				t.Fatal(err)
			}
			paging, norm := 0, 0
			for _, p := range s.Problems {
				switch p.Kind {
				case source.KindPaging:
					paging++
				default:
					norm++
				}
			}
			if len(s.Recs) != c.records || s.Declared != c.matched || paging != c.pagingProblems || norm != c.normaliseProblem {
				t.Errorf("%d records, matched %d, %d paging / %d other problems; want %d, %d, %d, %d: %v",
					len(s.Recs), s.Declared, paging, norm, c.records, c.matched, c.pagingProblems, c.normaliseProblem, s.Problems)
			}
			for _, r := range s.Recs {
				if r.Dataset.Title == "" || r.Dataset.OriginalId == "" || r.Dataset.License == nil {
					t.Errorf("incomplete record %v", r.Dataset)
				}
			}
		})
	}
}

func TestReadISOFields(t *testing.T) {
	dir := fixtureDir(t)
	s, err := readFile(t, filepath.Join(dir, csw+"geonetwork-iso19139-page-1.xml"),
		"https://catalogue.geo-ide.developpement-durable.gouv.fr/catalogue/srv/fre/csw?request=GetRecords")
	if err != nil {
		t.Fatal(err)
	}
	d := s.byID("fr-120066022-ldd-56fce164-04b2-41ae-be87-9f256f39dd44")
	if d == nil {
		t.Fatal("Cartigny record missing")
	}
	if d.Title != "Plan local d'urbanisme de la commune de Cartigny" || d.Language != "fr" {
		t.Errorf("title/language: %q %q", d.Title, d.Language)
	}
	if d.License.Normalized != "etalab-1.0" || !strings.Contains(d.License.Raw, "Licence Ouverte 1.0") {
		t.Errorf("licence %v", d.License)
	}
	if d.Modified.AsTime().Format(time.RFC3339Nano) != "2019-03-25T21:55:41.312Z" || d.Issued.AsTime().Format("2006-01-02") != "2017-10-07" {
		t.Errorf("dates: issued %v modified %v", d.Issued.AsTime(), d.Modified.AsTime())
	}
	if !strings.HasPrefix(d.Publisher.GetName(), "DDTM 80") || d.ContactPoint.GetEmail() != "ddtm-sap-bsig@somme.gouv.fr" {
		t.Errorf("publisher/contact: %v %v", d.Publisher, d.ContactPoint)
	}
	bb := d.Spatial.GetBbox()
	if bb == nil || bb.West != 1.31279111 || bb.East != 3.28133559 || bb.South != 49.38547516 || bb.North != 50.48188019 {
		t.Errorf("bbox (longitudes are swapped in the record) %v", bb)
	}
	if len(d.RawThemes) != 1 || d.RawThemes[0] != "planningCadastre" || len(d.Themes) == 0 || d.Themes[0] != "REGI" {
		t.Errorf("themes %v %v", d.RawThemes, d.Themes)
	}
	if len(d.Keywords) == 0 || len(d.Distributions) < 3 {
		t.Errorf("keywords %v, %d distributions", d.Keywords, len(d.Distributions))
	}
	if d.LandingPage != "https://catalogue.geo-ide.developpement-durable.gouv.fr/catalogue/srv/fre/catalog.search#/metadata/fr-120066022-ldd-56fce164-04b2-41ae-be87-9f256f39dd44" {
		t.Errorf("landing page %s", d.LandingPage)
	}

	s, err = readFile(t, filepath.Join(dir, csw+"geoplateforme-iso19139-IGNF_RPG.xml"), "")
	if err != nil {
		t.Fatal(err)
	}
	rpg := s.byID("IGNF_RPG")
	if rpg == nil || rpg.Title != "RPG" || rpg.License.Normalized != "etalab-2.0" || formats(rpg) != "CSV,PDF,WFS,WMS,WMTS,ZIP" ||
		rpg.Modified.AsTime().Format("2006-01-02") != "2025-01-01" {
		t.Errorf("RPG: %v formats %s", rpg, formats(rpg))
	}
	for _, x := range rpg.Distributions {
		if (x.Format == "WMS" || x.Format == "WFS") && x.DownloadUrl != "" {
			t.Errorf("a service has a download URL: %v", x)
		}
	}

	// ISO 19115-3.
	s, err = readFile(t, filepath.Join(dir, "magda-io__magda-csw-connector/src/test/vic-geonetwork.xml"), "")
	if err != nil {
		t.Fatal(err)
	}
	v := s.byID("fa0e47c9-8bf8-5c0e-a670-460cc3d0478c")
	if v == nil || v.Title != "rushworth1_2006jan14_air_vis_15cm_mga55" || v.Modified == nil ||
		v.Publisher.GetName() != "Department of Environment, Land, Water and Planning (DELWP)" || v.Description == "" {
		t.Errorf("ISO 19115-3 record: %v", v)
	}
	withLinks := 0
	for _, r := range s.Recs {
		if len(r.Dataset.Distributions) > 0 {
			withLinks++
		}
	}
	if withLinks == 0 {
		t.Error("no ISO 19115-3 record has an online resource")
	}

	// DCAT records, handed to the dcat package.
	s, err = readFile(t, filepath.Join(dir, csw+"geonetwork-dcat-page-1.xml"), "")
	if err != nil {
		t.Fatal(err)
	}
	g := s.byID("https://www.geo2france.fr/insee/partmenage5ans")
	if g == nil || !strings.HasPrefix(g.Title, "INSEE - Part des ménages") || g.Publisher.GetName() != "Géo2France" ||
		len(g.Distributions) < 5 || !strings.Contains(formats(g), "WMS") {
		t.Errorf("DCAT record: %v", g)
	}
}

func TestReadErrors(t *testing.T) {
	exc := `<?xml version="1.0" encoding="UTF-8"?>
<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows" version="1.2.0">
  <ows:Exception exceptionCode="InvalidParameterValue" locator="outputSchema">
    <ows:ExceptionText>Output schema not supported: foo</ows:ExceptionText>
  </ows:Exception>
</ows:ExceptionReport>`
	err := Read(context.Background(), strings.NewReader(exc), "", &sink{})
	var ee *ExceptionError
	if !errors.As(err, &ee) || ee.Code != "InvalidParameterValue" || ee.Locator != "outputSchema" ||
		!strings.Contains(err.Error(), "Output schema not supported: foo") {
		t.Errorf("exception report: %v", err)
	}
	for doc, want := range map[string]string{
		"<csw:GetRecordsResponse xmlns:csw=\"http://www.opengis.net/cat/csw/2.0.2\">\n<csw:SearchResults numberOfRecordsMatched=\"1\">\n<gmd:MD_Metadata xmlns:gmd=\"http://www.isotc211.org/2005/gmd\">\n</gmd:MD_Meta>": "line 4",
		`<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><r>&b;</r>`:                                                                                                                         "DTD refused",
		`<html><body>Not found</body></html>`: "not a CSW answer",
		``:                                    "no root element",
		`<csw:GetRecordsResponse xmlns:csw="http://www.opengis.net/cat/csw/2.0.2"><csw:SearchResults numberOfRecordsMatched="x"/></csw:GetRecordsResponse>`: "not a count",
		`<csw:GetRecordsResponse xmlns:csw="http://www.opengis.net/cat/csw/2.0.2"><csw:SearchResults numberOfRecordsMatched="3">`:                           "truncated",
		`<?xml version="1.0" encoding="EBCDIC"?><a/>`: "unsupported encoding",
	} {
		err := Read(context.Background(), strings.NewReader(doc), "", &sink{})
		var pe *ParseError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), want) {
			t.Errorf("%.60q: %v, want a ParseError with %q", doc, err, want)
		}
	}
}

func TestReadLatin1AndDC(t *testing.T) {
	doc := "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n" +
		`<csw:GetRecordsResponse xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dct="http://purl.org/dc/terms/" xmlns:ows="http://www.opengis.net/ows">` +
		`<csw:SearchResults numberOfRecordsMatched="1" numberOfRecordsReturned="1" nextRecord="0"><csw:Record>` +
		"<dc:identifier>r1</dc:identifier><dc:title>Arr\xeat\xe9s municipaux</dc:title><dc:subject>\xe9lections</dc:subject>" +
		"<dct:modified>2024-02-03</dct:modified><dc:rights>Licence Ouverte</dc:rights>" +
		`<dc:URI protocol="WWW:DOWNLOAD-1.0-http--download">https://x.fr/a.csv</dc:URI>` +
		`<ows:BoundingBox crs="urn:ogc:def:crs:EPSG:6.6:4326"><ows:LowerCorner>47.1 -1.7</ows:LowerCorner><ows:UpperCorner>47.3 -1.4</ows:UpperCorner></ows:BoundingBox>` +
		"</csw:Record></csw:SearchResults></csw:GetRecordsResponse>"
	s := &sink{}
	if err := Read(context.Background(), strings.NewReader(doc), "", s); err != nil {
		t.Fatal(err)
	}
	if len(s.Recs) != 1 {
		t.Fatalf("%d records %v", len(s.Recs), s.Problems)
	}
	d := s.Recs[0].Dataset
	if d.Title != "Arrêtés municipaux" || d.Keywords[0] != "élections" || d.License.Normalized != "etalab-2.0" ||
		formats(d) != "CSV" || d.Spatial.GetBbox().GetWest() != -1.7 || d.Spatial.GetBbox().GetNorth() != 47.3 {
		t.Errorf("DC record: %v", d)
	}
}

// ---- against the simulator ------------------------------------------------------

func harvest(t *testing.T, src *config.Source) (*sink, error) {
	t.Helper()
	out := &sink{}
	return out, sourcetest.Harvest(t, New, src, out)
}

func TestHarvestSimulator(t *testing.T) {
	sim, src := sourcetest.ServeSource(t, "geobretagne-csw", 120, nil)
	s, err := harvest(t, src)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Recs) != 120 || len(s.Pages) != 3 || s.Declared != 120 || len(s.Problems) != 0 {
		t.Fatalf("%d records, %d pages, declared %d, problems %v", len(s.Recs), len(s.Pages), s.Declared, s.Problems)
	}
	if !strings.Contains(s.Pages[1], "startPosition=51") || !strings.Contains(s.Pages[1], "maxRecords=50") ||
		!strings.Contains(s.Pages[1], "outputSchema=http%3A%2F%2Fwww.isotc211.org%2F2005%2Fgmd") {
		t.Errorf("page 2 URL %s", s.Pages[1])
	}
	byTitle := map[string]*moissonv1.Dataset{}
	for _, r := range s.Recs {
		byTitle[r.Dataset.Title] = r.Dataset
	}
	for _, g := range sim.Datasets("geobretagne-csw") {
		d := byTitle[g.Title]
		if d == nil {
			t.Fatalf("%q not harvested", g.Title)
		}
		if d.Modified.AsTime().Format("2006-01-02T15:04:05") != g.Modified.UTC().Format("2006-01-02T15:04:05") {
			t.Errorf("%s: modified %v want %v", g.Title, d.Modified.AsTime(), g.Modified)
		}
		if d.License.Normalized == "unknown" || d.License.Normalized == "other" {
			t.Errorf("%s: licence %v", g.Title, d.License)
		}
		if d.Publisher.GetName() != g.Publisher || d.ContactPoint.GetEmail() != g.Contact {
			t.Errorf("%s: publisher %v contact %v", g.Title, d.Publisher, d.ContactPoint)
		}
		if !strings.HasPrefix(d.LandingPage, "https://geobretagne.fr/geonetwork/srv/fre/catalog.search#/metadata/") {
			t.Errorf("landing page %s", d.LandingPage)
		}
		if d.Spatial.GetBbox() == nil || len(d.Distributions) < len(g.Resources) || d.Distributions[0].Url != g.Resources[0].URL ||
			d.Distributions[0].DownloadUrl == "" {
			t.Errorf("%s: spatial %v distributions %v", g.Title, d.Spatial, d.Distributions)
		}
	}
	// Page size from the parameters; an empty catalogue.
	_, src = sourcetest.ServeSource(t, "datara-csw", 7, map[string]string{"page_size": "3"})
	if s, err := harvest(t, src); err != nil || len(s.Recs) != 7 || len(s.Pages) != 3 {
		t.Errorf("page_size 3: %v, %d records, %d pages", err, len(s.Recs), len(s.Pages))
	}
	_, src = sourcetest.ServeSource(t, "datara-csw", 0, nil)
	if s, err := harvest(t, src); err != nil || len(s.Recs) != 0 || s.Declared != 0 {
		t.Errorf("empty: %v, %d records", err, len(s.Recs))
	}
}

func TestHarvestFaults(t *testing.T) {
	sim, src := sourcetest.ServeSource(t, "picto-csw", 9, map[string]string{"page_size": "3"})
	sim.SetFault("picto-csw", simulator.Fault{Status: 503, FromPage: 2})
	s, err := harvest(t, src)
	if source.KindOf(err) != source.KindHTTP || len(s.Recs) != 3 {
		t.Errorf("503 on page 2: %v (%s), %d records", err, source.KindOf(err), len(s.Recs))
	}
	sim.ClearFaults()
	sim.SetFault("picto-csw", simulator.Fault{TruncateAtPage: 3})
	s, err = harvest(t, src)
	if err == nil || len(s.Recs) >= 9 {
		t.Errorf("truncated page 3: %v, %d records", err, len(s.Recs))
	}
}

// cswPage writes a GetRecordsResponse with n Dublin Core records from first.
func cswPage(matched, returned, next, first, n int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?><csw:GetRecordsResponse xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" xmlns:dc="http://purl.org/dc/elements/1.1/">`+
		`<csw:SearchResults numberOfRecordsMatched="%d" numberOfRecordsReturned="%d" nextRecord="%d">`, matched, returned, next)
	for i := first; i < first+n; i++ {
		fmt.Fprintf(&b, `<csw:Record><dc:identifier>id-%d</dc:identifier><dc:title>Record %d</dc:title></csw:Record>`, i, i)
	}
	b.WriteString(`</csw:SearchResults></csw:GetRecordsResponse>`)
	return b.Bytes()
}

func TestPagingAnomalies(t *testing.T) {
	cases := []struct {
		name  string
		pages map[int][]byte // startPosition → body (page size 2)
		loose []byte         // answers every request
		want  string
	}{
		{"backwards", map[int][]byte{1: cswPage(6, 2, 3, 1, 2), 3: cswPage(6, 2, 1, 3, 2)}, nil, "does not move forward"},
		{"past matched", map[int][]byte{1: cswPage(6, 2, 9, 1, 2)}, nil, "past numberOfRecordsMatched"},
		{"identical", nil, cswPage(6, 2, 3, 1, 2), "identical to page 1"},
		{"fewer than returned", map[int][]byte{1: cswPage(6, 2, 3, 1, 2), 3: cswPage(6, 2, 5, 3, 1)}, nil, "numberOfRecordsReturned says 2"},
		{"ends early", map[int][]byte{1: cswPage(6, 2, 3, 1, 2), 3: cswPage(6, 2, 0, 3, 2)}, nil, "numberOfRecordsMatched is 6"},
		{"empty with next", map[int][]byte{1: cswPage(6, 2, 3, 1, 2), 3: cswPage(6, 0, 5, 3, 0)}, nil, "empty page"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sim, src := sourcetest.ServeSource(t, "datara-csw", 6, map[string]string{"page_size": "2"})
			s, err := New(src, sourcetest.Env())
			if err != nil {
				t.Fatal(err)
			}
			cs := s.(*Source)
			for start, body := range c.pages {
				sim.ServePayload("datara-csw", strings.TrimPrefix(cs.PageURL(start), src.Endpoint[:strings.Index(src.Endpoint, "/sim/")]+"/sim/datara-csw"), "application/xml", body)
			}
			if c.loose != nil {
				sim.ServePayload("datara-csw", "/geonetwork/srv/eng/csw-RAIN", "application/xml", c.loose)
			}
			out := &sink{}
			err = cs.Harvest(context.Background(), out)
			if source.KindOf(err) != source.KindPaging || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%v, want a paging error with %q (records %d)", err, c.want, len(out.Recs))
			}
		})
	}
	// An exception report stops the walk with its text.
	sim, src := sourcetest.ServeSource(t, "datara-csw", 6, nil)
	sim.ServePayload("datara-csw", "/geonetwork/srv/eng/csw-RAIN", "application/xml",
		[]byte(`<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows"><ows:Exception exceptionCode="NoApplicableCode"><ows:ExceptionText>Lucene index locked</ows:ExceptionText></ows:Exception></ows:ExceptionReport>`))
	_, err := harvest(t, src)
	if source.KindOf(err) != source.KindParse || !strings.Contains(err.Error(), "Lucene index locked") {
		t.Errorf("exception report: %v", err)
	}
}

func FuzzReadCSW(f *testing.F) {
	f.Add(cswPage(3, 2, 3, 1, 2))
	f.Add([]byte(`<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows"><ows:Exception exceptionCode="x"/></ows:ExceptionReport>`))
	f.Add([]byte(`<csw:GetRecordsResponse xmlns:csw="http://www.opengis.net/cat/csw/2.0.2"><csw:SearchResults><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dcat="http://www.w3.org/ns/dcat#" xmlns:dct="http://purl.org/dc/terms/"><dcat:Dataset rdf:about="http://x/1"><dct:title>t</dct:title></dcat:Dataset></rdf:RDF></csw:SearchResults></csw:GetRecordsResponse>`))
	if dir := repoFixtures(); dir != "" {
		for _, p := range []string{csw + "geonetwork-iso19139-page-3.xml", csw + "geonetwork-dcat-page-1.xml", csw + "records/combles.xml",
			"magda-io__magda-csw-connector/src/test/aurin-response.xml"} {
			if b, err := os.ReadFile(filepath.Join(dir, p)); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &sink{}
		err := Read(context.Background(), bytes.NewReader(data), "https://geo.example.org/geonetwork/srv/fre/csw", s)
		for _, r := range s.Recs {
			if r.Dataset.OriginalId == "" || r.Dataset.Title == "" || r.Dataset.License == nil {
				t.Fatalf("incomplete record %v", r.Dataset)
			}
		}
		if err != nil && len(s.Pages) != 0 {
			t.Fatal("a page reported after an error")
		}
	})
}

// rdf:RDF records are cut out of a long answer as written, whatever the
// reads, with the namespaces their ancestors declare.
func TestReadManyRDFRecords(t *testing.T) {
	var doc strings.Builder
	doc.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<csw:GetRecordsResponse xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" xmlns:dct="http://purl.org/dc/terms/">` +
		`<csw:SearchResults numberOfRecordsMatched="600" numberOfRecordsReturned="600" nextRecord="0">`)
	for i := range 600 {
		fmt.Fprintf(&doc, "\n<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns:dcat=\"http://www.w3.org/ns/dcat#\">"+
			"<dcat:Dataset rdf:about=\"http://x.fr/ds/%d\"><dct:title>Délibérations du conseil n°%d</dct:title>"+
			"<dct:description>Les délibérations &amp; arrêtés, publiés chaque mois depuis 2016.</dct:description></dcat:Dataset></rdf:RDF>", i, i)
	}
	doc.WriteString("\n</csw:SearchResults></csw:GetRecordsResponse>\n")
	for _, r := range []io.Reader{strings.NewReader(doc.String()), iotest.HalfReader(strings.NewReader(doc.String()))} {
		var titles []string
		res, err := ReadResponse(r, Options{}, func(rec source.Record) error {
			titles = append(titles, rec.Dataset.Title)
			return nil
		}, func(p source.Problem) { t.Errorf("problem: %v", p) })
		if err != nil {
			t.Fatal(err)
		}
		if res.Records != 600 || len(titles) != 600 || titles[599] != "Délibérations du conseil n°599" {
			t.Fatalf("%d records, %d read, last %q", res.Records, len(titles), titles[len(titles)-1])
		}
	}
}

// A record larger than maxRecordSize fails the answer, streamed, and the
// record's text is never all held.
func TestReadRecordTooLarge(t *testing.T) {
	text := strings.Repeat("a", 1<<20)
	var parts []io.Reader
	parts = append(parts, strings.NewReader(`<csw:GetRecordsResponse xmlns:csw="http://www.opengis.net/cat/csw/2.0.2"><csw:SearchResults>`+
		`<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">`))
	for range maxRecordSize>>20 + 2 {
		parts = append(parts, strings.NewReader("<x>"+text+"</x>"))
	}
	parts = append(parts, strings.NewReader(`</rdf:RDF></csw:SearchResults></csw:GetRecordsResponse>`))
	_, err := ReadResponse(io.MultiReader(parts...), Options{}, func(source.Record) error { return nil }, func(source.Problem) {})
	var pe *ParseError
	if !errors.As(err, &pe) || !strings.Contains(pe.Msg, "a record exceeds") {
		t.Fatalf("got %v, want a record too large", err)
	}
}

// A GetRecordById answer may be one rdf:RDF record, in Latin-1: the record
// handed to the dcat package is the decoded text, without the declaration
// that named the old encoding (it was decoded twice: "DÃ©libÃ©rations").
func TestReadRDFRootLatin1(t *testing.T) {
	doc := "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><!-- GeoNetwork -->" +
		`<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dcat="http://www.w3.org/ns/dcat#" xmlns:dct="http://purl.org/dc/terms/">` +
		"<dcat:Dataset rdf:about=\"http://x.fr/ds/1\"><dct:title>D\xe9lib\xe9rations</dct:title></dcat:Dataset></rdf:RDF>\n"
	var titles []string
	_, err := ReadResponse(strings.NewReader(doc), Options{}, func(rec source.Record) error {
		titles = append(titles, rec.Dataset.Title)
		return nil
	}, func(p source.Problem) { t.Errorf("problem: %v", p) })
	if err != nil || len(titles) != 1 || titles[0] != "Délibérations" {
		t.Fatalf("got %q, %v", titles, err)
	}
}
