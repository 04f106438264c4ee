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

func udataOrg(src *source, d *Dataset, full bool) map[string]any {
	site := siteURL(src.cfg)
	apiRoot := site + src.endpointPath()
	id := udataObjectID(src.sim.opts.Seed, "org:"+d.OrgSlug)
	o := map[string]any{
		"acronym": nil, "badges": []any{map[string]string{"kind": "public-service"}}, "class": "Organization",
		"id": id, "logo": nil, "logo_thumbnail": nil, "name": d.Publisher,
		"page": site + "/fr/organizations/" + d.OrgSlug + "/", "slug": d.OrgSlug,
		"uri": apiRoot + "/organizations/" + d.OrgSlug + "/",
	}
	// The SIRET of a collectivité's organisation: data.gouv.fr gives it on
	// the full organisation object, and not always on the embedded one.
	if d.CollSiren != "" && (full || len(d.OrgSlug)%3 != 0) {
		o["business_number_id"] = siretOf(d.CollSiren)
	}
	return o
}

func udataDataset(src *source, d *Dataset) map[string]any {
	seed := src.sim.opts.Seed
	site := siteURL(src.cfg)
	apiRoot := site + src.endpointPath()
	id := udataDatasetID(src, d)
	tags := []string{}
	for _, k := range d.Keywords {
		tags = append(tags, slugify(k))
	}
	r := newRNG(seed, "udata:"+src.cfg.ID+":"+d.ID, 0)
	freq := r.pick(udataFrequencies)
	var temporal any
	if r.chance(60) {
		y := d.Created.Year()
		temporal = map[string]string{"start": fmt.Sprintf("%d-01-01", y), "end": fmt.Sprintf("%d-12-31", y)}
	}
	var spatial any
	if d.SpatialINSEE != "" {
		spatial = map[string]any{"geom": nil, "granularity": "fr:commune", "zones": []string{"fr:commune:" + d.SpatialINSEE}}
	} else if d.SpatialLabel != "" {
		spatial = map[string]any{"geom": nil, "granularity": "other", "zones": []string{}}
	}
	resources := []map[string]any{}
	for i, res := range d.Resources {
		schema := map[string]any{"name": nil, "url": nil, "version": nil}
		if res.Schema != "" {
			schema = map[string]any{"name": res.Schema, "url": nil, "version": "latest"}
			if i%2 == 1 || len(d.Name)%2 == 0 {
				schema["url"] = SchemaURL(res.Schema)
			}
		}
		rid := udataObjectID(seed, "res:"+res.ID)
		rid = rid[:8] + "-" + rid[8:12] + "-4" + rid[13:16] + "-a" + rid[17:20] + "-" + rid[20:24] + "00000000"
		item := map[string]any{
			"checksum":   map[string]string{"type": "sha1", "value": udataObjectID(seed, "sum:"+res.ID) + "0123456789abcdef"},
			"created_at": d.Created.UTC().Format(udataTime), "description": nil,
			"extras": map[string]any{}, "filetype": "file", "format": strings.ToLower(res.Format),
			"harvest": nil, "id": rid,
			"internal": map[string]string{"created_at_internal": d.Created.UTC().Format(udataTime),
				"last_modified_internal": res.Modified.UTC().Format(udataTime)},
			"last_modified": res.Modified.UTC().Format(udataTime),
			"latest":        site + "/fr/datasets/r/" + rid,
			"metrics":       map[string]int{"views": r.intn(500)},
			"mime":          res.MediaType, "preview_url": nil, "schema": schema,
			"title": res.Title, "type": "main", "url": res.URL,
		}
		if res.Size > 0 {
			item["filesize"] = res.Size
		} else {
			item["filesize"] = nil
		}
		if i > 0 && res.Format == "PDF" {
			item["type"] = "documentation"
		}
		resources = append(resources, item)
	}
	lastUpdate := d.Modified
	for _, res := range d.Resources {
		if res.Modified.After(lastUpdate) {
			lastUpdate = res.Modified
		}
	}
	return map[string]any{
		"acronym": nil, "archived": nil, "badges": []any{}, "community_resources": []any{},
		"contact_points": []any{map[string]any{"contact_form": nil, "email": d.Contact, "id": udataObjectID(seed, "cp:"+d.OrgSlug), "name": d.Publisher, "role": "contact"}},
		"created_at":     d.Created.UTC().Format(udataTime), "deleted": nil, "description": d.Description,
		"extras": map[string]any{}, "featured": false, "frequency": freq, "frequency_date": nil,
		"harvest": udataHarvest(d), "id": id,
		"internal": map[string]string{"created_at_internal": d.Created.UTC().Format(udataTime),
			"last_modified_internal": d.Modified.UTC().Format(udataTime)},
		"last_modified": d.Modified.UTC().Format(udataTime), "last_update": lastUpdate.UTC().Format(udataTime),
		"license":      udataLicence(d),
		"metrics":      map[string]int{"discussions": 0, "followers": r.intn(20), "resources_downloads": r.intn(5000), "reuses": 0, "views": r.intn(5000)},
		"organization": udataOrg(src, d, false), "owner": nil,
		"page": site + "/fr/datasets/" + d.Name + "/", "private": false,
		"quality":   map[string]any{"all_resources_available": true, "dataset_description_quality": true, "has_open_format": true, "has_resources": len(d.Resources) > 0, "license": true, "score": 0.77, "spatial": spatial != nil, "temporal_coverage": temporal != nil, "update_frequency": freq != "unknown", "update_fulfilled_in_time": true},
		"resources": resources, "schema": nil, "slug": d.Name, "spatial": spatial, "tags": tags,
		"temporal_coverage": temporal, "title": d.Title, "uri": apiRoot + "/datasets/" + d.Name + "/",
	}
}

// udataHarvest is the harvest block of a copy harvested from another
// portal (nil for a dataset published on data.gouv.fr itself).
func udataHarvest(d *Dataset) any {
	if d.RemoteURL == "" {
		return nil
	}
	u, _ := url.Parse(d.RemoteURL)
	host := ""
	if u != nil {
		host = u.Host
	}
	return map[string]any{
		"backend": "DCAT", "domain": host, "remote_id": d.RemoteID, "remote_url": d.RemoteURL,
		"created_at": d.Created.UTC().Format(udataTime), "modified_at": d.Modified.UTC().Format(udataTime),
		"last_update": d.Modified.UTC().Format(udataTime),
	}
}
