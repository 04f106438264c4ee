package ods_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	json "github.com/go-json-experiment/json/v1"
	"github.com/opendatafrance/moisson/harvester/internal/sharedtest"
	"github.com/opendatafrance/moisson/harvester/source/sourcetest"

	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/normalize"
	"github.com/opendatafrance/moisson/harvester/simulator"
	"github.com/opendatafrance/moisson/harvester/source"
	"github.com/opendatafrance/moisson/harvester/source/ods"
)

// ---- helpers -------------------------------------------------------------

// sink records what the adapter hands over.
type sink struct{ sourcetest.Sink }

func (s *sink) byID() map[string]source.Record {
	out := map[string]source.Record{}
	for _, r := range s.Recs {
		out[r.Dataset.GetOriginalId()] = r
	}
	return out
}

func formats(r source.Record) []string {
	var out []string
	for _, d := range r.Dataset.GetDistributions() {
		out = append(out, d.GetFormat())
	}
	return out
}

func fixtureDir(t testing.TB, sub string) string {
	t.Helper()
	return sharedtest.Fixtures(t, sub)
}

const testConfig = `
territories:
  - id: bretagne
    name: Bretagne
    members:
      - id: region-bretagne
        name: Région Bretagne
        portals:
          - id: data-bretagne
            name: data.bretagne.bzh
            url: https://data.bretagne.bzh
            software: ods
            sources:
              - id: bretagne-ods
                protocol: ods
                endpoint: https://data.bretagne.bzh/api/explore/v2.1
              - id: bretagne-ods-window
                protocol: ods
                endpoint: https://data.bretagne.bzh/api/explore/v2.1
                params: {max_window: "150"}
  - id: loire-atlantique
    name: Loire-Atlantique
    geography: {departements: ["44"]}
    members:
      - id: departement-44
        name: Département de Loire-Atlantique
        collectivite: departement:44
        siren: "224400028"
        portals:
          - id: data-loire-atlantique
            name: data.loire-atlantique.fr
            url: https://data.loire-atlantique.fr
            software: ods
            sources:
              - id: loire-atlantique-ods
                protocol: ods
                endpoint: https://data.loire-atlantique.fr/api/explore/v2.1
`

type harness struct{ *sourcetest.Sim }

func newHarness(t testing.TB, perSource map[string]int) *harness {
	t.Helper()
	return &harness{sourcetest.ServeYAML(t, testConfig, simulator.Options{PerSource: perSource, DatasetsPerSource: 10})}
}

func (h *harness) harvest(t testing.TB, id string) (*sink, error) {
	t.Helper()
	k := &sink{}
	return k, sourcetest.Harvest(t, ods.New, h.Config.Source(id), k)
}

var kindOf = sourcetest.KindOf

// ---- real fixtures (API v1) ------------------------------------------------

func TestReadRealFixtures(t *testing.T) {
	dir := fixtureDir(t, "opendatateam__udata-ods/tests/data")
	want := map[string]int{ // SOURCES.md
		"empty.json": 1, "inspire.json": 1, "no-data.json": 2, "test-a.json": 1, "test-b.json": 1,
		"test-c.json": 1, "test-shp-limit.json": 1, "with-attachments.json": 1,
	}
	all := map[string]source.Record{}
	for file, n := range want {
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		if !ods.Sniff(b[:min(len(b), 512)]) {
			t.Errorf("%s: not sniffed as ODS", file)
		}
		k := &sink{}
		if err := ods.Read(context.Background(), bytes.NewReader(b), "", k); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if len(k.Recs) != n || len(k.Problems) != 0 {
			t.Errorf("%s: %d datasets, %d problems (%v), want %d", file, len(k.Recs), len(k.Problems), k.Problems, n)
		}
		if file == "no-data.json" && (len(k.Totals) != 1 || k.Totals[0] != 2) {
			t.Errorf("no-data.json: declared %v, want nhits 2", k.Totals)
		}
		for id, r := range k.byID() {
			all[id] = r
		}
	}

	a := all["test-a"]
	if a.Dataset == nil {
		t.Fatalf("test-a missing; have %v", reflect.ValueOf(all).MapKeys())
	}
	d := a.Dataset
	if d.GetTitle() != "test-a" || d.GetDescription() != "test-a-description" {
		t.Errorf("test-a: title %q description %q", d.GetTitle(), d.GetDescription())
	}
	if d.GetLicense().GetRaw() != "Licence Ouverte (Etalab)" || d.GetLicense().GetNormalized() != "etalab-2.0" {
		t.Errorf("test-a licence %v", d.GetLicense())
	}
	if got := d.GetModified().AsTime(); !got.Equal(time.Date(2015, 4, 9, 10, 28, 45, 0, time.UTC)) {
		t.Errorf("test-a modified %v", got)
	}
	if !reflect.DeepEqual(d.GetKeywords(), []string{"keyword1", "keyword2"}) ||
		!reflect.DeepEqual(d.GetRawThemes(), []string{"Culture, Heritage", "Environment"}) {
		t.Errorf("test-a keywords %v themes %v", d.GetKeywords(), d.GetRawThemes())
	}
	if d.GetPublisher().GetName() != "test" || d.GetLanguage() != "en" {
		t.Errorf("test-a publisher %v language %q", d.GetPublisher(), d.GetLanguage())
	}
	if d.GetLandingPage() != "https://etalab-sandbox.opendatasoft.com/explore/dataset/test-a/" {
		t.Errorf("test-a landing page %q", d.GetLandingPage())
	}
	if !reflect.DeepEqual(formats(a), []string{"CSV", "JSON", "GeoJSON"}) {
		t.Errorf("test-a formats %v (no geo feature: no SHP)", formats(a))
	}
	if got := d.GetDistributions()[0].GetUrl(); got != "https://etalab-sandbox.opendatasoft.com/api/explore/v2.1/catalog/datasets/test-a/exports/csv" {
		t.Errorf("test-a csv export %q", got)
	}
	if !reflect.DeepEqual(a.Columns, []string{"toto", "titi"}) {
		t.Errorf("test-a columns %v", a.Columns)
	}

	b := all["test-b"]
	if !reflect.DeepEqual(formats(b), []string{"CSV", "JSON", "GeoJSON", "SHP", "ZIP", "PDF", "XLS"}) {
		t.Errorf("test-b formats %v", formats(b))
	}
	if got := b.Dataset.GetDistributions()[4].GetUrl(); got != "https://etalab-sandbox.opendatasoft.com/api/explore/v2.1/catalog/datasets/test-b/alternative_exports/gtfs_zip" {
		t.Errorf("test-b alternative export %q", got)
	}
	if !reflect.DeepEqual(b.Dataset.GetRawThemes(), []string{"Spatial planning, Town planning, Buildings, Equipment, Housing"}) {
		t.Errorf("test-b theme kept whole: %v", b.Dataset.GetRawThemes())
	}
	if b.Dataset.GetLicense().GetNormalized() != "unknown" {
		t.Errorf("test-b licence %v", b.Dataset.GetLicense())
	}
	// No records: attachments only.
	if got := formats(all["with-attachments"]); !reflect.DeepEqual(got, []string{"ZIP", "PDF"}) {
		t.Errorf("with-attachments formats %v", got)
	}
	if got := formats(all["empty"]); len(got) != 0 || len(all["empty"].Columns) != 0 {
		t.Errorf("empty: formats %v columns %v", got, all["empty"].Columns)
	}
	if c := all["inspire"].Dataset.GetContactPoint(); c.GetEmail() != "tnt@acme.com" || c.GetName() != "ACME" {
		t.Errorf("inspire contact %v", c)
	}
	if _, ok := all["test-attachments"]; !ok {
		t.Error("no-data.json: test-attachments missing")
	}
	if n := all["test-shp-limit"]; !reflect.DeepEqual(formats(n), []string{"CSV", "JSON", "GeoJSON", "SHP"}) {
		t.Errorf("test-shp-limit formats %v", formats(n))
	}
}

// ---- hand-written v2.1 and v2.0 answers ---------------------------------------

const v21Page = `{"total_count": 3, "results": [
 {"dataset_id": "224400028_deliberations-2021", "dataset_uid": "da_abc", "has_records": true,
  "features": ["analyze", "geo"], "data_visible": true,
  "attachments": [{"href": "https://data.loire-atlantique.fr/api/explore/v2.1/catalog/datasets/224400028_deliberations-2021/attachments/notice_pdf", "id": "notice_pdf", "mimetype": "application/pdf", "title": "Notice", "url": "odsfile://notice.pdf"}],
  "alternative_exports": [],
  "fields": [{"name": "coll_nom", "label": "COLL_NOM", "type": "text", "description": null, "annotations": {}},
             {"name": "delib_id", "label": "DELIB_ID", "type": "text"}, {"name": "delib_date", "label": "DELIB_DATE", "type": "date"},
             {"name": "delib_objet", "label": "DELIB_OBJET", "type": "text"}, {"name": "vote_pour", "label": "VOTE_POUR", "type": "int"}],
  "metas": {"default": {"title": "Délibérations du conseil départemental", "description": "<p>Les délibérations &amp; votes.</p><p>Depuis 2021.</p>",
     "theme": ["Administration, Gouvernement, Finances, Citoyenneté"], "keyword": ["délibérations", "conseil"],
     "license": "Licence Ouverte v2.0 (Etalab)", "license_url": "https://www.etalab.gouv.fr/licence-ouverte-open-licence",
     "language": "fr", "modified": "2024-03-01T10:00:00+00:00", "data_processed": "2024-03-01T10:05:00+00:00",
     "publisher": "Département de Loire-Atlantique", "territory": ["Loire-Atlantique"], "records_count": 1200, "references": "https://www.loire-atlantique.fr"},
   "dcat": {"created": "2021-01-15", "issued": "2021-01-20T00:00:00Z", "creator": "Direction de l'assemblée",
     "contact_name": "Service open data", "contact_email": "opendata@loire-atlantique.fr",
     "accrualperiodicity": "http://publications.europa.eu/resource/authority/frequency/MONTHLY",
     "spatial": null, "temporal": "2021-01-01/2021-12-31", "granularity": null, "dataquality": null}}},
 {"dataset_id": "odd-values", "has_records": false, "features": "geo", "fields": null, "attachments": null,
  "metas": {"default": {"title": ["Deux", "titres"], "keyword": "un seul mot-clé", "license": 42, "modified": null, "records_count": "7"}}},
 {"dataset_id": 17, "metas": {}}
]}`

func TestReadV21(t *testing.T) {
	k := &sink{}
	base := "https://data.loire-atlantique.fr/api/explore/v2.1/catalog/datasets?limit=100&offset=0"
	if err := ods.Read(context.Background(), strings.NewReader(v21Page), base, k); err != nil {
		t.Fatal(err)
	}
	if len(k.Recs) != 2 || len(k.Problems) != 1 || k.Totals[0] != 3 {
		t.Fatalf("%d records, problems %v, totals %v; want 2 records, 1 problem (dataset_id 17), total 3", len(k.Recs), k.Problems, k.Totals)
	}
	r := k.Recs[0]
	d := r.Dataset
	if d.GetOriginalId() != "224400028_deliberations-2021" || d.GetPublisher().GetSiren() != "224400028" {
		t.Errorf("id %q publisher %v", d.GetOriginalId(), d.GetPublisher())
	}
	if d.GetDescription() != "Les délibérations & votes.\n\nDepuis 2021." {
		t.Errorf("description %q", d.GetDescription())
	}
	if d.GetLicense().GetNormalized() != "etalab-2.0" || d.GetLanguage() != "fr" {
		t.Errorf("licence %v language %q", d.GetLicense(), d.GetLanguage())
	}
	if d.GetIssued().AsTime() != time.Date(2021, 1, 20, 0, 0, 0, 0, time.UTC) ||
		d.GetModified().AsTime() != time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC) {
		t.Errorf("issued %v modified %v", d.GetIssued().AsTime(), d.GetModified().AsTime())
	}
	if d.GetTemporal().GetStart().AsTime() != time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC) ||
		d.GetTemporal().GetEnd().AsTime() != time.Date(2021, 12, 31, 0, 0, 0, 0, time.UTC) {
		t.Errorf("temporal %v", d.GetTemporal())
	}
	if d.GetContactPoint().GetEmail() != "opendata@loire-atlantique.fr" || d.GetSpatial().GetLabel() != "Loire-Atlantique" {
		t.Errorf("contact %v spatial %v", d.GetContactPoint(), d.GetSpatial())
	}
	if !strings.HasSuffix(d.GetAccrualPeriodicity(), "/MONTHLY") {
		t.Errorf("accrual periodicity %q", d.GetAccrualPeriodicity())
	}
	if d.GetLandingPage() != "https://data.loire-atlantique.fr/explore/dataset/224400028_deliberations-2021/" {
		t.Errorf("landing page %q", d.GetLandingPage())
	}
	if !reflect.DeepEqual(formats(r), []string{"CSV", "JSON", "GeoJSON", "SHP", "PDF"}) {
		t.Errorf("formats %v", formats(r))
	}
	if got := d.GetDistributions()[4].GetUrl(); !strings.HasSuffix(got, "/attachments/notice_pdf") || !strings.HasPrefix(got, "https://data.loire-atlantique.fr/") {
		t.Errorf("attachment url %q", got)
	}
	m := normalize.SCDL(d.GetTitle(), d.GetKeywords(), d.GetConformsTo(), r.Columns)
	if len(m) != 1 || m[0].GetItem() != "scdl/deliberations" || m[0].GetEvidence() != "columns" {
		t.Errorf("SCDL evidence from fields: %v (columns %v)", m, r.Columns)
	}
	odd := k.Recs[1].Dataset
	if odd.GetTitle() != "Deux, titres" || !reflect.DeepEqual(odd.GetKeywords(), []string{"un seul mot-clé"}) ||
		odd.GetLicense().GetRaw() != "42" || len(odd.GetDistributions()) != 0 || odd.GetModified() != nil {
		t.Errorf("lenient values: %v", odd)
	}
}

func TestReadV20AndSingle(t *testing.T) {
	v20 := `{"total_count": 1, "links": [], "datasets": [{"links": [], "dataset": {"dataset_id": "m2a_arbres", "has_records": true, "features": [],
	  "fields": [{"name": "essence", "label": "Essence", "type": "text"}],
	  "metas": {"default": {"title": "Arbres", "license": "ODbL", "modified": "2023-05-02T08:00:00Z"}}}}]}`
	k := &sink{}
	if err := ods.Read(context.Background(), strings.NewReader(v20), "https://data.mulhouse-alsace.fr/api/v2/catalog/datasets", k); err != nil {
		t.Fatal(err)
	}
	if len(k.Recs) != 1 || k.Recs[0].Dataset.GetTitle() != "Arbres" || k.Recs[0].Dataset.GetLicense().GetNormalized() != "odbl-1.0" ||
		k.Recs[0].Dataset.GetPublisher().GetSiren() != "" {
		t.Fatalf("v2.0: %v %v", k.Recs, k.Problems)
	}
	if got := k.Recs[0].Dataset.GetDistributions()[0].GetUrl(); got != "https://data.mulhouse-alsace.fr/api/explore/v2.1/catalog/datasets/m2a_arbres/exports/csv" {
		t.Errorf("v2.0 export link %q", got)
	}
	for _, single := range []string{
		`{"dataset_id": "x", "metas": {"default": {"title": "X"}}}`,
		`{"links": [], "dataset": {"dataset_id": "x", "metas": {"default": {"title": "X"}}}}`,
	} {
		k := &sink{}
		if err := ods.Read(context.Background(), strings.NewReader(single), "", k); err != nil || len(k.Recs) != 1 {
			t.Errorf("%s: %v %d", single, err, len(k.Recs))
		}
	}
	for _, bad := range []string{`{"error_code": "ODSQLError", "message": "bad"}`, `{"results": [{"dataset_id": "a"}`, `"x"`, `{}`} {
		var pe *source.ParseError
		if err := ods.Read(context.Background(), strings.NewReader(bad), "", &sink{}); !errors.As(err, &pe) {
			t.Errorf("%s: %v, want a ParseError", bad, err)
		}
	}
}

// ---- against the simulator ---------------------------------------------------

func TestHarvestSimulator(t *testing.T) {
	h := newHarness(t, map[string]int{"bretagne-ods": 250, "loire-atlantique-ods": 30})
	k, err := h.harvest(t, "bretagne-ods")
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Pages) != 3 || len(k.Problems) != 0 {
		t.Errorf("pages %v problems %v", k.Pages, k.Problems)
	}
	got := k.byID()
	want := h.Datasets("bretagne-ods")
	if len(got) != len(want) || len(k.Recs) != 250 {
		t.Fatalf("%d records (%d distinct), want %d", len(k.Recs), len(got), len(want))
	}
	columns := 0
	for _, d := range want {
		r, ok := got[d.ID]
		if !ok {
			t.Fatalf("dataset %s not harvested", d.ID)
		}
		if r.Dataset.GetTitle() != d.Title || r.Dataset.GetModified().AsTime().Truncate(time.Millisecond) != d.Modified.UTC().Truncate(time.Millisecond) {
			t.Errorf("%s: title %q modified %v, want %q %v", d.ID, r.Dataset.GetTitle(), r.Dataset.GetModified().AsTime(), d.Title, d.Modified)
		}
		if r.Dataset.GetLicense().GetNormalized() == "unknown" || r.Dataset.GetLicense().GetNormalized() == "other" {
			t.Errorf("%s: licence %v", d.ID, r.Dataset.GetLicense())
		}
		if len(r.Columns) != len(d.Columns) {
			t.Errorf("%s: columns %v, want %v", d.ID, r.Columns, d.Columns)
		}
		if d.Evidence == "columns" {
			columns++
			m := normalize.SCDL(r.Dataset.GetTitle(), r.Dataset.GetKeywords(), r.Dataset.GetConformsTo(), r.Columns)
			found := false
			for _, x := range m {
				found = found || (x.GetItem() == d.SCDL)
			}
			if !found {
				t.Errorf("%s: SCDL %s not found from columns %v: %v", d.ID, d.SCDL, r.Columns, m)
			}
		}
		if fs := formats(r); len(fs) < 3 || fs[0] != "CSV" || !strings.HasPrefix(r.Dataset.GetDistributions()[0].GetUrl(), h.URL+"/sim/bretagne-ods/api/explore/v2.1/catalog/datasets/") {
			t.Errorf("%s: distributions %v", d.ID, r.Dataset.GetDistributions())
		}
	}
	if columns == 0 {
		t.Error("no dataset with column evidence in 250: the test proves nothing")
	}
	// SIREN from the id prefix on the Loire-Atlantique network: the
	// publisher's (224400028_ for the Département).
	k, err = h.harvest(t, "loire-atlantique-ods")
	if err != nil || len(k.Recs) != 30 {
		t.Fatalf("loire-atlantique: %v, %d records", err, len(k.Recs))
	}
	dept := 0
	for _, r := range k.Recs {
		id, siren := r.Dataset.GetOriginalId(), r.Dataset.GetPublisher().GetSiren()
		prefixed := len(id) > 10 && id[9] == '_' && strings.Trim(id[:9], "0123456789") == ""
		if prefixed && siren != id[:9] || !prefixed && siren != "" {
			t.Fatalf("%s: publisher %v", id, r.Dataset.GetPublisher())
		}
		if siren == "224400028" {
			dept++
		}
	}
	if dept == 0 {
		t.Error("no dataset of the Département in 30")
	}
}

func TestHarvestPastTheWindowUsesTheExport(t *testing.T) {
	h := newHarness(t, map[string]int{"bretagne-ods-window": 320})
	k, err := h.harvest(t, "bretagne-ods-window")
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Recs) != 320 || len(k.byID()) != 320 {
		t.Fatalf("%d records, %d distinct, want 320", len(k.Recs), len(k.byID()))
	}
	// offset 0 limit 100, offset 100 limit 50 (window 150), then the export.
	if len(k.Pages) != 3 || !strings.Contains(k.Pages[1], "limit=50") || !strings.Contains(k.Pages[2], "/catalog/exports/json") {
		t.Errorf("pages %v", k.Pages)
	}
	if len(k.Problems) != 0 {
		t.Errorf("problems %v", k.Problems)
	}
	ids := make([]string, 0, len(k.Recs))
	for _, r := range k.Recs {
		ids = append(ids, r.Dataset.GetOriginalId())
	}
	if !sort.StringsAreSorted(ids) {
		t.Error("records not in dataset_id order")
	}
}

const page2 = "/sim/bretagne-ods/api/explore/v2.1/catalog/datasets?limit=100&offset=100&order_by=dataset_id"

func TestHarvestServerErrorAtPage2(t *testing.T) {
	h := newHarness(t, map[string]int{"bretagne-ods": 250})
	h.SetFault("bretagne-ods", simulator.Fault{Status: 500, FromPage: 2})
	k, err := h.harvest(t, "bretagne-ods")
	if kindOf(err) != source.KindHTTP || !strings.Contains(err.Error(), "offset=100") {
		t.Fatalf("error %v, want an http error on page 2", err)
	}
	if len(k.Recs) != 100 {
		t.Errorf("%d records before the failure, want page 1's 100", len(k.Recs))
	}
}

// rewrite fetches a simulator page and serves it back changed.
func (h *harness) rewrite(t *testing.T, path string, edit func(total *int, results *[]json.RawMessage)) {
	t.Helper()
	var page struct {
		Total   int               `json:"total_count"`
		Results []json.RawMessage `json:"results"`
	}
	if err := json.Unmarshal(h.Get(t, path), &page); err != nil {
		t.Fatal(err)
	}
	edit(&page.Total, &page.Results)
	b, _ := json.Marshal(page)
	h.ServePayload("bretagne-ods", strings.TrimPrefix(path, "/sim/bretagne-ods"), "application/json", b)
}

func TestHarvestShortPage(t *testing.T) {
	h := newHarness(t, map[string]int{"bretagne-ods": 250})
	h.rewrite(t, page2, func(_ *int, results *[]json.RawMessage) { *results = (*results)[:37] })
	k, err := h.harvest(t, "bretagne-ods")
	if kindOf(err) != source.KindPaging || !strings.Contains(err.Error(), "37 datasets of 100") {
		t.Fatalf("error %v, want a paging error on the short page", err)
	}
	if len(k.Recs) != 137 {
		t.Errorf("%d records, want 137 handed over before the error", len(k.Recs))
	}
}

func TestHarvestTotalThatLies(t *testing.T) {
	h := newHarness(t, map[string]int{"bretagne-ods": 250})
	// Page 2 claims 300; page 3 (the last, 50 datasets) claims 400: the walk
	// must neither stop early nor call a 250-dataset walk complete.
	h.rewrite(t, page2, func(total *int, _ *[]json.RawMessage) { *total = 300 })
	h.rewrite(t, strings.Replace(page2, "offset=100", "offset=200", 1), func(total *int, _ *[]json.RawMessage) { *total = 400 })
	k, err := h.harvest(t, "bretagne-ods")
	if kindOf(err) != source.KindPaging {
		t.Fatalf("error %v, want a paging error", err)
	}
	changes := 0
	for _, p := range k.Problems {
		if p.Kind == source.KindPaging && strings.Contains(p.Message, "changed") {
			changes++
		}
	}
	if changes != 2 || len(k.Recs) != 250 {
		t.Errorf("%d total changes reported (%v), %d records", changes, k.Problems, len(k.Recs))
	}
	// A total lower than the datasets served ends the walk at the total.
	h2 := newHarness(t, map[string]int{"bretagne-ods": 250})
	h2.rewrite(t, "/sim/bretagne-ods/api/explore/v2.1/catalog/datasets?limit=100&offset=0&order_by=dataset_id",
		func(total *int, _ *[]json.RawMessage) { *total = 100 })
	k, err = h2.harvest(t, "bretagne-ods")
	if err != nil || len(k.Recs) != 100 || len(k.Pages) != 1 {
		t.Errorf("lower total: %v, %d records, pages %v", err, len(k.Recs), k.Pages)
	}
}

func TestNewParams(t *testing.T) {
	for _, p := range []map[string]string{{"page_size": "101"}, {"page_size": "x"}, {"max_window": "0"}} {
		src := &config.Source{ID: "s", Protocol: "ods", Endpoint: "https://x.example/api/explore/v2.1", Params: p}
		if _, err := ods.New(src, source.Env{}); err == nil {
			t.Errorf("params %v accepted", p)
		}
	}
}

// ---- fuzzing --------------------------------------------------------------------

func FuzzReadODS(f *testing.F) {
	f.Add([]byte(v21Page))
	f.Add([]byte(`[{"dataset_id": "a", "metas": {"default": {}}}]`))
	f.Add([]byte(`{"nhits": 1, "datasets": [{"datasetid": "a", "metas": {"title": "t"}, "fields": [{"name": 1}]}]}`))
	if dir := fixtureDirOrEmpty(); dir != "" {
		files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	sim := sourcetest.ServeYAML(f, testConfig, simulator.Options{DatasetsPerSource: 3})
	f.Add(sim.Get(f, "/sim/bretagne-ods/api/explore/v2.1/catalog/datasets?limit=3"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = ods.Read(context.Background(), bytes.NewReader(data), "https://x.example/api/explore/v2.1/catalog/datasets", &sink{})
		_ = ods.Sniff(data)
	})
}

func fixtureDirOrEmpty() string {
	return sharedtest.Path("fixtures", "real", "opendatateam__udata-ods", "tests", "data")
}

// A title that is empty once normalised (only markup) gives way to the
// dataset id, as a missing title does.
func TestReadMarkupTitle(t *testing.T) {
	doc := `{"total_count": 1, "results": [{"dataset_id": "budget-2024", "metas": {"default": {"title": "<p> </p>"}}}]}`
	k := &sink{}
	if err := ods.Read(context.Background(), strings.NewReader(doc), "https://data.example.fr/api/explore/v2.1/catalog/datasets?limit=100&offset=0", k); err != nil {
		t.Fatal(err)
	}
	if len(k.Recs) != 1 || k.Recs[0].Dataset.GetTitle() != "budget-2024" {
		t.Errorf("records %v, problems %v; want one titled by its id", k.Recs, k.Problems)
	}
}

// A dataset's metas as each API version writes them, read in one pass:
// v2's default and dcat blocks (other templates skipped), v1's flat fields
// (names matched without case), the last of a repeated block; a metas that
// is no object is a problem for that dataset only.
func TestMetasShapes(t *testing.T) {
	doc := `[
	 {"dataset_id":"v2","metas":{"semantic":{"x":[1,{"y":null}]},"default":{"title":"Bloc","publisher":"Ville de Rennes"},"dcat":{"creator":"Service SIG"},"title":"ignorée"}},
	 {"dataset_id":"v1","metas":{"TITLE":"Plat","Publisher":"Rennes Métropole","keyword":["a","b"],"dcat":{"creator":"pas lu en v1"}}},
	 {"dataset_id":"again","metas":{"default":{"title":"Premier"},"default":"remplacé","title":"Dernier"}},
	 {"dataset_id":"bad","metas":[1,2]},
	 {"dataset_id":"none","metas":null}
	]`
	k := &sink{}
	if err := ods.Read(context.Background(), strings.NewReader(doc), "", k); err != nil {
		t.Fatal(err)
	}
	got := k.byID()
	for id, want := range map[string]string{"v2": "Bloc", "v1": "Plat", "again": "Dernier", "none": "none"} {
		if title := got[id].Dataset.GetTitle(); title != want {
			t.Errorf("%s: title %q, want %q", id, title, want)
		}
	}
	if p := got["v2"].Dataset.GetPublisher().GetName(); p != "Ville de Rennes" {
		t.Errorf("v2 publisher %q", p)
	}
	if p := got["v1"].Dataset.GetPublisher().GetName(); p != "Rennes Métropole" || len(got["v1"].Dataset.GetKeywords()) != 2 {
		t.Errorf("v1 publisher %q, keywords %v", p, got["v1"].Dataset.GetKeywords())
	}
	if len(k.Problems) != 1 || !strings.Contains(k.Problems[0].Message, "metas is not an object") || got["bad"].Dataset != nil {
		t.Errorf("problems %v", k.Problems)
	}
}
