package main

// The real-payload table: one row per file of <repo root>/../shared/fixtures/real
// (SOURCES.md there describes each), read through inspectCmd in process with
// --format auto. The fixtures are read at test time, never copied; without
// them the test skips, except under CI=true where it fails.
//
// What "expected" means per row:
//   - datasets: the records inspect prints. It is the count SOURCES.md gives
//     for the file (for a search page, the datasets in the page, not the
//     portal's total; for CSW, the records in the answer).
//   - err: documents that hold no dataset metadata (CKAN package_list and
//     resource_show answers, a udata organisation or resource object) or that
//     are genuinely malformed (ckanext-dcat dataset.ttl) must make inspect exit
//     non-zero with a reason (and, for syntax errors, the line and column):
//     printing "datasets: 0" and succeeding would hide a wrong endpoint.
//   - pick: the original_id of the dataset spot-checked: its title (exact),
//     licence (normalised id), distribution formats (normalised, distinct,
//     sorted; "" for a distribution whose format is unknown) and modified
//     date (RFC 3339 as protojson prints it, "" when the source has none).

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/opendatafrance/moisson/harvester/internal/sharedtest"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

type fixtureRow struct {
	file        string // relative to the fixture directory
	format      string // what --format auto must detect
	datasets    int
	err         string // the error inspect must end with ("" = success)
	minWarnings int

	pick     string // original_id of the spot-checked dataset
	title    string
	license  string
	modified string
	formats  []string
}

var fixtureRows = []fixtureRow{
	{file: "Amsterdam__dcatd/web/tests/fixtures/17be64bb-da74-4195-9bb8-565c39846af2.json", format: "ckan", datasets: 1,
		pick: "17be64bb-da74-4195-9bb8-565c39846af2", title: "2016 Regione Asia Est Oceania * Classi di età",
		license: "cc-by-4.0", modified: "2017-07-05T19:29:07.136124Z", formats: []string{"CSV"}},
	{file: "Amsterdam__dcatd/web/tests/fixtures/62513382-3b26-4bc8-9096-40b6ce8383c0.json", format: "ckan", datasets: 1,
		pick: "62513382-3b26-4bc8-9096-40b6ce8383c0", title: "100 Validated Species of Plants",
		license: "other", modified: "2017-08-05T03:19:33.886925Z", formats: []string{"CSV"}},
	{file: "Amsterdam__dcatd/web/tests/fixtures/9c3036b8-f6ac-4a4e-9036-5a3cc90c3900.json", format: "ckan", datasets: 1,
		pick: "9c3036b8-f6ac-4a4e-9036-5a3cc90c3900", title: "規管海外物業銷售",
		license: "cc-by-4.0", modified: "2017-08-26T02:30:50.550733Z", formats: []string{"PDF"}},
	// package_list holds dataset names, no metadata: a clear error, not 0 silently.
	{file: "Amsterdam__dcatd/web/tests/fixtures/package_list.json", format: "ckan", datasets: 0, err: "ckan: at byte 107: this is a package_list answer: its result is a list of dataset names, not dataset metadata (read package_search or package_show)"},
	// package_search: count=3.
	{file: "Amsterdam__dcatd/web/tests/fixtures/packages.json", format: "ckan", datasets: 3,
		pick: "62513382-3b26-4bc8-9096-40b6ce8383c0", title: "100 Validated Species of Plants",
		license: "other", modified: "2017-08-05T03:19:33.886925Z", formats: []string{"CSV"}},
	// bare package dict, multilingual (no French: the untranslated title).
	{file: "ckan__ckanext-dcat/examples/ckan/ckan_dataset_multilingual.json", format: "ckan", datasets: 1,
		pick: "test-dataset-multilingual", title: "Test DCAT dataset",
		license: "unknown", modified: "2024-05-05T00:00:00Z", formats: []string{"CSV"}},
	// bare package dict, ckanext-dcat scheming fields (issued/modified, resource licence).
	{file: "ckan__ckanext-dcat/examples/ckan/ckan_full_dataset_dcat_ap.json", format: "ckan", datasets: 1,
		pick: "test-dataset-shacl", title: "Test DCAT dataset",
		license: "cc-by-3.0", modified: "2024-05-05T00:00:00Z", formats: []string{"CSV"}},
	// bare package dict (no action envelope) opening on its extras: sniffed as CKAN; dates from dcat_* extras.
	{file: "ckan__ckanext-dcat/examples/ckan/full_ckan_dataset_legacy.json", format: "ckan", datasets: 1,
		pick: "756d6426-d52d-492a-a263-599ad1caa123", title: "Zimbabwe Regional Geochemical Survey.",
		license: "unknown", modified: "2012-05-10T21:04:00Z", formats: []string{"HTML"}},
	{file: "ckan__ckanext-dcat/examples/dcat/catalog.rdf", format: "dcat", datasets: 2,
		pick: "https://data.some.org/catalog/datasets/1", title: "Example dataset 1",
		license: "other", modified: "2013-04-26T00:00:00Z", formats: []string{"", "CSV", "PDF"}},
	{file: "ckan__ckanext-dcat/examples/dcat/catalog_datasets_list.rdf", format: "dcat", datasets: 2,
		pick: "https://data.some.org/catalog/datasets/1", title: "Example dataset 1",
		license: "other", modified: "2013-04-26T00:00:00Z", formats: []string{"", "CSV", "PDF"}},
	{file: "ckan__ckanext-dcat/examples/dcat/dataset.rdf", format: "dcat", datasets: 1,
		pick: "9df8df51-63db-37a8-e044-0003ba9b0d98", title: "Zimbabwe Regional Geochemical Survey.",
		license: "other", modified: "2012-05-10T21:04:00Z", formats: []string{"HTML"}},
	// genuinely malformed Turtle (undefined prefix healthdcatap: at line 149): an error with line/col and reason.
	{file: "ckan__ckanext-dcat/examples/dcat/dataset.ttl", format: "dcat", datasets: 0, err: "turtle: line 149, col 29: undefined prefix \"healthdcatap\""},
	{file: "ckan__ckanext-dcat/examples/dcat/dataset_afs.ttl", format: "dcat", datasets: 1,
		pick: "http://example.com/data/test-dataset-1", title: "A test dataset on your catalogue",
		license: "other", modified: "2012-05-10T21:04:00Z", formats: []string{"CSV", "HTML"}},
	{file: "ckan__ckanext-dcat/examples/dcat/dataset_multilingual.ttl", format: "dcat", datasets: 1,
		pick: "0112cf32-bce0-4071-9504-923375f9f2ad", title: "Test DCAT dataset",
		license: "unknown", modified: "2024-05-05T00:00:00Z", formats: []string{"CSV"}},
	// API v2 topic elements (SOURCES: total=7, 8 items): no dataset in them, each item reported.
	{file: "datagouv__datagouv_client/tests/elements_metadata.json", format: "udata", datasets: 0, minWarnings: 1},
	// an organisation object (udata API v1), not a dataset: a clear error.
	{file: "datagouv__datagouv_client/tests/organization_metadata.json", format: "udata", datasets: 0, err: "udata: at byte 4633: the item is an organisation, not a dataset"},
	// a resource object (udata API v1), not a dataset: a clear error.
	{file: "datagouv__datagouv_client/tests/resource_metadata_api1.json", format: "udata", datasets: 0, err: "udata: at byte 1876: the item is a resource, not a dataset"},
	{file: "geopython__OWSLib/tests/resources/csw_dov_getrecordbyid.xml", format: "csw", datasets: 1,
		pick: "6c39d716-aecc-4fbc-bac8-4f05a49a78d5", title: "Grondwatermeetnetten",
		license: "other", modified: "2018-02-21T16:14:24Z", formats: []string{"", "KML", "WFS", "WMS"}},
	{file: "geopython__OWSLib/tests/resources/inspire-getrecords-response.xml", format: "csw", datasets: 2,
		pick: "8dad9c98-0512-4845-a2bf-3ace1c93df6f", title: "SUVIM station network WMS",
		license: "other", modified: "2024-07-05T13:35:37Z", formats: []string{"WMS"}},
	{file: "magda-io__magda-ckan-connector/src/test/ckan-server-dataset-sample-response-with-extras.json", format: "ckan", datasets: 1,
		pick: "4b946b11-b028-4467-97f4-6b86ffcd2636", title: "ANUClim (Australia), Current Climate December, (1976-2005), 30 arcsec (~1km)",
		license: "unknown", modified: "2021-06-15T23:16:26.145336Z", formats: []string{"TIFF"}},
	{file: "magda-io__magda-ckan-connector/src/test/ckan-server-dataset-sample-response.json", format: "ckan", datasets: 1,
		pick: "6633bb2c-8f85-4ac6-8c9b-c4ab740e1595", title: "Nombres masculinos más frecuentes en la provincia de Barcelona",
		license: "other", modified: "2020-03-03T14:04:57.436723Z", formats: []string{"XLS"}},
	// resource_show holds one resource (a distribution), no dataset: a clear error.
	{file: "magda-io__magda-ckan-connector/src/test/ckan-server-distribution-sample-response.json", format: "ckan", datasets: 0, err: "ckan: at byte 114: this is a resource_show answer: its result is one resource (a distribution), not dataset metadata (read package_search or package_show)"},
	{file: "magda-io__magda-csw-connector/src/test/aurin-response.xml", format: "csw", datasets: 2,
		pick: "aurin:datasource-ACFCGN-UoM_AURIN_DB_community_gardens_20181024", title: "datasource-ACFCGN-UoM_AURIN_DB_community_gardens_20181024",
		license: "unknown", modified: "", formats: []string{"WFS", "WMS"}},
	{file: "magda-io__magda-csw-connector/src/test/tern.xml", format: "csw", datasets: 10,
		pick: "4bc1b891-1588-40ea-843d-9e87b2961566", title: "TERN OzFlux Adelaide River Tower Site",
		license: "cc-by-4.0", modified: "2018-03-23T09:00:00Z", formats: []string{""}},
	{file: "magda-io__magda-csw-connector/src/test/vic-geonetwork.xml", format: "csw", datasets: 10,
		pick: "fa0e47c9-8bf8-5c0e-a670-460cc3d0478c", title: "rushworth1_2006jan14_air_vis_15cm_mga55",
		license: "other", modified: "2001-02-01T00:00:00Z", formats: nil},
	{file: "opendatateam__udata-ods/tests/data/empty.json", format: "ods", datasets: 1,
		pick: "empty", title: "test-c",
		license: "unknown", modified: "2015-04-10T09:39:13Z", formats: nil},
	{file: "opendatateam__udata-ods/tests/data/inspire.json", format: "ods", datasets: 1,
		pick: "inspire", title: "inspire",
		license: "unknown", modified: "2015-04-10T09:39:13Z", formats: []string{"CSV", "GeoJSON", "JSON", "SHP"}},
	// ODS API v1 search answer: nhits=2.
	{file: "opendatateam__udata-ods/tests/data/no-data.json", format: "ods", datasets: 2,
		pick: "test-attachments", title: "test attachments",
		license: "unknown", modified: "2015-04-09T10:29:11Z", formats: []string{"PDF", "ZIP"}},
	{file: "opendatateam__udata-ods/tests/data/test-a.json", format: "ods", datasets: 1,
		pick: "test-a", title: "test-a",
		license: "etalab-2.0", modified: "2015-04-09T10:28:45Z", formats: []string{"CSV", "GeoJSON", "JSON"}},
	{file: "opendatateam__udata-ods/tests/data/test-b.json", format: "ods", datasets: 1,
		pick: "test-b", title: "test-b",
		license: "unknown", modified: "2015-04-09T10:29:11Z", formats: []string{"CSV", "GeoJSON", "JSON", "PDF", "SHP", "XLS", "ZIP"}},
	{file: "opendatateam__udata-ods/tests/data/test-c.json", format: "ods", datasets: 1,
		pick: "test-c", title: "test-c",
		license: "unknown", modified: "2015-04-10T09:39:13Z", formats: nil},
	{file: "opendatateam__udata-ods/tests/data/test-shp-limit.json", format: "ods", datasets: 1,
		pick: "test-shp-limit", title: "test-shp-limit",
		license: "unknown", modified: "2015-04-09T10:29:11Z", formats: []string{"CSV", "GeoJSON", "JSON", "SHP"}},
	{file: "opendatateam__udata-ods/tests/data/with-attachments.json", format: "ods", datasets: 1,
		pick: "with-attachments", title: "test attachments",
		license: "unknown", modified: "2015-04-09T10:29:11Z", formats: []string{"PDF", "ZIP"}},
	// udata fixtures dump: 15 datasets.
	{file: "opendatateam__udata/udata/fixtures/results.json", format: "udata", datasets: 15,
		pick: "5ff5e6e99724cb8fff59a5be", title: "Baromètre des résultats de l’action publique",
		license: "unknown", modified: "2023-01-18T07:51:59.683Z", formats: []string{"CSV", "JSON", "PDF", "XLSX"}},
	{file: "opendatateam__udata/udata/harvest/tests/ckan-dataset-1.json", format: "ckan", datasets: 1,
		pick: "7e4d4ef3-f452-4c35-963d-9c6e582374b3", title: "Dataset 1",
		license: "unknown", modified: "2015-07-22T14:30:18.584924Z", formats: []string{"CSV", "JSON"}},
	{file: "opendatateam__udata/udata/harvest/tests/ckan-dataset-2.json", format: "ckan", datasets: 1,
		pick: "afa9def7-82fe-4876-b3b3-d9aaf43a586e", title: "Dataset 2",
		license: "cc-by-4.0", modified: "2015-09-25T08:12:28.351556Z", formats: []string{"CSV"}},
	{file: "opendatateam__udata/udata/harvest/tests/ckan-dataset-3.json", format: "ckan", datasets: 1,
		pick: "accc72af-077d-40d8-b280-9112a5d5cf4d", title: "Dataset 3",
		license: "unknown", modified: "2015-06-12T14:07:44.896656Z", formats: nil},
	// DKAN package_show whose result is a list.
	{file: "opendatateam__udata/udata/harvest/tests/ckan/data/dkan-french-w-license.json", format: "ckan", datasets: 1,
		pick: "04be6288-696d-4331-850d-a144871a7e3a", title: "Antennes régionales de la Région Hauts-de-France (au 01/10/2019)",
		license: "etalab-1.0", modified: "2019-09-30T22:00:00Z", formats: []string{"", "XLSX"}},
	{file: "opendatateam__udata/udata/harvest/tests/csw_dcat/geoide-iso19139-single-dataset.xml", format: "csw", datasets: 1,
		pick: "fr-120066022-ldd-3f4cc8c8-5c3e-4a0e-8b56-0a569a7e12f6", title: "Plan local d'urbanisme de la commune de Combles",
		license: "etalab-1.0", modified: "2019-03-25T21:56:15.973Z", formats: []string{""}},
	{file: "opendatateam__udata/udata/harvest/tests/csw_dcat/geonetwork-dcat-page-1.xml", format: "csw", datasets: 2,
		pick: "https://www.geo2france.fr/insee/partmenage5ans", title: "INSEE - Part des ménages présents depuis 5 ans ou plus dans leur logement actuel (2010)",
		license: "unknown", modified: "", formats: []string{"", "PDF", "WMS"}},
	{file: "opendatateam__udata/udata/harvest/tests/csw_dcat/geonetwork-dcat-page-3.xml", format: "csw", datasets: 2,
		pick: "https://www.geo2france.fr/risque/catnat2023", title: "Communes en état de catastrophe naturelle au 30 novembre 2023",
		license: "etalab-2.0", modified: "", formats: []string{""}},
	{file: "opendatateam__udata/udata/harvest/tests/csw_dcat/geonetwork-dcat-page-5.xml", format: "csw", datasets: 2,
		pick: "0ae299e7-10d6-4290-944e-c6c62e2aeabf", title: "Territoires d'exercice de la compétence \"Collecte des déchets ménagers\"",
		license: "other", modified: "", formats: []string{"", "WMS"}},
	// SOURCES counts 4 rdf:Description: 2 dcat:Dataset + 2 dcat:CatalogRecord; numberOfRecordsReturned=6 is wrong (a warning).
	{file: "opendatateam__udata/udata/harvest/tests/csw_dcat/geonetwork-geodcatap-page-1.xml", format: "csw", datasets: 2,
		pick: "https://www.geo2france.fr/insee/partmenage5ans", title: "INSEE - Part des ménages présents depuis 5 ans ou plus dans leur logement actuel (2010)",
		license: "unknown", modified: "", formats: []string{""}},
	{file: "opendatateam__udata/udata/harvest/tests/csw_dcat/geonetwork-geodcatap-page-3.xml", format: "csw", datasets: 2,
		pick: "https://www.geo2france.fr/risque/catnat2023", title: "Communes en état de catastrophe naturelle au 30 novembre 2023",
		license: "unknown", modified: "", formats: []string{""}},
	{file: "opendatateam__udata/udata/harvest/tests/csw_dcat/geonetwork-geodcatap-page-5.xml", format: "csw", datasets: 2,
		pick: "0ae299e7-10d6-4290-944e-c6c62e2aeabf", title: "Territoires d'exercice de la compétence \"Collecte des déchets ménagers\"",
		license: "unknown", modified: "2025-08-21T14:44:26.275862Z", formats: []string{""}},
	{file: "opendatateam__udata/udata/harvest/tests/csw_dcat/geonetwork-iso19139-page-1.xml", format: "csw", datasets: 2,
		pick: "fr-120066022-ldd-56fce164-04b2-41ae-be87-9f256f39dd44", title: "Plan local d'urbanisme de la commune de Cartigny",
		license: "etalab-1.0", modified: "2019-03-25T21:55:41.312Z", formats: []string{""}},
	{file: "opendatateam__udata/udata/harvest/tests/csw_dcat/geonetwork-iso19139-page-3.xml", format: "csw", datasets: 2,
		pick: "fr-120066022-jdd-585c9cd3-d542-407a-b6a5-885f062b0024", title: "Table contenant les générateurs surfaciques liés aux servitudes de la catégorie JS1 en Pas-de-Calais",
		license: "etalab-2.0", modified: "2021-11-19T00:00:00Z", formats: []string{""}},
	{file: "opendatateam__udata/udata/harvest/tests/csw_dcat/geonetwork-iso19139-page-5.xml", format: "csw", datasets: 2,
		pick: "fr-120066022-ldd-3f4cc8c8-5c3e-4a0e-8b56-0a569a7e12f6", title: "Plan local d'urbanisme de la commune de Combles",
		license: "etalab-1.0", modified: "2019-03-25T21:56:15.973Z", formats: []string{""}},
	{file: "opendatateam__udata/udata/harvest/tests/csw_dcat/geoplateforme-iso19139-IGNF_RPG.xml", format: "csw", datasets: 1,
		pick: "IGNF_RPG", title: "RPG",
		license: "etalab-2.0", modified: "2025-01-01T00:00:00Z", formats: []string{"", "CSV", "PDF", "WFS", "WMS", "WMTS", "ZIP"}},
	{file: "opendatateam__udata/udata/harvest/tests/csw_dcat/records/combles.xml", format: "csw", datasets: 1,
		pick: "fr-120066022-ldd-3f4cc8c8-5c3e-4a0e-8b56-0a569a7e12f6", title: "Plan local d'urbanisme de la commune de Combles",
		license: "etalab-1.0", modified: "2019-03-25T21:56:15.973Z", formats: []string{""}},
	{file: "opendatateam__udata/udata/harvest/tests/dcat/bnodes.jsonld", format: "dcat", datasets: 3,
		pick: "1", title: "Dataset 1",
		license: "unknown", modified: "2016-12-14T19:01:24.184120Z", formats: []string{"JSON"}},
	{file: "opendatateam__udata/udata/harvest/tests/dcat/bnodes.xml", format: "dcat", datasets: 3,
		pick: "3", title: "Dataset 3",
		license: "etalab-2.0", modified: "2016-12-14T19:01:24.184120Z", formats: []string{"JSON"}},
	{file: "opendatateam__udata/udata/harvest/tests/dcat/catalog.xml", format: "dcat", datasets: 4,
		pick: "4", title: "Dataset 4",
		license: "etalab-2.0", modified: "2016-12-14T19:01:24.184120Z", formats: []string{""}},
	{file: "opendatateam__udata/udata/harvest/tests/dcat/ckan.jsonld", format: "dcat", datasets: 100,
		pick: "d16e98e8-4593-4638-a965-acc4614d77fb", title: "DataSet008",
		license: "unknown", modified: "2016-12-09T05:04:58.218032Z", formats: []string{"JPEG"}},
	// ckanext-dcat page 1 of 26 (hydra): 100 datasets on the page.
	{file: "opendatateam__udata/udata/harvest/tests/dcat/ckan.rdf", format: "dcat", datasets: 100,
		pick: "411537ee-b89d-4abc-a259-2af5506f2a2d", title: "Test",
		license: "unknown", modified: "2016-12-02T11:05:07.960483Z", formats: nil},
	{file: "opendatateam__udata/udata/harvest/tests/dcat/ckan.ttl", format: "dcat", datasets: 100,
		pick: "058230cf-5ff9-4559-a50b-396c70681e63", title: "Data viewer examples",
		license: "unknown", modified: "2016-12-14T13:45:57.802444Z", formats: []string{"CSV"}},
	{file: "opendatateam__udata/udata/harvest/tests/dcat/datara--5a26b0f6-0ccf-46ad-ac58-734054b91977.rdf.xml", format: "dcat", datasets: 1,
		pick: "https://catalogue.open-datara.fr/geonetwork/srv/5a26b0f6-0ccf-46ad-ac58-734054b91977", title: "Campings issus de la BDTopo de Auvergne Rhône-Alpes",
		license: "other", modified: "", formats: []string{""}},
	// DCAT-US / Project Open Data data.json (remote @context): read natively.
	{file: "opendatateam__udata/udata/harvest/tests/dcat/evian.json", format: "dcat", datasets: 8,
		pick: "https://www.arcgis.com/home/item.html?id=f6565516d1354383b25793e630cf3f2b&sublayer=5", title: "stationnement velos",
		license: "etalab-2.0", modified: "2022-07-29T11:29:07.556Z", formats: []string{"ArcGIS REST", "CSV", "GeoJSON", "HTML", "KML", "ZIP"}},
	{file: "opendatateam__udata/udata/harvest/tests/dcat/flat.jsonld", format: "dcat", datasets: 3,
		pick: "3", title: "Dataset 3",
		license: "unknown", modified: "2016-12-14T19:01:24.184120Z", formats: []string{"JSON"}},
	// invalid RDF/XML GeoNetwork emits (<dcat:theme rdf:resource="...">text</dcat:theme>): read leniently, with a warning.
	{file: "opendatateam__udata/udata/harvest/tests/dcat/geonetwork.xml", format: "dcat", datasets: 1, minWarnings: 1,
		pick: "0c456d2d-9548-4a2a-94ef-231d9d890ce2 https://sig.oreme.org/geonetwork/srv/resources0c456d2d-9548-4a2a-94ef-231d9d890ce2", title: "Data of type chemistry in Le Gardon basin, from the Observatory of the former mining site of Carnoulès (TO Carnoules)",
		license: "other", modified: "", formats: []string{""}},
	{file: "opendatateam__udata/udata/harvest/tests/dcat/nested.jsonld", format: "dcat", datasets: 1,
		pick: "1", title: "Dataset 1",
		license: "unknown", modified: "2016-12-14T19:01:24.184120Z", formats: []string{"JSON"}},
	{file: "opendatateam__udata/udata/harvest/tests/dcat/paged-collection-1.jsonld", format: "dcat", datasets: 3,
		pick: "1", title: "Dataset 1",
		license: "unknown", modified: "2016-12-14T19:01:24.184120Z", formats: []string{"JSON"}},
	{file: "opendatateam__udata/udata/harvest/tests/dcat/paged-collection-2.jsonld", format: "dcat", datasets: 1,
		pick: "4", title: "Dataset 1",
		license: "unknown", modified: "2016-12-14T19:01:24.184120Z", formats: []string{"JSON"}},
	{file: "opendatateam__udata/udata/harvest/tests/dcat/partial-collection-1.jsonld", format: "dcat", datasets: 3,
		pick: "3", title: "Dataset 3",
		license: "unknown", modified: "2016-12-14T19:01:24.184120Z", formats: []string{"JSON"}},
	{file: "opendatateam__udata/udata/harvest/tests/dcat/partial-collection-2.jsonld", format: "dcat", datasets: 1,
		pick: "4", title: "Dataset 1",
		license: "unknown", modified: "2016-12-14T19:01:24.184120Z", formats: []string{"JSON"}},
	{file: "opendatateam__udata/udata/harvest/tests/dcat/series.xml", format: "dcat", datasets: 1,
		pick: "FR-33071536800297-ATLAS_DCE_ARTOIS_PICARDIE_ETATGLOBAL", title: "DCE – Bassin Artois-Picardie - Etat global",
		license: "unknown", modified: "", formats: []string{""}},
	{file: "opendatateam__udata/udata/harvest/tests/dcat/sig.oreme.rdf", format: "dcat", datasets: 1,
		pick: "0437a976-cff1-4fa6-807a-c23006df2f8f", title: "National network of repeated absolute gravimetry (GRAVI) : Observation Service of the Montpellier Research Observatory of Environment (OSU OREME)",
		license: "etalab-2.0", modified: "", formats: []string{""}},
	{file: "opendatateam__udata/udata/harvest/tests/dcat/udata.xml", format: "dcat", datasets: 2,
		pick: "https://vanves-seineouest.opendatasoft.com/explore/dataset/vfe_public_219200755_20240506/", title: "Ville de Vanves - Part des véhicules à faibles émissions dans le renouvellement du parc",
		license: "unknown", modified: "2024-05-06T15:15:18Z", formats: []string{"CSV", "JSON"}},
}

// fixtureDir is <repo root>/../shared/fixtures/real (the test skips when it
// is absent, or fails under CI=true).
func fixtureDir(t *testing.T) string {
	t.Helper()
	return sharedtest.Fixtures(t)
}

type inspectResult struct {
	code     int
	stdout   string
	stderr   string
	records  []*moissonv1.Dataset
	format   string
	datasets int
	warnings int
}

var summaryRE = regexp.MustCompile(`datasets: (\d+), warnings: (\d+)`)

func runInspect(t *testing.T, args ...string) inspectResult {
	t.Helper()
	var out, errb bytes.Buffer
	r := inspectResult{code: inspectCmd(args, strings.NewReader(""), &out, &errb)}
	r.stdout, r.stderr = out.String(), errb.String()
	for _, line := range strings.Split(r.stderr, "\n") {
		if v, ok := strings.CutPrefix(line, "format: "); ok {
			r.format = v
		}
	}
	m := summaryRE.FindStringSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("no summary line on stderr:\n%s", r.stderr)
	}
	r.datasets, _ = strconv.Atoi(m[1])
	r.warnings, _ = strconv.Atoi(m[2])
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		d := &moissonv1.Dataset{}
		if err := protojson.Unmarshal([]byte(line), d); err != nil {
			t.Fatalf("stdout line is not a Dataset: %v\n%s", err, line)
		}
		r.records = append(r.records, d)
	}
	return r
}

func TestRealFixtures(t *testing.T) {
	dir := fixtureDir(t)
	// The table covers every file, and only existing files.
	listed := map[string]bool{}
	for _, row := range fixtureRows {
		if listed[row.file] {
			t.Errorf("%s listed twice", row.file)
		}
		listed[row.file] = true
	}
	var onDisk []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() != "SOURCES.md" {
			rel, _ := filepath.Rel(dir, p)
			onDisk = append(onDisk, filepath.ToSlash(rel))
		}
		return nil
	})
	for _, f := range onDisk {
		if !listed[f] {
			t.Errorf("fixture %s has no row", f)
		}
	}
	if len(onDisk) != len(fixtureRows) {
		t.Errorf("%d files on disk, %d rows", len(onDisk), len(fixtureRows))
	}

	for _, row := range fixtureRows {
		t.Run(row.file, func(t *testing.T) {
			r := runInspect(t, filepath.Join(dir, filepath.FromSlash(row.file)))
			if r.format != row.format {
				t.Errorf("format detected %q, want %q", r.format, row.format)
			}
			if row.err != "" {
				if r.code == 0 {
					t.Fatalf("inspect succeeded, want the error %q", row.err)
				}
				if !strings.Contains(r.stderr, "inspect: error: "+row.err) {
					t.Errorf("stderr:\n%s\nwant the error %q", r.stderr, row.err)
				}
			} else if r.code != 0 {
				t.Fatalf("inspect exit %d:\n%s", r.code, r.stderr)
			}
			if r.datasets != row.datasets || len(r.records) != row.datasets {
				t.Errorf("datasets: summary %d, printed %d, want %d", r.datasets, len(r.records), row.datasets)
			}
			if r.warnings < row.minWarnings {
				t.Errorf("warnings %d, want at least %d:\n%s", r.warnings, row.minWarnings, r.stderr)
			}
			if row.pick == "" {
				return
			}
			var d *moissonv1.Dataset
			for _, rec := range r.records {
				if rec.GetOriginalId() == row.pick {
					d = rec
					break
				}
			}
			if d == nil {
				t.Fatalf("no dataset with original_id %q", row.pick)
			}
			if d.GetTitle() != row.title {
				t.Errorf("title %q, want %q", d.GetTitle(), row.title)
			}
			if got := d.GetLicense().GetNormalized(); got != row.license {
				t.Errorf("licence %q (raw %q), want %q", got, d.GetLicense().GetRaw(), row.license)
			}
			modified := ""
			if d.GetModified() != nil {
				b, _ := protojson.Marshal(d.GetModified())
				modified = strings.Trim(string(b), `"`)
			}
			if modified != row.modified {
				t.Errorf("modified %q, want %q", modified, row.modified)
			}
			var formats []string
			for _, dist := range d.GetDistributions() {
				if !slices.Contains(formats, dist.GetFormat()) {
					formats = append(formats, dist.GetFormat())
				}
			}
			slices.Sort(formats)
			if !slices.Equal(formats, row.formats) {
				t.Errorf("formats %q, want %q", formats, row.formats)
			}
		})
	}
}
