package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"

	"github.com/opendatafrance/moisson/api/observatory"
)

// The OpenAPI 3.1 description of the API, served at /openapi.json. It is
// written by hand, here, next to the handlers; TestOpenAPIMatchesRoutes
// checks it against every registered route and every query parameter each
// handler accepts, both ways.

func (s *Server) openapiRoutes(route routeFunc) {
	route("GET /openapi.json", serveOpenAPI)
}

type obj = map[string]any

func ref(name string) obj { return obj{"$ref": "#/components/schemas/" + name} }

func str(desc string) obj { return obj{"type": "string", "description": desc} }

func qparam(name, desc string, schema obj, repeated bool) obj {
	p := obj{"name": name, "in": "query", "description": desc, "required": false, "schema": schema}
	if repeated {
		p["schema"] = obj{"type": "array", "items": schema}
		p["style"], p["explode"] = "form", true
	}
	return p
}

func pparam(name, desc string) obj {
	return obj{"name": name, "in": "path", "required": true, "description": desc, "schema": obj{"type": "string"}}
}

func jsonBody(desc string, schema obj) obj {
	return obj{"description": desc, "content": obj{"application/json": obj{"schema": schema}}}
}

func errResp(desc string) obj { return jsonBody(desc, ref("Error")) }

func jsonOrCSV(desc string, schema obj) obj {
	return obj{"description": desc, "content": obj{
		"application/json": obj{"schema": schema},
		"text/csv":         obj{"schema": obj{"type": "string"}},
	}}
}

var formatParam = qparam("format", "json (default) or csv; `Accept: text/csv` also gives CSV.",
	obj{"type": "string", "enum": []string{"json", "csv"}}, false)

// dialectParam is the CSV form of every list answer.
var dialectParam = qparam("dialect", "CSV form: rfc4180 (default: comma, no BOM) or excel-fr, the form French Excel opens as it is "+
	"(UTF-8 BOM, ';' between cells, decimal comma, CRLF). In every CSV, a cell a spreadsheet would take for a formula "+
	"(starting with =, +, -, @, tab or CR) is prefixed with an apostrophe (OWASP).",
	obj{"type": "string", "enum": []string{DialectRFC4180, DialectExcelFR}}, false)

// observatorySorts are the sort values of GET /v1/observatory.
func observatorySorts() []string {
	var out []string
	for _, s := range observatory.Sorts {
		out = append(out, s, "-"+s)
	}
	return out
}

// observatoryAgents says what the obligation is computed from.
const observatoryAgents = "The referential (@etalab/decoupage-administratif, embedded) has no agent counts, the law's other criterion (50 agents): communes are counted obliged from their population alone."

func datasetQueryParams() []any {
	filter := func(name, desc string) obj {
		return qparam(name, desc+" Repeat the parameter for several values (OR); different filters combine with AND.", obj{"type": "string"}, true)
	}
	return []any{
		qparam("q", "Words, all of which must match (title ×3, keywords ×2, description); French analysis, never query syntax. At most 500 characters.",
			obj{"type": "string", "maxLength": 500}, false),
		filter("territory", "Territory id, e.g. bretagne."),
		filter("publisher", "Publisher name."),
		filter("format", "Normalised distribution format, e.g. CSV."),
		filter("distribution_format", "The same as format, for the routes where format names the output (export, coverage, quality)."),
		filter("license", "Normalised licence id, e.g. etalab-2.0."),
		filter("source", "Source id, e.g. rennes-ods."),
		filter("protocol", "Source protocol: ckan, dcat, ods, d4c, datafair, udata, csw."),
		filter("theme", "EU data theme code, e.g. GOVE."),
		filter("schema", "SCDL item (schema id), e.g. scdl/deliberations."),
		filter("member", "Member organisation id of the territory."),
		filter("portal", "Portal URL."),
		qparam("quality", "Metadata quality rating. Repeat for several (OR).",
			obj{"type": "string", "enum": []string{"excellent", "good", "sufficient", "bad"}}, true),
		qparam("has_data", "true: only datasets with at least one downloadable file; false: only those without.",
			obj{"type": "string", "enum": []string{"true", "false"}}, true),
		filter("collectivite", "The collectivité that published the record (resolved from its publisher): a SIREN (commune, EPCI), or departement:35, region:53."),
		filter("evidence", "How a SCDL match was found, as \"<SCDL item> <evidence>\" (evidence: declared, columns, title), e.g. \"scdl/budget declared\"."),
		qparam("modified_after", "Modified on or after this date (2024-03-01) or time (RFC 3339).", obj{"type": "string", "examples": []string{"2024-03-01"}}, false),
		qparam("modified_before", "Modified before this date (2024-03-01) or time (RFC 3339).", obj{"type": "string", "examples": []string{"2024-03-01"}}, false),
		qparam("distinct", "true: also count datasets rather than records (distinct_total, and the facet counts): records of the same dataset published on several portals count once (README, Duplicates). The items are still every record, each with its same_as.",
			obj{"type": "string", "enum": []string{"false", "true"}}, false),
		qparam("sort", "relevance (default), -modified (newest first; modified is accepted as a synonym), title, or -quality (best metadata first; quality is a synonym).",
			obj{"type": "string", "enum": []string{"relevance", "-modified", "modified", "title", "-quality", "quality"}}, false),
		qparam("size", "Items per page.", obj{"type": "integer", "minimum": 1, "maximum": MaxSize, "default": DefaultSize}, false),
		qparam("cursor", "next_cursor of the previous page.", obj{"type": "string"}, false),
	}
}

// datasetParamsExcept is datasetQueryParams without the named ones.
func datasetParamsExcept(drop ...string) []any {
	var out []any
	for _, p := range datasetQueryParams() {
		keep := true
		for _, d := range drop {
			keep = keep && p.(obj)["name"] != d
		}
		if keep {
			out = append(out, p)
		}
	}
	return out
}

func catalogOp(id, ctype, syntax string) obj {
	return obj{"get": obj{
		"operationId": id,
		"summary":     "The federated catalogue as DCAT-AP (" + syntax + "), paged (Hydra).",
		"parameters": []any{
			qparam("page", "Page number, from 1.", obj{"type": "integer", "minimum": 1, "default": 1}, false),
			qparam("page_size", "Datasets per page.", obj{"type": "integer", "minimum": 1, "maximum": MaxCatalogPageSize, "default": DefaultCatalogPageSize}, false),
			qparam("cursor", "The cursor of a next-page link.", obj{"type": "string"}, false),
		},
		"responses": obj{
			"200": obj{"description": "One page of the catalogue. ETag and If-None-Match are honoured.", "content": obj{ctype: obj{"schema": obj{"type": "string"}}}},
			"304": obj{"description": "Not modified since the ETag given in If-None-Match."},
			"400": errResp("Bad parameter."), "500": errResp("The index failed."),
		},
	}}
}

func openAPIDoc() obj {
	bad := errResp("Bad parameter (unknown parameter, value out of range, cursor not issued by this API).")
	notFound := errResp("Unknown id.")
	unavailable := errResp("JetStream is not reachable.")
	internal := errResp("The index or JetStream failed.")
	sourceID := pparam("id", "Source id, e.g. rennes-ods.")
	runID := pparam("run", "Run id, as in the run history.")
	return obj{
		"openapi": "3.1.0",
		"info": obj{
			"title":   "Moisson API",
			"version": "1",
			"summary": "Cross-territory search of the open data of the nine OpenDataLocale pilot territories, and their harvest status.",
			"description": "Every dataset of every harvested portal, normalised into one record (moisson.v1.Dataset, in JSON with the .proto field names). " +
				"Errors are `{\"error\": {\"code\", \"message\"}}`. Every answer carries an X-Request-Id (the client's when it sends a sane one). " +
				"Answers are gzip-compressed when Accept-Encoding allows it. The web interface (HTML, in French) is served on the same host at /.",
			"license": obj{"name": "Licence Ouverte 2.0", "identifier": "etalab-2.0"},
		},
		"paths": obj{
			"/v1/datasets": obj{"get": obj{
				"operationId": "searchDatasets",
				"summary":     "Search the datasets of every territory, with facet counts.",
				"parameters":  datasetQueryParams(),
				"responses": obj{
					"200": jsonBody("One page of results.", ref("SearchResult")),
					"400": bad, "500": internal,
					"422": errResp("distinct=true on a search whose results hold more duplicated records than one search resolves; narrow it."),
				},
			}},
			"/v1/datasets/export": obj{"get": obj{
				"operationId": "exportDatasets",
				"summary":     "Every dataset a search selects, streamed (the parameters of /v1/datasets, without size and cursor).",
				"parameters": append(datasetParamsExcept("size", "cursor", "format"), qparam("format", "csv (default), jsonl, ttl, rdf or jsonld.",
					obj{"type": "string", "enum": []string{"csv", "jsonl", "ttl", "rdf", "jsonld"}}, false), dialectParam),
				"responses": obj{
					"200": obj{"description": "The datasets.", "content": obj{
						"text/csv": obj{"schema": obj{"type": "string"}}, "application/x-ndjson": obj{"schema": obj{"type": "string"}},
						"text/turtle": obj{"schema": obj{"type": "string"}}, "application/rdf+xml": obj{"schema": obj{"type": "string"}},
						"application/ld+json": obj{"schema": obj{"type": "object"}}}},
					"400": bad, "500": internal,
				},
			}},
			"/v1/coverage": obj{"get": obj{
				"operationId": "coverage",
				"summary":     "Territory × SCDL item (with evidence kinds), theme, format, licence and freshness, over what the filters select.",
				"parameters": append(datasetParamsExcept("size", "cursor", "sort", "distinct", "format"), formatParam, dialectParam,
					qparam("distinct", "true: count datasets rather than records: the copies of one dataset on several portals (or on data.gouv.fr) count once (README, Duplicates).",
						obj{"type": "string", "enum": []string{"false", "true"}}, false)),
				"responses": obj{
					"200": jsonOrCSV("The coverage matrix. ETag and If-None-Match are honoured.", ref("Coverage")),
					"304": obj{"description": "Not modified since the ETag given in If-None-Match."},
					"400": bad, "500": internal,
				},
			}},
			"/v1/quality": obj{"get": obj{
				"operationId": "quality",
				"summary":     "Metadata quality, overall, per territory and per portal, over what the filters select.",
				"parameters":  append(datasetParamsExcept("size", "cursor", "sort", "distinct", "format"), formatParam, dialectParam),
				"responses":   obj{"200": jsonOrCSV("The quality report.", obj{"type": "object"}), "400": bad, "500": internal},
			}},
			"/catalog.jsonld": catalogOp("catalogJSONLD", "application/ld+json", "JSON-LD"),
			"/catalog.ttl":    catalogOp("catalogTurtle", "text/turtle", "Turtle"),
			"/catalog.rdf":    catalogOp("catalogRDFXML", "application/rdf+xml", "RDF/XML"),
			"/v1/datasets/{id}": obj{"get": obj{
				"operationId": "getDataset",
				"summary":     "One dataset.",
				"parameters":  []any{pparam("id", "Dataset id.")},
				"responses":   obj{"200": jsonBody("The dataset.", ref("Dataset")), "404": notFound, "500": internal},
			}},
			"/v1/sources": obj{"get": obj{
				"operationId": "listSources",
				"summary":     "Every source with its harvest status, last run and next run.",
				"parameters": []any{
					qparam("territory", "Only this territory.", obj{"type": "string"}, false),
					qparam("status", "Only this status (case does not matter).", obj{"type": "string",
						"enum": []string{"NEVER", "RUNNING", "SUCCEEDED", "PARTIAL", "FAILED", "DISABLED"}}, false),
					formatParam, dialectParam,
				},
				"responses": obj{"200": jsonOrCSV("The sources.", obj{"type": "object", "required": []string{"sources"},
					"properties": obj{"sources": obj{"type": "array", "items": ref("Source")},
						"indexing": obj{"type": "object", "description": "Records harvested and not yet written to the index: a source may show SUCCEEDED while its records wait.",
							"properties": obj{"pending": obj{"type": "integer"}, "in_progress": obj{"type": "integer"}, "redelivered": obj{"type": "integer"}, "known": obj{"type": "boolean"}}}}}), "400": bad},
			}},
			"/v1/sources/{id}": obj{"get": obj{
				"operationId": "getSource",
				"summary":     "One source with its harvest status.",
				"parameters":  []any{sourceID},
				"responses":   obj{"200": jsonBody("The source.", ref("Source")), "404": notFound},
			}},
			"/v1/sources/{id}/runs": obj{"get": obj{
				"operationId": "listRuns",
				"summary":     "The run history of a source, newest first (empty for a source never harvested).",
				"parameters":  []any{sourceID, formatParam, dialectParam},
				"responses": obj{"200": jsonOrCSV("The runs.", obj{"type": "object", "properties": obj{
					"source_id": obj{"type": "string"}, "runs": obj{"type": "array", "items": ref("Run")}}}),
					"400": bad, "404": notFound},
			}},
			"/v1/sources/{id}/runs/{run}/errors": obj{"get": obj{
				"operationId": "listRunErrors",
				"summary":     "Every error of one run (streamed).",
				"parameters":  []any{sourceID, runID, formatParam, dialectParam},
				"responses": obj{"200": jsonOrCSV("The errors.", obj{"type": "object", "properties": obj{
					"source_id": obj{"type": "string"}, "run_id": obj{"type": "string"}, "total": obj{"type": "integer"},
					"errors": obj{"type": "array", "items": ref("HarvestError")}}}),
					"400": bad, "404": notFound, "500": internal, "503": unavailable},
			}},
			"/v1/sources/{id}/runs/{run}/changes": obj{"get": obj{
				"operationId": "listRunChanges",
				"summary":     "What one run changed, one record per row: CSV change,id (the default, a download) or JSON.",
				"parameters": []any{sourceID, runID, qparam("change", "Only this kind of change.",
					obj{"type": "string", "enum": []string{"created", "updated", "unchanged", "deleted", "held"}}, false),
					qparam("format", "csv (default) or json.", obj{"type": "string", "enum": []string{"csv", "json"}}, false), dialectParam},
				"responses": obj{"200": jsonOrCSV("The change list.", obj{"type": "object", "properties": obj{
					"source_id": obj{"type": "string"}, "run_id": obj{"type": "string"},
					"changes": obj{"type": "array", "items": obj{"type": "object", "properties": obj{"change": obj{"type": "string"}, "id": obj{"type": "string"}}}}}}),
					"400": bad, "404": notFound, "500": internal, "503": unavailable},
			}},
			"/v1/sources/{id}/dead-letters": obj{"get": obj{
				"operationId": "listDeadLetters",
				"summary":     "The records of a source the index rejected for good, with the reason (streamed).",
				"parameters":  []any{sourceID, formatParam, dialectParam},
				"responses": obj{"200": jsonOrCSV("The dead letters, oldest first.", obj{"type": "object", "properties": obj{
					"source_id": obj{"type": "string"}, "total": obj{"type": "integer"},
					"dead_letters": obj{"type": "array", "items": obj{"type": "object", "properties": obj{
						"seq": obj{"type": "integer"}, "at": obj{"type": "string", "format": "date-time"},
						"record_id": obj{"type": "string"}, "reason": obj{"type": "string"}, "subject": obj{"type": "string"}}}}}}),
					"400": bad, "404": notFound, "500": internal, "503": unavailable},
			}},
			"/v1/sources/{id}/harvest": obj{"post": obj{
				"operationId": "harvestNow",
				"summary":     "Ask the workers to harvest a source now.",
				"parameters":  []any{sourceID},
				"security":    []any{obj{"adminToken": []any{}}},
				"responses": obj{
					"202": jsonBody("Requested.", obj{"type": "object", "properties": obj{
						"source_id": obj{"type": "string"}, "requested": obj{"type": "boolean"}, "message": obj{"type": "string"}}}),
					"401": errResp("Missing or wrong token (send 'Authorization: Bearer <token>')."), "403": errResp("On-demand harvests are disabled (no admin token configured)."),
					"404": notFound, "409": errResp("The source is disabled in the configuration: it is not harvested."), "503": unavailable,
				},
			}},
			"/v1/observatory": obj{"get": obj{
				"operationId": "observatory",
				"summary":     "The observatory of the collectivités the law for a Digital Republic obliges to open their data (communes from the territory's threshold, default 3,500 inhabitants; every EPCI à fiscalité propre; départements; régions) and of those that publish: one object per collectivité (obliged and why, publishes, distinct datasets, records, portals, SCDL items with evidence, last_modified month, freshness: share modified in the last 12 months, quality: mean score of 405), a summary per territory and in total (obliged, publishing, share, population of the obliged and share covered by their commune or EPCI), timelines (records by month of first publication: issued, else first seen) and the daily snapshots of the summary (history). " + observatoryAgents,
				"parameters": []any{
					qparam("territory", "Territory id. Repeat for several.", obj{"type": "string"}, true),
					qparam("kind", "Kind of collectivité. Repeat for several.", obj{"type": "string", "enum": observatory.Kinds}, true),
					qparam("obliged", "true: only the obliged; false: only the others that publish.", obj{"type": "string", "enum": []string{"true", "false"}}, false),
					qparam("publishes", "true: only those that publish; false: only those that do not.", obj{"type": "string", "enum": []string{"true", "false"}}, false),
					qparam("sort", "Order of the collectivités: kind (then population, the default), name, population, datasets, scdl, freshness, quality, last_modified; - first for descending.",
						obj{"type": "string", "enum": observatorySorts()}, false),
					formatParam, dialectParam,
				},
				"responses": obj{"200": jsonOrCSV("The observatory (CSV: one row per collectivité).", obj{"type": "object", "properties": obj{
					"generated_at": obj{"type": "string", "format": "date-time"}, "note": str("What the obligation is computed from."),
					"total": obj{"type": "object"}, "summaries": obj{"type": "array"}, "collectivites": obj{"type": "array"},
					"timelines": obj{"type": "array"}, "history": obj{"type": "array"}}}), "400": bad, "500": internal},
			}},
			"/v1/observatory/unresolved": obj{"get": obj{
				"operationId": "observatoryUnresolved",
				"summary":     "The publisher names no collectivité was resolved from, with their record counts, the source they came from and why (no-publisher, not-collectivite, not-found, ambiguous): what a territory's publishers overrides in the configuration map (README, Observatory).",
				"parameters":  []any{qparam("territory", "Territory id. Repeat for several.", obj{"type": "string"}, true), formatParam, dialectParam},
				"responses":   obj{"200": jsonOrCSV("The unresolved publishers, most records first.", obj{"type": "object"}), "400": bad, "500": internal},
			}},
			"/v1/status": obj{"get": obj{
				"operationId": "status",
				"summary":     "Health of the NATS JetStream cluster (the RECORDS stream's leader and replicas) and of the index (Elasticsearch's cluster health), and the records waiting for the index.",
				"responses": obj{
					"200": jsonBody("Green or yellow.", obj{"type": "object", "properties": obj{"status": obj{"type": "string", "enum": []string{"green", "yellow", "red", "unknown"}},
						"nats": obj{"type": "object"}, "index": obj{"type": "object"}, "indexing": obj{"type": "object"}}}),
					"503": jsonBody("Red: no stream leader, or the index does not answer.", obj{"type": "object"}),
				},
			}},
			"/healthz": obj{"get": obj{
				"operationId": "health", "summary": "The process answers.",
				"responses": obj{"200": jsonBody("Alive.", obj{"type": "object", "properties": obj{"status": obj{"const": "ok"}}})},
			}},
			"/readyz": obj{"get": obj{
				"operationId": "ready", "summary": "The index and NATS answer.",
				"responses": obj{"200": jsonBody("Ready.", obj{"type": "object", "properties": obj{"status": obj{"const": "ready"}}}),
					"503": errResp("Not ready.")},
			}},
			"/metrics": obj{"get": obj{
				"operationId": "metrics", "summary": "Prometheus metrics (moisson_api_request_seconds: latency by route and status).",
				"responses": obj{"200": obj{"description": "Prometheus text format.", "content": obj{"text/plain": obj{"schema": obj{"type": "string"}}}}},
			}},
			"/openapi.json": obj{"get": obj{
				"operationId": "openapi", "summary": "This document.",
				"responses": obj{"200": obj{"description": "OpenAPI 3.1.", "content": obj{"application/json": obj{"schema": obj{"type": "object"}}}}},
			}},
		},
		"components": obj{
			"securitySchemes": obj{"adminToken": obj{"type": "http", "scheme": "bearer", "description": "The API's admin token (MOISSON_ADMIN_TOKEN)."}},
			"schemas": obj{
				"Error": obj{"type": "object", "required": []string{"error"}, "properties": obj{"error": obj{
					"type": "object", "required": []string{"code", "message"},
					"properties": obj{"code": str("Machine-readable: bad_parameter, bad_cursor, not_found, unauthorized, forbidden, unavailable, internal, not_ready."),
						"message": str("For people.")}}}},
				"Coverage": obj{"type": "object", "properties": obj{
					"generated": obj{"type": "string", "format": "date-time"}, "datasets": obj{"type": "integer"},
					"distinct": obj{"type": "boolean", "description": "true: the counts are of datasets, duplicates counted once (distinct=true)."},
					"territories": obj{"type": "array", "items": obj{"type": "object", "properties": obj{
						"territory": obj{"type": "string"}, "datasets": obj{"type": "integer"},
						"schema": obj{"type": "array", "items": ref("CoverageCell")}, "theme": obj{"type": "array", "items": ref("CoverageCell")},
						"format": obj{"type": "array", "items": ref("CoverageCell")}, "license": obj{"type": "array", "items": ref("CoverageCell")},
						"freshness": obj{"type": "array", "items": obj{"type": "object", "properties": obj{
							"months": obj{"type": "integer"}, "count": obj{"type": "integer"}, "share": obj{"type": "number"}}}},
					}}},
				}},
				"CoverageCell": obj{"type": "object", "properties": obj{"key": obj{"type": "string"}, "count": obj{"type": "integer"},
					"evidence": obj{"type": "object", "description": "SCDL items: datasets by how the match was found (declared, columns, title).",
						"additionalProperties": obj{"type": "integer"}}}},
				"FacetCount": obj{"type": "object", "properties": obj{"key": obj{"type": "string"}, "count": obj{"type": "integer"}}},
				"SearchResult": obj{"type": "object", "required": []string{"total", "items", "facets", "next_cursor"}, "properties": obj{
					"total":       obj{"type": "integer"},
					"items":       obj{"type": "array", "items": ref("Dataset")},
					"facets":      obj{"type": "object", "additionalProperties": obj{"type": "array", "items": ref("FacetCount")}},
					"next_cursor": str("Empty on the last page."),
				}},
				"Dataset": obj{"type": "object", "description": "moisson.v1.Dataset in JSON with the .proto field names (proto/moisson/v1/record.proto).",
					"properties": obj{
						"id": str("Stable id."), "source_id": obj{"type": "string"}, "territory_id": obj{"type": "string"},
						"portal_url": obj{"type": "string"}, "original_id": obj{"type": "string"}, "landing_page": obj{"type": "string"},
						"title": obj{"type": "string"}, "description": obj{"type": "string"},
						"keywords": obj{"type": "array", "items": obj{"type": "string"}}, "themes": obj{"type": "array", "items": obj{"type": "string"}},
						"publisher": obj{"type": "object", "properties": obj{"name": obj{"type": "string"}, "uri": obj{"type": "string"}, "siren": obj{"type": "string"}}},
						"license":   obj{"type": "object", "properties": obj{"raw": obj{"type": "string"}, "normalized": obj{"type": "string"}}},
						"issued":    obj{"type": "string", "format": "date-time"}, "modified": obj{"type": "string", "format": "date-time"},
						"distributions": obj{"type": "array", "items": obj{"type": "object", "properties": obj{
							"url": obj{"type": "string"}, "download_url": obj{"type": "string"}, "format": obj{"type": "string"},
							"media_type": obj{"type": "string"}, "byte_size": obj{"type": "string", "description": "int64, as a string (protojson)."}, "title": obj{"type": "string"}}}},
						"conforms_to": obj{"type": "array", "items": obj{"type": "string"}},
						"scdl": obj{"type": "array", "items": obj{"type": "object", "properties": obj{
							"item": str("SCDL schema id."), "evidence": obj{"type": "string", "enum": []string{"declared", "columns", "title"}}}}},
						"harvested_at": obj{"type": "string", "format": "date-time"},
					}, "additionalProperties": true},
				"HarvestError": obj{"type": "object", "properties": obj{
					"at": obj{"type": "string", "format": "date-time"}, "url": obj{"type": "string"},
					"kind":    obj{"type": "string", "enum": []string{"http", "timeout", "dns", "connection", "tls", "too_large", "robots", "forbidden", "paging", "parse", "normalise", "publish"}},
					"message": obj{"type": "string"}, "dataset_id": obj{"type": "string"}, "excerpt": obj{"type": "string"}}},
				"Run": obj{"type": "object", "description": "moisson.v1.HarvestRun with duration_seconds once finished.", "properties": obj{
					"run_id": obj{"type": "string"}, "source_id": obj{"type": "string"}, "territory_id": obj{"type": "string"},
					"status":     obj{"type": "string", "enum": []string{"RUNNING", "SUCCEEDED", "PARTIAL", "FAILED"}},
					"started_at": obj{"type": "string", "format": "date-time"}, "finished_at": obj{"type": "string", "format": "date-time"},
					"duration_seconds": obj{"type": "number"}, "errors": obj{"type": "array", "items": ref("HarvestError")},
				}, "additionalProperties": true},
				"Source": obj{"type": "object", "properties": obj{
					"source_id": obj{"type": "string"}, "territory_id": obj{"type": "string"}, "territory": obj{"type": "string"},
					"member": obj{"type": "string"}, "portal": obj{"type": "string"}, "portal_url": obj{"type": "string"},
					"protocol": obj{"type": "string"}, "endpoint": obj{"type": "string"}, "schedule": obj{"type": "string"},
					"disabled":  obj{"type": "string"},
					"status":    obj{"type": "string", "enum": []string{"NEVER", "RUNNING", "SUCCEEDED", "PARTIAL", "FAILED", "DISABLED"}},
					"diagnosis": obj{"type": "string"}, "needs_review": obj{"type": "boolean"}, "review_reason": obj{"type": "string"},
					"running":  obj{"type": []string{"object", "null"}},
					"last_run": obj{"oneOf": []any{ref("Run"), obj{"type": "null"}}}, "last_success": obj{"oneOf": []any{ref("Run"), obj{"type": "null"}}},
					"next_run":     obj{"type": []string{"string", "null"}, "format": "date-time"},
					"dead_letters": obj{"type": "integer", "description": "Records the index rejected for good."},
				}, "additionalProperties": true},
			},
		},
	}
}

var openAPIJSON, openAPIETag = func() ([]byte, string) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(openAPIDoc()); err != nil {
		panic(err)
	}
	sum := sha256.Sum256(b.Bytes())
	return b.Bytes(), `"` + hex.EncodeToString(sum[:12]) + `"`
}()

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("ETag", openAPIETag)
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(openAPIJSON))
}
