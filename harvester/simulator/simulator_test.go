package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/rdf"
)

// testConfig is the default configuration with every source enabled: the
// simulator serves the alternative endpoints the default configuration
// lists disabled too, and these tests use them.
func testConfig() *config.Config {
	cfg := config.Default()
	for _, s := range cfg.Sources() {
		s.Disabled = ""
	}
	return cfg
}

func newSim(t testing.TB, opts Options) (*Simulator, *httptest.Server) {
	t.Helper()
	sim := New(testConfig(), opts)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return sim, srv
}

func get(t testing.TB, u string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s: %v", u, err)
	}
	return resp, body
}

type searchResult struct {
	Help    string `json:"help"`
	Success bool   `json:"success"`
	Result  struct {
		Count   int             `json:"count"`
		Sort    string          `json:"sort"`
		Facets  map[string]any  `json:"facets"`
		Results []ckanPkgDecode `json:"results"`
	} `json:"result"`
}

type ckanPkgDecode struct {
	ID               string `json:"id"`
	Name             string `json:"name"`
	Title            string `json:"title"`
	MetadataModified string `json:"metadata_modified"`
	Organization     struct {
		Name string `json:"name"`
	} `json:"organization"`
}

func search(t testing.TB, base, src, query string) searchResult {
	t.Helper()
	ep, _ := url.Parse(testConfig().Source(src).Endpoint)
	resp, body := get(t, base+"/sim/"+src+ep.Path+"/package_search?"+query)
	if resp.StatusCode != 200 {
		t.Fatalf("package_search %s: %d %s", query, resp.StatusCode, body)
	}
	var r searchResult
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestDeterminism(t *testing.T) {
	_, a := newSim(t, Options{DatasetsPerSource: 40})
	_, b := newSim(t, Options{DatasetsPerSource: 40})
	_, c := newSim(t, Options{DatasetsPerSource: 40, Seed: 2})
	for _, p := range []string{
		"/sim/arnia-ckan/api/3/action/package_search?rows=40",
		"/sim/stmalo-dcat/api/explore/v2.1/catalog/exports/ttl",
		"/sim/bretagne-dcat/api/explore/v2.1/catalog/exports/rdf",
	} {
		_, ba := get(t, a.URL+p)
		_, bb := get(t, b.URL+p)
		_, bc := get(t, c.URL+p)
		if !bytes.Equal(ba, bb) {
			t.Errorf("%s: same seed, different bytes", p)
		}
		if bytes.Equal(ba, bc) {
			t.Errorf("%s: different seeds, same bytes", p)
		}
	}
	// Growing a source keeps its first datasets.
	small := New(testConfig(), Options{DatasetsPerSource: 10}).Datasets("nice-ckan")
	big := New(testConfig(), Options{DatasetsPerSource: 30}).Datasets("nice-ckan")
	if !reflect.DeepEqual(small, big[:10]) {
		t.Error("the first 10 datasets change with the source size")
	}
}

func TestCKANPagingWalksEverything(t *testing.T) {
	sim, srv := newSim(t, Options{DatasetsPerSource: 57})
	want := map[string]bool{}
	for _, d := range sim.Datasets("arnia-ckan") {
		want[d.ID] = true
	}
	if len(want) != 57 || sim.Expected("arnia-ckan") != 57 {
		t.Fatalf("want 57 datasets, got %d / %d", len(want), sim.Expected("arnia-ckan"))
	}
	for _, sortSpec := range []string{"", "metadata_modified desc", "name asc", "id asc"} {
		seen := map[string]bool{}
		var order []ckanPkgDecode
		for start := 0; ; start += 10 {
			q := url.Values{"rows": {"10"}, "start": {fmt.Sprint(start)}}
			if sortSpec != "" {
				q.Set("sort", sortSpec)
			}
			r := search(t, srv.URL, "arnia-ckan", q.Encode())
			if r.Result.Count != 57 {
				t.Fatalf("count %d", r.Result.Count)
			}
			if len(r.Result.Results) == 0 {
				break
			}
			for _, p := range r.Result.Results {
				if seen[p.ID] {
					t.Errorf("sort %q: %s twice", sortSpec, p.ID)
				}
				seen[p.ID] = true
				order = append(order, p)
			}
		}
		if !reflect.DeepEqual(seen, want) {
			t.Errorf("sort %q: walked %d datasets, want the 57 generated", sortSpec, len(seen))
		}
		ok := sort.SliceIsSorted(order, func(i, j int) bool {
			switch sortSpec {
			case "name asc":
				return order[i].Name < order[j].Name
			case "id asc":
				return order[i].ID < order[j].ID
			default:
				return order[i].MetadataModified > order[j].MetadataModified
			}
		})
		if !ok {
			t.Errorf("sort %q not honoured", sortSpec)
		}
	}
}

func TestCKANRowsCap(t *testing.T) {
	_, srv := newSim(t, Options{DatasetsPerSource: 30, PageSizeCap: 7})
	r := search(t, srv.URL, "arnia-ckan", "rows=1000")
	if len(r.Result.Results) != 7 || r.Result.Count != 30 {
		t.Fatalf("rows capped: got %d results, count %d", len(r.Result.Results), r.Result.Count)
	}
	r = search(t, srv.URL, "arnia-ckan", "")
	if len(r.Result.Results) != 7 { // default 10, capped at 7
		t.Fatalf("default rows: %d", len(r.Result.Results))
	}
}

func TestCKANOrganizationFilter(t *testing.T) {
	sim, srv := newSim(t, Options{DatasetsPerSource: 80})
	for _, d := range sim.Datasets("nevers-ckan") {
		if d.OrgSlug != "nevers-agglomeration" {
			t.Fatalf("nevers-ckan dataset of organisation %q", d.OrgSlug)
		}
	}
	r := search(t, srv.URL, "nevers-ckan", "fq=organization:nevers-agglomeration&rows=1000")
	if r.Result.Count != 80 || len(r.Result.Results) != 80 {
		t.Fatalf("nevers: %d", r.Result.Count)
	}
	// arnia-ckan mixes the member's datasets and communes' organisations.
	counts := map[string]int{}
	for _, d := range sim.Datasets("arnia-ckan") {
		counts[d.OrgSlug]++
	}
	if len(counts) < 2 {
		t.Fatalf("arnia-ckan has a single organisation: %v", counts)
	}
	for slug, n := range counts {
		for _, q := range []string{"fq=organization:" + slug, "q=" + url.QueryEscape(`organization:"`+slug+`"`)} {
			r := search(t, srv.URL, "arnia-ckan", q+"&rows=1000")
			if r.Result.Count != n || len(r.Result.Results) != n {
				t.Errorf("%s: %d results, want %d", q, r.Result.Count, n)
			}
			for _, p := range r.Result.Results {
				if p.Organization.Name != slug {
					t.Errorf("%s: result of organisation %s", q, p.Organization.Name)
				}
			}
		}
	}
	r = search(t, srv.URL, "arnia-ckan", "fq=organization:nobody")
	if r.Result.Count != 0 {
		t.Errorf("unknown organisation: %d results", r.Result.Count)
	}
}

func TestCKANEnvelopeAndActions(t *testing.T) {
	sim, srv := newSim(t, Options{DatasetsPerSource: 25})
	base := srv.URL + "/sim/datasud-ckan/fr/indexer/service/ckan/api/3/action/"
	resp, body := get(t, base+"package_search?rows=25")
	if !json.Valid(body) {
		t.Fatal("invalid JSON")
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("content type %q", ct)
	}
	var env map[string]any
	json.Unmarshal(body, &env)
	for _, k := range []string{"help", "success", "result"} {
		if _, ok := env[k]; !ok {
			t.Errorf("envelope lacks %q", k)
		}
	}
	res := env["result"].(map[string]any)
	for _, k := range []string{"count", "sort", "facets", "results"} {
		if _, ok := res[k]; !ok {
			t.Errorf("result lacks %q", k)
		}
	}
	results := res["results"].([]any)
	if len(results) != 25 {
		t.Fatalf("%d results", len(results))
	}
	var hasConforms, hasSpatialURI bool
	ds := sim.Datasets("datasud-ckan")
	byID := map[string]Dataset{}
	for _, d := range ds {
		byID[d.ID] = d
	}
	for _, x := range results {
		p := x.(map[string]any)
		for _, k := range []string{"id", "name", "title", "notes", "license_id", "license_title", "license_url",
			"metadata_created", "metadata_modified", "organization", "tags", "groups", "extras", "resources", "url"} {
			if _, ok := p[k]; !ok {
				t.Fatalf("package lacks %q", k)
			}
		}
		d, ok := byID[p["id"].(string)]
		if !ok || d.Title != p["title"] || d.Description != p["notes"] || d.License != p["license_id"] {
			t.Fatalf("package %v does not match the generated dataset", p["id"])
		}
		if len(p["resources"].([]any)) != len(d.Resources) {
			t.Errorf("resources: %d vs %d", len(p["resources"].([]any)), len(d.Resources))
		}
		r0 := p["resources"].([]any)[0].(map[string]any)
		if r0["url"] != d.Resources[0].URL || r0["format"] != d.Resources[0].Format {
			t.Errorf("resource %v", r0)
		}
		for _, e := range p["extras"].([]any) {
			switch e.(map[string]any)["key"] {
			case "conforms_to":
				hasConforms = true
			case "spatial_uri":
				hasSpatialURI = true
			}
		}
	}
	if !hasConforms || !hasSpatialURI {
		t.Errorf("no conforms_to (%v) or spatial_uri (%v) extra in 25 datasets", hasConforms, hasSpatialURI)
	}

	// Errors like CKAN's.
	for _, c := range []struct {
		q      string
		status int
		typ    string
	}{
		{"package_search?rows=abc", 409, "Validation Error"},
		{"package_search?start=-1", 409, "Validation Error"},
		{"package_search?sort=bogus+asc", 409, "Search Query Error"},
		{"package_show", 409, "Validation Error"},
		{"package_show?id=nope", 404, "Not Found Error"},
		{"no_such_action", 400, "Bad Request"},
	} {
		resp, body := get(t, base+c.q)
		var e struct {
			Success bool           `json:"success"`
			Error   map[string]any `json:"error"`
		}
		if err := json.Unmarshal(body, &e); err != nil || resp.StatusCode != c.status || e.Success || e.Error["__type"] != c.typ {
			t.Errorf("%s: %d %s", c.q, resp.StatusCode, body)
		}
	}

	// package_show by id and by name.
	for _, id := range []string{ds[3].ID, ds[3].Name} {
		resp, body := get(t, base+"package_show?id="+id)
		var show struct {
			Success bool          `json:"success"`
			Result  ckanPkgDecode `json:"result"`
		}
		json.Unmarshal(body, &show)
		if resp.StatusCode != 200 || !show.Success || show.Result.Title != ds[3].Title {
			t.Errorf("package_show %s: %d %s", id, resp.StatusCode, body)
		}
	}
	_, body = get(t, base+"organization_list")
	var orgs struct{ Result []string }
	json.Unmarshal(body, &orgs)
	if len(orgs.Result) == 0 || !sort.StringsAreSorted(orgs.Result) {
		t.Errorf("organization_list: %s", body)
	}
	resp, body = get(t, base+"status_show")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"ckan_version"`) {
		t.Errorf("status_show: %s", body)
	}
}

// parseRDF parses a body with the rdf package and returns its triples.
func parseRDF(t testing.TB, syntax string, body []byte) []rdf.Triple {
	t.Helper()
	var ts []rdf.Triple
	h := func(tr rdf.Triple) error { ts = append(ts, tr); return nil }
	var err error
	switch syntax {
	case "rdfxml":
		err = rdf.ParseRDFXML(bytes.NewReader(body), "http://example.org/", h)
	case "turtle":
		err = rdf.ParseTurtle(bytes.NewReader(body), "http://example.org/", h)
	case "ntriples":
		err = rdf.ParseNTriples(bytes.NewReader(body), h)
	default:
		t.Fatalf("syntax %s", syntax)
	}
	if err != nil {
		t.Fatalf("%s: %v", syntax, err)
	}
	return ts
}

func datasetSubjects(ts []rdf.Triple) map[string]bool {
	out := map[string]bool{}
	for _, tr := range ts {
		if tr.P.Value == rdf.RDFType && tr.O.Value == nsDCAT+"Dataset" {
			out[tr.S.Value] = true
		}
	}
	return out
}

func wellFormedXML(t testing.TB, body []byte) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(body))
	for {
		_, err := dec.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("RDF/XML not well-formed: %v", err)
		}
	}
}

// jsonldDatasets counts node objects typed dcat:Dataset in expanded JSON-LD.
func jsonldDatasets(v any) int {
	n := 0
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			n += jsonldDatasets(e)
		}
	case map[string]any:
		if ts, ok := x["@type"].([]any); ok {
			for _, ty := range ts {
				if ty == nsDCAT+"Dataset" {
					n++
				}
			}
		}
		for k, e := range x {
			if k != "@type" {
				n += jsonldDatasets(e)
			}
		}
	}
	return n
}

func TestDCATSyntaxes(t *testing.T) {
	sim, srv := newSim(t, Options{DatasetsPerSource: 120})
	cases := []struct {
		src, path, syntax, ctype string
	}{
		{"bretagne-dcat", "/api/explore/v2.1/catalog/exports/rdf", "rdfxml", "application/rdf+xml"},
		{"rennes-dcat", "/api/explore/v2.1/catalog/exports/dcat", "rdfxml", "application/rdf+xml"},
		{"stmalo-dcat", "/api/explore/v2.1/catalog/exports/ttl", "turtle", "text/turtle"},
		{"mulhouse-dcat", "/api/explore/v2.1/catalog/exports/nt", "ntriples", "application/n-triples"},
		{"toulouse-dcat", "/catalog.ttl", "turtle", "text/turtle"},
		{"laregion-dcat", "/api/explore/v2.1/catalog/exports/jsonld", "jsonld", "application/ld+json"},
	}
	for _, c := range cases {
		resp, body := get(t, srv.URL+"/sim/"+c.src+c.path)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), c.ctype) {
			t.Fatalf("%s%s: %d %s", c.src, c.path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		want := sim.Expected(c.src)
		if c.syntax == "jsonld" {
			var v any
			if err := json.Unmarshal(body, &v); err != nil {
				t.Fatalf("JSON-LD: %v", err)
			}
			if n := jsonldDatasets(v); n != want {
				t.Errorf("%s: %d datasets in JSON-LD, want %d", c.src, n, want)
			}
			continue
		}
		if c.syntax == "rdfxml" {
			wellFormedXML(t, body)
		}
		ts := parseRDF(t, c.syntax, body)
		subs := datasetSubjects(ts)
		if len(subs) != want {
			t.Errorf("%s: %d dcat:Dataset, want %d", c.src, len(subs), want)
		}
		// Titles and descriptions (with quotes, <, &, newlines) survive.
		titles, descs := map[string]bool{}, map[string]bool{}
		for _, tr := range ts {
			switch tr.P.Value {
			case nsDCT + "title":
				titles[tr.O.Value] = true
			case nsDCT + "description":
				descs[tr.O.Value] = true
			}
		}
		tricky := 0
		for _, d := range sim.Datasets(c.src) {
			if !titles[d.Title] || !descs[d.Description] {
				t.Errorf("%s: %q lost or mangled", c.src, d.Title)
				break
			}
			if strings.ContainsAny(d.Description, "<&\"\n") {
				tricky++
			}
		}
		if tricky == 0 {
			t.Errorf("%s: no description with characters to escape", c.src)
		}
	}
}

// A Turtle/RDF/XML/N-Triples round trip of hostile strings.
func TestRDFEscaping(t *testing.T) {
	d := Dataset{ID: "x", URI: "http://example.org/d/a b<c>", Title: "Titre \"guillemets\" \\ <balise> & l'eau\r\n\ttab", Description: "ligne 1\nligne 2 ]]> --> \x01",
		Keywords: []string{"d'équipements"}, Publisher: "A & B <c>", LandingPage: "http://example.org/?a=1&b=2"}
	for _, syn := range []rdfSyntax{synTurtle, synNT, synRDFXML} {
		var buf bytes.Buffer
		w := syn.writer(&buf)
		w.start(&rnode{iri: "http://example.org/", types: []string{nsDCAT + "Catalog"}})
		w.dataset(dcatDataset(&d))
		if err := w.finish(nil); err != nil {
			t.Fatal(err)
		}
		ts := parseRDF(t, syn.name, buf.Bytes())
		got := map[string]string{}
		for _, tr := range ts {
			got[tr.P.Value] = tr.O.Value
		}
		if got[nsDCT+"title"] != d.Title && !(syn.name == "rdfxml" && got[nsDCT+"title"] == strings.ReplaceAll(d.Title, "\r\n", "\n")) {
			t.Errorf("%s: title %q", syn.name, got[nsDCT+"title"])
		}
		if got[nsDCT+"description"] != "ligne 1\nligne 2 ]]> --> \uFFFD" {
			t.Errorf("%s: description %q", syn.name, got[nsDCT+"description"])
		}
		if !datasetSubjects(ts)["http://example.org/d/a%20b%3Cc%3E"] {
			t.Errorf("%s: dataset IRI not percent-encoded: %v", syn.name, datasetSubjects(ts))
		}
		if got[nsDCAT+"landingPage"] != d.LandingPage {
			t.Errorf("%s: landing page %q", syn.name, got[nsDCAT+"landingPage"])
		}
	}
}

func TestDCATPagingAndConneg(t *testing.T) {
	sim, srv := newSim(t, Options{DatasetsPerSource: 250})
	want := map[string]bool{}
	for _, d := range sim.Datasets("toulouse-dcat") {
		want[d.URI] = true
	}
	seen := map[string]bool{}
	next := srv.URL + "/sim/toulouse-dcat/catalog.ttl?page=1"
	pages := 0
	for next != "" {
		pages++
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		_, body := get(t, next)
		ts := parseRDF(t, "turtle", body)
		next = ""
		total := ""
		for _, tr := range ts {
			switch tr.P.Value {
			case nsHydra + "nextPage":
				next = tr.O.Value
			case nsHydra + "totalItems":
				total = tr.O.Value
			}
		}
		if total != "250" {
			t.Errorf("hydra:totalItems %q", total)
		}
		for s := range datasetSubjects(ts) {
			if seen[s] {
				t.Errorf("%s twice", s)
			}
			seen[s] = true
		}
	}
	if pages != 3 || !reflect.DeepEqual(seen, want) {
		t.Errorf("%d pages, %d datasets", pages, len(seen))
	}
	if resp, _ := get(t, srv.URL+"/sim/toulouse-dcat/catalog.ttl?page=4"); resp.StatusCode != 404 {
		t.Errorf("page past the end: %d", resp.StatusCode)
	}
	if resp, _ := get(t, srv.URL+"/sim/toulouse-dcat/catalog.ttl?page=x"); resp.StatusCode != 400 {
		t.Errorf("bad page: %d", resp.StatusCode)
	}

	// Content negotiation on a path that implies nothing.
	for accept, syntax := range map[string]string{
		"text/turtle":           "turtle",
		"application/n-triples": "ntriples",
		"application/rdf+xml;q=0.5, text/turtle;q=0.4": "rdfxml",
		"": "rdfxml",
	} {
		resp, body := get(t, srv.URL+"/sim/toulouse-dcat/catalogue", "Accept", accept)
		if resp.StatusCode != 200 {
			t.Fatalf("%q: %d", accept, resp.StatusCode)
		}
		if n := len(datasetSubjects(parseRDF(t, syntax, body))); n != 250 {
			t.Errorf("Accept %q: %d datasets", accept, n)
		}
	}
}

func TestDCATPageSizeParam(t *testing.T) {
	cfg := testConfig()
	cfg.Source("rennes-dcat").Params = map[string]string{"page_size": "40"}
	sim := New(cfg, Options{DatasetsPerSource: 90})
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	_, body := get(t, srv.URL+"/sim/rennes-dcat/api/explore/v2.1/catalog/exports/dcat")
	ts := parseRDF(t, "rdfxml", body)
	if n := len(datasetSubjects(ts)); n != 40 {
		t.Errorf("page 1 of 40: %d datasets", n)
	}
	_, body = get(t, srv.URL+"/sim/rennes-dcat/api/explore/v2.1/catalog/exports/dcat?page=3")
	ts = parseRDF(t, "rdfxml", body)
	hasNext := false
	for _, tr := range ts {
		hasNext = hasNext || tr.P.Value == nsHydra+"nextPage"
	}
	if n := len(datasetSubjects(ts)); n != 10 || hasNext {
		t.Errorf("last page: %d datasets, nextPage %v", n, hasNext)
	}
}

func TestFaultFromPage(t *testing.T) {
	sim, srv := newSim(t, Options{DatasetsPerSource: 50})
	sim.SetFault("nice-ckan", Fault{Status: 500, FromPage: 3})
	u := srv.URL + "/sim/nice-ckan/data/api/3/action/package_search?rows=10&start="
	for page, want := range []int{200, 200, 500, 500, 500} {
		resp, body := get(t, u+fmt.Sprint(page*10))
		if resp.StatusCode != want {
			t.Errorf("page %d: %d, want %d", page+1, resp.StatusCode, want)
		}
		if want == 500 && !json.Valid(body) {
			t.Errorf("fault body is not JSON: %s", body)
		}
	}
	sim.SetFault("nice-ckan", Fault{Status: 500, FromPage: 2, OnlyPage: true})
	for page, want := range []int{200, 500, 200} {
		if resp, _ := get(t, u+fmt.Sprint(page*10)); resp.StatusCode != want {
			t.Errorf("only page 2: page %d: %d", page+1, resp.StatusCode)
		}
	}
	sim.ClearFaults()
	if resp, _ := get(t, u+"20"); resp.StatusCode != 200 {
		t.Errorf("after ClearFaults: %d", resp.StatusCode)
	}
}

func TestFaultTimes(t *testing.T) {
	sim, srv := newSim(t, Options{DatasetsPerSource: 5})
	sim.SetFault("bretagne-dcat", Fault{Status: 503, RetryAfter: "2", Times: 2})
	u := srv.URL + "/sim/bretagne-dcat/api/explore/v2.1/catalog/exports/rdf"
	for i, want := range []int{503, 503, 200, 200} {
		resp, _ := get(t, u)
		if resp.StatusCode != want {
			t.Errorf("request %d: %d, want %d", i+1, resp.StatusCode, want)
		}
		if want == 503 && resp.Header.Get("Retry-After") != "2" {
			t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
		}
	}
	if n := sim.Requests("bretagne-dcat"); n != 4 {
		t.Errorf("Requests = %d", n)
	}
}

func TestFaultTruncate(t *testing.T) {
	sim, srv := newSim(t, Options{DatasetsPerSource: 30})
	u := srv.URL + "/sim/arnia-ckan/api/3/action/package_search?rows=10&start="
	sim.SetFault("arnia-ckan", Fault{TruncateAtPage: 2})
	if resp, _ := get(t, u+"0"); resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode)
	}
	resp, err := http.Get(u + "10")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated page read without error (%v)", err)
	}
	if resp.ContentLength <= 0 || int64(len(body)) >= resp.ContentLength || len(body) == 0 {
		t.Errorf("got %d of %d bytes", len(body), resp.ContentLength)
	}
	if resp, _ := get(t, u+"20"); resp.StatusCode != 200 {
		t.Errorf("page 3 after truncation: %d", resp.StatusCode)
	}
}

func TestFaultDelay(t *testing.T) {
	sim, srv := newSim(t, Options{DatasetsPerSource: 5})
	u := srv.URL + "/sim/stmalo-dcat/api/explore/v2.1/catalog/exports/ttl"
	sim.SetFault("stmalo-dcat", Fault{Delay: 200 * time.Millisecond})
	t0 := time.Now()
	if resp, _ := get(t, u); resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode)
	}
	if d := time.Since(t0); d < 200*time.Millisecond {
		t.Errorf("answered in %v despite a 200ms delay", d)
	}
	sim.SetFault("stmalo-dcat", Fault{Delay: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
	t0 = time.Now()
	_, err := http.DefaultClient.Do(req)
	if err == nil || time.Since(t0) > 5*time.Second {
		t.Errorf("cancel: err %v after %v", err, time.Since(t0))
	}
	// The server side gave up too: closing the server does not wait a minute.
	done := make(chan struct{})
	go func() { srv.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Error("handler still sleeping after the client cancelled")
	}
}

func TestETag(t *testing.T) {
	sim, srv := newSim(t, Options{DatasetsPerSource: 20})
	for _, u := range []string{
		srv.URL + "/sim/mulhouse-dcat/api/explore/v2.1/catalog/exports/ttl",
		srv.URL + "/sim/larochelle-ckan/api/3/action/package_search?rows=5",
	} {
		resp, body := get(t, u)
		etag := resp.Header.Get("ETag")
		if etag == "" || resp.Header.Get("Last-Modified") == "" {
			t.Fatalf("%s: ETag %q Last-Modified %q", u, etag, resp.Header.Get("Last-Modified"))
		}
		if resp.ContentLength != int64(len(body)) {
			t.Errorf("Content-Length %d for %d bytes", resp.ContentLength, len(body))
		}
		resp, body = get(t, u, "If-None-Match", etag)
		if resp.StatusCode != 304 || len(body) != 0 {
			t.Errorf("%s: If-None-Match: %d", u, resp.StatusCode)
		}
		resp, _ = get(t, u, "If-None-Match", `"other"`)
		if resp.StatusCode != 200 {
			t.Errorf("other ETag: %d", resp.StatusCode)
		}
	}
	u := srv.URL + "/sim/mulhouse-dcat/api/explore/v2.1/catalog/exports/ttl"
	resp, _ := get(t, u)
	etag := resp.Header.Get("ETag")
	sim.Resize("mulhouse-dcat", 25)
	if resp, _ := get(t, u, "If-None-Match", etag); resp.StatusCode != 200 || resp.Header.Get("ETag") == etag {
		t.Errorf("after a change: %d, ETag %s", resp.StatusCode, resp.Header.Get("ETag"))
	}
}

// TestBodyKeptOrRenderedAgain: the ETag and Content-Length are those of
// the body sent, whether it was kept from the render that hashed it (a
// page) or rendered again (an export beyond keptBody), truncated or not.
func TestBodyKeptOrRenderedAgain(t *testing.T) {
	_, srv := newSim(t, Options{DatasetsPerSource: 1500})
	for _, c := range []struct {
		u    string
		over bool
	}{
		{srv.URL + "/sim/mulhouse-dcat/api/explore/v2.1/catalog/exports/dcat", true},
		{srv.URL + "/sim/larochelle-ckan/api/3/action/package_search?rows=100", false},
	} {
		resp, body := get(t, c.u)
		if over := len(body) > keptBody; over != c.over {
			t.Fatalf("%s: %d bytes, over %d: %v, want %v", c.u, len(body), keptBody, over, c.over)
		}
		if etag := etagOf(xxhash.Sum64(body)); resp.Header.Get("ETag") != etag || resp.ContentLength != int64(len(body)) {
			t.Errorf("%s: ETag %s, Content-Length %d for a body of %d bytes hashing to %s", c.u, resp.Header.Get("ETag"), resp.ContentLength, len(body), etag)
		}
	}
}

func TestRewrite(t *testing.T) {
	cfg := testConfig()
	cfg.Source("grenoble-ckan").Disabled = "switched off by the test"
	sim := New(cfg, Options{DatasetsPerSource: 15})
	base, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	rw := sim.Rewrite(cfg, base)
	if !rw.AllowPrivateAddresses || cfg.AllowPrivateAddresses {
		t.Error("AllowPrivateAddresses not set on the copy only")
	}
	if got, want := rw.Source("bretagne-dcat").Endpoint, base+"/sim/bretagne-dcat/api/explore/v2.1/catalog/exports/rdf"; got != want {
		t.Errorf("endpoint %s, want %s", got, want)
	}
	if cfg.Source("bretagne-dcat").Endpoint != "https://data.bretagne.bzh/api/explore/v2.1/catalog/exports/rdf" {
		t.Error("Rewrite changed the original")
	}
	s := rw.Source("nevers-ckan")
	if s.Params["organization"] != "nevers-agglomeration" || s.Portal == cfg.Source("nevers-ckan").Portal || s.Portal.Sources[0] != s {
		t.Error("copy's params or back-pointers are wrong")
	}
	if rw.Source("grenoble-ckan").Disabled == "" || sim.Expected("grenoble-ckan") != 0 {
		t.Error("a disabled source is served or enabled in the copy")
	}
	total := 0
	for _, src := range rw.Sources() {
		if src.Disabled != "" {
			continue
		}
		var n int
		switch src.Protocol {
		case "ckan":
			var r searchResult
			_, body := get(t, src.Endpoint+"/package_search?rows=0")
			json.Unmarshal(body, &r)
			n = r.Result.Count
		case "dcat":
			resp, body := get(t, src.Endpoint)
			syn, _ := pathSyntax(src.Endpoint)
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d", src.Endpoint, resp.StatusCode)
			}
			n = len(datasetSubjects(parseRDF(t, syn.name, body)))
		case "ods":
			var r struct {
				TotalCount int `json:"total_count"`
			}
			_, body := get(t, src.Endpoint+"/catalog/datasets?limit=1")
			json.Unmarshal(body, &r)
			n = r.TotalCount
		case "d4c":
			var r searchResult
			_, body := get(t, src.Endpoint+"/datasets/2.0/search/?rows=0")
			json.Unmarshal(body, &r)
			n = r.Result.Count
		case "datafair":
			var r struct {
				Count int `json:"count"`
			}
			_, body := get(t, src.Endpoint+"/datasets?size=1")
			json.Unmarshal(body, &r)
			n = r.Count
		case "udata":
			var r struct {
				Total int `json:"total"`
			}
			_, body := get(t, src.Endpoint+"/organizations/"+src.Params["organization"]+"/datasets/?page_size=1")
			json.Unmarshal(body, &r)
			n = r.Total
		case "csw":
			_, body := get(t, src.Endpoint+"?service=CSW&version=2.0.2&request=GetRecords&typeNames=gmd:MD_Metadata&resultType=hits")
			m := regexp.MustCompile(`numberOfRecordsMatched="(\d+)"`).FindSubmatch(body)
			if m == nil {
				t.Fatalf("%s: no numberOfRecordsMatched in %s", src.ID, body)
			}
			n, _ = strconv.Atoi(string(m[1]))
		default:
			t.Fatalf("%s: protocol %s not counted by this test", src.ID, src.Protocol)
		}
		if n != sim.Expected(src.ID) {
			t.Errorf("%s: %d datasets served, Expected %d", src.ID, n, sim.Expected(src.ID))
		}
		total += n
	}
	if total != sim.Total() || total == 0 {
		t.Errorf("total %d, Total() %d", total, sim.Total())
	}
	if !strings.Contains(sim.Describe(), base+"/sim/arnia-ckan/api/3/action") {
		t.Errorf("Describe:\n%s", sim.Describe())
	}
}

func TestRemoveResize(t *testing.T) {
	sim, srv := newSim(t, Options{DatasetsPerSource: 20})
	before := sim.Datasets("grenoble-ckan")
	ids := sim.Remove("grenoble-ckan", 3)
	if len(ids) != 3 || ids[0] != before[17].ID || ids[2] != before[19].ID {
		t.Fatalf("Remove returned %v", ids)
	}
	if sim.Expected("grenoble-ckan") != 17 || len(sim.Datasets("grenoble-ckan")) != 17 {
		t.Fatal("Expected not updated")
	}
	if r := search(t, srv.URL, "grenoble-ckan", "rows=100"); r.Result.Count != 17 {
		t.Errorf("count after Remove: %d", r.Result.Count)
	}
	resp, _ := get(t, srv.URL+"/sim/grenoble-ckan/ckan/api/3/action/package_show?id="+ids[0])
	if resp.StatusCode != 404 {
		t.Errorf("removed dataset still shown: %d", resp.StatusCode)
	}
	sim.Resize("grenoble-ckan", 20)
	if !reflect.DeepEqual(sim.Datasets("grenoble-ckan"), before) {
		t.Error("growing back does not give the same datasets")
	}
}

func TestNotFoundAndSupports(t *testing.T) {
	sim, srv := newSim(t, Options{DatasetsPerSource: 5})
	for _, p := range []string{"/sim/nope/x", "/other", "/sim/datara-csw/elsewhere", "/sim/arnia-ckan/elsewhere/package_search"} {
		resp, body := get(t, srv.URL+p)
		var e struct {
			Error struct{ Code, Message string }
		}
		if resp.StatusCode != 404 || json.Unmarshal(body, &e) != nil || e.Error.Message == "" {
			t.Errorf("%s: %d %s", p, resp.StatusCode, body)
		}
	}
	for _, p := range config.Protocols {
		if !sim.Supports(p) {
			t.Errorf("Supports(%s) is false", p)
		}
	}
	if sim.Supports("gopher") {
		t.Error("Supports(gopher)")
	}
	if sim.Expected("nope") != 0 || sim.Datasets("nope") != nil {
		t.Error("unknown source has datasets")
	}
	if sim.Requests("nope") != 1 {
		t.Errorf("Requests(nope) = %d", sim.Requests("nope"))
	}
}

func TestServePayload(t *testing.T) {
	sim, srv := newSim(t, Options{DatasetsPerSource: 5})
	sim.ServePayload("datara-csw", "/geonetwork/srv/eng/csw-RAIN?request=GetRecords&startPosition=1", "application/xml", []byte("<page1/>"))
	sim.ServePayload("datara-csw", "https://www.datara.gouv.fr/geonetwork/srv/eng/csw-RAIN?startPosition=3&request=GetRecords", "application/xml", []byte("<page2/>"))
	sim.ServePayload("arnia-ckan", "/api/3/action/package_search", "application/json", []byte(`{"real":true}`))
	for q, want := range map[string]string{
		"/sim/datara-csw/geonetwork/srv/eng/csw-RAIN?startPosition=1&request=GetRecords": "<page1/>",
		"/sim/datara-csw/geonetwork/srv/eng/csw-RAIN?request=GetRecords&startPosition=3": "<page2/>",
		"/sim/arnia-ckan/api/3/action/package_search?rows=5":                             `{"real":true}`,
	} {
		resp, body := get(t, srv.URL+q)
		if resp.StatusCode != 200 || string(body) != want || resp.Header.Get("ETag") == "" {
			t.Errorf("%s: %d %q", q, resp.StatusCode, body)
		}
	}
	// A page no payload matches is answered by the generated CSW.
	if resp, body := get(t, srv.URL+"/sim/datara-csw/geonetwork/srv/eng/csw-RAIN?startPosition=5&request=GetRecords"); string(body) == "<page1/>" || string(body) == "<page2/>" || resp.StatusCode == 404 {
		t.Errorf("unregistered page: %d %.60s", resp.StatusCode, body)
	}
	// Payload pages are pages for faults.
	sim.SetFault("arnia-ckan", Fault{Status: 500, FromPage: 2})
	if resp, _ := get(t, srv.URL+"/sim/arnia-ckan/api/3/action/package_search?rows=5&start=5"); resp.StatusCode != 500 {
		t.Errorf("fault on payload page 2: %d", resp.StatusCode)
	}
}

func TestGeneratedContent(t *testing.T) {
	sim := New(testConfig(), Options{DatasetsPerSource: 600})
	evidence := map[string]int{}
	var sportifs, ckanLic, dcatIRI, dcatLabel, elision int
	for _, src := range testConfig().Sources() {
		titles := map[string]bool{}
		ids := map[string]bool{}
		for _, d := range sim.Datasets(src.ID) {
			if titles[d.Title] || ids[d.ID] {
				t.Fatalf("%s: duplicate title %q or id %q", src.ID, d.Title, d.ID)
			}
			titles[d.Title], ids[d.ID] = true, true
			if d.Created.Before(genStart) || d.Modified.Before(d.Created) || d.Modified.After(time.Now()) {
				t.Errorf("%s: dates %v %v", d.Title, d.Created, d.Modified)
			}
			if len(d.Resources) == 0 || d.Publisher == "" || d.OrgSlug == "" {
				t.Errorf("%s: incomplete %+v", d.Title, d)
			}
			if d.SCDL != "" {
				evidence[d.SCDL+"/"+d.Evidence]++
			}
			if strings.Contains(d.Title, "Équipements sportifs") {
				sportifs++
			}
			if strings.Contains(d.Description, "l'eau") || strings.Contains(d.Description, "d'équipements") {
				elision++
			}
			switch src.Protocol {
			case "ckan":
				if !map[string]bool{"fr-lo": true, "lov2": true, "odc-odbl": true, "cc-by": true}[d.License] {
					t.Errorf("ckan licence %q", d.License)
				}
				ckanLic++
			case "dcat":
				if strings.HasPrefix(d.License, "https://") {
					dcatIRI++
				} else {
					dcatLabel++
				}
			}
		}
	}
	for _, k := range []string{"scdl/deliberations/declared", "scdl/deliberations/columns", "scdl/deliberations/title",
		"scdl/subventions/declared", "scdl/equipements/declared", "scdl/budget/columns", "etalab/schema-bal/declared"} {
		if evidence[k] == 0 {
			t.Errorf("no %s", k)
		}
	}
	if sportifs == 0 || elision == 0 || ckanLic == 0 || dcatIRI == 0 || dcatLabel == 0 {
		t.Errorf("sportifs %d elision %d ckan %d iri %d label %d", sportifs, elision, ckanLic, dcatIRI, dcatLabel)
	}
}

func BenchmarkTurtle10k(b *testing.B) {
	sim := New(testConfig(), Options{DatasetsPerSource: 10_000})
	h := sim.Handler()
	sim.Datasets("stmalo-dcat")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/sim/stmalo-dcat/api/explore/v2.1/catalog/exports/ttl", nil))
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
		b.SetBytes(int64(rec.Body.Len()))
	}
}
