package simulator

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Data Fair (Koumoul), under /data-fair/api/v1: /datasets?size=N&page=P
// (or skip=; size+skip ≤ 10000; or after=<sort value>,<id>, the datasets
// after that one in the sort order, without cap; default size 12; sort "field:1" or
// "-field", default -createdAt; select= keeps only the listed fields plus
// id, slug, owner) answering {"count", "results"} with full dataset
// documents (schema included) unless select= leaves it out, and
// /datasets/{id} (by id or slug).

type datafairProtocol struct{}

func (datafairProtocol) serve(src *source, r *http.Request, rest string) *reply {
	p := strings.TrimRight(rest, "/")
	if strings.HasSuffix(p, "/datasets") {
		return dfList(src, r)
	}
	i := strings.LastIndex(p, "/datasets/")
	if i < 0 {
		return nil
	}
	id := p[i+len("/datasets/"):]
	if id == "" || strings.Contains(id, "/") {
		return nil
	}
	ds := src.datasets()
	for k := range ds {
		doc := dfDataset(src, &ds[k])
		if doc.ID == id || doc.Slug == id {
			return jsonReply(http.StatusOK, marshalJSON(doc), ds[k].Modified)
		}
	}
	return dfError(http.StatusNotFound, "Jeu de données inconnu")
}

func dfError(status int, msg string) *reply {
	// Data Fair answers errors as plain text.
	body := []byte(msg)
	return &reply{status: status, contentType: "text/plain; charset=utf-8",
		render: func(w io.Writer) error { _, err := w.Write(body); return err }}
}

func dfList(src *source, r *http.Request) *reply {
	q := r.URL.Query()
	size, skip := 12, 0
	var err error
	if v := q.Get("size"); v != "" {
		if size, err = parseNat(v); err != nil {
			return dfError(http.StatusBadRequest, "size must be an integer")
		}
	}
	if v := q.Get("skip"); v != "" {
		if skip, err = parseNat(v); err != nil {
			return dfError(http.StatusBadRequest, "skip must be an integer")
		}
	} else if v := q.Get("page"); v != "" {
		pg, err := parseNat(v)
		if err != nil || pg == 0 {
			return dfError(http.StatusBadRequest, "page must be a positive integer")
		}
		skip = (pg - 1) * size
	}
	after := q.Get("after")
	if size+skip > 10000 && after == "" {
		return dfError(http.StatusBadRequest, `"size + skip" cannot be more than 10000`)
	}
	ds := src.datasets()
	docs := src.derived(ds, "datafair docs", func() any {
		docs := make([]dfDoc, len(ds))
		for i := range ds {
			docs[i] = dfDataset(src, &ds[i])
		}
		return docs
	}).([]dfDoc)
	idx, msg := dfSort(src, ds, docs, q.Get("sort"))
	if msg != "" {
		return dfError(http.StatusBadRequest, msg)
	}
	var sel []string
	if v := q.Get("select"); v != "" {
		sel = strings.Split(v, ",")
	}
	count := len(idx)
	if after != "" {
		// Keyset paging: from the first dataset after (value, id) in the
		// sort order.
		val, id, ok := strings.Cut(after, ",")
		if !ok {
			return dfError(http.StatusBadRequest, `"after" is "<value of the sort key>,<id>"`)
		}
		key := dfSortKey(q.Get("sort"))
		desc := strings.HasPrefix(q.Get("sort"), "-") || strings.HasSuffix(q.Get("sort"), ":-1") || q.Get("sort") == ""
		skip = sort.Search(count, func(i int) bool {
			d := &docs[idx[i]]
			c := strings.Compare(key(d), val)
			if desc {
				c = -c
			}
			return c > 0 || c == 0 && d.ID > id
		})
	}
	page := idx[min(skip, count):min(skip+size, count)]
	pageNo := 1
	if size > 0 {
		pageNo = skip/size + 1
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
			fmt.Fprintf(bw, `{"count": %d, "results": [`, count)
			enc := json.NewEncoder(bw)
			enc.SetEscapeHTML(false)
			for k, i := range page {
				if k > 0 {
					bw.WriteString(", ")
				}
				var v any = docs[i]
				if sel != nil {
					v = dfSelect(docs[i], sel)
				}
				if err := enc.Encode(v); err != nil {
					return err
				}
			}
			bw.WriteString("]}\n")
			return bw.Flush()
		}}
}

// dfSort orders docs (made from ds) by spec, once per source and spec:
// "createdAt:1", "-createdAt", "title:-1" (one key; ties by id).
func dfSort(src *source, ds []Dataset, docs []dfDoc, spec string) ([]int, string) {
	if spec == "" {
		spec = "-createdAt"
	}
	field, dir := spec, 1
	if strings.HasPrefix(field, "-") {
		field, dir = field[1:], -1
	}
	if f, d, ok := strings.Cut(field, ":"); ok {
		field = f
		switch d {
		case "1":
		case "-1":
			dir = -1
		default:
			return nil, fmt.Sprintf("bad sort order %q", spec)
		}
	}
	key := dfKeys[field]
	if key == nil {
		return nil, fmt.Sprintf("cannot sort on %q", field)
	}
	return src.derived(ds, fmt.Sprintf("datafair %s %d", field, dir), func() any {
		idx := make([]int, len(docs))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool {
			c := strings.Compare(key(&docs[idx[a]]), key(&docs[idx[b]])) * dir
			if c == 0 {
				return docs[idx[a]].ID < docs[idx[b]].ID
			}
			return c < 0
		})
		return idx
	}).([]int), ""
}

var dfKeys = map[string]func(*dfDoc) string{
	"createdAt": func(d *dfDoc) string { return d.CreatedAt }, "updatedAt": func(d *dfDoc) string { return d.UpdatedAt },
	"dataUpdatedAt": func(d *dfDoc) string { return d.DataUpdatedAt }, "id": func(d *dfDoc) string { return d.ID },
	"title": func(d *dfDoc) string { return d.Title },
}

// dfSortKey is the key function of a sort spec (dfSort checked it).
func dfSortKey(spec string) func(*dfDoc) string {
	if spec == "" {
		spec = "-createdAt"
	}
	field, _, _ := strings.Cut(strings.TrimPrefix(spec, "-"), ":")
	return dfKeys[field]
}

func dfSelect(doc dfDoc, sel []string) map[string]json.RawMessage {
	b := marshalJSON(doc)
	var all map[string]json.RawMessage
	_ = json.Unmarshal(b, &all)
	keep := map[string]bool{"id": true, "slug": true, "owner": true}
	for _, s := range sel {
		keep[strings.TrimSpace(s)] = true
	}
	out := map[string]json.RawMessage{}
	for k, v := range all {
		if keep[k] {
			out[k] = v
		}
	}
	return out
}

type dfDoc struct {
	ID            string         `json:"id"`
	Slug          string         `json:"slug"`
	Href          string         `json:"href"`
	Page          string         `json:"page"`
	Title         string         `json:"title"`
	Description   string         `json:"description"`
	Keywords      []string       `json:"keywords"`
	Topics        []dfTopic      `json:"topics"`
	License       *dfLicense     `json:"license,omitempty"`
	Owner         dfOwner        `json:"owner"`
	CreatedAt     string         `json:"createdAt"`
	UpdatedAt     string         `json:"updatedAt"`
	DataUpdatedAt string         `json:"dataUpdatedAt,omitempty"`
	Status        string         `json:"status"`
	File          *dfFile        `json:"file,omitempty"`
	OriginalFile  *dfFile        `json:"originalFile,omitempty"`
	IsMetaOnly    bool           `json:"isMetaOnly,omitempty"`
	Count         int64          `json:"count"`
	Bbox          []float64      `json:"bbox,omitempty"`
	Spatial       string         `json:"spatial,omitempty"`
	Frequency     string         `json:"frequency,omitempty"`
	Schema        []dfProp       `json:"schema"`
	Attachments   []dfAttachment `json:"attachments,omitempty"`
}

type dfTopic struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Color string `json:"color"`
}

type dfLicense struct {
	Title string `json:"title"`
	Href  string `json:"href"`
}

type dfOwner struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Name string `json:"name"`
}

type dfFile struct {
	Name     string `json:"name"`
	Size     int64  `json:"size"`
	Mimetype string `json:"mimetype"`
}

type dfProp struct {
	Key          string `json:"key"`
	Type         string `json:"type"`
	Format       string `json:"format,omitempty"`
	Title        string `json:"title,omitempty"`
	OriginalName string `json:"x-originalName,omitempty"`
	Calculated   bool   `json:"x-calculated,omitempty"`
}

type dfAttachment struct {
	Type     string `json:"type"`
	Name     string `json:"name,omitempty"`
	Title    string `json:"title"`
	URL      string `json:"url"`
	Mimetype string `json:"mimetype,omitempty"`
	Size     int64  `json:"size,omitempty"`
}

const dfTime = "2006-01-02T15:04:05.000Z"

// dfDataset is the Data Fair document of a dataset. Its href uses the real
// endpoint (Data Fair writes its public URL), its page the portal.
func dfDataset(src *source, d *Dataset) dfDoc {
	seed := src.sim.opts.Seed
	id := strings.ReplaceAll(uuidFrom(seed, "datafair:"+d.ID), "-", "")[:24]
	if len(d.Name)%3 == 0 { // datasets created before 2023 kept their slug as id
		id = d.Name
	}
	api := strings.TrimRight(src.cfg.Endpoint, "/")
	doc := dfDoc{
		ID: id, Slug: d.Name, Href: api + "/datasets/" + url.PathEscape(id),
		Page:  src.portalURL() + "/datasets/" + url.PathEscape(d.Name),
		Title: d.Title, Description: d.Description, Keywords: d.Keywords, Topics: []dfTopic{},
		Owner:     dfOwner{Type: "organization", ID: strings.ReplaceAll(d.OrgID, "-", "")[:20], Name: d.Publisher},
		CreatedAt: d.Created.UTC().Format(dfTime), UpdatedAt: d.Modified.UTC().Format(dfTime),
		Status: "finalized", Schema: []dfProp{},
	}
	if doc.Keywords == nil {
		doc.Keywords = []string{}
	}
	for _, th := range d.Themes {
		doc.Topics = append(doc.Topics, dfTopic{ID: slugify(th), Title: th, Color: "#1e88e5"})
	}
	if d.LicenseTitle != "" {
		doc.License = &dfLicense{Title: d.LicenseTitle, Href: d.LicenseURL}
	}
	if len(d.Resources) > 0 {
		main := d.Resources[0]
		canon := canonicalFormat(main.Format)
		fi := formats[canon]
		doc.OriginalFile = &dfFile{Name: d.Name + "." + fi.ext, Size: main.Size, Mimetype: main.MediaType}
		doc.File = &dfFile{Name: d.Name + ".csv", Size: main.Size, Mimetype: "text/csv"}
		doc.DataUpdatedAt = main.Modified.UTC().Format(dfTime)
		doc.Count = main.Size/150 + 1
		for _, r := range d.Resources[1:] {
			c := canonicalFormat(r.Format)
			name := d.Name + "." + formats[c].ext
			doc.Attachments = append(doc.Attachments, dfAttachment{Type: "file", Name: name, Title: r.Title,
				URL: doc.Href + "/metadata-attachments/" + name, Mimetype: r.MediaType, Size: r.Size})
		}
	} else {
		doc.IsMetaOnly = true
	}
	if d.SpatialINSEE != "" {
		doc.Bbox = []float64{d.Lon - 0.05, d.Lat - 0.05, d.Lon + 0.05, d.Lat + 0.05}
		doc.Spatial = d.SpatialLabel
	}
	for _, c := range d.Columns {
		key := strings.ReplaceAll(c, ".", "_")
		doc.Schema = append(doc.Schema, dfProp{Key: key, Type: "string", OriginalName: c, Title: c})
	}
	doc.Schema = append(doc.Schema,
		dfProp{Key: "_i", Type: "integer", Title: "Numéro de ligne", Calculated: true},
		dfProp{Key: "_rand", Type: "integer", Title: "Nombre aléatoire", Calculated: true},
		dfProp{Key: "_id", Type: "string", Format: "uri-reference", Title: "Identifiant", Calculated: true})
	return doc
}
