package ckan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/opendatafrance/moisson/harvester/internal/sharedtest"
	"github.com/opendatafrance/moisson/harvester/source/sourcetest"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/fetch"
	"github.com/opendatafrance/moisson/harvester/source"
	"go.uber.org/zap"
)

// sink records what the adapter hands over.
type sink = sourcetest.Sink

func TestBarePackageDict(t *testing.T) {
	doc := `{"name": "budget-2024", "title": "Budget primitif 2024", "title_translated": {"en": "Budget 2024", "fr": "Budget primitif 2024 (fr)"},
	"notes": "BP", "issued": "2024-01-15", "modified": "2024-05-05T10:00:00",
	"publisher": [{"name": "Ville de Nevers", "identifier": "https://siren.example/21580194700012"}],
	"contact": [{"name": "Service finances", "email": "finances@nevers.fr"}],
	"theme": ["http://publications.europa.eu/resource/authority/data-theme/GOVE"], "conforms_to": ["https://schema.data.gouv.fr/scdl/budget/"],
	"resources": [{"url": "https://x/budget.csv", "format": "CSV", "license": "https://www.etalab.gouv.fr/licence-ouverte-open-licence"}]}`
	var s sink
	if err := Read(context.Background(), strings.NewReader(doc), "", &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Recs) != 1 {
		t.Fatalf("%d records", len(s.Recs))
	}
	d := s.Recs[0].Dataset
	if d.GetTitle() != "Budget primitif 2024 (fr)" || d.GetLicense().GetNormalized() != "etalab-2.0" ||
		d.GetPublisher().GetName() != "Ville de Nevers" || d.GetContactPoint().GetEmail() != "finances@nevers.fr" ||
		d.GetModified().AsTime().Format("2006-01-02") != "2024-05-05" || len(d.GetConformsTo()) != 1 || d.GetLandingPage() != "" {
		t.Errorf("record %v", d)
	}
}

// Name and title are judged once normalised: a title that is only markup
// gives way to the name, and a name of spaces is no name (FuzzCKANRead
// found a record with neither id nor title).
func TestPackageNameAndTitleNormalised(t *testing.T) {
	doc := `{"success": true, "result": {"count": 2, "results": [
	{"name": "budget-2024", "title": "<p></p>", "resources": []},
	{"name": " ", "title": " ", "resources": []}]}}`
	var s sink
	if err := Read(context.Background(), strings.NewReader(doc), "", &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Recs) != 1 || s.Recs[0].Dataset.GetTitle() != "budget-2024" || s.Recs[0].Dataset.GetOriginalId() != "budget-2024" {
		t.Errorf("records %v, want one titled by its name", s.Recs)
	}
}

func TestNotPackages(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{`{"help": "https://x/api/3/action/help_show?name=package_list", "success": true, "result": ["a", "b"]}`, "package_list"},
		{`{"success": true, "result": ["a", "b"]}`, "package_list"},
		{`{"help": "https://x/api/3/action/help_show?name=resource_show", "success": true, "result": {"id": "r", "url": "u"}}`, "resource_show"},
		{`{"success": true, "result": {"id": "r", "package_id": "p", "url": "u", "format": "CSV"}}`, "resource_show"},
		{`{"id": "r", "package_id": "p", "url": "u"}`, "neither an Action API answer"},
		{`[1, 2]`, "package 1"},
		{`"text"`, "expected a JSON object"},
	} {
		var s sink
		err := Read(context.Background(), strings.NewReader(tc.doc), "", &s)
		var pe *source.ParseError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want a ParseError about %q", tc.doc, err, tc.want)
		}
		if len(s.Recs) != 0 {
			t.Errorf("%s: %d records", tc.doc, len(s.Recs))
		}
	}
}

func TestPortalFromBase(t *testing.T) {
	for base, want := range map[string]string{
		"https://opendata.nicecotedazur.org/data/api/3/action/package_search?rows=10": "https://opendata.nicecotedazur.org/data",
		"https://demo.ckan.org/api/3/action/package_show?id=x":                        "https://demo.ckan.org",
		"/tmp/fixtures/package.json":                                                  "",
		"":                                                                            "",
	} {
		if got := portalOf(base); got != want {
			t.Errorf("portalOf(%q) = %q, want %q", base, got, want)
		}
	}
}

// The UTF-8 check must accept sequences cut between reads, and point at
// the first bad byte.
func TestUTF8Reader(t *testing.T) {
	good := `{"success": true, "result": {"count": 1, "results": [{"id": "a", "title": "Équipements – œuvres 🚲 délibérations"}]}}`
	n, _, err := DecodeSearch(iotest.OneByteReader(strings.NewReader(good)), func(p *Package) error {
		if string(p.Title) != "Équipements – œuvres 🚲 délibérations" {
			t.Errorf("title %q", p.Title)
		}
		return nil
	})
	if err != nil || n != 1 {
		t.Fatalf("n=%d err=%v", n, err)
	}
	for _, bad := range []string{"Donn\xe9es", "x\xc3", "\xf0\x9f\x9a", "\xed\xa0\x80"} {
		doc := `{"success": true, "result": {"count": 1, "results": [{"id": "a", "title": "` + bad + `"}]}}`
		off := int64(strings.Index(doc, bad))
		for _, r := range []io.Reader{strings.NewReader(doc), iotest.OneByteReader(strings.NewReader(doc)), iotest.HalfReader(strings.NewReader(doc))} {
			_, _, err := DecodeSearch(r, func(*Package) error { return nil })
			var pe *source.ParseError
			if !errors.As(err, &pe) || !strings.Contains(pe.Msg, "invalid UTF-8") {
				t.Errorf("%q: error %v", bad, err)
				continue
			}
			if pe.Offset < off || pe.Offset >= off+int64(len(bad)) {
				t.Errorf("%q: offset %d, want %d", bad, pe.Offset, off)
			}
		}
	}
}

// A page over the body limit stops the harvest with fetch.ErrTooLarge, after
// the packages read before it, without holding the page.
func TestHarvestTooLarge(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"success": true, "result": {"count": 100000, "results": [`)
		for i := 0; i < 20000; i++ {
			if i > 0 {
				io.WriteString(w, ",")
			}
			fmt.Fprintf(w, `{"id": "p%d", "name": "p%d", "title": "Package %d", "notes": "%s"}`, i, i, i, strings.Repeat("x", 200))
		}
		io.WriteString(w, `]}}`)
	}))
	defer srv.Close()
	client := fetch.New(fetch.Options{AllowPrivate: true, Retries: -1, MaxBodyBytes: 64 << 10})
	src, err := New(&config.Source{ID: "t", Protocol: "ckan", Endpoint: srv.URL + "/api/3/action"}, source.Env{Client: client, Log: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	var s sink
	err = src.Harvest(context.Background(), &s)
	if !errors.Is(err, fetch.ErrTooLarge) {
		t.Fatalf("error %v, want fetch.ErrTooLarge", err)
	}
	if len(s.Recs) == 0 || len(s.Recs) > 300 {
		t.Errorf("%d packages before the limit", len(s.Recs))
	}
}

// fixtureFiles lists the CKAN JSON fixtures of <repo root>/../shared/fixtures/real.
func fixtureFiles(tb testing.TB) [][]byte {
	dir := sharedtest.Path("fixtures", "real")
	if dir == "" {
		return nil
	}
	var out [][]byte
	filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() && strings.HasSuffix(p, ".json") {
			if b, err := os.ReadFile(p); err == nil && sniff(b[:min(len(b), 8192)]) {
				out = append(out, b)
			}
		}
		return nil
	})
	return out
}

func FuzzCKANRead(f *testing.F) {
	for _, b := range fixtureFiles(f) {
		f.Add(b)
	}
	f.Add([]byte(`{"success": true, "result": {"count": 1, "results": [{"id": "a", "title": "A", "resources": [{"url": "u", "size": "12"}]}]}}`))
	f.Add([]byte(`{"id": "a", "title": {"fr": "A"}, "extras": [{"key": "theme", "value": "[\"x\"]"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var s sink
		err := Read(context.Background(), bytes.NewReader(data), "https://x/api/3/action/package_search", &s)
		if err != nil {
			var pe *source.ParseError
			if !errors.As(err, &pe) || pe.Msg == "" {
				t.Fatalf("error is not a ParseError with a reason: %T %v", err, err)
			}
		}
		for _, r := range s.Recs {
			if r.Dataset.GetOriginalId() == "" || r.Dataset.GetTitle() == "" || r.Dataset.GetLicense() == nil {
				t.Fatalf("incomplete record %v", r.Dataset)
			}
		}
	})
}

// A package_search result saved without its Action API envelope (what
// "result" holds) is read as CKAN, by Read and by the sniffer inspect uses.
func TestSearchResultWithoutEnvelope(t *testing.T) {
	doc := `{"count": 2, "facets": {}, "results": [
	{"id": "a1", "name": "budget-2024", "title": "Budget 2024", "num_resources": 1, "license_id": "lov2",
	 "resources": [{"url": "https://x/b.csv", "format": "CSV"}]},
	{"id": "b2", "name": "deliberations", "title": "Délibérations", "num_resources": 0}],
	"sort": "score desc", "search_facets": {}}`
	if !sniff([]byte(doc)) {
		t.Error("not recognised as CKAN")
	}
	var s sink
	if err := Read(context.Background(), strings.NewReader(doc), "", &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Recs) != 2 || s.Recs[1].Dataset.GetTitle() != "Délibérations" || s.Declared != 2 {
		t.Errorf("%d records, declared %d", len(s.Recs), s.Declared)
	}
}
