package simulator

import (
	"bufio"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// OpenDataSoft Explore API v2.1, as a portal serves it under
// /api/explore/v2.1: /catalog/datasets (limit ≤ 100, offset+limit within
// the window, 10000 unless the source's params set max_window),
// /catalog/exports/json (the whole catalogue as one JSON array) and
// /catalog/datasets/{id}.

type odsProtocol struct{}

const odsMaxLimit = 100

func (odsProtocol) serve(src *source, r *http.Request, rest string) *reply {
	p := strings.TrimRight(rest, "/")
	switch {
	case strings.HasSuffix(p, "/catalog/datasets"):
		return odsList(src, r)
	case strings.HasSuffix(p, "/catalog/exports/json"):
		return odsExport(src, r)
	}
	if i := strings.LastIndex(p, "/catalog/datasets/"); i >= 0 {
		id := p[i+len("/catalog/datasets/"):]
		if id == "" || strings.Contains(id, "/") {
			return nil
		}
		ds := src.datasets()
		for k := range ds {
			if ds[k].ID == id {
				return jsonReply(http.StatusOK, marshalJSON(odsDataset(src, &ds[k])), ds[k].Modified)
			}
		}
		return odsError(http.StatusNotFound, "DatasetNotFound", "Unknown dataset: "+id)
	}
	return nil
}

func odsError(status int, code, msg string) *reply {
	return jsonReply(status, marshalJSON(map[string]any{"error_code": code, "message": msg}), time.Time{})
}

// odsWindow is the cap on offset+limit.
func odsWindow(src *source) int {
	if n, err := parseNat(src.cfg.Params["max_window"]); err == nil && n > 0 {
		return n
	}
	return 10000
}

// odsOrder returns the datasets in the order asked (order_by), or an error
// message. The order is computed once per source and order.
func odsOrder(src *source, ds []Dataset, orderBy string) ([]int, string) {
	idx := make([]int, len(ds))
	for i := range idx {
		idx[i] = i
	}
	f := strings.Fields(orderBy)
	if len(f) == 0 {
		return idx, ""
	}
	desc := len(f) == 2 && strings.EqualFold(f[1], "desc")
	if len(f) > 2 || (len(f) == 2 && !desc && !strings.EqualFold(f[1], "asc")) {
		return nil, "Invalid order_by clause: " + orderBy
	}
	var cmp func(a, b *Dataset) int
	switch f[0] {
	case "dataset_id":
		cmp = func(a, b *Dataset) int { return strings.Compare(a.ID, b.ID) }
	case "modified":
		cmp = func(a, b *Dataset) int { return a.Modified.Compare(b.Modified) }
	case "title":
		cmp = func(a, b *Dataset) int { return strings.Compare(a.Title, b.Title) }
	default:
		return nil, "Unknown field in order_by: " + f[0]
	}
	key := fmt.Sprintf("ods %s %t", f[0], desc)
	return src.derived(ds, key, func() any {
		sort.SliceStable(idx, func(i, j int) bool {
			c := cmp(&ds[idx[i]], &ds[idx[j]])
			if desc {
				c = -c
			}
			if c == 0 {
				return ds[idx[i]].ID < ds[idx[j]].ID
			}
			return c < 0
		})
		return idx
	}).([]int), ""
}

func odsList(src *source, r *http.Request) *reply {
	q := r.URL.Query()
	limit, offset := 10, 0
	var err error
	if v := q.Get("limit"); v != "" {
		if limit, err = parseNat(v); err != nil || limit > odsMaxLimit {
			return odsError(http.StatusBadRequest, "InvalidRESTParameterError",
				fmt.Sprintf("Invalid value for limit API parameter: %s was found but -1 <= limit <= %d is expected.", v, odsMaxLimit))
		}
	}
	if v := q.Get("offset"); v != "" {
		if offset, err = parseNat(v); err != nil {
			return odsError(http.StatusBadRequest, "InvalidRESTParameterError", "Invalid value for offset API parameter: "+v)
		}
	}
	if w := odsWindow(src); offset+limit > w {
		return odsError(http.StatusBadRequest, "InvalidRESTParameterError",
			fmt.Sprintf("Invalid value for limit and offset API parameters: offset (%d) + limit (%d) should be lower or equal to %d. Use the export endpoint to retrieve more.", offset, limit, w))
	}
	ds := src.datasets()
	idx, msg := odsOrder(src, ds, q.Get("order_by"))
	if msg != "" {
		return odsError(http.StatusBadRequest, "ODSQLError", msg)
	}
	total := len(idx)
	page := idx[min(offset, total):min(offset+limit, total)]
	pageNo := 1
	if limit > 0 {
		pageNo = offset/limit + 1
	}
	var lastMod time.Time
	for _, i := range page {
		if ds[i].Modified.After(lastMod) {
			lastMod = ds[i].Modified
		}
	}
	return &reply{status: http.StatusOK, contentType: "application/json; charset=utf-8", page: pageNo, lastMod: lastMod,
		render: func(w io.Writer) error {
			bw := bufio.NewWriterSize(w, 32<<10)
			fmt.Fprintf(bw, `{"total_count": %d, "results": [`, total)
			if err := odsWriteList(bw, src, ds, page); err != nil {
				return err
			}
			bw.WriteString("]}\n")
			return bw.Flush()
		}}
}

func odsExport(src *source, r *http.Request) *reply {
	ds := src.datasets()
	idx, msg := odsOrder(src, ds, r.URL.Query().Get("order_by"))
	if msg != "" {
		return odsError(http.StatusBadRequest, "ODSQLError", msg)
	}
	// The export counts as the page after the last one the window allows.
	return &reply{status: http.StatusOK, contentType: "application/json; charset=utf-8",
		page: odsWindow(src)/odsMaxLimit + 1, lastMod: maxModified(ds),
		render: func(w io.Writer) error {
			bw := bufio.NewWriterSize(w, 32<<10)
			bw.WriteString("[")
			if err := odsWriteList(bw, src, ds, idx); err != nil {
				return err
			}
			bw.WriteString("]\n")
			return bw.Flush()
		}}
}

func odsWriteList(bw *bufio.Writer, src *source, ds []Dataset, idx []int) error {
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for k, i := range idx {
		if k > 0 {
			bw.WriteString(", ")
		}
		if err := enc.Encode(odsDataset(src, &ds[i])); err != nil {
			return err
		}
	}
	return nil
}

type odsDS struct {
	DatasetID          string     `json:"dataset_id"`
	DatasetUID         string     `json:"dataset_uid"`
	Attachments        []odsAtt   `json:"attachments"`
	HasRecords         bool       `json:"has_records"`
	DataVisible        bool       `json:"data_visible"`
	Features           []string   `json:"features"`
	Metas              odsMetas   `json:"metas"`
	Fields             []odsField `json:"fields"`
	AlternativeExports []odsAtt   `json:"alternative_exports"`
}

type odsAtt struct {
	Href     string `json:"href,omitempty"`
	ID       string `json:"id"`
	Mimetype string `json:"mimetype"`
	Title    string `json:"title"`
	URL      string `json:"url"`
}

type odsField struct {
	Name        string         `json:"name"`
	Label       string         `json:"label"`
	Type        string         `json:"type"`
	Description any            `json:"description"`
	Annotations map[string]any `json:"annotations"`
}

type odsMetas struct {
	Default odsDefault `json:"default"`
	DCAT    odsDCAT    `json:"dcat"`
}

type odsDefault struct {
	Title             string   `json:"title"`
	Description       string   `json:"description"`
	Theme             []string `json:"theme"`
	Keyword           []string `json:"keyword"`
	License           string   `json:"license"`
	LicenseURL        string   `json:"license_url"`
	Language          string   `json:"language"`
	Timezone          any      `json:"timezone"`
	Modified          string   `json:"modified"`
	ModifiedUpdates   bool     `json:"modified_updates_on_data_change"`
	DataProcessed     string   `json:"data_processed"`
	MetadataProcessed string   `json:"metadata_processed"`
	Publisher         string   `json:"publisher"`
	References        any      `json:"references"`
	Territory         []string `json:"territory"`
	RecordsCount      int64    `json:"records_count"`
	Attributions      any      `json:"attributions"`
}

type odsDCAT struct {
	Created            string `json:"created"`
	Issued             string `json:"issued"`
	Creator            string `json:"creator"`
	ContactName        string `json:"contact_name"`
	ContactEmail       string `json:"contact_email"`
	AccrualPeriodicity any    `json:"accrualperiodicity"`
	Spatial            any    `json:"spatial"`
	Temporal           any    `json:"temporal"`
	Granularity        any    `json:"granularity"`
	DataQuality        any    `json:"dataquality"`
}

const odsTime = "2006-01-02T15:04:05.000Z"

// odsStandard are the formats every ODS dataset exports itself.
var odsStandard = map[string]bool{"CSV": true, "JSON": true, "GeoJSON": true, "SHP": true}

// odsDataset is the Explore v2.1 description of a dataset.
func odsDataset(src *source, d *Dataset) odsDS {
	api := src.site + "/api/explore/v2.1/catalog/datasets/" + url.PathEscape(d.ID)
	o := odsDS{
		DatasetID: d.ID, DatasetUID: "da_" + strings.ReplaceAll(uuidFrom(src.sim.opts.Seed, "ods:"+d.ID), "-", "")[:6],
		Attachments: []odsAtt{}, HasRecords: true, DataVisible: true, Features: []string{"analyze"},
		Fields: []odsField{}, AlternativeExports: []odsAtt{},
	}
	var records int64 = 1
	for _, r := range d.Resources {
		canon := canonicalFormat(r.Format)
		if canon == "GeoJSON" || canon == "SHP" {
			if len(o.Features) == 1 {
				o.Features = append(o.Features, "geo")
			}
		}
		if r.Size > 0 && records == 1 {
			records = r.Size/180 + 1
		}
		if odsStandard[canon] {
			continue
		}
		fi := formats[canon]
		file := d.Name + "." + fi.ext
		att := odsAtt{ID: strings.ReplaceAll(file, ".", "_"), Mimetype: r.MediaType, Title: file, URL: "odsfile://" + file}
		if canon == "ZIP" {
			att.Href = api + "/alternative_exports/" + att.ID
			o.AlternativeExports = append(o.AlternativeExports, att)
		} else {
			att.Href = api + "/attachments/" + att.ID
			o.Attachments = append(o.Attachments, att)
		}
	}
	for _, c := range d.Columns {
		o.Fields = append(o.Fields, odsField{Name: odsFieldName(c), Label: c, Type: odsFieldType(c), Annotations: map[string]any{}})
	}
	def := odsDefault{
		Title: d.Title, Description: odsHTML(d.Description), Theme: d.Themes, Keyword: d.Keywords,
		License: d.LicenseTitle, LicenseURL: d.LicenseURL, Language: "fr", Timezone: nil,
		Modified: d.Modified.UTC().Format(odsTime), ModifiedUpdates: false,
		DataProcessed: d.Modified.UTC().Format(odsTime), MetadataProcessed: d.Modified.Add(time.Minute).UTC().Format(odsTime),
		Publisher: d.Publisher, RecordsCount: records,
	}
	if d.SpatialLabel != "" {
		def.Territory = []string{d.SpatialLabel}
	}
	dc := odsDCAT{
		Created: d.Created.UTC().Format(odsTime), Issued: d.Created.UTC().Format(odsTime),
		Creator: d.Publisher, ContactName: d.Publisher, ContactEmail: d.Contact,
	}
	if d.SpatialINSEE != "" {
		dc.Spatial = d.SpatialLabel + " (commune " + d.SpatialINSEE + ")"
	}
	o.Metas = odsMetas{Default: def, DCAT: dc}
	return o
}

// canonicalFormat returns the generator's canonical name of a format label.
func canonicalFormat(label string) string {
	for canon, fi := range formats {
		if strings.EqualFold(fi.ods, label) || strings.EqualFold(canon, label) {
			return canon
		}
	}
	return label
}

// odsFieldName is how ODS names a field: lower case, non-alphanumerics as "_".
func odsFieldName(col string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(foldAccents(col)) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			b.WriteRune(c)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

func odsFieldType(col string) string {
	l := strings.ToLower(col)
	switch {
	case strings.Contains(l, "date") || l == "annee":
		return "date"
	case strings.HasPrefix(l, "montant") || strings.Contains(l, "nombre") || strings.HasPrefix(l, "vote_") ||
		l == "lat" || l == "long" || strings.HasSuffix(l, "_lat") || strings.HasSuffix(l, "_long"):
		return "double"
	}
	return "text"
}

// odsHTML writes a plain description as ODS's rich-text editor does.
func odsHTML(s string) string {
	var b strings.Builder
	for _, para := range strings.Split(s, "\n\n") {
		b.WriteString("<p>")
		b.WriteString(strings.ReplaceAll(html.EscapeString(para), "\n", "<br>"))
		b.WriteString("</p>")
	}
	return b.String()
}
