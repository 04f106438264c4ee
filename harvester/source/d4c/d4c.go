// Package d4c reads a Data4Citizen portal (a Drupal front on CKAN) through
// its catalogue API, /d4c/api/datasets/2.0/search/?rows=N&start=M.
//
// What the catalogue answers: public clients of real D4C portals
// (data.anfr.fr, datagrandest.fr) read it as CKAN's package_search
// envelope, {"success", "result": {"count", "results": [package dicts]}};
// the front's records API is ODS v1-like, and some fronts answer the
// catalogue the ODS v1 way ({"nhits", "datasets": [{"datasetid", "metas",
// "fields"}]}). Both are read, one dataset at a time. Columns (SCDL
// evidence) come from a dataset's "fields" list ([{"name"}], ODS style, or
// [{"id"}], CKAN DataStore style) when the answer carries one.
package d4c

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	json "github.com/go-json-experiment/json/v1"

	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/fetch"
	"github.com/opendatafrance/moisson/harvester/source"
	"github.com/opendatafrance/moisson/harvester/source/ckan"
	"github.com/opendatafrance/moisson/harvester/source/jsonwalk"
	"github.com/opendatafrance/moisson/harvester/source/ods"
)

// DefaultRows is the page size when the source sets none.
const DefaultRows = 100

// SearchPath is the catalogue path under the D4C API root.
const SearchPath = "/datasets/2.0/search/"

// Source reads one Data4Citizen catalogue.
type Source struct {
	endpoint string // the D4C API root, ending in /d4c/api
	rows     int
	params   url.Values // extra query parameters (q, sort)
	mapper   *mapper
	env      source.Env
}

// New is the source.Factory of Data4Citizen. The endpoint is the D4C API
// root (https://host/d4c/api; the full search URL is accepted too). Params:
// page_size (1..1000), q (a CKAN query, e.g. organization:ville-de-x), sort.
func New(src *config.Source, env source.Env) (source.Source, error) {
	ep := strings.TrimRight(src.Endpoint, "/")
	ep = strings.TrimSuffix(ep, strings.TrimRight(SearchPath, "/"))
	s := &Source{endpoint: ep, rows: DefaultRows, params: url.Values{}, env: env}
	var err error
	if s.rows, err = source.PageSize(src, "d4c", s.rows, 1000); err != nil {
		return nil, err
	}
	for _, k := range []string{"q", "sort"} {
		if v := src.Params[k]; v != "" {
			s.params.Set(k, v)
		}
	}
	portal := ""
	if src.Portal != nil {
		portal = src.Portal.URL
	}
	if portal == "" {
		portal = siteOf(ep)
	}
	m, err := newMapper(portal, env)
	if err != nil {
		return nil, err
	}
	s.mapper = m
	return s, nil
}

// siteOf returns what precedes "/d4c/" (or "/api/") in a URL.
func siteOf(u string) string {
	for _, marker := range []string{"/d4c/", "/api/"} {
		if i := strings.Index(u, marker); i > 0 {
			return u[:i]
		}
	}
	if p, err := url.Parse(u); err == nil && p.Host != "" && (p.Scheme == "http" || p.Scheme == "https") {
		return p.Scheme + "://" + p.Host
	}
	return ""
}

// Harvest walks the catalogue by rows/start to its end.
func (s *Source) Harvest(ctx context.Context, sink source.Sink) error {
	pages := source.NewPages("count")
	for {
		u := s.pageURL(pages.Read)
		n, count, err := s.readPage(ctx, u, sink)
		if err != nil {
			return err
		}
		if done, err := pages.After(sink, u, n, s.rows, count); done || err != nil {
			return err
		}
	}
}

func (s *Source) pageURL(start int) string {
	q := url.Values{}
	for k, v := range s.params {
		q[k] = v
	}
	q.Set("rows", strconv.Itoa(s.rows))
	q.Set("start", strconv.Itoa(start))
	return s.endpoint + SearchPath + "?" + q.Encode()
}

func (s *Source) readPage(ctx context.Context, u string, sink source.Sink) (int, int64, error) {
	resp, err := s.env.Client.Get(ctx, fetch.Request{URL: u, Accept: "application/json"})
	if err != nil {
		return 0, -1, &source.Error{Kind: fetch.KindOf(err), URL: u, Err: err}
	}
	defer resp.Close()
	n, count, err := Decode(resp.Body, func(raw json.RawMessage) error {
		return s.mapper.emit(ctx, u, raw, sink)
	})
	return n, count, source.AnswerError(ctx, u, err)
}

// Decode streams a catalogue answer (CKAN-like {"success", "result":
// {"count", "results"}}, ODS v1-like {"nhits", "datasets"}, or a bare list)
// and calls fn with each dataset's JSON. It returns the number of datasets
// and the declared count (-1 if absent).
func Decode(r io.Reader, fn func(json.RawMessage) error) (int, int64, error) {
	d := jsonwalk.NewDecoder(r, "d4c")
	n := 0
	var count int64 = -1
	lists := 0
	list := func() error {
		lists++
		k, err := d.Items(0, func(_ int, raw json.RawMessage) error { return fn(raw) })
		n += k
		return err
	}
	open, err := d.Open()
	if err != nil {
		return 0, -1, err
	}
	if open == '[' {
		err := list()
		return n, int64(n), err
	}
	// result: {"count", "results"}, CKAN's package_search.
	result := func(key string) error {
		var err error
		switch key {
		case "count":
			count, err = d.Count(key)
		case "results":
			if err = d.List(key); err == nil {
				err = list()
			}
		default:
			err = d.Skip()
		}
		return err
	}
	success := true
	var apiErr json.RawMessage
	err = d.Object("answer", func(key string) error {
		var err error
		switch key {
		case "success":
			if err = d.Decode(&success); err != nil {
				err = d.Errorf("success: %v", err)
			}
		case "error":
			if err = d.Decode(&apiErr); err != nil {
				err = d.Errorf("error: %v", err)
			}
		case "nhits":
			count, err = d.Count(key)
		case "datasets":
			if err = d.List(key); err == nil {
				err = list()
			}
		case "result":
			t, terr := d.Token()
			switch {
			case terr != nil:
				err = d.Errorf("result: %v", terr)
			case t == json.Delim('['):
				err = list()
			case t == json.Delim('{'):
				err = d.Object("result", result)
			case t != nil:
				err = d.Errorf("result: unexpected %v", t)
			}
		default:
			err = d.Skip()
		}
		return err
	})
	switch {
	case err != nil:
		return n, count, err
	case !success:
		return n, count, d.Errorf("the API answered success=false: %s", fetch.Excerpt(apiErr))
	case lists == 0:
		return n, count, d.Errorf("no result, results nor datasets in the answer")
	}
	return n, count, nil
}

// mapper turns D4C datasets into records: CKAN package dicts through the
// CKAN adapter, ODS-like datasets through the ODS one; D4C landing pages.
type mapper struct {
	portal string
	ckan   *ckan.Source
	ods    ods.Mapper
}

func newMapper(portal string, env source.Env) (*mapper, error) {
	portal = strings.TrimRight(portal, "/")
	m := &mapper{portal: portal}
	cs, err := ckan.New(&config.Source{ID: "d4c", Endpoint: portal, Params: map[string]string{},
		Portal: &config.Portal{URL: portal}}, env)
	if err != nil {
		return nil, err
	}
	c, ok := cs.(*ckan.Source)
	if !ok {
		return nil, fmt.Errorf("d4c: the ckan adapter is not a *ckan.Source")
	}
	m.ckan = c
	m.ods = ods.NewMapper("", portal)
	m.ods.LandingPage = m.landing
	return m, nil
}

// landing is a dataset's page on a D4C front.
func (m *mapper) landing(name string) string {
	if m.portal == "" || name == "" {
		return ""
	}
	return m.portal + "/visualisation/information/?id=" + url.QueryEscape(name)
}

// shape tells an ODS-like dataset from a CKAN package.
type shape struct {
	DatasetID string          `json:"datasetid"`
	ODSID     string          `json:"dataset_id"`
	Metas     json.RawMessage `json:"metas"`
	Fields    []column        `json:"fields"`
}

// column is an ODS field ({"name"}) or a CKAN DataStore field ({"id"}).
type column struct {
	Name ods.Str `json:"name"`
	ID   ods.Str `json:"id"`
}

func (m *mapper) emit(ctx context.Context, u string, raw json.RawMessage, sink source.Sink) error {
	rec, id, err := m.record(raw)
	if err != nil {
		sink.Problem(source.Problem{Kind: source.KindNormalise, URL: u, DatasetID: id, Message: err.Error(),
			Excerpt: fetch.Excerpt(raw)})
		return nil
	}
	if err := sink.Record(ctx, rec); err != nil {
		return source.SinkError{Err: err}
	}
	return nil
}

// shapedPackage reads a dataset's shape and, for a CKAN package, the
// package itself in one pass.
type shapedPackage struct {
	shape
	ckan.Package
}

// isODS reports whether a dataset has the ODS shape.
func (sh *shape) isODS() bool { return sh.DatasetID != "" || sh.ODSID != "" || len(sh.Metas) > 0 }

// record normalises one dataset; id is the portal's identifier when known.
func (m *mapper) record(raw json.RawMessage) (source.Record, string, error) {
	var sp shapedPackage
	if err := json.Unmarshal(raw, &sp); err != nil || sp.isODS() {
		// An ODS-like dataset, or one that does not read as a package
		// (whose error is the package's, or the shape's when neither reads).
		sp = shapedPackage{}
		if err := json.Unmarshal(raw, &sp.shape); err != nil {
			return source.Record{}, "", err
		}
		if sp.isODS() {
			d, err := ods.Parse(raw)
			if err != nil {
				return source.Record{}, "", err
			}
			rec, err := m.ods.Record(d)
			return rec, d.ID(), err
		}
		if err := json.Unmarshal(raw, &sp.Package); err != nil {
			return source.Record{}, "", err
		}
	}
	sh, p := &sp.shape, &sp.Package
	rec, err := m.ckan.Record(p)
	if err != nil {
		return rec, p.ID, err
	}
	if lp := m.landing(ods.FirstNonEmpty(p.Name, p.ID)); lp != "" {
		rec.Dataset.LandingPage = lp
	}
	for _, c := range sh.Fields {
		if name := ods.FirstNonEmpty(string(c.Name), string(c.ID)); name != "" && !strings.HasPrefix(name, "_") {
			rec.Columns = append(rec.Columns, name)
		}
	}
	return rec, p.ID, nil
}

// Protocol is the Data4Citizen adapter.
var Protocol = source.Protocol{Name: "d4c", New: New, Read: Read, Sniff: Sniff}

// Read reads one saved D4C catalogue answer (or a bare list of datasets).
func Read(ctx context.Context, r io.Reader, base string, sink source.Sink) error {
	m, err := newMapper(siteOf(base), source.Env{})
	if err != nil {
		return err
	}
	_, count, err := Decode(r, func(raw json.RawMessage) error { return m.emit(ctx, base, raw, sink) })
	if err != nil {
		return source.SinkCause(err)
	}
	sink.Page(base, count)
	return nil
}

// Sniff recognises a D4C catalogue answer by its help URL.
func Sniff(head []byte) bool {
	return strings.Contains(string(head), "/d4c/api/")
}
