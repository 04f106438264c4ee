package discover

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/fetch"
	"github.com/opendatafrance/moisson/harvester/simulator"
)

func testClient() *fetch.Client {
	return fetch.New(fetch.Options{AllowPrivate: true, Retries: -1, RequestTimeout: 5 * time.Second})
}

// Hand-written home pages modelled on each software's real pages.
const ckanHome = `<!DOCTYPE html>
<html lang="fr"><head>
<meta charset="utf-8"><meta name="generator" content="ckan 2.10.4">
<title>Bienvenue - DataSud</title>
<link rel="stylesheet" href="/webassets/base/2471d0b8_main.css">
<link rel="alternate" type="application/rdf+xml" href="/catalog.rdf" title="Catalogue DCAT (RDF/XML)">
<link rel="alternate" type="text/turtle" href="/catalog.ttl">
</head><body><a href="/dataset/">Jeux de données</a>
<script src="/webassets/webassets-external/d5b8a9c1_main.js"></script></body></html>`

const odsHome = `<!DOCTYPE html><html lang="fr" ng-app="ods.frontend"><head>
<meta name="description" content="Portail open data de Rennes Métropole">
<link rel="stylesheet" href="https://static.opendatasoft.com/assets/ods-frontend.css">
<script src="/static/ods-widgets/ods-widgets.js"></script>
<script type="application/ld+json">{"@context": "https://schema.org", "@type": "WebSite", "url": "https://data.rennesmetropole.fr"}</script>
</head><body><a href="/explore/dataset/equipements-publics/">Équipements publics</a></body></html>`

const d4cHome = `<!DOCTYPE html><html lang="fr" dir="ltr"><head>
<meta name="Generator" content="Drupal 8 (https://www.drupal.org)">
<script src="/modules/custom/d4c/js/d4c-widgets.js"></script>
<link rel="stylesheet" href="/sites/default/files/css/d4c_theme.css">
</head><body><a href="/visualisation/?id=budget">Budget</a>
<form action="/d4c/api/datasets/2.0/search/"></form></body></html>`

const dataFairHome = `<!DOCTYPE html><html><head><title>Dat'Armor</title>
<link rel="icon" href="/data-fair/api/v1/settings/organization/favicon">
<script src="https://koumoul.com/s/portals-manager/assets/app.js"></script>
</head><body><a href="/datasets/equipements">Équipements</a></body></html>`

const udataHome = `<!DOCTYPE html><html lang="fr"><head>
<meta name="generator" content="udata 9.1.2">
<link rel="stylesheet" href="/_themes/gouvfr/css/udata.css">
<script src="/static/udata/js/admin.js"></script>
</head><body><a href="/fr/datasets/">Jeux de données</a></body></html>`

const geonetworkHome = `<!DOCTYPE html><html><head>
<meta name="generator" content="GeoNetwork opensource 4.2.8">
<script src="/geonetwork/static/lib.js"></script>
</head><body><a href="/geonetwork/srv/fre/catalog.search">Rechercher</a></body></html>`

// A landing page with schema.org Dataset JSON-LD, as ODS and udata embed it.
const landing = `<!DOCTYPE html><html><head>
<script type="application/ld+json">
{"@context": "https://schema.org", "@graph": [
 {"@type": "BreadcrumbList", "itemListElement": []},
 {"@type": "Dataset", "@id": "https://data.example.fr/explore/dataset/deliberations/",
  "name": "Délibérations du conseil municipal", "description": "<p>Les délibérations votées</p>",
  "identifier": "deliberations", "keywords": "délibérations, conseil municipal, scdl",
  "license": "https://www.etalab.gouv.fr/licence-ouverte-open-licence",
  "dateModified": "2024-03-01T10:00:00+01:00", "datePublished": "2019-01-15",
  "publisher": {"@type": "Organization", "name": "Ville d'Exemple", "url": "https://www.exemple.fr"},
  "temporalCoverage": "2019-01-01/2023-12-31", "spatialCoverage": "Exemple",
  "distribution": [
   {"@type": "DataDownload", "encodingFormat": "text/csv", "contentUrl": "/api/explore/v2.1/catalog/datasets/deliberations/exports/csv", "name": "Export CSV"},
   {"@type": "DataDownload", "encodingFormat": "application/json", "contentUrl": "https://data.example.fr/api/deliberations.json"}]}
]}
</script>
<script type="application/ld+json">{ "broken": </script>
</head><body></body></html>`

type site struct {
	home   string
	routes map[string]string // path?query → body (JSON or XML)
}

func (s site) server(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" || r.URL.Path == "/portail/" {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte(s.home))
			return
		}
		if body, ok := s.routes[r.URL.RequestURI()]; ok {
			if strings.HasPrefix(body, "<") {
				w.Header().Set("Content-Type", "application/xml")
			} else {
				w.Header().Set("Content-Type", "application/json")
			}
			w.Write([]byte(body))
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestDiscoverSoftware(t *testing.T) {
	for _, tc := range []struct {
		name     string
		site     site
		want     string
		protocol string // a probe that must answer
		dcat     int    // DCAT links
	}{
		{"ckan", site{ckanHome, map[string]string{
			"/api/3/action/status_show": `{"help": "https://x/api/3/action/help_show?name=status_show", "success": true, "result": {"ckan_version": "2.10.4", "site_title": "DataSud"}}`,
		}}, CKAN, "ckan", 2},
		{"ods", site{odsHome, map[string]string{
			"/api/explore/v2.1/catalog/datasets?limit=1": `{"total_count": 412, "results": [{"dataset_id": "equipements-publics"}]}`,
		}}, ODS, "ods", 0},
		{"d4c", site{d4cHome, map[string]string{
			"/d4c/api/datasets/2.0/search/?rows=0": `{"nhits": 261, "parameters": {"rows": 0}, "datasets": []}`,
			"/api/3/action/status_show":            `{"success": true, "result": {"ckan_version": "2.9.5"}}`,
		}}, D4C, "d4c", 0},
		{"datafair", site{dataFairHome, map[string]string{
			"/data-fair/api/v1/datasets?size=0": `{"count": 87, "results": []}`,
		}}, DataFair, "datafair", 0},
		{"udata", site{udataHome, map[string]string{
			"/api/1/site/": `{"id": "data.gouv.fr", "title": "data.gouv.fr", "metrics": {"datasets": 50000}}`,
		}}, UData, "udata", 0},
		{"geonetwork", site{geonetworkHome, map[string]string{
			"/geonetwork/srv/fre/csw?service=CSW&version=2.0.2&request=GetCapabilities": `<?xml version="1.0"?><csw:Capabilities xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" version="2.0.2"/>`,
		}}, GeoNetwork, "csw", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := tc.site.server(t)
			res, err := Discover(context.Background(), srv.URL+"/", Options{Client: testClient()})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Software) == 0 || res.Software[0] != tc.want {
				t.Errorf("software %v, want %s first; evidence %+v", res.Software, tc.want, res.Evidence)
			}
			ok, links := false, 0
			for _, e := range res.Endpoints {
				if e.Kind == "probe" && e.OK && e.Protocol == tc.protocol {
					ok = true
				}
				if e.Kind == "probe" && e.OK && e.Protocol != tc.protocol && !(tc.want == D4C && e.Protocol == "ckan") {
					t.Errorf("probe %s answered OK on a %s site", e.URL, tc.want)
				}
				if e.Kind == "link" {
					links++
				}
			}
			if !ok {
				t.Errorf("no %s probe answered: %+v", tc.protocol, res.Endpoints)
			}
			if links != tc.dcat {
				t.Errorf("%d DCAT links, want %d", links, tc.dcat)
			}
		})
	}
}

func TestDiscoverCKANEndpointsAndLinks(t *testing.T) {
	srv := site{ckanHome, map[string]string{"/api/3/action/status_show": `{"success": true, "result": {"ckan_version": "2.10.4"}}`}}.server(t)
	res, err := Discover(context.Background(), srv.URL+"/", Options{Client: testClient()})
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	for _, e := range res.Endpoints {
		if e.OK || e.Kind == "link" {
			urls = append(urls, e.URL)
		}
	}
	for _, want := range []string{srv.URL + "/api/3/action", srv.URL + "/catalog.rdf", srv.URL + "/catalog.ttl"} {
		if !slices.Contains(urls, want) {
			t.Errorf("endpoint %s missing from %v", want, urls)
		}
	}
	// a 404 probe is listed, not OK, with its status
	for _, e := range res.Endpoints {
		if e.Protocol == "ods" && (e.OK || e.Status != 404) {
			t.Errorf("ods probe on a CKAN site: %+v", e)
		}
	}
}

func TestSchemaOrgDatasets(t *testing.T) {
	res, err := ReadPage(strings.NewReader(landing), "https://data.example.fr/explore/dataset/deliberations/")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Datasets) != 1 {
		t.Fatalf("%d datasets, want 1", len(res.Datasets))
	}
	d := res.Datasets[0]
	if d.GetTitle() != "Délibérations du conseil municipal" || d.GetDescription() != "Les délibérations votées" {
		t.Errorf("title/description %q / %q", d.GetTitle(), d.GetDescription())
	}
	if d.GetOriginalId() != "deliberations" || d.GetUri() != "https://data.example.fr/explore/dataset/deliberations/" {
		t.Errorf("ids %q %q", d.GetOriginalId(), d.GetUri())
	}
	if !slices.Equal(d.GetKeywords(), []string{"délibérations", "conseil municipal", "scdl"}) {
		t.Errorf("keywords %q", d.GetKeywords())
	}
	if d.GetLicense().GetNormalized() != "etalab-2.0" {
		t.Errorf("licence %v", d.GetLicense())
	}
	if d.GetModified().AsTime().Format(time.RFC3339) != "2024-03-01T09:00:00Z" {
		t.Errorf("modified %v", d.GetModified().AsTime())
	}
	if d.GetPublisher().GetName() != "Ville d'Exemple" {
		t.Errorf("publisher %v", d.GetPublisher())
	}
	if d.GetTemporal().GetStart() == nil || d.GetTemporal().GetEnd() == nil {
		t.Errorf("temporal %v", d.GetTemporal())
	}
	if len(d.GetDistributions()) != 2 || d.GetDistributions()[0].GetFormat() != "CSV" ||
		d.GetDistributions()[0].GetDownloadUrl() != "https://data.example.fr/api/explore/v2.1/catalog/datasets/deliberations/exports/csv" {
		t.Errorf("distributions %v", d.GetDistributions())
	}
	if len(res.Problems) != 1 || !strings.Contains(res.Problems[0], "JSON-LD block 2") {
		t.Errorf("the broken JSON-LD block must be reported: %q", res.Problems)
	}
}

func TestDiscoverNotHTMLOrDown(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	defer srv.Close()
	if _, err := Discover(context.Background(), srv.URL+"/", Options{Client: testClient()}); err == nil {
		t.Error("a 500 page must be an error")
	}
}

// Against the portal simulator: its CKAN, Data Fair and CSW sources answer
// the probes under /sim/{source}/.
func TestDiscoverSimulator(t *testing.T) {
	sim := simulator.New(config.Default(), simulator.Options{DatasetsPerSource: 3})
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	for _, tc := range []struct{ source, protocol, endpoint string }{
		{"arnia-ckan", "ckan", "/sim/arnia-ckan/api/3/action"},
		{"datarmor-datafair", "datafair", "/sim/datarmor-datafair/data-fair/api/v1"},
		{"geobretagne-csw", "csw", "/sim/geobretagne-csw/geonetwork/srv/fre/csw"},
	} {
		t.Run(tc.source, func(t *testing.T) {
			if !sim.Supports(tc.protocol) {
				t.Skipf("the simulator does not serve %s", tc.protocol)
			}
			// The simulator has no HTML home: probe from the source's root.
			res := &Result{URL: srv.URL + "/sim/" + tc.source + "/"}
			probeAll(context.Background(), testClient(), res)
			res.rank()
			found := false
			for _, e := range res.Endpoints {
				if e.OK && e.Protocol == tc.protocol && e.URL == srv.URL+tc.endpoint {
					found = true
				}
			}
			if !found {
				t.Errorf("no OK %s endpoint %s: %+v", tc.protocol, tc.endpoint, res.Endpoints)
			}
		})
	}
}
