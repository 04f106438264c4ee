package datafair_test

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	json "github.com/go-json-experiment/json/v1"
	"github.com/opendatafrance/moisson/harvester/source/sourcetest"

	"github.com/opendatafrance/moisson/harvester/normalize"
	"github.com/opendatafrance/moisson/harvester/simulator"
	"github.com/opendatafrance/moisson/harvester/source"
	"github.com/opendatafrance/moisson/harvester/source/datafair"
)

// sink records what the adapter hands over.
type sink = sourcetest.Sink

const testConfig = `
territories:
  - id: bretagne
    name: Bretagne
    members:
      - id: cotes-darmor
        name: Département des Côtes d'Armor (Dat'Armor)
        portals:
          - id: datarmor
            name: Dat'Armor
            url: https://datarmor.cotesdarmor.fr
            software: datafair
            sources:
              - id: datarmor-datafair
                protocol: datafair
                endpoint: https://datarmor.cotesdarmor.fr/data-fair/api/v1
              - id: datarmor-select
                protocol: datafair
                endpoint: https://datarmor.cotesdarmor.fr/data-fair/api/v1
                params: {select: "title,description,license,page,href,createdAt,updatedAt"}
`

type harness struct{ *sourcetest.Sim }

func newHarness(t testing.TB, n int) *harness {
	t.Helper()
	return &harness{sourcetest.ServeYAML(t, testConfig, simulator.Options{DatasetsPerSource: n})}
}

func (h *harness) harvest(t testing.TB, id string) (*sink, error) {
	t.Helper()
	k := &sink{}
	return k, sourcetest.Harvest(t, datafair.New, h.Config.Source(id), k)
}

var kindOf = sourcetest.KindOf

func TestHarvestSimulator(t *testing.T) {
	h := newHarness(t, 240)
	k, err := h.harvest(t, "datarmor-datafair")
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Pages) != 3 || len(k.Problems) != 0 || h.Requests("datarmor-datafair") != 3 {
		t.Errorf("pages %v problems %v requests %d", k.Pages, k.Problems, h.Requests("datarmor-datafair"))
	}
	want := h.Datasets("datarmor-datafair")
	if len(k.Recs) != len(want) {
		t.Fatalf("%d records, want %d", len(k.Recs), len(want))
	}
	byTitle := map[string]source.Record{}
	for _, r := range k.Recs {
		byTitle[r.Dataset.GetTitle()] = r
	}
	evidence := 0
	for _, d := range want {
		r, ok := byTitle[d.Title]
		if !ok {
			t.Fatalf("%q not harvested", d.Title)
		}
		ds := r.Dataset
		if ds.GetLandingPage() != "https://datarmor.cotesdarmor.fr/datasets/"+d.Name || ds.GetPublisher().GetName() != d.Publisher {
			t.Errorf("%s: landing %q publisher %v", d.Name, ds.GetLandingPage(), ds.GetPublisher())
		}
		if n := ds.GetLicense().GetNormalized(); n == "unknown" || n == "other" || ds.GetLicense().GetRaw() != d.LicenseTitle {
			t.Errorf("%s: licence %v", d.Name, ds.GetLicense())
		}
		if !ds.GetIssued().AsTime().Equal(d.Created.UTC().Truncate(time.Millisecond)) {
			t.Errorf("%s: issued %v, want %v", d.Name, ds.GetIssued().AsTime(), d.Created)
		}
		if !reflect.DeepEqual(r.Columns, d.Columns) && len(r.Columns) != len(d.Columns) {
			t.Errorf("%s: columns %v, want %v", d.Name, r.Columns, d.Columns)
		}
		dists := ds.GetDistributions()
		if len(dists) < 2 || !strings.HasSuffix(dists[0].GetUrl(), "/raw") || dists[1].GetFormat() != "CSV" ||
			!strings.HasPrefix(dists[0].GetUrl(), "https://datarmor.cotesdarmor.fr/data-fair/api/v1/datasets/") {
			t.Errorf("%s: distributions %v", d.Name, dists)
		}
		if d.Evidence == "columns" {
			evidence++
			m := normalize.SCDL(ds.GetTitle(), ds.GetKeywords(), ds.GetConformsTo(), r.Columns)
			ok := false
			for _, x := range m {
				ok = ok || (x.GetItem() == d.SCDL && x.GetEvidence() == "columns")
			}
			if !ok {
				t.Errorf("%s: no column evidence for %s: %v", d.Name, d.SCDL, m)
			}
		}
	}
	if evidence == 0 {
		t.Error("no dataset with column evidence: the test proves nothing")
	}
}

// A list restricted by select= carries no schema: each dataset's document
// is fetched to get its columns.
func TestHarvestCompletesDatasetsWithoutSchema(t *testing.T) {
	h := newHarness(t, 130)
	k, err := h.harvest(t, "datarmor-select")
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Recs) != 130 || len(k.Problems) != 0 {
		t.Fatalf("%d records, problems %v", len(k.Recs), k.Problems)
	}
	if n := h.Requests("datarmor-select"); n != 2+130 {
		t.Errorf("%d requests, want 2 pages + 130 documents", n)
	}
	for _, r := range k.Recs {
		if len(r.Columns) == 0 || r.Dataset.GetPublisher().GetName() == "" {
			t.Fatalf("%s: columns %v publisher %v", r.Dataset.GetOriginalId(), r.Columns, r.Dataset.GetPublisher())
		}
	}
}

// A document that cannot be read: the listed dataset is kept, with a problem.
func TestHarvestDocumentUnreadable(t *testing.T) {
	h := newHarness(t, 5)
	h.ServePayload("datarmor-select", "/data-fair/api/v1/datasets", "application/json",
		[]byte(`{"count": 1, "results": [{"id": "nope", "title": "Sans schéma"}]}`))
	k, err := h.harvest(t, "datarmor-select")
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Recs) != 1 || len(k.Problems) != 1 || k.Problems[0].DatasetID != "nope" || k.Problems[0].Kind != source.KindHTTP {
		t.Fatalf("records %d problems %v", len(k.Recs), k.Problems)
	}
}

func TestHarvestPagingAnomalies(t *testing.T) {
	h := newHarness(t, 240)
	h.SetFault("datarmor-datafair", simulator.Fault{Status: 500, FromPage: 2})
	k, err := h.harvest(t, "datarmor-datafair")
	if kindOf(err) != source.KindHTTP || len(k.Recs) != 100 {
		t.Fatalf("500 at page 2: %v, %d records", err, len(k.Recs))
	}

	rewrite := func(h *harness, query string, edit func(count *int, results *[]json.RawMessage)) {
		var page struct {
			Count   int               `json:"count"`
			Results []json.RawMessage `json:"results"`
		}
		if err := json.Unmarshal(h.Get(t, "/sim/datarmor-datafair/data-fair/api/v1/datasets?"+query), &page); err != nil {
			t.Fatal(err)
		}
		edit(&page.Count, &page.Results)
		b, _ := json.Marshal(page)
		h.ServePayload("datarmor-datafair", "/data-fair/api/v1/datasets?"+query, "application/json", b)
	}
	h = newHarness(t, 240)
	rewrite(h, "page=2&size=100&sort=createdAt%3A1", func(_ *int, r *[]json.RawMessage) { *r = (*r)[:10] })
	k, err = h.harvest(t, "datarmor-datafair")
	if kindOf(err) != source.KindPaging || len(k.Recs) != 110 {
		t.Fatalf("short page: %v, %d records", err, len(k.Recs))
	}

	h = newHarness(t, 240)
	rewrite(h, "page=3&size=100&sort=createdAt%3A1", func(c *int, _ *[]json.RawMessage) { *c = 900 })
	k, err = h.harvest(t, "datarmor-datafair")
	if kindOf(err) != source.KindPaging || len(k.Problems) != 1 || len(k.Recs) != 240 {
		t.Fatalf("lying count: %v, problems %v, %d records", err, k.Problems, len(k.Recs))
	}
}

const doc = `{"id": "x1y2", "slug": "deliberations-2023", "title": "Délibérations 2023",
 "description": "Liste des **délibérations**.", "keywords": ["délibérations"], "topics": [{"id": "t", "title": "Administration"}],
 "license": {"title": "Licence Ouverte / Open Licence", "href": "https://www.etalab.gouv.fr/licence-ouverte-open-licence"},
 "owner": {"type": "organization", "id": "o1", "name": "Département des Côtes d'Armor"},
 "createdAt": "2023-02-01T09:00:00.000Z", "updatedAt": "2023-06-01T09:00:00.000Z", "dataUpdatedAt": "2023-05-01T09:00:00.000Z",
 "originalFile": {"name": "delib.xlsx", "size": 12345, "mimetype": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
 "file": {"name": "delib.csv", "size": 20000, "mimetype": "text/csv"},
 "temporal": {"start": "2023-01-01", "end": "2023-12-31"}, "frequency": "monthly",
 "schema": [{"key": "coll_nom", "type": "string", "x-originalName": "COLL_NOM"}, {"key": "delib_id", "type": "string"},
   {"key": "delib_date", "type": "string"}, {"key": "delib_objet", "type": "string"}, {"key": "vote_pour", "type": "integer"},
   {"key": "_id", "type": "string", "x-calculated": true}],
 "attachments": [{"type": "url", "title": "Site", "url": "https://example.org/doc.pdf"}]}`

func TestRead(t *testing.T) {
	for _, body := range []string{doc, `{"count": 1, "results": [` + doc + `]}`} {
		k := &sink{}
		if !datafair.Sniff([]byte(body)) {
			t.Error("not sniffed")
		}
		if err := datafair.Read(context.Background(), strings.NewReader(body), "https://datarmor.cotesdarmor.fr/data-fair/api/v1/datasets", k); err != nil {
			t.Fatal(err)
		}
		if len(k.Recs) != 1 {
			t.Fatalf("%d records, problems %v", len(k.Recs), k.Problems)
		}
		r := k.Recs[0]
		d := r.Dataset
		if d.GetLicense().GetNormalized() != "etalab-2.0" || d.GetModified().AsTime() != time.Date(2023, 5, 1, 9, 0, 0, 0, time.UTC) ||
			d.GetTemporal().GetEnd() == nil || d.GetAccrualPeriodicity() != "monthly" || d.GetLandingPage() != "" {
			t.Errorf("record %v", d)
		}
		if got := []string{d.GetDistributions()[0].GetFormat(), d.GetDistributions()[1].GetFormat(), d.GetDistributions()[2].GetFormat()}; !reflect.DeepEqual(got, []string{"XLSX", "CSV", "PDF"}) ||
			d.GetDistributions()[0].GetUrl() != "https://datarmor.cotesdarmor.fr/data-fair/api/v1/datasets/x1y2/raw" || d.GetDistributions()[0].GetByteSize() != 12345 {
			t.Errorf("distributions %v", d.GetDistributions())
		}
		if !reflect.DeepEqual(r.Columns, []string{"coll_nom", "delib_id", "delib_date", "delib_objet", "vote_pour"}) {
			t.Errorf("columns %v", r.Columns)
		}
		m := normalize.SCDL(d.GetTitle(), d.GetKeywords(), d.GetConformsTo(), r.Columns)
		if len(m) != 1 || m[0].GetEvidence() != "columns" {
			t.Errorf("SCDL %v", m)
		}
	}
	for _, bad := range []string{`{"count": 2}`, `{"results": {}}`, `nope`, `{"count": 1, "results": [{"id": "a"`} {
		var pe *source.ParseError
		if err := datafair.Read(context.Background(), strings.NewReader(bad), "", &sink{}); !errors.As(err, &pe) {
			t.Errorf("%s: %v, want a ParseError", bad, err)
		}
	}
}

func FuzzReadDataFair(f *testing.F) {
	f.Add([]byte(doc))
	f.Add([]byte(`{"count": 1, "results": [{"id": "a", "schema": [{"key": 3}], "bbox": [1,2,3]}]}`))
	h := newHarness(f, 3)
	f.Add(h.Get(f, "/sim/datarmor-datafair/data-fair/api/v1/datasets?size=3"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = datafair.Read(context.Background(), bytes.NewReader(data), "https://x.example/data-fair/api/v1/datasets", &sink{})
	})
}

// A title that is only markup gives way to the slug, and an id of spaces is
// no id.
func TestRecordEmptyOnceNormalised(t *testing.T) {
	r, err := datafair.Mapper{}.Record(&datafair.Dataset{ID: "x1", Slug: "budget-2024", Title: "<p></p>"})
	if err != nil || r.Dataset.GetTitle() != "budget-2024" {
		t.Errorf("markup title: %v %v, want the slug as title", r.Dataset, err)
	}
	if r, err := (datafair.Mapper{}).Record(&datafair.Dataset{ID: "  ", Title: "Budget"}); err == nil {
		t.Errorf("id of spaces: record %v, want an error", r.Dataset)
	}
}
