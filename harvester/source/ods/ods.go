// Package ods reads an OpenDataSoft portal through its Explore API v2.1:
// /catalog/datasets paged by limit/offset (limit ≤ 100, offset+limit ≤
// 10000), then, past that window, the /catalog/exports/json listing
// (streamed, datasets already seen skipped). Answers are decoded one dataset
// at a time. Read also accepts saved Explore v2.0 and API v1 answers.
package ods

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/fetch"
	"github.com/opendatafrance/moisson/harvester/normalize"
	"github.com/opendatafrance/moisson/harvester/source"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

const (
	// DefaultLimit is the page size (the API's maximum).
	DefaultLimit = 100
	// MaxLimit is the largest page the API serves.
	MaxLimit = 100
	// DefaultWindow is the API's cap on offset+limit.
	DefaultWindow = 10000
	// DefaultOrderBy keeps paging stable while the catalogue changes.
	DefaultOrderBy = "dataset_id"
)

// Source reads one ODS Explore v2.1 endpoint.
type Source struct {
	endpoint string // the API root, ending in /api/explore/v2.1
	mapper   Mapper
	limit    int
	window   int
	orderBy  string
	where    string
	env      source.Env
}

// New is the source.Factory of ODS. Params: page_size (1..100), max_window
// (the offset+limit cap, default 10000), order_by (default dataset_id;
// "none" sends none), where (an ODSQL filter, e.g. publisher="Rennes").
func New(src *config.Source, env source.Env) (source.Source, error) {
	ep := strings.TrimRight(src.Endpoint, "/")
	for _, suffix := range []string{"/catalog/datasets", "/catalog"} {
		ep = strings.TrimSuffix(ep, suffix)
	}
	s := &Source{endpoint: ep, limit: DefaultLimit, window: DefaultWindow, orderBy: DefaultOrderBy,
		where: src.Params["where"], env: env}
	portal := ""
	if src.Portal != nil {
		portal = src.Portal.URL
	}
	s.mapper = NewMapper(ep, portal)
	var err error
	if s.limit, err = source.PageSize(src, "ods", s.limit, MaxLimit); err != nil {
		return nil, err
	}
	if v := src.Params["max_window"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("ods source %s: max_window %q must be a positive integer", src.ID, v)
		}
		s.window = n
	}
	if v, ok := src.Params["order_by"]; ok {
		s.orderBy = v
		if v == "none" {
			s.orderBy = ""
		}
	}
	return s, nil
}

// Harvest walks /catalog/datasets to its end, or to the offset window and
// then the export listing.
func (s *Source) Harvest(ctx context.Context, sink source.Sink) error {
	seen := map[string]bool{}
	pages := source.NewPages("total_count")
	for {
		limit := min(s.limit, s.window-pages.Read)
		if limit <= 0 {
			if pages.Declared >= 0 && int64(pages.Read) >= pages.Declared {
				return nil
			}
			return s.harvestExport(ctx, sink, seen, pages.Declared)
		}
		u := s.pageURL(limit, pages.Read)
		n, total, err := s.read(ctx, u, sink, seen)
		if err != nil {
			return err
		}
		if done, err := pages.After(sink, u, n, limit, total); done || err != nil {
			return err
		}
	}
}

func (s *Source) pageURL(limit, offset int) string {
	q := url.Values{}
	q.Set("limit", strconv.Itoa(limit))
	q.Set("offset", strconv.Itoa(offset))
	if s.orderBy != "" {
		q.Set("order_by", s.orderBy)
	}
	if s.where != "" {
		q.Set("where", s.where)
	}
	return s.endpoint + "/catalog/datasets?" + q.Encode()
}

// harvestExport reads /catalog/exports/json, the whole catalogue in one
// JSON array, skipping the datasets the paged walk already handed over.
func (s *Source) harvestExport(ctx context.Context, sink source.Sink, seen map[string]bool, declared int64) error {
	q := url.Values{}
	if s.orderBy != "" {
		q.Set("order_by", s.orderBy)
	}
	if s.where != "" {
		q.Set("where", s.where)
	}
	u := s.endpoint + "/catalog/exports/json"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	before := len(seen)
	n, _, err := s.read(ctx, u, sink, seen)
	if err != nil {
		return err
	}
	sink.Page(u, declared)
	if declared >= 0 && int64(n) != declared {
		sink.Problem(source.Problem{Kind: source.KindPaging, URL: u,
			Message: fmt.Sprintf("the export lists %d datasets, the catalogue declared %d (%d new after the paged walk)", n, declared, len(seen)-before)})
	}
	return nil
}

// read reads one answer, handing each new dataset to the sink as soon as it
// is decoded. It returns the number of datasets in the answer and its
// declared total (-1 if absent).
func (s *Source) read(ctx context.Context, u string, sink source.Sink, seen map[string]bool) (int, int64, error) {
	resp, err := s.env.Client.Get(ctx, fetch.Request{URL: u, Accept: "application/json"})
	if err != nil {
		return 0, -1, &source.Error{Kind: fetch.KindOf(err), URL: u, Err: err}
	}
	defer resp.Close()
	export := strings.Contains(u, "/catalog/exports/")
	n, total, err := Decode(resp.Body, func(it Item) error {
		return s.mapper.Emit(ctx, u, it, sink, seen, !export)
	})
	return n, total, source.AnswerError(ctx, u, err)
}

// Mapper turns ODS datasets into records.
type Mapper struct {
	// Endpoint is the Explore v2.1 root used for export and attachment
	// links ("" when unknown: links are then built from the dataset's
	// domain, or left out).
	Endpoint string
	// Portal is the site root, for landing pages.
	Portal string
	// LandingPage, when set, makes the landing page of a dataset id
	// (portals imitating ODS have their own).
	LandingPage func(id string) string
}

// NewMapper makes a Mapper from an Explore endpoint and/or a portal URL;
// either may be "" (each is derived from the other when possible).
func NewMapper(endpoint, portal string) Mapper {
	endpoint = strings.TrimRight(endpoint, "/")
	portal = strings.TrimRight(portal, "/")
	if portal == "" && endpoint != "" {
		portal = siteOf(endpoint)
	}
	if endpoint == "" && portal != "" {
		endpoint = portal + "/api/explore/v2.1"
	}
	return Mapper{Endpoint: endpoint, Portal: portal}
}

// siteOf returns what precedes "/api/" in a URL (the ODS site root).
func siteOf(u string) string {
	if i := strings.Index(u, "/api/"); i > 0 {
		return u[:i]
	}
	if strings.HasSuffix(u, "/api") {
		return strings.TrimSuffix(u, "/api")
	}
	if p, err := url.Parse(u); err == nil && p.Host != "" {
		return p.Scheme + "://" + p.Host
	}
	return ""
}

// Emit parses one item and hands its record to the sink; a dataset that
// cannot be read is a problem, not an error. A dataset already in seen is
// skipped, and reported when reportDup is set (seen may be nil).
func (m Mapper) Emit(ctx context.Context, u string, it Item, sink source.Sink, seen map[string]bool, reportDup bool) error {
	d, err := Parse(it.Raw)
	if err != nil {
		sink.Problem(source.Problem{Kind: source.KindNormalise, URL: u,
			Message: fmt.Sprintf("dataset %d: %v", it.Index+1, err), Excerpt: fetch.Excerpt(it.Raw)})
		return nil
	}
	id := d.ID()
	if seen != nil && id != "" {
		if seen[id] {
			if reportDup {
				sink.Problem(source.Problem{Kind: source.KindPaging, URL: u, DatasetID: id,
					Message: "dataset listed twice during the walk (the catalogue changed while it was paged?)"})
			}
			return nil
		}
		seen[id] = true
	}
	rec, err := m.Record(d)
	if err != nil {
		sink.Problem(source.Problem{Kind: source.KindNormalise, URL: u, DatasetID: id, Message: err.Error(),
			Excerpt: fetch.Excerpt(it.Raw)})
		return nil
	}
	if err := sink.Record(ctx, rec); err != nil {
		return source.SinkError{Err: err}
	}
	return nil
}

// Record normalises a dataset.
func (m Mapper) Record(ds *Dataset) (source.Record, error) {
	id := ds.ID()
	if id == "" {
		return source.Record{}, errors.New("dataset without dataset_id")
	}
	def, dc, insp := ds.metas()
	d := &moissonv1.Dataset{
		OriginalId: id,
		// The title, or the id when the title is empty once normalised
		// (a title of markup is no title).
		Title:       normalize.FirstText(string(def.Title), id),
		Description: normalize.Text(string(def.Description)),
		Language:    strings.TrimSpace(string(def.Language)),
	}
	endpoint, portal := m.Endpoint, m.Portal
	if endpoint == "" && def.Domain != "" && !strings.ContainsAny(string(def.Domain), "/:") {
		portal = "https://" + strings.TrimSpace(string(def.Domain)) + ".opendatasoft.com"
		endpoint = portal + "/api/explore/v2.1"
	}
	switch {
	case m.LandingPage != nil:
		d.LandingPage = m.LandingPage(id)
	case portal != "":
		d.LandingPage = portal + "/explore/dataset/" + url.PathEscape(id) + "/"
	}
	d.Keywords = append(d.Keywords, def.Keyword...)
	d.RawThemes = append(d.RawThemes, def.Theme...)
	d.Themes = normalize.Themes(append(append([]string{}, d.RawThemes...), d.Keywords...))

	lic, licURL := strings.TrimSpace(string(def.License)), strings.TrimSpace(string(def.LicenseURL))
	norm := normalize.LicenseOf(lic, licURL)
	d.License = &moissonv1.License{Raw: FirstNonEmpty(lic, licURL), Normalized: norm}

	if name := FirstNonEmpty(string(def.Publisher), string(dc.Creator)); name != "" {
		d.Publisher = &moissonv1.Publisher{Name: name}
	}
	if siren := SIRENFromID(id); siren != "" {
		if d.Publisher == nil {
			d.Publisher = &moissonv1.Publisher{}
		}
		d.Publisher.Siren = siren
	}
	cName := FirstNonEmpty(string(dc.ContactName), string(insp.ContactName))
	cMail := FirstNonEmpty(string(dc.ContactEmail), string(insp.ContactEmail))
	if cName != "" || cMail != "" {
		d.ContactPoint = &moissonv1.ContactPoint{Name: cName, Email: strings.TrimPrefix(cMail, "mailto:")}
	}
	if t, ok := normalize.Date(d, "issued", FirstNonEmpty(string(dc.Issued), string(dc.Created))); ok {
		d.Issued = timestamppb.New(t)
	}
	if t, ok := normalize.Date(d, "modified", FirstNonEmpty(string(def.Modified), string(def.DataProcessed), string(def.MetadataProcessed))); ok {
		d.Modified = timestamppb.New(t)
	}
	d.AccrualPeriodicity = strings.TrimSpace(string(dc.AccrualPeriodicity))
	if label := FirstNonEmpty(string(dc.Spatial), strings.Join(def.Territory, ", ")); label != "" {
		sp := &moissonv1.Spatial{Label: label, InseeCode: normalize.INSEE(label)}
		if strings.HasPrefix(label, "http") {
			sp.Uri, sp.Label = label, ""
		}
		d.Spatial = sp
	}
	if start, end, ok := temporal(string(dc.Temporal)); ok {
		d.Temporal = &moissonv1.Temporal{Start: start, End: end}
	}

	// Standard exports: every dataset with records has them; shapefiles
	// only for datasets with geographic features.
	hasRecords := len(ds.Fields) > 0 || (def.RecordsCount != nil && *def.RecordsCount > 0)
	if ds.HasRecords != nil {
		hasRecords = *ds.HasRecords
	}
	base := ""
	if endpoint != "" {
		base = endpoint + "/catalog/datasets/" + url.PathEscape(id)
	}
	if hasRecords && base != "" {
		exports := []string{"csv", "json", "geojson"}
		if ds.hasFeature("geo") {
			exports = append(exports, "shp")
		}
		for _, f := range exports {
			format := normalize.Format(f)
			u := base + "/exports/" + f
			d.Distributions = append(d.Distributions, &moissonv1.Distribution{
				Url: u, DownloadUrl: u, Format: format, MediaType: normalize.MediaType(format),
				Title: "Export " + format,
			})
		}
	}
	for _, group := range []struct {
		list []Attachment
		path string
	}{{ds.AlternativeExports, "alternative_exports"}, {ds.Attachments, "attachments"}} {
		for _, a := range group.list {
			if dist := attachment(a, base, group.path); dist != nil {
				d.Distributions = append(d.Distributions, dist)
			}
		}
	}
	var cols []string
	for _, f := range ds.Fields {
		if name := strings.TrimSpace(string(f.Name)); name != "" {
			cols = append(cols, name)
		}
	}
	return source.Record{Dataset: d, Columns: cols}, nil
}

func (ds *Dataset) hasFeature(f string) bool {
	for _, v := range ds.Features {
		if v == f {
			return true
		}
	}
	return false
}

// attachment makes a distribution of an attachment or alternative export:
// its own http(s) URL, or the API's download link for odsfile:// files.
func attachment(a Attachment, base, path string) *moissonv1.Distribution {
	raw := strings.TrimSpace(string(a.URL))
	u := ""
	switch {
	case strings.HasPrefix(raw, "http://") || strings.HasPrefix(raw, "https://"):
		u = raw
	case strings.HasPrefix(string(a.Href), "http"):
		u = string(a.Href)
	case base != "" && a.ID != "":
		u = base + "/" + path + "/" + url.PathEscape(string(a.ID))
	default:
		return nil
	}
	mime := strings.TrimSpace(string(a.Mimetype))
	format := normalize.Format(mime)
	if format == "" || strings.Contains(format, "/") {
		for _, cand := range []string{raw, string(a.Title), string(a.ID), u} {
			if f := normalize.FormatFromURL(strings.ReplaceAll(cand, "_", ".")); f != "" {
				format = f
				break
			}
		}
	}
	if mime == "" {
		mime = normalize.MediaType(format)
	}
	return &moissonv1.Distribution{
		Url: u, DownloadUrl: u, Format: format, MediaType: mime,
		Title: normalize.Text(FirstNonEmpty(string(a.Title), string(a.ID))),
	}
}

// temporal reads "start/end" (or a single date).
func temporal(s string) (*timestamppb.Timestamp, *timestamppb.Timestamp, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil, false
	}
	a, b, _ := strings.Cut(s, "/")
	var start, end *timestamppb.Timestamp
	if t, ok := normalize.Time(strings.TrimSpace(a)); ok {
		start = timestamppb.New(t)
	}
	if t, ok := normalize.Time(strings.TrimSpace(b)); ok {
		end = timestamppb.New(t)
	}
	return start, end, start != nil || end != nil
}

// SIRENFromID returns the SIREN an ODS dataset id starts with
// ("224400028_budget" → 224400028) when it is a valid one.
func SIRENFromID(id string) string {
	prefix, _, ok := strings.Cut(id, "_")
	if !ok || len(prefix) != 9 {
		return ""
	}
	return normalize.SIREN(prefix)
}

// Protocol is the ODS adapter.
var Protocol = source.Protocol{Name: "ods", New: New, Read: Read, Sniff: Sniff}

// Read reads one saved ODS answer: an Explore v2.1 or v2.0 /catalog/datasets
// page, an /exports/json listing, an API v1 search answer, or a single
// dataset of any of these versions. base, when given, is the URL it came
// from (its site root makes the links).
func Read(ctx context.Context, r io.Reader, base string, sink source.Sink) error {
	m := NewMapper("", siteOf(base))
	_, total, err := Decode(r, func(it Item) error {
		return m.Emit(ctx, base, it, sink, nil, false)
	})
	if err != nil {
		return source.SinkCause(err)
	}
	sink.Page(base, total)
	return nil
}

// Sniff tells whether a document looks like an ODS answer.
func Sniff(head []byte) bool {
	s := string(head)
	if strings.Contains(s, `"dataset_id"`) || strings.Contains(s, `"datasetid"`) {
		return true
	}
	return strings.Contains(s, `"metas"`) && (strings.Contains(s, `"total_count"`) || strings.Contains(s, `"nhits"`))
}
