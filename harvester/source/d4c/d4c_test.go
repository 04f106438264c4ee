package d4c_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	json "github.com/go-json-experiment/json/v1"
	"github.com/opendatafrance/moisson/harvester/internal/sharedtest"
	"github.com/opendatafrance/moisson/harvester/source/sourcetest"

	"github.com/opendatafrance/moisson/harvester/normalize"
	"github.com/opendatafrance/moisson/harvester/simulator"
	"github.com/opendatafrance/moisson/harvester/source"
	"github.com/opendatafrance/moisson/harvester/source/d4c"
)

// sink records what the adapter hands over.
type sink = sourcetest.Sink

const testConfig = `
territories:
  - id: charente-maritime
    name: Charente-Maritime
    members:
      - id: la-rochelle
        name: Ville et Agglomération de La Rochelle
        portals:
          - id: opendata-larochelle
            name: opendata.agglo-larochelle.fr
            url: https://opendata.agglo-larochelle.fr
            software: d4c
            sources:
              - id: larochelle-d4c
                protocol: d4c
                endpoint: https://opendata.agglo-larochelle.fr/d4c/api
`

type harness struct{ *sourcetest.Sim }

func newHarness(t testing.TB, n int) *harness {
	t.Helper()
	return &harness{sourcetest.ServeYAML(t, testConfig, simulator.Options{DatasetsPerSource: n})}
}

func (h *harness) harvest(t testing.TB) (*sink, error) {
	t.Helper()
	k := &sink{}
	return k, sourcetest.Harvest(t, d4c.New, h.Config.Source("larochelle-d4c"), k)
}

var kindOf = sourcetest.KindOf

const searchPath = "/d4c/api/datasets/2.0/search/"

func TestHarvestSimulator(t *testing.T) {
	h := newHarness(t, 230)
	k, err := h.harvest(t)
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Pages) != 3 || len(k.Problems) != 0 || k.Totals[0] != 230 {
		t.Errorf("pages %v totals %v problems %v", k.Pages, k.Totals, k.Problems)
	}
	want := h.Datasets("larochelle-d4c")
	if len(k.Recs) != len(want) {
		t.Fatalf("%d records, want %d", len(k.Recs), len(want))
	}
	evidence := 0
	for i, d := range want {
		r := k.Recs[i]
		if r.Dataset.GetOriginalId() != d.ID || r.Dataset.GetTitle() != d.Title {
			t.Fatalf("record %d: %s %q, want %s %q", i, r.Dataset.GetOriginalId(), r.Dataset.GetTitle(), d.ID, d.Title)
		}
		if lp := r.Dataset.GetLandingPage(); lp != "https://opendata.agglo-larochelle.fr/visualisation/information/?id="+d.Name {
			t.Errorf("landing page %q", lp)
		}
		if n := r.Dataset.GetLicense().GetNormalized(); n == "unknown" || n == "other" {
			t.Errorf("%s: licence %v", d.ID, r.Dataset.GetLicense())
		}
		if len(r.Columns) != len(d.Columns) || len(r.Dataset.GetDistributions()) != len(d.Resources) {
			t.Errorf("%s: columns %v distributions %d, want %v %d", d.ID, r.Columns, len(r.Dataset.GetDistributions()), d.Columns, len(d.Resources))
		}
		if d.Evidence == "columns" {
			evidence++
			m := normalize.SCDL(r.Dataset.GetTitle(), r.Dataset.GetKeywords(), r.Dataset.GetConformsTo(), r.Columns)
			ok := false
			for _, x := range m {
				ok = ok || (x.GetItem() == d.SCDL && x.GetEvidence() == "columns")
			}
			if !ok {
				t.Errorf("%s: no column evidence for %s: %v", d.ID, d.SCDL, m)
			}
		}
	}
	if evidence == 0 {
		t.Error("no dataset with column evidence: the test proves nothing")
	}
}

func TestHarvestServerErrorAtPage3(t *testing.T) {
	h := newHarness(t, 230)
	h.SetFault("larochelle-d4c", simulator.Fault{Status: 503, FromPage: 3})
	k, err := h.harvest(t)
	if kindOf(err) != source.KindHTTP || len(k.Recs) != 200 {
		t.Fatalf("error %v after %d records, want an http error after 200", err, len(k.Recs))
	}
}

// rewrite serves a changed copy of one catalogue page.
func (h *harness) rewrite(t *testing.T, query string, edit func(count *int, results *[]json.RawMessage)) {
	t.Helper()
	var page struct {
		Help    string `json:"help"`
		Success bool   `json:"success"`
		Result  struct {
			Count   int               `json:"count"`
			Results []json.RawMessage `json:"results"`
		} `json:"result"`
	}
	if err := json.Unmarshal(h.Get(t, "/sim/larochelle-d4c"+searchPath+"?"+query), &page); err != nil {
		t.Fatal(err)
	}
	edit(&page.Result.Count, &page.Result.Results)
	b, _ := json.Marshal(page)
	h.ServePayload("larochelle-d4c", searchPath+"?"+query, "application/json", b)
}

func TestHarvestShortPageAndLyingCount(t *testing.T) {
	h := newHarness(t, 230)
	h.rewrite(t, "rows=100&start=100", func(_ *int, r *[]json.RawMessage) { *r = (*r)[:60] })
	k, err := h.harvest(t)
	if kindOf(err) != source.KindPaging || len(k.Recs) != 160 {
		t.Fatalf("short page: %v, %d records", err, len(k.Recs))
	}

	h = newHarness(t, 230)
	h.rewrite(t, "rows=100&start=0", func(c *int, _ *[]json.RawMessage) { *c = 500 })
	k, err = h.harvest(t)
	if err != nil || len(k.Problems) != 1 || !strings.Contains(k.Problems[0].Message, "500 then 230") {
		t.Fatalf("lying count: %v, problems %v", err, k.Problems)
	}
	// Page 1 said 500, page 2 said 230: the walk ends complete at 230, with
	// the change reported.
	if len(k.Recs) != 230 {
		t.Errorf("%d records", len(k.Recs))
	}
}

const odsLike = `{"nhits": 2, "parameters": {"rows": 10}, "datasets": [
 {"datasetid": "budget-primitif-2022", "metas": {"title": "Budget primitif 2022", "license": "Licence Ouverte v2.0",
   "modified": "2022-04-01T00:00:00+00:00", "publisher": "Ville de Grenoble", "keyword": ["budget"]},
  "fields": [{"name": "bgt_natdec"}, {"name": "bgt_annee"}, {"name": "bgt_siret"}, {"name": "bgt_nature"}, {"name": "bgt_fonction"}, {"name": "bgt_mtreal"}],
  "has_records": true, "features": []},
 {"datasetid": "", "metas": {"title": "no id"}}]}`

const ckanLike = `{"help": "https://data.anfr.fr/d4c/api/datasets/2.0/search", "success": true, "result": {"count": 1, "results": [
 {"id": "4f1c", "name": "observatoire_2g_3g_4g", "title": "Données sur les réseaux mobiles", "notes": "<p>Hebdomadaire</p>",
  "license_id": "lov2", "license_title": "Licence Ouverte v2.0", "metadata_modified": "2026-08-27T16:11:53.123456",
  "organization": {"name": "anfr", "title": "ANFR"}, "tags": [{"name": "5G"}],
  "extras": [{"key": "date_modification_data", "value": "2026-08-27"}],
  "resources": [{"id": "88ef", "format": "CSV", "url": "https://data.anfr.fr/sites/default/files/dataset/x.csv", "name": "x.csv"}],
  "fields": [{"id": "_id", "type": "int"}, {"id": "sup_id", "type": "text"}, {"id": "generation", "type": "text"}]}]}}`

func TestRead(t *testing.T) {
	k := &sink{}
	if err := d4c.Read(context.Background(), strings.NewReader(odsLike), "https://data.metropolegrenoble.fr/d4c/api/datasets/2.0/search/?rows=10", k); err != nil {
		t.Fatal(err)
	}
	if len(k.Recs) != 1 || len(k.Problems) != 1 || k.Totals[0] != 2 {
		t.Fatalf("ODS-like: %d records, problems %v, totals %v", len(k.Recs), k.Problems, k.Totals)
	}
	r := k.Recs[0]
	if r.Dataset.GetLicense().GetNormalized() != "etalab-2.0" ||
		r.Dataset.GetLandingPage() != "https://data.metropolegrenoble.fr/visualisation/information/?id=budget-primitif-2022" {
		t.Errorf("ODS-like record %v", r.Dataset)
	}
	m := normalize.SCDL(r.Dataset.GetTitle(), r.Dataset.GetKeywords(), nil, r.Columns)
	if len(m) != 1 || m[0].GetItem() != "scdl/budget" || m[0].GetEvidence() != "columns" {
		t.Errorf("SCDL %v from %v", m, r.Columns)
	}

	k = &sink{}
	if !d4c.Sniff([]byte(ckanLike)) {
		t.Error("CKAN-like answer not sniffed")
	}
	if err := d4c.Read(context.Background(), strings.NewReader(ckanLike), "https://data.anfr.fr/d4c/api/datasets/2.0/search/", k); err != nil {
		t.Fatal(err)
	}
	if len(k.Recs) != 1 {
		t.Fatalf("CKAN-like: %v %v", k.Recs, k.Problems)
	}
	d := k.Recs[0].Dataset
	if d.GetTitle() != "Données sur les réseaux mobiles" || d.GetDescription() != "Hebdomadaire" ||
		d.GetPublisher().GetName() != "ANFR" || d.GetDistributions()[0].GetFormat() != "CSV" ||
		d.GetLandingPage() != "https://data.anfr.fr/visualisation/information/?id=observatoire_2g_3g_4g" {
		t.Errorf("CKAN-like record %v", d)
	}
	if !reflect.DeepEqual(k.Recs[0].Columns, []string{"sup_id", "generation"}) {
		t.Errorf("columns %v", k.Recs[0].Columns)
	}
	for _, bad := range []string{`{"success": false, "error": {"message": "x"}, "result": []}`, `{"result": {"count": 3}}`, `[`, `{"result": {"results": [1,`} {
		var pe *source.ParseError
		if err := d4c.Read(context.Background(), strings.NewReader(bad), "", &sink{}); !errors.As(err, &pe) {
			t.Errorf("%s: %v, want a ParseError", bad, err)
		}
	}
}

func FuzzReadD4C(f *testing.F) {
	f.Add([]byte(odsLike))
	f.Add([]byte(ckanLike))
	f.Add([]byte(`[{"id": "a", "title": "t", "fields": [{"name": null}]}]`))
	if files, _ := filepath.Glob(filepath.Join(realDir(), "*.json")); len(files) > 0 {
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	h := newHarness(f, 3)
	f.Add(h.Get(f, "/sim/larochelle-d4c"+searchPath+"?rows=3"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = d4c.Read(context.Background(), bytes.NewReader(data), "https://x.example/d4c/api/datasets/2.0/search/", &sink{})
	})
}

func realDir() string {
	return sharedtest.Path("fixtures", "real", "opendatateam__udata-ods", "tests", "data")
}
