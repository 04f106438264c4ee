package udata

import (
	"bytes"
	"context"
	"errors"
	"github.com/opendatafrance/moisson/harvester/internal/sharedtest"
	"github.com/opendatafrance/moisson/harvester/source/sourcetest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/simulator"
	"github.com/opendatafrance/moisson/harvester/source"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
)

func fixtureDir(t testing.TB) string {
	t.Helper()
	return sharedtest.Fixtures(t)
}

// sink records what the adapter hands over.
type sink struct{ sourcetest.Sink }

func (s *sink) byTitle(prefix string) *moissonv1.Dataset {
	for _, r := range s.Recs {
		if strings.HasPrefix(r.Dataset.Title, prefix) {
			return r.Dataset
		}
	}
	return nil
}

func readFile(t *testing.T, path string) (*sink, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := &sink{}
	return s, Read(context.Background(), f, path, s)
}

func TestReadResultsFixture(t *testing.T) {
	dir := fixtureDir(t)
	s, err := readFile(t, filepath.Join(dir, "opendatateam__udata/udata/fixtures/results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Recs) != 15 || len(s.Problems) != 0 || s.Declared != 15 {
		t.Fatalf("%d records, %d problems, declared %d; want 15, 0, 15: %v", len(s.Recs), len(s.Problems), s.Declared, s.Problems)
	}
	irve := s.byTitle("Mairie de Montluel - Borne de recharge")
	if irve == nil {
		t.Fatal("IRVE dataset missing")
	}
	if irve.OriginalId != "6164085521df2138379e8854" || irve.Publisher.GetSiren() != "210102620" ||
		irve.Publisher.GetName() != "Mairie de Montluel (IRVE)" || irve.AccrualPeriodicity != "punctual" {
		t.Errorf("IRVE identity: %v", irve)
	}
	if got := irve.GetModified().AsTime().Format(time.RFC3339); got != "2023-12-14T14:57:02Z" {
		t.Errorf("IRVE modified %s", got)
	}
	if len(irve.Distributions) != 1 || irve.Distributions[0].Format != "CSV" || irve.Distributions[0].ByteSize != 1501 ||
		irve.Distributions[0].MediaType != "text/csv" {
		t.Errorf("IRVE distribution: %v", irve.Distributions)
	}
	want := []string{"etalab/schema-irve-statique", "https://schema.data.gouv.fr/schemas/etalab/schema-irve-statique/2.2.0/schema.json"}
	if strings.Join(irve.ConformsTo, " ") != strings.Join(want, " ") {
		t.Errorf("IRVE conforms_to %v", irve.ConformsTo)
	}
	// Licences were stripped from the dump: every record says unknown.
	if irve.License.GetNormalized() != "unknown" {
		t.Errorf("licence %v", irve.License)
	}
	sirene := s.byTitle("Base Sirene des entreprises")
	if sirene == nil || sirene.Temporal == nil || sirene.Temporal.Start.AsTime().Format("2006-01-02") != "1973-01-01" ||
		sirene.Temporal.End.AsTime().Format("2006-01-02") != "2023-12-31" || sirene.AccrualPeriodicity != "monthly" {
		t.Errorf("Sirene: %v", sirene)
	}
	if len(sirene.Distributions) != 18 {
		t.Errorf("Sirene: %d distributions, want 18", len(sirene.Distributions))
	}
	// A dataset udata harvested over DCAT keeps its remote IRI.
	var harvested *moissonv1.Dataset
	for _, r := range s.Recs {
		if r.Dataset.OriginalId == "5fa9901b0d72fc70afa686ec" {
			harvested = r.Dataset
		}
	}
	if harvested == nil || harvested.Uri != "https://opendata.caissedesdepots.fr/explore/dataset/bailleurs_sociaux_region/" {
		t.Errorf("harvested dataset uri: %v", harvested)
	}
	// Titles are kept, Markdown descriptions too.
	if b := s.byTitle("Baromètre des résultats"); b == nil || !strings.Contains(b.Description, "### Le baromètre") {
		t.Errorf("baromètre description: %v", b)
	}
}

func TestReadClientFixtures(t *testing.T) {
	dir := fixtureDir(t)
	s, err := readFile(t, filepath.Join(dir, "datagouv__datagouv_client/tests/elements_metadata.json"))
	if err != nil {
		t.Fatal(err)
	}
	// A topic's elements: the envelope is read (total 7), its 8 items are not datasets.
	if len(s.Recs) != 0 || len(s.Problems) != 8 || s.Declared != 7 {
		t.Errorf("elements: %d records, %d problems, declared %d", len(s.Recs), len(s.Problems), s.Declared)
	}
	for _, name := range []string{"organization_metadata.json", "resource_metadata_api1.json"} {
		_, err := readFile(t, filepath.Join(dir, "datagouv__datagouv_client/tests", name))
		var pe *source.ParseError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), "not a dataset") {
			t.Errorf("%s: %v, want a ParseError saying it is not a dataset", name, err)
		}
	}
}

const pageDoc = `{"data": [
 {"id": "5b0000000000000000000001", "slug": "deliberations-nantes", "title": "Délibérations du conseil municipal",
  "description": "**Liste** des délibérations", "tags": ["deliberations", "conseil-municipal"], "license": "lov2",
  "frequency": "monthly", "temporal_coverage": {"start": "2020-01-01", "end": "2020-12-31"},
  "spatial": {"zones": ["fr:commune:44109@1942-01-01"], "granularity": "fr:commune",
   "geom": {"type": "MultiPolygon", "coordinates": [[[[-1.64, 47.18], [-1.47, 47.18], [-1.47, 47.29], [-1.64, 47.18]]]]}},
  "organization": {"id": "534fff8ea3a7292c64a77f02", "name": "Ville de Nantes", "slug": "ville-de-nantes",
   "page": "https://www.data.gouv.fr/fr/organizations/ville-de-nantes/", "business_number_id": "21440109300015"},
  "contact_points": [{"name": "Service open data", "email": "opendata@nantes.fr"}],
  "created_at": "2020-02-03T10:00:00.000000+00:00", "last_modified": "2021-03-04T10:00:00+00:00",
  "last_update": "2021-05-06T07:08:09+00:00", "page": "https://www.data.gouv.fr/fr/datasets/deliberations-nantes/",
  "uri": "https://www.data.gouv.fr/api/1/datasets/deliberations-nantes/",
  "resources": [{"id": "r1", "title": "deliberations.csv", "url": "https://static.data.gouv.fr/d.csv", "format": "csv",
   "mime": "text/csv", "filesize": 1234, "type": "main", "schema": {"name": "scdl/deliberations", "version": "2.1.3", "url": null}},
   {"id": "r2", "title": "API", "url": "https://api.example.org/deliberations", "format": "", "type": "api", "schema": null}],
  "harvest": null},
 {"id": "5b0000000000000000000002", "title": "Sans organisation", "license": "odc-odbl", "frequency": "unknown",
  "owner": {"first_name": "Jeanne", "last_name": "Martin", "page": "https://www.data.gouv.fr/fr/users/jeanne-martin/"},
  "resources": {"rel": "subsection", "href": "https://www.data.gouv.fr/api/2/datasets/x/resources/", "total": 3}},
 {"id": "5b0000000000000000000003", "title": "", "frequency": "daily"}
], "next_page": null, "page": 1, "page_size": 20, "previous_page": null, "total": 3}`

func TestReadShapes(t *testing.T) {
	s := &sink{}
	if err := Read(context.Background(), strings.NewReader(pageDoc), "https://www.data.gouv.fr/api/1/organizations/x/datasets/", s); err != nil {
		t.Fatal(err)
	}
	if len(s.Recs) != 2 || len(s.Problems) != 1 || s.Declared != 3 {
		t.Fatalf("%d records, %d problems (%v), declared %d", len(s.Recs), len(s.Problems), s.Problems, s.Declared)
	}
	d := s.Recs[0].Dataset
	if d.License.Normalized != "etalab-2.0" || d.License.Raw != "lov2" || d.Spatial.GetInseeCode() != "44109" ||
		d.Spatial.GetUri() != "fr:commune:44109" || d.Spatial.GetBbox().GetWest() != -1.64 || d.Spatial.GetBbox().GetNorth() != 47.29 {
		t.Errorf("licence/spatial: %v %v", d.License, d.Spatial)
	}
	if d.Publisher.GetSiren() != "214401093" || d.ContactPoint.GetEmail() != "opendata@nantes.fr" {
		t.Errorf("publisher/contact: %v %v", d.Publisher, d.ContactPoint)
	}
	if d.Modified.AsTime().Format(time.RFC3339) != "2021-05-06T07:08:09Z" || d.Issued.AsTime().Format("2006-01-02") != "2020-02-03" {
		t.Errorf("dates: %v %v", d.Issued, d.Modified)
	}
	if d.Temporal.GetStart().AsTime().Year() != 2020 || d.AccrualPeriodicity != "monthly" {
		t.Errorf("temporal/frequency: %v %q", d.Temporal, d.AccrualPeriodicity)
	}
	if got := strings.Join(d.ConformsTo, " "); got != "scdl/deliberations https://schema.data.gouv.fr/schemas/scdl/deliberations/2.1.3/schema.json" {
		t.Errorf("conforms_to %s", got)
	}
	if len(d.Distributions) != 2 || d.Distributions[0].Format != "CSV" || d.Distributions[0].ByteSize != 1234 ||
		d.Distributions[1].DownloadUrl != "" || d.Distributions[1].Url != "https://api.example.org/deliberations" {
		t.Errorf("distributions %v", d.Distributions)
	}
	o := s.Recs[1].Dataset
	if o.Publisher.GetName() != "Jeanne Martin" || o.License.Normalized != "odbl-1.0" || o.AccrualPeriodicity != "" ||
		len(o.Distributions) != 0 || o.LandingPage != "" {
		t.Errorf("owner dataset: %v", o)
	}

	// A bare dataset object, and a list of datasets.
	s = &sink{}
	bare := `{"id": "abc", "slug": "s", "title": "Un jeu", "license": "fr-lo", "resources": []}`
	if err := Read(context.Background(), strings.NewReader(bare), "https://demo.data.gouv.fr/api/1/datasets/s/", s); err != nil {
		t.Fatal(err)
	}
	if len(s.Recs) != 1 || s.Recs[0].Dataset.License.Normalized != "etalab-1.0" ||
		s.Recs[0].Dataset.LandingPage != "https://demo.data.gouv.fr/fr/datasets/s/" {
		t.Errorf("bare object: %v", s.Recs)
	}
	s = &sink{}
	if err := Read(context.Background(), strings.NewReader("["+bare+","+bare+"]"), "", s); err != nil || len(s.Recs) != 2 {
		t.Errorf("list: %v, %d records", err, len(s.Recs))
	}
	// Errors.
	for doc, want := range map[string]string{
		`{"message": "Not found", "status": 404}`:                   "error",
		`{"data": [{"id": "x", "title": "t", "frequency": "daily"}`: "truncated",
		`<html>`: "not JSON",
		`42`:     "expected",
	} {
		err := Read(context.Background(), strings.NewReader(doc), "", &sink{})
		var pe *source.ParseError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want ParseError with %q", doc, err, want)
		}
	}
}

// ---- against the simulator ------------------------------------------------------

func harvest(t *testing.T, src *config.Source) (*sink, error) {
	t.Helper()
	out := &sink{}
	return out, sourcetest.Harvest(t, New, src, out)
}

func TestHarvestSimulator(t *testing.T) {
	sim, src := sourcetest.ServeSource(t, "megalis-udata", 230, map[string]string{"page_size": "100"})
	s, err := harvest(t, src)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Recs) != 230 || len(s.Pages) != 3 || s.Declared != 230 || len(s.Problems) != 0 {
		t.Fatalf("%d records, %d pages, declared %d, problems %v", len(s.Recs), len(s.Pages), s.Declared, s.Problems)
	}
	if !strings.Contains(s.Pages[0], "/api/1/organizations/megalis-bretagne/datasets/?") {
		t.Errorf("first page %s", s.Pages[0])
	}
	gen := sim.Datasets("megalis-udata")
	byTitle := map[string]*moissonv1.Dataset{}
	for _, r := range s.Recs {
		byTitle[r.Dataset.Title] = r.Dataset
	}
	declared, sirens := 0, 0
	for _, g := range gen {
		d := byTitle[g.Title]
		if d == nil {
			t.Fatalf("dataset %q not harvested", g.Title)
		}
		if !d.Modified.AsTime().Equal(g.Modified.Truncate(time.Microsecond)) && d.Modified.AsTime().Before(g.Modified.Truncate(time.Microsecond)) {
			t.Errorf("%s: modified %v before %v", g.Title, d.Modified.AsTime(), g.Modified)
		}
		if len(d.Distributions) != len(g.Resources) || d.Distributions[0].Url != g.Resources[0].URL {
			t.Errorf("%s: distributions %v", g.Title, d.Distributions)
		}
		if d.License.Normalized == "unknown" || d.License.Normalized == "other" {
			t.Errorf("%s: licence %v", g.Title, d.License)
		}
		if g.Evidence == "declared" {
			declared++
			if len(d.ConformsTo) == 0 || d.ConformsTo[0] != g.SCDL {
				t.Errorf("%s: conforms_to %v, want %s", g.Title, d.ConformsTo, g.SCDL)
			}
		} else if len(d.ConformsTo) != 0 {
			t.Errorf("%s: undeclared dataset conforms to %v", g.Title, d.ConformsTo)
		}
		if g.SpatialINSEE != "" && d.Spatial.GetInseeCode() != g.SpatialINSEE {
			t.Errorf("%s: INSEE %q want %q", g.Title, d.Spatial.GetInseeCode(), g.SpatialINSEE)
		}
		if d.Publisher.GetSiren() != "" {
			sirens++
		}
		if !strings.HasPrefix(d.LandingPage, "https://www.data.gouv.fr/fr/datasets/") {
			t.Errorf("landing page %s", d.LandingPage)
		}
	}
	if declared == 0 {
		t.Error("no SCDL-declared dataset generated: the test proves nothing")
	}
	// Mégalis Bretagne is a syndicate: no SIRET (the referential knows
	// collectivités only); the Ville d'Annecy's organisation carries its own.
	if sirens != 0 {
		t.Errorf("%d of %d of Mégalis's datasets with a SIREN", sirens, len(gen))
	}
	_, asrc := sourcetest.ServeSource(t, "annecy-udata", 20, nil)
	a, err := harvest(t, asrc)
	if err != nil || len(a.Recs) != 20 {
		t.Fatalf("annecy: %v, %d records", err, len(a.Recs))
	}
	for _, r := range a.Recs {
		if p := r.Dataset.GetPublisher(); p.GetSiren() != "200063402" || p.GetName() != "Ville d'Annecy" {
			t.Fatalf("%s: publisher %v", r.Dataset.GetTitle(), p)
		}
	}
}

func TestHarvestEmptyAndUnknownOrg(t *testing.T) {
	_, src := sourcetest.ServeSource(t, "annecy-udata", 0, nil)
	s, err := harvest(t, src)
	if err != nil || len(s.Recs) != 0 || s.Declared != 0 {
		t.Errorf("empty organisation: %v, %d records, declared %d", err, len(s.Recs), s.Declared)
	}
	src.Params["organization"] = "no-such-org"
	_, err = harvest(t, src)
	if source.KindOf(err) != source.KindHTTP || !strings.Contains(err.Error(), "404") {
		t.Errorf("unknown organisation: %v", err)
	}
}

func TestHarvestFaults(t *testing.T) {
	sim, src := sourcetest.ServeSource(t, "megalis-udata", 30, map[string]string{"page_size": "10"})
	sim.SetFault("megalis-udata", simulator.Fault{Status: 500, FromPage: 2})
	s, err := harvest(t, src)
	if source.KindOf(err) != source.KindHTTP || len(s.Recs) != 10 {
		t.Errorf("500 on page 2: %v, %d records", err, len(s.Recs))
	}
	sim.ClearFaults()
	sim.SetFault("megalis-udata", simulator.Fault{TruncateAtPage: 2})
	s, err = harvest(t, src)
	if err == nil || len(s.Recs) >= 30 {
		t.Errorf("truncated page 2: %v, %d records", err, len(s.Recs))
	}
}

// page serves a udata list page with the given items, page number, total
// and next link.
func page(ids []string, pageNo, total int, next string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"data": [`)
	for i, id := range ids {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"id": "` + id + `", "slug": "` + id + `", "title": "Jeu ` + id + `", "license": "lov2", "frequency": "monthly", "resources": []}`)
	}
	nx := "null"
	if next != "" {
		nx = `"` + next + `"`
	}
	b.WriteString(`], "page": ` + itoa(pageNo) + `, "page_size": 2, "total": ` + itoa(total) + `, "next_page": ` + nx + `}`)
	return b.Bytes()
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestPagingAnomalies(t *testing.T) {
	const org = "/api/1/organizations/megalis-bretagne/datasets/"
	q := func(p int) string { return org + "?page=" + itoa(p) + "&page_size=2" }
	cases := []struct {
		name  string
		pages map[string][]byte // path+query → body; next links are made absolute below
		want  string
	}{
		{"loop", map[string][]byte{q(1): page([]string{"a", "b"}, 1, 6, "P2"), q(2): page([]string{"c", "d"}, 2, 6, "P1")}, "paging loop"},
		{"ends early", map[string][]byte{q(1): page([]string{"a", "b"}, 1, 5, "P2"), q(2): page([]string{"c", "d"}, 2, 5, "")}, "declares 5"},
		{"page ignored", map[string][]byte{q(1): page([]string{"a", "b"}, 1, 4, "P2"), q(2): page([]string{"a", "b"}, 1, 4, "")}, "answer is page 1"},
		{"repeated", map[string][]byte{q(1): page([]string{"a", "b"}, 1, 4, "P2"), q(2): page([]string{"a", "b"}, 2, 4, "")}, "only repeats"},
		{"empty with next", map[string][]byte{q(1): page([]string{"a", "b"}, 1, 4, "P2"), q(2): page(nil, 2, 4, "P3")}, "empty page"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sim, src := sourcetest.ServeSource(t, "megalis-udata", 4, map[string]string{"page_size": "2"})
			base := strings.TrimSuffix(src.Endpoint, "/api/1")
			for pq, body := range c.pages {
				body = bytes.ReplaceAll(body, []byte(`"P1"`), []byte(`"`+base+q(1)+`"`))
				body = bytes.ReplaceAll(body, []byte(`"P2"`), []byte(`"`+base+q(2)+`"`))
				body = bytes.ReplaceAll(body, []byte(`"P3"`), []byte(`"`+base+q(3)+`"`))
				sim.ServePayload("megalis-udata", pq, "application/json", body)
			}
			_, err := harvest(t, src)
			if source.KindOf(err) != source.KindPaging || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%v, want a paging error with %q", err, c.want)
			}
		})
	}
}

func FuzzReadUdata(f *testing.F) {
	f.Add([]byte(pageDoc))
	f.Add([]byte(`{"id": "a", "title": "t", "frequency": "x", "spatial": {"zones": ["fr:commune:2A004"], "geom": {"coordinates": [[1e308, -1e308]]}}}`))
	f.Add([]byte(`[{"dataset": {"id": "a", "title": "t"}, "organization": {"name": "o"}, "resources": [{"url": "u", "filesize": "12"}]}]`))
	if dir := fixtureDirQuiet(); dir != "" {
		for _, p := range []string{"datagouv__datagouv_client/tests/elements_metadata.json", "datagouv__datagouv_client/tests/resource_metadata_api1.json"} {
			if b, err := os.ReadFile(filepath.Join(dir, p)); err == nil {
				f.Add(b)
			}
		}
		if b, err := os.ReadFile(filepath.Join(dir, "opendatateam__udata/udata/fixtures/results.json")); err == nil {
			f.Add(b[:min(len(b), 64<<10)])
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &sink{}
		err := Read(context.Background(), bytes.NewReader(data), "https://www.data.gouv.fr/api/1/datasets/", s)
		for _, r := range s.Recs {
			if r.Dataset.OriginalId == "" || r.Dataset.Title == "" || r.Dataset.License == nil {
				t.Fatalf("record without id, title or licence: %v", r.Dataset)
			}
		}
		if err != nil && len(s.Pages) != 0 {
			t.Fatal("a page reported after an error")
		}
	})
}

func fixtureDirQuiet() string { return sharedtest.Path("fixtures", "real") }

// Id and title are judged once normalised: an id of spaces is no id, a
// title that is only markup no title.
func TestNormaliseEmptyOnceNormalised(t *testing.T) {
	for _, d := range []Dataset{{ID: " ", Title: "Budget"}, {ID: "a1", Title: "<p> </p>"}} {
		if r, err := Normalise(&d, ""); err == nil {
			t.Errorf("%+v: record %v, want an error", d, r.Dataset)
		}
	}
	if r, err := Normalise(&Dataset{ID: " a1 ", Title: " Budget "}, ""); err != nil || r.Dataset.GetOriginalId() != "a1" || r.Dataset.GetTitle() != "Budget" {
		t.Errorf("%v %v", r.Dataset, err)
	}
}
