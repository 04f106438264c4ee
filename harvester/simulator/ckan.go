package simulator

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"
)

// CKAN Action API: package_search, package_show, organization_list,
// status_show, answering CKAN's envelopes and error shapes.

type ckanProtocol struct{}

const ckanTime = "2006-01-02T15:04:05.000000"

func (ckanProtocol) serve(src *source, r *http.Request, rest string) *reply {
	ep := src.endpointPath()
	action, ok := strings.CutPrefix(rest, ep+"/")
	if !ok {
		return nil
	}
	action = strings.Trim(action, "/")
	params := r.URL.Query()
	if r.Method == http.MethodPost {
		ckanPostParams(r, params)
	}
	help := src.site + "/api/3/action/help_show?name=" + action
	switch action {
	case "package_search":
		return ckanSearch(src, params, help)
	case "package_show":
		return ckanShow(src, params, help)
	case "organization_list":
		return ckanOrgList(src, params, help)
	case "status_show":
		st := map[string]any{
			"ckan_version":     "2.10.4",
			"site_url":         src.site,
			"site_title":       portalName(src),
			"site_description": "",
			"locale_default":   "fr",
			"error_emails_to":  nil,
			"extensions":       []string{"dcat", "scheming_datasets", "spatial_metadata", "spatial_query", "activity"},
		}
		return ckanOK(help, st, time.Time{})
	case "":
		return nil
	default:
		return ckanErr(http.StatusBadRequest, help, map[string]any{
			"message": "Bad request - Action name not known: " + action, "__type": "Bad Request"})
	}
}

func ckanPostParams(r *http.Request, params url.Values) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var m map[string]any
		if json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&m) == nil {
			for k, v := range m {
				params.Set(k, fmt.Sprint(v))
			}
		}
		return
	}
	if r.ParseForm() == nil {
		for k, v := range r.PostForm {
			params[k] = v
		}
	}
}

func portalName(src *source) string {
	if src.cfg.Portal != nil && src.cfg.Portal.Name != "" {
		return src.cfg.Portal.Name
	}
	return src.cfg.ID
}

func (src *source) portalURL() string {
	if src.cfg.Portal != nil && src.cfg.Portal.URL != "" {
		return strings.TrimRight(src.cfg.Portal.URL, "/")
	}
	return "https://portal.example.org"
}

// ckanOK answers {"help", "success": true, "result"}.
func ckanOK(help string, result any, lastMod time.Time) *reply {
	return jsonReply(http.StatusOK, marshalJSON(map[string]any{"help": help, "success": true, "result": result}), lastMod)
}

// marshalJSON encodes without HTML escaping, as CKAN's Python does.
func marshalJSON(v any) []byte {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return []byte(b.String())
}

func ckanErr(status int, help string, e map[string]any) *reply {
	return jsonReply(status, marshalJSON(map[string]any{"help": help, "success": false, "error": e}), time.Time{})
}

func jsonReply(status int, body []byte, lastMod time.Time) *reply {
	return &reply{status: status, contentType: "application/json;charset=utf-8", lastMod: lastMod,
		render: func(w io.Writer) error { _, err := w.Write(body); return err }}
}

func ckanValidation(help string, field, msg string) *reply {
	return ckanErr(http.StatusConflict, help, map[string]any{"__type": "Validation Error", field: []string{msg}})
}

func ckanQueryError(help, msg string) *reply {
	return ckanErr(http.StatusConflict, help, map[string]any{"__type": "Search Query Error",
		"message": "Search Query is invalid: " + msg})
}

// ---- package_search ----------------------------------------------------------

func ckanSearch(src *source, p url.Values, help string) *reply {
	rows, start := 10, 0
	var err error
	if v := p.Get("rows"); v != "" {
		if rows, err = parseNat(v); err != nil {
			return ckanValidation(help, "rows", "Invalid integer")
		}
	}
	if v := p.Get("start"); v != "" {
		if start, err = parseNat(v); err != nil {
			return ckanValidation(help, "start", "Invalid integer")
		}
	}
	rows = min(rows, src.sim.opts.PageSizeCap)
	sortSpec := p.Get("sort")
	if sortSpec == "" {
		sortSpec = "score desc, metadata_modified desc"
	}
	ds := src.datasets()
	less, err := ckanSorter(ds, sortSpec)
	if err != nil {
		return ckanQueryError(help, err.Error())
	}
	match, err := ckanFilter(p.Get("q"), p.Get("fq"))
	if err != nil {
		return ckanQueryError(help, err.Error())
	}
	order := func() any {
		var idx []int
		for i := range ds {
			if match(&ds[i]) {
				idx = append(idx, i)
			}
		}
		sort.SliceStable(idx, func(a, b int) bool { return less(idx[a], idx[b]) })
		return idx
	}
	var idx []int
	if p.Get("q") == "" && p.Get("fq") == "" && len(sortSpec) <= 200 {
		// A harvest: every page of one order, computed once.
		idx = src.derived(ds, "ckan "+sortSpec, order).([]int)
	} else {
		idx = order().([]int)
	}
	count := len(idx)
	page := idx[min(start, count):min(start+rows, count)]
	var lastMod time.Time
	for _, i := range page {
		if ds[i].Modified.After(lastMod) {
			lastMod = ds[i].Modified
		}
	}
	pageNo := 1
	if rows > 0 {
		pageNo = start/rows + 1
	}
	return &reply{status: http.StatusOK, contentType: "application/json;charset=utf-8", page: pageNo, lastMod: lastMod,
		render: func(w io.Writer) error {
			bw := bufio.NewWriterSize(w, 32<<10)
			hb, _ := json.Marshal(help)
			sb, _ := json.Marshal(sortSpec)
			fmt.Fprintf(bw, `{"help": %s, "success": true, "result": {"count": %d, "sort": %s, "facets": {}, "results": [`, hb, count, sb)
			enc := json.NewEncoder(bw)
			enc.SetEscapeHTML(false)
			for k, i := range page {
				if k > 0 {
					bw.WriteString(", ")
				}
				if err := enc.Encode(ckanPackage(src, &ds[i])); err != nil {
					return err
				}
			}
			bw.WriteString(`], "search_facets": {}}}`)
			return bw.Flush()
		}}
}

// ckanSorter parses a Solr sort ("metadata_modified desc, name asc"); ties
// are broken by id so paging is stable.
func ckanSorter(ds []Dataset, spec string) (func(a, b int) bool, error) {
	type key struct {
		field string
		desc  bool
	}
	var keys []key
	for _, clause := range strings.Split(spec, ",") {
		f := strings.Fields(clause)
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 || (f[1] != "asc" && f[1] != "desc") {
			return nil, fmt.Errorf("Can't determine a sort order: %q", strings.TrimSpace(clause))
		}
		switch f[0] {
		case "score", "metadata_modified", "metadata_created", "name", "id", "title_string":
		default:
			return nil, fmt.Errorf("undefined field %s", f[0])
		}
		keys = append(keys, key{f[0], f[1] == "desc"})
	}
	cmp := func(k key, a, b *Dataset) int {
		switch k.field {
		case "metadata_modified":
			return a.Modified.Compare(b.Modified)
		case "metadata_created":
			return a.Created.Compare(b.Created)
		case "name":
			return strings.Compare(a.Name, b.Name)
		case "id":
			return strings.Compare(a.ID, b.ID)
		case "title_string":
			return strings.Compare(a.Title, b.Title)
		}
		return 0 // score: every document matches equally
	}
	return func(a, b int) bool {
		da, db := &ds[a], &ds[b]
		for _, k := range keys {
			c := cmp(k, da, db)
			if k.desc {
				c = -c
			}
			if c != 0 {
				return c < 0
			}
		}
		return da.ID < db.ID
	}, nil
}

// ckanFilter understands the queries harvesters send: field:value and
// field:"value" for organization, owner_org, name, id, tags, res_format,
// license_id, groups; *:*; free words (searched in title, notes and tags).
// ckanRange is a Solr date range on metadata_modified.
var ckanRange = regexp.MustCompile(`metadata_modified:\[(\S+) TO (\S+)\]`)

func ckanFilter(q, fq string) (func(*Dataset) bool, error) {
	var tests []func(*Dataset) bool
	for _, m := range ckanRange.FindAllStringSubmatch(q+" "+fq, -1) {
		bound := func(v string) (time.Time, error) {
			if v == "*" {
				return time.Time{}, nil
			}
			return time.Parse(time.RFC3339, v)
		}
		from, err1 := bound(m[1])
		to, err2 := bound(m[2])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("bad date range %s", m[0])
		}
		tests = append(tests, func(d *Dataset) bool {
			return (from.IsZero() || !d.Modified.Before(from)) && (to.IsZero() || !d.Modified.After(to))
		})
	}
	q, fq = ckanRange.ReplaceAllString(q, ""), ckanRange.ReplaceAllString(fq, "")
	for _, expr := range []string{q, fq} {
		toks, err := solrTokens(expr)
		if err != nil {
			return nil, err
		}
		for _, t := range toks {
			switch t {
			case "", "*:*", "AND", "&&":
				continue
			}
			t = strings.TrimPrefix(t, "+")
			field, val, isField := strings.Cut(t, ":")
			if !isField {
				word := strings.ToLower(strings.Trim(t, `"`))
				tests = append(tests, func(d *Dataset) bool {
					return strings.Contains(strings.ToLower(d.Title+" "+d.Description+" "+strings.Join(d.Keywords, " ")), word)
				})
				continue
			}
			val = strings.Trim(val, `"`)
			var f func(*Dataset) bool
			switch field {
			case "organization":
				f = func(d *Dataset) bool { return d.OrgSlug == val }
			case "owner_org":
				f = func(d *Dataset) bool { return d.OrgID == val || d.OrgSlug == val }
			case "name":
				f = func(d *Dataset) bool { return d.Name == val }
			case "id":
				f = func(d *Dataset) bool { return d.ID == val }
			case "license_id":
				f = func(d *Dataset) bool { return d.License == val }
			case "tags":
				f = func(d *Dataset) bool {
					for _, k := range d.Keywords {
						if k == val {
							return true
						}
					}
					return false
				}
			case "groups":
				f = func(d *Dataset) bool {
					for _, th := range d.Themes {
						if slugify(th) == val {
							return true
						}
					}
					return false
				}
			case "res_format":
				f = func(d *Dataset) bool {
					for _, r := range d.Resources {
						if strings.EqualFold(r.Format, val) {
							return true
						}
					}
					return false
				}
			default:
				return nil, fmt.Errorf("undefined field %s", field)
			}
			tests = append(tests, f)
		}
	}
	return func(d *Dataset) bool {
		for _, t := range tests {
			if !t(d) {
				return false
			}
		}
		return true
	}, nil
}

// solrTokens splits on spaces outside double quotes.
func solrTokens(s string) ([]string, error) {
	var out []string
	var b strings.Builder
	inQ := false
	for _, c := range s {
		switch {
		case c == '"':
			inQ = !inQ
			b.WriteRune(c)
		case (c == ' ' || c == '\t') && !inQ:
			out = append(out, b.String())
			b.Reset()
		default:
			b.WriteRune(c)
		}
	}
	if inQ {
		return nil, fmt.Errorf("unbalanced quotes in %q", s)
	}
	return append(out, b.String()), nil
}

// ---- package dicts -----------------------------------------------------------

type ckanPkg struct {
	ID               string         `json:"id"`
	Name             string         `json:"name"`
	Title            string         `json:"title"`
	Notes            string         `json:"notes"`
	Author           any            `json:"author"`
	AuthorEmail      any            `json:"author_email"`
	Maintainer       string         `json:"maintainer"`
	MaintainerEmail  string         `json:"maintainer_email"`
	LicenseID        string         `json:"license_id"`
	LicenseTitle     string         `json:"license_title"`
	LicenseURL       string         `json:"license_url"`
	IsOpen           bool           `json:"isopen"`
	MetadataCreated  string         `json:"metadata_created"`
	MetadataModified string         `json:"metadata_modified"`
	OwnerOrg         string         `json:"owner_org"`
	Organization     ckanOrg        `json:"organization"`
	Private          bool           `json:"private"`
	State            string         `json:"state"`
	Type             string         `json:"type"`
	URL              string         `json:"url"`
	Version          any            `json:"version"`
	NumResources     int            `json:"num_resources"`
	NumTags          int            `json:"num_tags"`
	Tags             []ckanTag      `json:"tags"`
	Groups           []ckanGroup    `json:"groups"`
	Extras           []ckanExtra    `json:"extras"`
	Resources        []ckanResource `json:"resources"`
	Relationships    []any          `json:"relationships_as_subject"`
	RelationshipsObj []any          `json:"relationships_as_object"`
}

type ckanOrg struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	Title          string `json:"title"`
	Type           string `json:"type"`
	Description    string `json:"description"`
	ImageURL       string `json:"image_url"`
	Created        string `json:"created"`
	IsOrganization bool   `json:"is_organization"`
	ApprovalStatus string `json:"approval_status"`
	State          string `json:"state"`
}

type ckanTag struct {
	DisplayName  string `json:"display_name"`
	ID           string `json:"id"`
	Name         string `json:"name"`
	State        string `json:"state"`
	VocabularyID any    `json:"vocabulary_id"`
}

type ckanGroup struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Title       string `json:"title"`
	DisplayName string `json:"display_name"`
	Description string `json:"description"`
	ImageURL    string `json:"image_display_url"`
}

type ckanExtra struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type ckanResource struct {
	ID             string `json:"id"`
	PackageID      string `json:"package_id"`
	Name           string `json:"name"`
	Description    string `json:"description"`
	Format         string `json:"format"`
	Mimetype       any    `json:"mimetype"`
	MimetypeInner  any    `json:"mimetype_inner"`
	URL            string `json:"url"`
	URLType        any    `json:"url_type"`
	Size           any    `json:"size"`
	Hash           string `json:"hash"`
	Created        string `json:"created"`
	LastModified   any    `json:"last_modified"`
	MetadataMod    string `json:"metadata_modified"`
	Position       int    `json:"position"`
	State          string `json:"state"`
	DatastoreAct   bool   `json:"datastore_active"`
	CacheURL       any    `json:"cache_url"`
	ResourceType   any    `json:"resource_type"`
	ConformsToSchm string `json:"schema,omitempty"`
}

func ckanPackage(src *source, d *Dataset) ckanPkg {
	seed := src.sim.opts.Seed
	p := ckanPkg{
		ID: d.ID, Name: d.Name, Title: d.Title, Notes: d.Description,
		Maintainer: d.Publisher, MaintainerEmail: d.Contact,
		LicenseID: d.License, LicenseTitle: d.LicenseTitle, LicenseURL: d.LicenseURL, IsOpen: true,
		MetadataCreated: d.Created.UTC().Format(ckanTime), MetadataModified: d.Modified.UTC().Format(ckanTime),
		OwnerOrg: d.OrgID,
		Organization: ckanOrg{ID: d.OrgID, Name: d.OrgSlug, Title: d.Publisher, Type: "organization",
			Description: "", ImageURL: "", Created: genStart.Format(ckanTime), IsOrganization: true,
			ApprovalStatus: "approved", State: "active"},
		State: "active", Type: "dataset", URL: "",
		NumResources: len(d.Resources), NumTags: len(d.Keywords),
		Tags: []ckanTag{}, Groups: []ckanGroup{}, Extras: []ckanExtra{}, Resources: []ckanResource{},
		Relationships: []any{}, RelationshipsObj: []any{},
	}
	for _, k := range d.Keywords {
		p.Tags = append(p.Tags, ckanTag{DisplayName: k, ID: uuidFrom(seed, "tag:"+k), Name: k, State: "active"})
	}
	for _, th := range d.Themes {
		p.Groups = append(p.Groups, ckanGroup{ID: uuidFrom(seed, "group:"+th), Name: slugify(th), Title: th, DisplayName: th})
	}
	if len(d.ConformsTo) > 0 {
		v := d.ConformsTo[0]
		if len(d.Name)%2 == 0 { // ckanext-dcat stores a JSON list; others a plain URL
			b, _ := json.Marshal(d.ConformsTo)
			v = string(b)
		}
		p.Extras = append(p.Extras, ckanExtra{"conforms_to", v})
	}
	if d.SpatialINSEE != "" {
		p.Extras = append(p.Extras,
			ckanExtra{"spatial", fmt.Sprintf(`{"type": "Point", "coordinates": [%.4f, %.4f]}`, d.Lon, d.Lat)},
			ckanExtra{"spatial_uri", "http://id.insee.fr/geo/commune/" + d.SpatialINSEE})
	}
	if d.SpatialLabel != "" {
		p.Extras = append(p.Extras, ckanExtra{"spatial_text", d.SpatialLabel})
	}
	if d.PublisherSiren != "" {
		p.Extras = append(p.Extras, ckanExtra{"siren", d.PublisherSiren})
	}
	for i, r := range d.Resources {
		cr := ckanResource{ID: r.ID, PackageID: d.ID, Name: r.Title, Format: r.Format, URL: r.URL,
			Created: d.Created.UTC().Format(ckanTime), MetadataMod: r.Modified.UTC().Format(ckanTime),
			LastModified: r.Modified.UTC().Format(ckanTime), Position: i, State: "active",
			URLType: "upload", ConformsToSchm: r.Schema}
		if r.MediaType != "" && i%2 == 0 {
			cr.Mimetype = r.MediaType
		}
		if r.Size > 0 {
			cr.Size = r.Size
		}
		if i == 0 && len(d.Columns) > 0 {
			cr.Description = "Champs : " + strings.Join(d.Columns, ", ")
		}
		p.Resources = append(p.Resources, cr)
	}
	return p
}

// ---- package_show, organization_list -------------------------------------------

func ckanShow(src *source, p url.Values, help string) *reply {
	id := p.Get("id")
	if id == "" {
		return ckanValidation(help, "id", "Missing value")
	}
	ds := src.datasets()
	for i := range ds {
		if ds[i].ID == id || ds[i].Name == id {
			return ckanOK(help, ckanPackage(src, &ds[i]), ds[i].Modified)
		}
	}
	return ckanErr(http.StatusNotFound, help, map[string]any{"message": "Not found", "__type": "Not Found Error"})
}

func ckanOrgList(src *source, p url.Values, help string) *reply {
	ds := src.datasets()
	type org struct {
		title, id string
		count     int
	}
	orgs := map[string]*org{}
	for i := range ds {
		o := orgs[ds[i].OrgSlug]
		if o == nil {
			o = &org{title: ds[i].Publisher, id: ds[i].OrgID}
			orgs[ds[i].OrgSlug] = o
		}
		o.count++
	}
	names := sortedKeys(orgs)
	if p.Get("all_fields") != "true" && p.Get("all_fields") != "True" {
		return ckanOK(help, names, time.Time{})
	}
	var out []map[string]any
	for _, n := range names {
		o := orgs[n]
		out = append(out, map[string]any{"id": o.id, "name": n, "title": o.title, "display_name": o.title,
			"type": "organization", "is_organization": true, "state": "active", "package_count": o.count,
			"description": "", "image_url": "", "approval_status": "approved"})
	}
	return ckanOK(help, out, time.Time{})
}
