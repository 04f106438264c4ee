package simulator

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// udata API v1 (data.gouv.fr): /organizations/{org}/datasets/ and
// /datasets/ paged by page/page_size with next_page, /datasets/{id}/ and
// /organizations/{org}/, answering udata's envelopes and 404 shapes.

type udataProtocol struct{}

const udataTime = "2006-01-02T15:04:05.000000+00:00"

func (udataProtocol) serve(src *source, r *http.Request, rest string) *reply {
	ep := src.endpointPath()
	p, ok := strings.CutPrefix(rest, ep+"/")
	if !ok {
		return nil
	}
	parts := strings.Split(strings.Trim(p, "/"), "/")
	ds := src.datasets()
	switch {
	case len(parts) == 3 && parts[0] == "organizations" && parts[2] == "datasets":
		org, _ := url.PathUnescape(parts[1])
		sel := udataSelect(src, ds, org, "", true)
		if len(sel) == 0 && org != src.cfg.Params["organization"] {
			return udataNotFound()
		}
		return udataList(src, r, ds, sel)
	case len(parts) == 1 && parts[0] == "datasets":
		q := r.URL.Query()
		return udataList(src, r, ds, udataSelect(src, ds, q.Get("organization"), q.Get("schema"), false))
	case len(parts) == 2 && parts[0] == "datasets":
		for i := range ds {
			if ds[i].Name == parts[1] || udataDatasetID(src, &ds[i]) == parts[1] {
				b := marshalJSON(udataDataset(src, &ds[i]))
				return jsonReply(http.StatusOK, b, ds[i].Modified)
			}
		}
		return udataNotFound()
	case len(parts) == 2 && parts[0] == "organizations":
		for i := range ds {
			if ds[i].OrgSlug == parts[1] {
				return jsonReply(http.StatusOK, marshalJSON(udataOrg(src, &ds[i], true)), time.Time{})
			}
		}
		return udataNotFound()
	}
	return nil
}

// udataSelect is the datasets of an organisation (its slug or id; all
// with "" unless strict) declaring a schema (any with ""), computed once
// per source and selection: each page asked for them again.
func udataSelect(src *source, ds []Dataset, org, schema string, strict bool) []int {
	sel := func() any {
		var sel []int
		for i := range ds {
			if (org != "" || strict) && org != ds[i].OrgSlug && org != udataObjectID(src.sim.opts.Seed, "org:"+ds[i].OrgSlug) {
				continue
			}
			if schema != "" && (ds[i].SCDL != schema || ds[i].Evidence != "declared") {
				continue
			}
			sel = append(sel, i)
		}
		return sel
	}
	if len(org)+len(schema) > 200 {
		return sel().([]int)
	}
	return src.derived(ds, fmt.Sprintf("udata %q %q %t", org, schema, strict), sel).([]int)
}

func udataNotFound() *reply {
	return jsonReply(http.StatusNotFound, []byte(`{"message": "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.", "status": 404}`+"\n"), time.Time{})
}

func udataBadRequest(msg string) *reply {
	b := marshalJSON(map[string]any{"errors": map[string]string{"page": msg}, "message": "Input payload validation failed"})
	return jsonReply(http.StatusBadRequest, b, time.Time{})
}

// udataList answers a paged list of the datasets sel (indexes into ds),
// newest first by creation as udata's default sort, ties by id.
func udataList(src *source, r *http.Request, ds []Dataset, sel []int) *reply {
	q := r.URL.Query()
	page, size := 1, 20
	var err error
	if v := q.Get("page"); v != "" {
		if page, err = parseNat(v); err != nil || page == 0 {
			return udataBadRequest("page must be a positive integer")
		}
	}
	if v := q.Get("page_size"); v != "" {
		if size, err = parseNat(v); err != nil || size == 0 {
			return udataBadRequest("page_size must be a positive integer")
		}
	}
	size = min(size, src.sim.opts.PageSizeCap)
	total := len(sel)
	if total > 0 && (page-1)*size >= total {
		return udataNotFound() // udata answers 404 past the last page
	}
	items := sel[min((page-1)*size, total):min(page*size, total)]
	var lastMod time.Time
	for _, i := range items {
		if ds[i].Modified.After(lastMod) {
			lastMod = ds[i].Modified
		}
	}
	link := func(p int) string {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		nq := r.URL.Query()
		nq.Set("page", strconv.Itoa(p))
		nq.Set("page_size", strconv.Itoa(size))
		return scheme + "://" + r.Host + r.URL.EscapedPath() + "?" + nq.Encode()
	}
	var next, prev any
	if page*size < total {
		next = link(page + 1)
	}
	if page > 1 {
		prev = link(page - 1)
	}
	return &reply{status: http.StatusOK, contentType: "application/json", page: page, lastMod: lastMod,
		render: func(w io.Writer) error {
			bw := bufio.NewWriterSize(w, 32<<10)
			bw.WriteString(`{"data": [`)
			enc := json.NewEncoder(bw)
			enc.SetEscapeHTML(false)
			for k, i := range items {
				if k > 0 {
					bw.WriteString(", ")
				}
				if err := enc.Encode(udataDataset(src, &ds[i])); err != nil {
					return err
				}
			}
			nb, _ := json.Marshal(next)
			pb, _ := json.Marshal(prev)
			fmt.Fprintf(bw, `], "next_page": %s, "page": %d, "page_size": %d, "previous_page": %s, "total": %d}`+"\n", nb, page, size, pb, total)
			return bw.Flush()
		}}
}

// udataObjectID is a stable 24-hex MongoDB-like id.
func udataObjectID(seed int64, key string) string {
	h := sha256.Sum256([]byte(fmt.Sprint(seed) + "\x00" + key))
	return hex.EncodeToString(h[:12])
}

func udataDatasetID(src *source, d *Dataset) string {
	return udataObjectID(src.sim.opts.Seed, src.cfg.ID+":"+d.ID)
}

// udataLicence is the udata licence id of a generated licence.
func udataLicence(d *Dataset) string {
	for _, l := range licences {
		if l.title == d.LicenseTitle {
			return l.ckanID // fr-lo, lov2, odc-odbl, cc-by: the same ids as udata
		}
	}
	return "notspecified"
}

var udataFrequencies = []string{"unknown", "punctual", "daily", "weekly", "monthly", "quarterly", "annual", "irregular", "continuous"}

// siretOf completes a SIREN to a Luhn-valid SIRET (NIC 0001x), as
// data.gouv.fr gives an organisation's business number.
func siretOf(siren string) string {
	for c := 0; c < 10; c++ {
		s := siren + "0001" + strconv.Itoa(c)
		sum := 0
		for i := range s {
			v := int(s[len(s)-1-i] - '0')
			if i%2 == 1 {
				v *= 2
				if v > 9 {
					v -= 9
				}
			}
			sum += v
		}
		if sum%10 == 0 {
			return s
		}
	}
	return siren + "00010"
}

// The udata documents below are structs whose fields are in the sorted
// order of their JSON names (as encoding/json writes a map's keys), the
// simulator's answers unchanged: maps cost about six times as much to
// encode.

type udataKind struct {
	Kind string `json:"kind"`
}

type udataOrgDoc struct {
	Acronym          any         `json:"acronym"`
	Badges           []udataKind `json:"badges"`
	BusinessNumberID string      `json:"business_number_id,omitempty"`
	Class            string      `json:"class"`
	ID               string      `json:"id"`
	Logo             any         `json:"logo"`
	LogoThumbnail    any         `json:"logo_thumbnail"`
	Name             string      `json:"name"`
	Page             string      `json:"page"`
	Slug             string      `json:"slug"`
	URI              string      `json:"uri"`
}

func udataOrg(src *source, d *Dataset, full bool) udataOrgDoc {
	site := src.site
	apiRoot := site + src.endpointPath()
	o := udataOrgDoc{Badges: []udataKind{{Kind: "public-service"}}, Class: "Organization",
		ID: udataObjectID(src.sim.opts.Seed, "org:"+d.OrgSlug), Name: d.Publisher,
		Page: site + "/fr/organizations/" + d.OrgSlug + "/", Slug: d.OrgSlug,
		URI: apiRoot + "/organizations/" + d.OrgSlug + "/"}
	// The SIRET of a collectivité's organisation: data.gouv.fr gives it on
	// the full organisation object, and not always on the embedded one.
	if d.CollSiren != "" && (full || len(d.OrgSlug)%3 != 0) {
		o.BusinessNumberID = siretOf(d.CollSiren)
	}
	return o
}

type udataPeriod struct {
	End   string `json:"end"`
	Start string `json:"start"`
}

type udataSpatial struct {
	Geom        any      `json:"geom"`
	Granularity string   `json:"granularity"`
	Zones       []string `json:"zones"`
}

type udataSchema struct {
	Name    any `json:"name"`
	URL     any `json:"url"`
	Version any `json:"version"`
}

type udataChecksum struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

type udataInternal struct {
	CreatedAt    string `json:"created_at_internal"`
	LastModified string `json:"last_modified_internal"`
}

type udataViews struct {
	Views int `json:"views"`
}

type udataResource struct {
	Checksum     udataChecksum `json:"checksum"`
	CreatedAt    string        `json:"created_at"`
	Description  any           `json:"description"`
	Extras       struct{}      `json:"extras"`
	Filesize     any           `json:"filesize"`
	Filetype     string        `json:"filetype"`
	Format       string        `json:"format"`
	Harvest      any           `json:"harvest"`
	ID           string        `json:"id"`
	Internal     udataInternal `json:"internal"`
	LastModified string        `json:"last_modified"`
	Latest       string        `json:"latest"`
	Metrics      udataViews    `json:"metrics"`
	Mime         string        `json:"mime"`
	PreviewURL   any           `json:"preview_url"`
	Schema       udataSchema   `json:"schema"`
	Title        string        `json:"title"`
	Type         string        `json:"type"`
	URL          string        `json:"url"`
}

type udataContact struct {
	ContactForm any    `json:"contact_form"`
	Email       string `json:"email"`
	ID          string `json:"id"`
	Name        string `json:"name"`
	Role        string `json:"role"`
}

type udataMetrics struct {
	Discussions        int `json:"discussions"`
	Followers          int `json:"followers"`
	ResourcesDownloads int `json:"resources_downloads"`
	Reuses             int `json:"reuses"`
	Views              int `json:"views"`
}

type udataQuality struct {
	AllResourcesAvailable     bool    `json:"all_resources_available"`
	DatasetDescriptionQuality bool    `json:"dataset_description_quality"`
	HasOpenFormat             bool    `json:"has_open_format"`
	HasResources              bool    `json:"has_resources"`
	License                   bool    `json:"license"`
	Score                     float64 `json:"score"`
	Spatial                   bool    `json:"spatial"`
	TemporalCoverage          bool    `json:"temporal_coverage"`
	UpdateFrequency           bool    `json:"update_frequency"`
	UpdateFulfilledInTime     bool    `json:"update_fulfilled_in_time"`
}

type udataDatasetDoc struct {
	Acronym            any              `json:"acronym"`
	Archived           any              `json:"archived"`
	Badges             []struct{}       `json:"badges"`
	CommunityResources []struct{}       `json:"community_resources"`
	ContactPoints      []udataContact   `json:"contact_points"`
	CreatedAt          string           `json:"created_at"`
	Deleted            any              `json:"deleted"`
	Description        string           `json:"description"`
	Extras             struct{}         `json:"extras"`
	Featured           bool             `json:"featured"`
	Frequency          string           `json:"frequency"`
	FrequencyDate      any              `json:"frequency_date"`
	Harvest            *udataHarvestDoc `json:"harvest"`
	ID                 string           `json:"id"`
	Internal           udataInternal    `json:"internal"`
	LastModified       string           `json:"last_modified"`
	LastUpdate         string           `json:"last_update"`
	License            string           `json:"license"`
	Metrics            udataMetrics     `json:"metrics"`
	Organization       udataOrgDoc      `json:"organization"`
	Owner              any              `json:"owner"`
	Page               string           `json:"page"`
	Private            bool             `json:"private"`
	Quality            udataQuality     `json:"quality"`
	Resources          []udataResource  `json:"resources"`
	Schema             any              `json:"schema"`
	Slug               string           `json:"slug"`
	Spatial            *udataSpatial    `json:"spatial"`
	Tags               []string         `json:"tags"`
	TemporalCoverage   *udataPeriod     `json:"temporal_coverage"`
	Title              string           `json:"title"`
	URI                string           `json:"uri"`
}

func udataDataset(src *source, d *Dataset) udataDatasetDoc {
	seed := src.sim.opts.Seed
	site := src.site
	apiRoot := site + src.endpointPath()
	id := udataDatasetID(src, d)
	tags := []string{}
	for _, k := range d.Keywords {
		tags = append(tags, slugify(k))
	}
	r := newRNG(seed, "udata:"+src.cfg.ID+":"+d.ID, 0)
	freq := r.pick(udataFrequencies)
	var temporal *udataPeriod
	if r.chance(60) {
		y := d.Created.Year()
		temporal = &udataPeriod{Start: fmt.Sprintf("%d-01-01", y), End: fmt.Sprintf("%d-12-31", y)}
	}
	var spatial *udataSpatial
	if d.SpatialINSEE != "" {
		spatial = &udataSpatial{Granularity: "fr:commune", Zones: []string{"fr:commune:" + d.SpatialINSEE}}
	} else if d.SpatialLabel != "" {
		spatial = &udataSpatial{Granularity: "other", Zones: []string{}}
	}
	created := d.Created.UTC().Format(udataTime)
	resources := []udataResource{}
	for i, res := range d.Resources {
		var schema udataSchema
		if res.Schema != "" {
			schema = udataSchema{Name: res.Schema, Version: "latest"}
			if i%2 == 1 || len(d.Name)%2 == 0 {
				schema.URL = SchemaURL(res.Schema)
			}
		}
		rid := udataObjectID(seed, "res:"+res.ID)
		rid = rid[:8] + "-" + rid[8:12] + "-4" + rid[13:16] + "-a" + rid[17:20] + "-" + rid[20:24] + "00000000"
		modified := res.Modified.UTC().Format(udataTime)
		item := udataResource{
			Checksum:  udataChecksum{Type: "sha1", Value: udataObjectID(seed, "sum:"+res.ID) + "0123456789abcdef"},
			CreatedAt: created, Filetype: "file", Format: strings.ToLower(res.Format), ID: rid,
			Internal:     udataInternal{CreatedAt: created, LastModified: modified},
			LastModified: modified, Latest: site + "/fr/datasets/r/" + rid,
			Metrics: udataViews{Views: r.intn(500)}, Mime: res.MediaType, Schema: schema,
			Title: res.Title, Type: "main", URL: res.URL,
		}
		if res.Size > 0 {
			item.Filesize = res.Size
		}
		if i > 0 && res.Format == "PDF" {
			item.Type = "documentation"
		}
		resources = append(resources, item)
	}
	lastUpdate := d.Modified
	for _, res := range d.Resources {
		if res.Modified.After(lastUpdate) {
			lastUpdate = res.Modified
		}
	}
	modified := d.Modified.UTC().Format(udataTime)
	return udataDatasetDoc{
		Badges: []struct{}{}, CommunityResources: []struct{}{},
		ContactPoints: []udataContact{{Email: d.Contact, ID: udataObjectID(seed, "cp:"+d.OrgSlug), Name: d.Publisher, Role: "contact"}},
		CreatedAt:     created, Description: d.Description, Frequency: freq,
		Harvest: udataHarvest(d), ID: id,
		Internal:     udataInternal{CreatedAt: created, LastModified: modified},
		LastModified: modified, LastUpdate: lastUpdate.UTC().Format(udataTime),
		License: udataLicence(d),
		// the draws in the order the map literal made them: followers,
		// resources_downloads, views
		Metrics:      udataMetrics{Followers: r.intn(20), ResourcesDownloads: r.intn(5000), Views: r.intn(5000)},
		Organization: udataOrg(src, d, false),
		Page:         site + "/fr/datasets/" + d.Name + "/",
		Quality: udataQuality{AllResourcesAvailable: true, DatasetDescriptionQuality: true, HasOpenFormat: true,
			HasResources: len(d.Resources) > 0, License: true, Score: 0.77, Spatial: spatial != nil,
			TemporalCoverage: temporal != nil, UpdateFrequency: freq != "unknown", UpdateFulfilledInTime: true},
		Resources: resources, Slug: d.Name, Spatial: spatial, Tags: tags,
		TemporalCoverage: temporal, Title: d.Title, URI: apiRoot + "/datasets/" + d.Name + "/",
	}
}

// udataHarvest is the harvest block of a copy harvested from another
// portal (nil for a dataset published on data.gouv.fr itself).
type udataHarvestDoc struct {
	Backend    string `json:"backend"`
	CreatedAt  string `json:"created_at"`
	Domain     string `json:"domain"`
	LastUpdate string `json:"last_update"`
	ModifiedAt string `json:"modified_at"`
	RemoteID   string `json:"remote_id"`
	RemoteURL  string `json:"remote_url"`
}

func udataHarvest(d *Dataset) *udataHarvestDoc {
	if d.RemoteURL == "" {
		return nil
	}
	u, _ := url.Parse(d.RemoteURL)
	host := ""
	if u != nil {
		host = u.Host
	}
	return &udataHarvestDoc{Backend: "DCAT", Domain: host, RemoteID: d.RemoteID, RemoteURL: d.RemoteURL,
		CreatedAt: d.Created.UTC().Format(udataTime), ModifiedAt: d.Modified.UTC().Format(udataTime),
		LastUpdate: d.Modified.UTC().Format(udataTime)}
}
