// Package datafair reads a Data Fair (Koumoul) portal through its API,
// /data-fair/api/v1/datasets?size=N&page=P&sort=createdAt:1, answered as
// {"count", "results": [dataset documents]}.
//
// Data Fair's list answers carry the whole dataset documents, schema
// included, unless select= restricts them (api/src/datasets/service.ts:
// findUtils.project(select) excludes nothing when select is absent), so
// columns (schema[].key, SCDL evidence) come from the list. A result
// without any schema (a select-restricted or proxied answer) is completed
// with /datasets/{id}, fetched with bounded concurrency after its page.
// Paging is by page number with an ascending creation sort, so datasets
// created during the walk land at its end; size+skip is capped at 10000
// by the API, and past that window the walk goes on with after=
// (keyset paging: the creation date and id of the last dataset read, with
// the default sort), which has no cap.
package datafair

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"sync"

	json "github.com/go-json-experiment/json/v1"

	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/fetch"
	"github.com/opendatafrance/moisson/harvester/normalize"
	"github.com/opendatafrance/moisson/harvester/source"
	"github.com/opendatafrance/moisson/harvester/source/jsonwalk"
	"github.com/opendatafrance/moisson/harvester/source/ods"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

const (
	// DefaultSize is the page size when the source sets none.
	DefaultSize = 100
	// Window is the API's cap on size+skip.
	Window = 10000
	// DefaultSort pages in creation order.
	DefaultSort = "createdAt:1"
	// Concurrency bounds the per-dataset requests.
	Concurrency = 4
)

// Source reads one Data Fair API.
type Source struct {
	endpoint string // the API root, ending in /data-fair/api/v1
	portal   string
	size     int
	sort     string
	params   url.Values
	env      source.Env
}

// New is the source.Factory of Data Fair. Params: page_size (1..1000),
// sort (default createdAt:1), owner (e.g. organization:abc), select.
func New(src *config.Source, env source.Env) (source.Source, error) {
	ep := strings.TrimSuffix(strings.TrimRight(src.Endpoint, "/"), "/datasets")
	s := &Source{endpoint: ep, size: DefaultSize, sort: DefaultSort, params: url.Values{}, env: env}
	if src.Portal != nil {
		s.portal = strings.TrimRight(src.Portal.URL, "/")
	}
	var err error
	if s.size, err = source.PageSize(src, "datafair", s.size, 1000); err != nil {
		return nil, err
	}
	if v := src.Params["sort"]; v != "" {
		s.sort = v
	}
	for _, k := range []string{"owner", "select"} {
		if v := src.Params[k]; v != "" {
			s.params.Set(k, v)
		}
	}
	return s, nil
}

// Harvest walks the dataset list to its end.
func (s *Source) Harvest(ctx context.Context, sink source.Sink) error {
	pages := source.NewPages("count")
	seen := map[string]bool{}
	after := "" // the sort key of the last dataset read, once past the window
	for page := 1; ; page++ {
		u := s.pageURL(page, after)
		if page*s.size > Window && after == "" {
			return &source.Error{Kind: source.KindPaging, URL: u,
				Err: fmt.Errorf("the API cannot page past %d datasets (size+skip) with the sort %s (only %s pages on with after=), %d declared", Window, s.sort, DefaultSort, pages.Declared)}
		}
		n, count, last, err := s.readPage(ctx, u, sink, seen)
		if err != nil {
			return err
		}
		if done, err := pages.After(sink, u, n, s.size, count); done || err != nil {
			return err
		}
		if (page+1)*s.size > Window && s.sort == DefaultSort && last.ID != "" {
			after = string(last.CreatedAt) + "," + last.ID
		}
	}
}

// pageURL is the URL of a page: by number, or after a dataset.
func (s *Source) pageURL(page int, after string) string {
	q := url.Values{}
	for k, v := range s.params {
		q[k] = v
	}
	q.Set("size", strconv.Itoa(s.size))
	if after != "" {
		q.Set("after", after)
	} else {
		q.Set("page", strconv.Itoa(page))
	}
	q.Set("sort", s.sort)
	return s.endpoint + "/datasets?" + q.Encode()
}

// readPage reads one list page. Datasets with a schema go to the sink as
// they are decoded; the others are completed afterwards.
func (s *Source) readPage(ctx context.Context, u string, sink source.Sink, seen map[string]bool) (n int, count int64, last Dataset, err error) {
	resp, err := s.env.Client.Get(ctx, fetch.Request{URL: u, Accept: "application/json"})
	if err != nil {
		return 0, -1, last, &source.Error{Kind: fetch.KindOf(err), URL: u, Err: err}
	}
	defer resp.Close()
	m := Mapper{Endpoint: s.endpoint, Portal: s.portal}
	var incomplete []*Dataset
	n, count, err = Decode(resp.Body, func(raw json.RawMessage) error {
		var d Dataset
		if err := json.Unmarshal(raw, &d); err != nil {
			sink.Problem(source.Problem{Kind: source.KindNormalise, URL: u, Message: err.Error(), Excerpt: fetch.Excerpt(raw)})
			return nil
		}
		last = Dataset{ID: d.ID, CreatedAt: d.CreatedAt}
		if d.ID != "" {
			if seen[d.ID] {
				sink.Problem(source.Problem{Kind: source.KindPaging, URL: u, DatasetID: d.ID,
					Message: "dataset listed twice during the walk (the catalogue changed while it was paged?)"})
				return nil
			}
			seen[d.ID] = true
		}
		if d.Schema == nil && d.ID != "" {
			incomplete = append(incomplete, &d)
			return nil
		}
		return m.emit(ctx, u, &d, sink)
	})
	if err != nil {
		return n, count, last, source.AnswerError(ctx, u, err)
	}
	if err := s.complete(ctx, m, incomplete, sink); err != nil {
		return n, count, last, err
	}
	return n, count, last, nil
}

// complete fetches /datasets/{id} for datasets listed without a schema
// (at most Concurrency at once) and hands them over in list order. A
// dataset whose document cannot be fetched is handed over as listed, with
// a problem.
func (s *Source) complete(ctx context.Context, m Mapper, list []*Dataset, sink source.Sink) error {
	if len(list) == 0 {
		return nil
	}
	full := make([]*Dataset, len(list))
	errs := make([]error, len(list))
	sem := make(chan struct{}, Concurrency)
	var wg sync.WaitGroup
	for i, d := range list {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			full[i], errs[i] = s.fetchOne(ctx, d.ID)
		}()
	}
	wg.Wait()
	for i, d := range list {
		u := s.endpoint + "/datasets/" + url.PathEscape(d.ID)
		if errs[i] != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			sink.Problem(source.Problem{Kind: source.KindOf(errs[i]), URL: u, DatasetID: d.ID,
				Message: "dataset listed without schema, and its document could not be read: " + errs[i].Error()})
			full[i] = d
		}
		if err := m.emit(ctx, u, full[i], sink); err != nil {
			return source.SinkCause(err)
		}
	}
	return nil
}

func (s *Source) fetchOne(ctx context.Context, id string) (*Dataset, error) {
	u := s.endpoint + "/datasets/" + url.PathEscape(id)
	resp, err := s.env.Client.Get(ctx, fetch.Request{URL: u, Accept: "application/json"})
	if err != nil {
		return nil, &source.Error{Kind: fetch.KindOf(err), URL: u, Err: err}
	}
	defer resp.Close()
	var d Dataset
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		return nil, &source.Error{Kind: source.KindParse, URL: u, Err: err}
	}
	if d.ID == "" {
		return nil, &source.Error{Kind: source.KindParse, URL: u, Err: errors.New("not a dataset document")}
	}
	return &d, nil
}

// Decode streams a list answer ({"count", "results": [...]}), a bare list,
// or a single dataset document, calling fn with each dataset's JSON. It
// returns the number of datasets and the declared count (-1 if absent).
func Decode(r io.Reader, fn func(json.RawMessage) error) (int, int64, error) {
	d := jsonwalk.NewDecoder(r, "datafair")
	items := func() (int, error) {
		return d.Items(0, func(_ int, raw json.RawMessage) error { return fn(raw) })
	}
	open, err := d.Open()
	if err != nil {
		return 0, -1, err
	}
	if open == '[' {
		n, err := items()
		return n, int64(n), err
	}
	n := 0
	var count int64 = -1
	lists := 0
	single := map[string]json.RawMessage{}
	err = d.Object("answer", func(key string) error {
		switch key {
		case "count":
			var err error
			count, err = d.Count(key)
			return err
		case "results":
			if err := d.List(key); err != nil {
				return err
			}
			lists++
			k, err := items()
			n += k
			return err
		}
		raw, err := d.Raw()
		single[key] = raw
		return err
	})
	if err != nil {
		return n, count, err
	}
	if lists == 0 {
		if single["id"] != nil && (single["title"] != nil || single["schema"] != nil) {
			raw, err := json.Marshal(single)
			if err != nil {
				return 0, -1, d.Errorf("%v", err)
			}
			return 1, 1, fn(raw)
		}
		return 0, count, d.Errorf("no results in the answer")
	}
	return n, count, nil
}

// Dataset is the part of a Data Fair dataset document Moisson reads.
type Dataset struct {
	ID            string        `json:"id"`
	Slug          string        `json:"slug"`
	Href          string        `json:"href"`
	Page          string        `json:"page"`
	Title         ods.Str       `json:"title"`
	Description   ods.Str       `json:"description"`
	Keywords      ods.StrList   `json:"keywords"`
	Topics        []Topic       `json:"topics"`
	License       *License      `json:"license"`
	Owner         *Owner        `json:"owner"`
	Creator       ods.Str       `json:"creator"`
	CreatedAt     ods.Str       `json:"createdAt"`
	UpdatedAt     ods.Str       `json:"updatedAt"`
	DataUpdatedAt ods.Str       `json:"dataUpdatedAt"`
	Modified      ods.Str       `json:"modified"`
	File          *File         `json:"file"`
	OriginalFile  *File         `json:"originalFile"`
	IsMetaOnly    bool          `json:"isMetaOnly"`
	Bbox          []float64     `json:"bbox"`
	Spatial       ods.Str       `json:"spatial"`
	Temporal      *Temporal     `json:"temporal"`
	Frequency     ods.Str       `json:"frequency"`
	Schema        []Property    `json:"schema"`
	Attachments   []Attachment  `json:"attachments"`
	ConformsTo    []interface{} `json:"conformsTo"`
}

// Topic is a Data Fair theme.
type Topic struct {
	ID    ods.Str `json:"id"`
	Title ods.Str `json:"title"`
}

// License is {title, href}.
type License struct {
	Title ods.Str `json:"title"`
	Href  ods.Str `json:"href"`
}

// Owner is the account that publishes a dataset.
type Owner struct {
	Type           ods.Str `json:"type"`
	ID             ods.Str `json:"id"`
	Name           ods.Str `json:"name"`
	DepartmentName ods.Str `json:"departmentName"`
}

// File is a data file.
type File struct {
	Name     ods.Str `json:"name"`
	Size     ods.Int `json:"size"`
	Mimetype ods.Str `json:"mimetype"`
}

// Temporal is a dataset's time coverage.
type Temporal struct {
	Start ods.Str `json:"start"`
	End   ods.Str `json:"end"`
}

// Property is a column of the schema.
type Property struct {
	Key          ods.Str `json:"key"`
	OriginalName ods.Str `json:"x-originalName"`
	Calculated   bool    `json:"x-calculated"`
}

// Attachment is a file or link attached to a dataset's metadata.
type Attachment struct {
	Type     ods.Str `json:"type"`
	Name     ods.Str `json:"name"`
	Title    ods.Str `json:"title"`
	URL      ods.Str `json:"url"`
	Mimetype ods.Str `json:"mimetype"`
	Size     ods.Int `json:"size"`
}

// Mapper turns Data Fair documents into records.
type Mapper struct {
	Endpoint string // API root, for links a document lacks ("" when unknown)
	Portal   string // the portal, for landing pages a document lacks
}

func (m Mapper) emit(ctx context.Context, u string, d *Dataset, sink source.Sink) error {
	rec, err := m.Record(d)
	if err != nil {
		sink.Problem(source.Problem{Kind: source.KindNormalise, URL: u, DatasetID: d.ID, Message: err.Error()})
		return nil
	}
	if err := sink.Record(ctx, rec); err != nil {
		return source.SinkError{Err: err}
	}
	return nil
}

// Record normalises a dataset document.
func (m Mapper) Record(ds *Dataset) (source.Record, error) {
	if strings.TrimSpace(ds.ID) == "" {
		return source.Record{}, errors.New("dataset without id")
	}
	d := &moissonv1.Dataset{
		OriginalId: ds.ID,
		// The first of title, slug and id that is not empty once
		// normalised (a title of markup is no title).
		Title:       normalize.FirstText(string(ds.Title), ds.Slug, ds.ID),
		Description: normalize.Text(string(ds.Description)),
		Keywords:    append([]string(nil), ds.Keywords...),
		LandingPage: ds.Page,
	}
	if d.LandingPage == "" && m.Portal != "" {
		d.LandingPage = m.Portal + "/datasets/" + url.PathEscape(ods.FirstNonEmpty(ds.Slug, ds.ID))
	}
	for _, t := range ds.Topics {
		if v := ods.FirstNonEmpty(string(t.Title), string(t.ID)); v != "" {
			d.RawThemes = append(d.RawThemes, v)
		}
	}
	d.Themes = normalize.Themes(append(append([]string{}, d.RawThemes...), d.Keywords...))
	norm, raw := "unknown", ""
	if ds.License != nil {
		title, href := strings.TrimSpace(string(ds.License.Title)), strings.TrimSpace(string(ds.License.Href))
		raw = ods.FirstNonEmpty(title, href)
		norm = normalize.LicenseOf(href, title)
	}
	d.License = &moissonv1.License{Raw: raw, Normalized: norm}
	if ds.Owner != nil {
		if name := ods.FirstNonEmpty(string(ds.Owner.Name), string(ds.Owner.DepartmentName)); name != "" {
			d.Publisher = &moissonv1.Publisher{Name: name}
		}
	}
	if d.Publisher == nil && ds.Creator != "" {
		d.Publisher = &moissonv1.Publisher{Name: strings.TrimSpace(string(ds.Creator))}
	}
	if t, ok := normalize.Date(d, "issued", string(ds.CreatedAt)); ok {
		d.Issued = timestamppb.New(t)
	}
	// As Data Fair's own "modified": the declared date, then the data's, then the metadata's.
	if t, ok := normalize.Date(d, "modified", ods.FirstNonEmpty(string(ds.Modified), string(ds.DataUpdatedAt), string(ds.UpdatedAt))); ok {
		d.Modified = timestamppb.New(t)
	}
	d.AccrualPeriodicity = strings.TrimSpace(string(ds.Frequency))
	if sp := strings.TrimSpace(string(ds.Spatial)); sp != "" || len(ds.Bbox) == 4 {
		d.Spatial = &moissonv1.Spatial{Label: sp, InseeCode: normalize.INSEE(sp)}
		if len(ds.Bbox) == 4 {
			d.Spatial.Bbox = &moissonv1.BBox{West: ds.Bbox[0], South: ds.Bbox[1], East: ds.Bbox[2], North: ds.Bbox[3]}
		}
	}
	if ds.Temporal != nil {
		var tp moissonv1.Temporal
		if t, ok := normalize.Time(string(ds.Temporal.Start)); ok {
			tp.Start = timestamppb.New(t)
		}
		if t, ok := normalize.Time(string(ds.Temporal.End)); ok {
			tp.End = timestamppb.New(t)
		}
		if tp.Start != nil || tp.End != nil {
			d.Temporal = &tp
		}
	}
	for _, c := range ds.ConformsTo {
		switch v := c.(type) {
		case string:
			d.ConformsTo = append(d.ConformsTo, v)
		case map[string]any:
			for _, k := range []string{"href", "url", "id", "title"} {
				if s, ok := v[k].(string); ok && s != "" {
					d.ConformsTo = append(d.ConformsTo, s)
					break
				}
			}
		}
	}

	href := strings.TrimRight(ds.Href, "/")
	if href == "" && m.Endpoint != "" {
		href = m.Endpoint + "/datasets/" + url.PathEscape(ds.ID)
	}
	if href != "" {
		if f := ds.OriginalFile; f != nil || ds.File != nil {
			if f == nil {
				f = ds.File
			}
			format := normalize.Format(string(f.Mimetype))
			if format == "" || strings.Contains(format, "/") {
				format = normalize.FormatFromURL(string(f.Name))
			}
			mt := strings.TrimSpace(string(f.Mimetype))
			if mt == "" {
				mt = normalize.MediaType(format)
			}
			dist := &moissonv1.Distribution{Url: href + "/raw", DownloadUrl: href + "/raw", Format: format,
				MediaType: mt, Title: normalize.Text(ods.FirstNonEmpty(string(f.Name), "Fichier original"))}
			if f.Size > 0 {
				dist.ByteSize = int64(f.Size)
			}
			d.Distributions = append(d.Distributions, dist)
		}
		if !ds.IsMetaOnly {
			u := href + "/lines?format=csv"
			d.Distributions = append(d.Distributions, &moissonv1.Distribution{Url: u, DownloadUrl: u, Format: "CSV",
				MediaType: normalize.MediaType("CSV"), Title: "Export CSV"})
			if len(ds.Bbox) == 4 {
				u := href + "/lines?format=geojson"
				d.Distributions = append(d.Distributions, &moissonv1.Distribution{Url: u, DownloadUrl: u, Format: "GeoJSON",
					MediaType: normalize.MediaType("GeoJSON"), Title: "Export GeoJSON"})
			}
		}
	}
	for _, a := range ds.Attachments {
		u := strings.TrimSpace(string(a.URL))
		if u == "" && href != "" && a.Name != "" {
			u = href + "/metadata-attachments/" + url.PathEscape(string(a.Name))
		}
		if u == "" {
			continue
		}
		format := normalize.Format(string(a.Mimetype))
		if format == "" || strings.Contains(format, "/") {
			format = normalize.FormatFromURL(ods.FirstNonEmpty(string(a.Name), u))
		}
		dist := &moissonv1.Distribution{Url: u, DownloadUrl: u, Format: format,
			MediaType: ods.FirstNonEmpty(string(a.Mimetype), normalize.MediaType(format)),
			Title:     normalize.Text(ods.FirstNonEmpty(string(a.Title), string(a.Name)))}
		if a.Size > 0 {
			dist.ByteSize = int64(a.Size)
		}
		d.Distributions = append(d.Distributions, dist)
	}
	var cols []string
	for _, p := range ds.Schema {
		key := strings.TrimSpace(string(p.Key))
		if key == "" || p.Calculated || strings.HasPrefix(key, "_") {
			continue
		}
		cols = append(cols, key)
	}
	return source.Record{Dataset: d, Columns: cols}, nil
}

// Protocol is the Data Fair adapter.
var Protocol = source.Protocol{Name: "datafair", New: New, Read: Read, Sniff: Sniff}

// Read reads one saved Data Fair answer: a /datasets list page, a bare
// list, or one /datasets/{id} document.
func Read(ctx context.Context, r io.Reader, base string, sink source.Sink) error {
	m := Mapper{}
	if i := strings.Index(base, "/datasets"); i > 0 {
		m.Endpoint = base[:i]
	}
	_, count, err := Decode(r, func(raw json.RawMessage) error {
		var d Dataset
		if err := json.Unmarshal(raw, &d); err != nil {
			sink.Problem(source.Problem{Kind: source.KindNormalise, URL: base, Message: err.Error(), Excerpt: fetch.Excerpt(raw)})
			return nil
		}
		return m.emit(ctx, base, &d, sink)
	})
	if err != nil {
		return source.SinkCause(err)
	}
	sink.Page(base, count)
	return nil
}

// Sniff recognises a Data Fair answer.
func Sniff(head []byte) bool {
	s := string(head)
	return strings.Contains(s, "/data-fair/") || (strings.Contains(s, `"dataUpdatedAt"`) || strings.Contains(s, `"x-originalName"`)) && strings.Contains(s, `"schema"`)
}
