// Package udata reads a udata portal (data.gouv.fr and its siblings) through
// its API v1: the datasets of one organisation,
// /api/1/organizations/{org}/datasets/?page_size=N&page=P, following
// next_page and checking the walk against the declared total. Datasets are
// decoded one at a time from the response stream.
package udata

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	json "github.com/go-json-experiment/json/v1"

	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/fetch"
	"github.com/opendatafrance/moisson/harvester/normalize"
	"github.com/opendatafrance/moisson/harvester/source"
	"github.com/opendatafrance/moisson/harvester/source/jsonwalk"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// DefaultPageSize is the page size when the source sets none (the largest
// data.gouv.fr serves without complaint).
const DefaultPageSize = 100

// MaxPages bounds a walk, against portals whose next_page loops.
const MaxPages = 100000

// Source reads the datasets of one udata organisation (or of the whole
// portal when no organisation is set).
type Source struct {
	first    string // the first page
	portal   string // the site root, for landing pages ("" if unknown)
	pageSize int
	env      source.Env
}

// New is the source.Factory of udata. The endpoint is the API root
// (https://www.data.gouv.fr/api/1); params.organization is an organisation
// slug or id; params.page_size overrides DefaultPageSize. An endpoint that
// already names a dataset list (…/datasets/…) is used as the first page.
func New(src *config.Source, env source.Env) (source.Source, error) {
	s := &Source{pageSize: DefaultPageSize, env: env}
	var err error
	if s.pageSize, err = source.PageSize(src, "udata", s.pageSize, 1000); err != nil {
		return nil, err
	}
	u, err := url.Parse(strings.TrimSpace(src.Endpoint))
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("udata source %s: endpoint %q is not an http(s) URL", src.ID, src.Endpoint)
	}
	s.portal = u.Scheme + "://" + u.Host
	if src.Portal != nil && src.Portal.URL != "" {
		if pu, err := url.Parse(src.Portal.URL); err == nil && pu.Host != "" {
			s.portal = pu.Scheme + "://" + pu.Host
		}
	}
	s.first = FirstPage(src.Endpoint, src.Params["organization"], s.pageSize)
	return s, nil
}

// FirstPage is the URL of the first page of an organisation's datasets.
func FirstPage(endpoint, org string, pageSize int) string {
	u, err := url.Parse(strings.TrimSpace(endpoint))
	if err != nil {
		return endpoint
	}
	q := u.Query()
	if !strings.Contains(u.Path, "/datasets") {
		p := strings.TrimRight(u.Path, "/")
		if org != "" {
			p += "/organizations/" + url.PathEscape(org) + "/datasets/"
		} else {
			p += "/datasets/"
		}
		u.Path, u.RawPath = p, ""
	}
	if q.Get("page_size") == "" {
		q.Set("page_size", strconv.Itoa(pageSize))
	}
	if q.Get("page") == "" {
		q.Set("page", "1")
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Harvest walks the pages, following next_page.
func (s *Source) Harvest(ctx context.Context, sink source.Sink) error {
	next := s.first
	visited := map[string]bool{}
	seen := map[string]bool{} // dataset ids read so far
	var declared int64 = -1
	for page := 1; next != ""; page++ {
		u := next
		if visited[u] {
			return &source.Error{Kind: source.KindPaging, URL: u, Err: errors.New("next_page is a page already read (paging loop)")}
		}
		if page > MaxPages {
			return &source.Error{Kind: source.KindPaging, URL: u, Err: fmt.Errorf("more than %d pages", MaxPages)}
		}
		visited[u] = true
		resp, err := s.env.Client.Get(ctx, fetch.Request{URL: u, Accept: "application/json"})
		if err != nil {
			return &source.Error{Kind: fetch.KindOf(err), URL: u, Err: err}
		}
		n, fresh := 0, 0
		info, err := Decode(resp.Body, func(it Item) error {
			n++
			if it.Err == nil && it.Dataset != nil {
				id := it.Dataset.ID
				if id == "" {
					id = it.Dataset.Slug
				}
				if seen[id] {
					sink.Problem(source.Problem{Kind: source.KindPaging, URL: u, DatasetID: id,
						Message: "dataset already read on an earlier page"})
					return nil
				}
				seen[id] = true
				fresh++
			}
			return s.hand(ctx, u, it, sink)
		})
		resp.Close()
		if err != nil {
			return wrapErr(ctx, u, err)
		}
		if info.Total >= 0 {
			if declared >= 0 && info.Total != declared {
				sink.Problem(source.Problem{Kind: source.KindPaging, URL: u,
					Message: fmt.Sprintf("declared total changed during the walk: %d then %d", declared, info.Total)})
			}
			declared = info.Total
		}
		sink.Page(u, declared)
		if info.Page > 0 && info.Page != page {
			return &source.Error{Kind: source.KindPaging, URL: u,
				Err: fmt.Errorf("asked for page %d, the answer is page %d", page, info.Page)}
		}
		if n > 0 && fresh == 0 {
			return &source.Error{Kind: source.KindPaging, URL: u,
				Err: fmt.Errorf("page %d only repeats datasets of earlier pages", page)}
		}
		next = ""
		if info.NextPage != "" {
			next = resolve(u, info.NextPage)
		}
		if next != "" && n == 0 {
			return &source.Error{Kind: source.KindPaging, URL: u, Err: fmt.Errorf("empty page %d announces a next page", page)}
		}
		if next != "" && info.PageSize > 0 && n < info.PageSize {
			sink.Problem(source.Problem{Kind: source.KindPaging, URL: u,
				Message: fmt.Sprintf("page %d holds %d datasets of %d before the last page", page, n, info.PageSize)})
		}
		if next == "" && declared >= 0 && int64(len(seen)) < declared {
			return &source.Error{Kind: source.KindPaging, URL: u,
				Err: fmt.Errorf("the walk ended after %d datasets, the organisation declares %d", len(seen), declared)}
		}
		if next == "" && declared >= 0 && int64(len(seen)) > declared {
			sink.Problem(source.Problem{Kind: source.KindPaging, URL: u,
				Message: fmt.Sprintf("read %d datasets, more than the declared total %d", len(seen), declared)})
		}
	}
	return nil
}

// hand normalises an item and hands it to the sink.
func (s *Source) hand(ctx context.Context, u string, it Item, sink source.Sink) error {
	if it.Err != nil {
		sink.Problem(source.Problem{Kind: source.KindNormalise, URL: u, DatasetID: it.ID, Message: it.Err.Error()})
		return nil
	}
	rec, err := Normalise(it.Dataset, s.portal)
	if err != nil {
		sink.Problem(source.Problem{Kind: source.KindNormalise, URL: u, DatasetID: it.ID, Message: err.Error()})
		return nil
	}
	return sink.Record(ctx, rec)
}

func wrapErr(ctx context.Context, u string, err error) error {
	var pe *source.ParseError
	if errors.As(err, &pe) {
		return &source.Error{Kind: source.KindParse, URL: u, Err: err}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var se *source.Error
	if errors.As(err, &se) || errors.Is(err, errStop) {
		return err
	}
	return &source.Error{Kind: fetch.KindOf(err), URL: u, Err: err}
}

var errStop = errors.New("stopped")

func resolve(base, ref string) string {
	b, err := url.Parse(base)
	if err != nil {
		return ref
	}
	r, err := url.Parse(strings.TrimSpace(ref))
	if err != nil {
		return ref
	}
	return b.ResolveReference(r).String()
}

// ---- decoding ---------------------------------------------------------------

// PageInfo is what a list answer says of the walk.
type PageInfo struct {
	Total    int64  // declared total, -1 when absent
	Page     int    // page number the answer says it is (0 when absent)
	PageSize int    // page size the answer says (0 when absent)
	NextPage string // next_page, "" on the last page
}

// Item is one element of a list: a dataset, or why it is not one.
type Item struct {
	Dataset *Dataset
	ID      string // the item's id when known
	Err     error  // not a dataset, or undecodable
}

// Decode streams a udata answer and calls fn for each item. It accepts a
// paged list ({"data": [...], "page", "page_size", "total", "next_page"}), a
// bare dataset object, a list of datasets, and udata's fixtures dump
// ({"datasets": [{"dataset": {...}, "organization": {...}, "resources":
// [...]}]}).
func Decode(r io.Reader, fn func(Item) error) (PageInfo, error) {
	d := jsonwalk.NewDecoder(r, "udata")
	info := PageInfo{Total: -1}
	open, err := d.Open()
	if err != nil {
		return info, err
	}
	if open == '[' {
		n, err := decodeArray(d, fn)
		if err == nil {
			info.Total = int64(n)
		}
		return info, err
	}
	list := false
	single := map[string]json.RawMessage{}
	err = d.Object("answer", func(k string) error {
		switch k {
		case "data", "datasets":
			ok, err := d.ListOrNull(k)
			if err != nil || !ok { // "data": null
				return err
			}
			list = true
			n, err := decodeArray(d, fn)
			if err != nil {
				return err
			}
			if k == "datasets" && info.Total < 0 {
				info.Total = int64(n)
			}
		case "total", "page", "page_size":
			var v json.Number
			var raw json.RawMessage
			if err := d.Decode(&raw); err != nil {
				return d.Errorf("%s: %v", k, err)
			}
			if json.Unmarshal(raw, &v) != nil {
				return nil // null
			}
			i, err := v.Int64()
			if err != nil || i < 0 {
				return d.Errorf("%s: %s is not a count", k, v)
			}
			switch k {
			case "total":
				info.Total = i
			case "page":
				info.Page = int(min(i, 1<<30))
			case "page_size":
				info.PageSize = int(min(i, 1<<30))
			}
		case "next_page":
			var v *string
			if err := d.Decode(&v); err != nil {
				return d.Errorf("next_page: %v", err)
			}
			if v != nil {
				info.NextPage = *v
			}
		default:
			raw, err := d.Raw()
			single[k] = raw
			return err
		}
		return nil
	})
	if err != nil {
		return info, err
	}
	if list {
		return info, nil
	}
	// A bare object: a dataset, or an error / another kind of object.
	raw, _ := json.Marshal(single)
	var it rawItem
	uerr := json.Unmarshal(raw, &it)
	item := it.item(uerr)
	if item.Err != nil && !isDatasetLike(&it) {
		if m := string(single["message"]); m != "" {
			return info, d.Errorf("the API answered an error: %s", m)
		}
		return info, d.Errorf("%v", item.Err)
	}
	info.Total = 1
	if err := fn(item); err != nil {
		return info, err
	}
	return info, nil
}

// decodeArray reads items until the closing bracket (the opening one is
// consumed). An item that is not a dataset is handed over with its error,
// so that it is one problem and the walk goes on.
func decodeArray(d *jsonwalk.Decoder, fn func(Item) error) (int, error) {
	n := 0
	for d.More() {
		var it rawItem
		err := d.Decode(&it)
		if err != nil {
			var te *json.UnmarshalTypeError
			if !errors.As(err, &te) {
				return n, d.Errorf("item %d: %v", n+1, err)
			}
		}
		n++
		if err := fn(it.item(err)); err != nil {
			return n, err
		}
	}
	return n, d.End("list")
}

// rawItem is an element of a list: a dataset, or udata's fixtures wrapper
// {"dataset": {...}, "organization": {...}, "resources": [...]}, or
// something else (an organisation, a resource, a topic element).
type rawItem struct {
	Dataset
	Inner        *Dataset        `json:"dataset"`
	Element      json.RawMessage `json:"element"`
	Filetype     json.RawMessage `json:"filetype"`
	Members      json.RawMessage `json:"members"`
	BusinessNoID json.RawMessage `json:"business_number_id"`
}

func isDatasetLike(it *rawItem) bool {
	d := &it.Dataset
	if it.Inner != nil || d.Class == "Dataset" {
		return true
	}
	if present(it.Element) || present(it.Filetype) || present(it.Members) || present(it.BusinessNoID) {
		return false
	}
	return d.Frequency != "" || d.License != "" || d.Resources.Present || d.TemporalCoverage != nil ||
		d.Spatial != nil || d.LastUpdate != "" || d.FrequencyDate != ""
}

func present(raw json.RawMessage) bool { return len(raw) > 0 && string(raw) != "null" }

func (it *rawItem) item(uerr error) Item {
	d := it.Dataset
	if it.Inner != nil {
		inner := *it.Inner
		if inner.Organization == nil {
			inner.Organization = d.Organization
		}
		if !inner.Resources.Present || len(inner.Resources.List) == 0 {
			inner.Resources = d.Resources
		}
		d = inner
	}
	out := Item{ID: normalize.First(d.ID, d.Slug)}
	switch {
	case uerr != nil:
		out.Err = fmt.Errorf("dataset not decodable: %v", uerr)
	case !isDatasetLike(it):
		kind := "an unknown object"
		switch {
		case present(it.Element):
			kind = "a topic element"
		case present(it.Filetype):
			kind = "a resource"
		case present(it.Members) || present(it.BusinessNoID):
			kind = "an organisation"
		}
		out.Err = fmt.Errorf("the item is %s, not a dataset", kind)
	default:
		out.Dataset = &d
	}
	return out
}

// ---- the udata dataset --------------------------------------------------------

// Dataset is the part of a udata API v1 dataset Moisson reads.
type Dataset struct {
	Class            string         `json:"class"`
	ID               string         `json:"id"`
	Slug             string         `json:"slug"`
	Title            string         `json:"title"`
	Acronym          string         `json:"acronym"`
	Description      string         `json:"description"`
	Tags             []string       `json:"tags"`
	License          string         `json:"license"`
	Frequency        string         `json:"frequency"`
	FrequencyDate    string         `json:"frequency_date"`
	TemporalCoverage *Temporal      `json:"temporal_coverage"`
	Spatial          *Spatial       `json:"spatial"`
	Organization     *Organization  `json:"organization"`
	Owner            *Owner         `json:"owner"`
	ContactPoints    []ContactPoint `json:"contact_points"`
	CreatedAt        string         `json:"created_at"`
	LastModified     string         `json:"last_modified"`
	LastUpdate       string         `json:"last_update"`
	CreatedInternal  string         `json:"created_at_internal"`
	ModifiedInternal string         `json:"last_modified_internal"`
	Internal         *Internal      `json:"internal"`
	Page             string         `json:"page"`
	URI              string         `json:"uri"`
	Resources        Resources      `json:"resources"`
	Harvest          *Harvest       `json:"harvest"`
	Schema           *Schema        `json:"schema"`
	Private          bool           `json:"private"`
	Deleted          *string        `json:"deleted"`
}

// Temporal is a temporal coverage.
type Temporal struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// Spatial is a spatial coverage: GeoZones ids ("fr:commune:44109"), a
// granularity, a GeoJSON geometry.
type Spatial struct {
	Zones       []string        `json:"zones"`
	Granularity string          `json:"granularity"`
	Geom        json.RawMessage `json:"geom"`
}

// Organization is the dataset's organisation (reference or full object).
type Organization struct {
	ID               string `json:"id"`
	Name             string `json:"name"`
	Slug             string `json:"slug"`
	Acronym          string `json:"acronym"`
	Page             string `json:"page"`
	URI              string `json:"uri"`
	URL              string `json:"url"`
	BusinessNumberID string `json:"business_number_id"`
}

// Owner is the user owning a dataset without organisation.
type Owner struct {
	ID        string `json:"id"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Page      string `json:"page"`
	URI       string `json:"uri"`
}

// ContactPoint of a dataset.
type ContactPoint struct {
	Name        string `json:"name"`
	Email       string `json:"email"`
	ContactForm string `json:"contact_form"`
	Role        string `json:"role"`
}

// Internal dates.
type Internal struct {
	CreatedAt    string `json:"created_at_internal"`
	LastModified string `json:"last_modified_internal"`
}

// Harvest is the harvest metadata of a dataset udata harvested elsewhere.
type Harvest struct {
	Backend       string `json:"backend"`
	Domain        string `json:"domain"`
	RemoteID      string `json:"remote_id"`
	RemoteURL     string `json:"remote_url"`
	URI           string `json:"uri"`
	DctIdentifier string `json:"dct_identifier"`
	CreatedAt     string `json:"created_at"`
	ModifiedAt    string `json:"modified_at"`
	LastUpdate    string `json:"last_update"`
}

// Schema is a declared schema {name, version, url}.
type Schema struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	URL     string `json:"url"`
}

// Resources is a dataset's resources: a list in API v1, a link object in
// API v2 (then empty).
type Resources struct {
	List    []Resource
	Present bool
}

// UnmarshalJSON accepts a list, null, or an object (API v2 link).
func (r *Resources) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" {
		return nil
	}
	r.Present = true
	if strings.HasPrefix(s, "[") {
		return json.Unmarshal(b, &r.List)
	}
	return nil
}

// Resource is a file or link of a dataset.
type Resource struct {
	ID           string                     `json:"id"`
	Title        string                     `json:"title"`
	Description  string                     `json:"description"`
	URL          string                     `json:"url"`
	Latest       string                     `json:"latest"`
	Format       string                     `json:"format"`
	Mime         string                     `json:"mime"`
	Filesize     json.Number                `json:"filesize"`
	Filetype     string                     `json:"filetype"`
	Type         string                     `json:"type"`
	Schema       *Schema                    `json:"schema"`
	LastModified string                     `json:"last_modified"`
	Extras       map[string]json.RawMessage `json:"extras"`
}

// ---- normalisation ----------------------------------------------------------

// Normalise maps a udata dataset to the record. portal is the site root
// (https://www.data.gouv.fr) for landing pages of datasets without "page",
// or "".
func Normalise(d *Dataset, portal string) (source.Record, error) {
	// Judged as normalised: an id of spaces is no id, a title of markup no
	// title.
	id, title := normalize.First(d.ID, d.Slug), normalize.Text(d.Title)
	if id == "" {
		return source.Record{}, errors.New("dataset without id nor slug")
	}
	if title == "" {
		return source.Record{}, fmt.Errorf("dataset %s has no title", id)
	}
	if d.Deleted != nil && *d.Deleted != "" {
		return source.Record{}, fmt.Errorf("dataset %s is deleted (%s)", id, *d.Deleted)
	}
	if d.Private {
		return source.Record{}, fmt.Errorf("dataset %s is private", id)
	}
	out := &moissonv1.Dataset{
		OriginalId:  id,
		Title:       title,
		Description: normalize.Text(d.Description),
		LandingPage: d.Page,
	}
	if out.LandingPage == "" && portal != "" && d.Slug != "" {
		out.LandingPage = strings.TrimRight(portal, "/") + "/fr/datasets/" + d.Slug + "/"
	}
	// The DCAT IRI udata gives a dataset: the harvested IRI when it has one.
	if h := d.Harvest; h != nil && h.URI != "" {
		out.Uri = h.URI
	} else if h != nil && strings.HasPrefix(h.DctIdentifier, "http") {
		out.Uri = h.DctIdentifier
	} else {
		out.Uri = d.URI
	}
	// A harvested copy names its original: its id, URL and IRI there.
	if h := d.Harvest; h != nil {
		out.Identifiers = normalize.Identifiers([]string{out.OriginalId, out.Uri, out.LandingPage}, h.RemoteID, h.RemoteURL, h.URI, h.DctIdentifier)
	}
	for _, t := range d.Tags {
		if t = strings.TrimSpace(t); t != "" {
			out.Keywords = append(out.Keywords, t)
		}
	}
	out.Themes = normalize.Themes(out.Keywords)
	lic := strings.TrimSpace(d.License)
	out.License = &moissonv1.License{Raw: lic, Normalized: normalize.License(lic)}
	if f := strings.TrimSpace(d.Frequency); f != "" && f != "unknown" {
		out.AccrualPeriodicity = f
	}
	if tc := d.TemporalCoverage; tc != nil {
		tp := &moissonv1.Temporal{}
		if t, ok := normalize.Time(tc.Start); ok {
			tp.Start = timestamppb.New(t)
		}
		if t, ok := normalize.Time(tc.End); ok {
			tp.End = timestamppb.New(t)
		}
		if tp.Start != nil || tp.End != nil {
			out.Temporal = tp
		}
	}
	out.Spatial = spatial(d.Spatial)
	if o := d.Organization; o != nil && (o.Name != "" || o.ID != "" || o.Slug != "") {
		out.Publisher = &moissonv1.Publisher{
			Name:  normalize.First(o.Name, o.Acronym, o.Slug),
			Uri:   normalize.First(o.Page, o.URI, o.URL),
			Siren: normalize.SIREN(o.BusinessNumberID),
		}
	} else if ow := d.Owner; ow != nil {
		name := strings.TrimSpace(ow.FirstName + " " + ow.LastName)
		if name != "" {
			out.Publisher = &moissonv1.Publisher{Name: name, Uri: normalize.First(ow.Page, ow.URI)}
		}
	}
	for _, cp := range d.ContactPoints {
		if cp.Name != "" || cp.Email != "" || cp.ContactForm != "" {
			out.ContactPoint = &moissonv1.ContactPoint{Name: cp.Name, Email: cp.Email, Url: cp.ContactForm}
			break
		}
	}
	var h Harvest
	if d.Harvest != nil {
		h = *d.Harvest
	}
	var in Internal
	if d.Internal != nil {
		in = *d.Internal
	}
	if t, ok := normalize.FirstDate(out, "issued", d.CreatedAt, h.CreatedAt, d.CreatedInternal, in.CreatedAt); ok {
		out.Issued = timestamppb.New(t)
	}
	if t, ok := normalize.FirstDate(out, "modified", d.LastUpdate, d.LastModified, h.ModifiedAt, d.ModifiedInternal, in.LastModified); ok {
		out.Modified = timestamppb.New(t)
	}
	out.ConformsTo = schemaRefs(d.Schema)
	for i := range d.Resources.List {
		dist := distribution(&d.Resources.List[i])
		out.ConformsTo = append(out.ConformsTo, dist.ConformsTo...)
		out.Distributions = append(out.Distributions, dist)
	}
	out.ConformsTo = normalize.Unique(out.ConformsTo)
	return source.Record{Dataset: out}, nil
}

func distribution(r *Resource) *moissonv1.Distribution {
	dist := &moissonv1.Distribution{
		Url:       strings.TrimSpace(r.URL),
		MediaType: strings.TrimSpace(r.Mime),
		Title:     normalize.Text(r.Title),
	}
	if r.Type != "api" {
		dist.DownloadUrl = dist.Url
	}
	dist.Format = normalize.Format(r.Format)
	if dist.Format == "" {
		dist.Format = normalize.Format(r.Mime)
	}
	if dist.Format == "" {
		dist.Format = normalize.FormatFromURL(dist.Url)
	}
	if dist.MediaType == "" {
		dist.MediaType = normalize.MediaType(dist.Format)
	}
	if v, err := r.Filesize.Int64(); err == nil && v > 0 {
		dist.ByteSize = v
	} else if f, err := r.Filesize.Float64(); err == nil && f > 0 {
		dist.ByteSize = int64(f)
	} else if raw := r.Extras["analysis:content-length"]; raw != nil {
		var n json.Number
		if json.Unmarshal(raw, &n) == nil {
			if v, err := n.Int64(); err == nil && v > 0 {
				dist.ByteSize = v
			}
		}
	}
	dist.ConformsTo = schemaRefs(r.Schema)
	return dist
}

// schemaRefs turns a declared schema into conformsTo values: the schema id
// (scdl/deliberations, what normalize.SCDL matches), its URL when given, or
// else for a versioned id its schema.data.gouv.fr URL.
func schemaRefs(s *Schema) []string {
	if s == nil {
		return nil
	}
	var out []string
	name, version, u := strings.TrimSpace(s.Name), strings.TrimSpace(s.Version), strings.TrimSpace(s.URL)
	if name != "" {
		out = append(out, name)
	}
	switch {
	case u != "":
		out = append(out, u)
	case name != "" && version != "" && strings.Contains(name, "/"):
		out = append(out, "https://schema.data.gouv.fr/schemas/"+name+"/"+version+"/schema.json")
	}
	return out
}

// spatial reads GeoZones: a commune zone gives its INSEE code; a geometry
// gives a bounding box.
func spatial(s *Spatial) *moissonv1.Spatial {
	if s == nil {
		return nil
	}
	sp := &moissonv1.Spatial{}
	for _, z := range s.Zones {
		z = strings.TrimSpace(z)
		if z == "" {
			continue
		}
		if i := strings.IndexByte(z, '@'); i > 0 { // old GeoZones ids: fr:commune:44109@1942-01-01
			z = z[:i]
		}
		if sp.Uri == "" {
			sp.Uri = z
		}
		if code, ok := strings.CutPrefix(z, "fr:commune:"); ok {
			if c := normalize.INSEE(code); c != "" {
				sp.Uri, sp.InseeCode = z, c
				break
			}
		}
	}
	if s.Granularity != "" && sp.Uri == "" {
		sp.Label = s.Granularity
	}
	sp.Bbox = bbox(s.Geom)
	if sp.Uri == "" && sp.Label == "" && sp.Bbox == nil {
		return nil
	}
	return sp
}

// bbox is the bounding box of a GeoJSON geometry's coordinates.
func bbox(raw json.RawMessage) *moissonv1.BBox {
	if !present(raw) {
		return nil
	}
	var g struct {
		Coordinates json.RawMessage `json:"coordinates"`
	}
	if json.Unmarshal(raw, &g) != nil || len(g.Coordinates) == 0 {
		return nil
	}
	var v any
	if json.Unmarshal(g.Coordinates, &v) != nil {
		return nil
	}
	b := &moissonv1.BBox{West: 181, South: 91, East: -181, North: -91}
	found := false
	var walk func(v any, depth int)
	walk = func(v any, depth int) {
		list, ok := v.([]any)
		if !ok || depth > 8 {
			return
		}
		if len(list) >= 2 {
			x, okx := list[0].(float64)
			y, oky := list[1].(float64)
			if okx && oky {
				if x >= -180 && x <= 180 && y >= -90 && y <= 90 {
					b.West, b.East = min(b.West, x), max(b.East, x)
					b.South, b.North = min(b.South, y), max(b.North, y)
					found = true
				}
				return
			}
		}
		for _, e := range list {
			walk(e, depth+1)
		}
	}
	walk(v, 0)
	if !found {
		return nil
	}
	return b
}

// ---- the protocol -------------------------------------------------------------

// Protocol is the udata adapter.
var Protocol = source.Protocol{Name: "udata", New: New, Read: Read, Sniff: sniff}

// Read reads one saved udata answer (a list page, a dataset, a list of
// datasets, or udata's fixtures dump). base is the URL it came from ("" or
// a file name otherwise).
func Read(ctx context.Context, r io.Reader, base string, sink source.Sink) error {
	portal := ""
	if u, err := url.Parse(base); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		portal = u.Scheme + "://" + u.Host
	}
	s := &Source{portal: portal}
	info, err := Decode(r, func(it Item) error { return s.hand(ctx, base, it, sink) })
	if err != nil {
		return err
	}
	sink.Page(base, info.Total)
	return nil
}

func sniff(head []byte) bool {
	s := string(head)
	if strings.Contains(s, `"package_search`) || strings.Contains(s, `"help":`) {
		return false // CKAN
	}
	return strings.Contains(s, `"next_page"`) && strings.Contains(s, `"page_size"`) ||
		strings.Contains(s, `"temporal_coverage"`) || strings.Contains(s, `"frequency_date"`) ||
		strings.Contains(s, `"last_update"`) && strings.Contains(s, `"slug"`) ||
		strings.Contains(s, `"business_number_id"`) || strings.Contains(s, `"created_at_internal"`)
}
