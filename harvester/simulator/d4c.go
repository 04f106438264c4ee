package simulator

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Data4Citizen: a Drupal front on CKAN. Its catalogue,
// /d4c/api/datasets/2.0/search/?rows=N&start=M, answers like CKAN's
// package_search ({"success", "result": {"count", "results"}}) — this is
// what public clients of data.anfr.fr and datagrandest.fr read — with the
// CKAN package dicts; the simulator adds each dataset's columns as an
// ODS-like "fields" list (the front's records API is ODS v1-like).

type d4cProtocol struct{}

const d4cHelp = "/d4c/api/datasets/2.0/search"

func (d4cProtocol) serve(src *source, r *http.Request, rest string) *reply {
	p := strings.TrimRight(rest, "/")
	if !strings.HasSuffix(p, "/datasets/2.0/search") {
		return nil
	}
	q := r.URL.Query()
	rows, start := 10, 0
	var err error
	if v := q.Get("rows"); v != "" {
		if rows, err = parseNat(v); err != nil {
			return ckanValidation(d4cHelp, "rows", "Invalid integer")
		}
	}
	if v := q.Get("start"); v != "" {
		if start, err = parseNat(v); err != nil {
			return ckanValidation(d4cHelp, "start", "Invalid integer")
		}
	}
	rows = min(rows, src.sim.opts.PageSizeCap)
	ds := src.datasets()
	count := len(ds)
	page := ds[min(start, count):min(start+rows, count)]
	pageNo := 1
	if rows > 0 {
		pageNo = start/rows + 1
	}
	return &reply{status: http.StatusOK, contentType: "application/json; charset=utf-8", page: pageNo,
		lastMod: maxModified(page),
		render: func(w io.Writer) error {
			bw := bufio.NewWriterSize(w, 32<<10)
			fmt.Fprintf(bw, `{"help": %q, "success": true, "result": {"count": %d, "sort": "score desc, metadata_modified desc", "facets": {}, "results": [`, d4cHelp, count)
			enc := json.NewEncoder(bw)
			enc.SetEscapeHTML(false)
			for k := range page {
				if k > 0 {
					bw.WriteString(", ")
				}
				if err := enc.Encode(d4cPackage(src, &page[k])); err != nil {
					return err
				}
			}
			bw.WriteString(`], "search_facets": {}}}` + "\n")
			return bw.Flush()
		}}
}

type d4cPkg struct {
	ckanPkg
	Fields []odsField `json:"fields"`
}

func d4cPackage(src *source, d *Dataset) d4cPkg {
	p := ckanPackage(src, d)
	// CKAN license ids, not the IRIs the generator writes for non-CKAN sources.
	for _, l := range licences {
		if l.title == d.LicenseTitle {
			p.LicenseID = l.ckanID
		}
	}
	// The CKAN back end stores files under the front's host.
	site := src.site
	for i := range p.Resources {
		r := &p.Resources[i]
		r.URL = fmt.Sprintf("%s/sites/default/files/dataset/%s_%s", site, d.Modified.UTC().Format("20060102150405"), d4cFileName(d, i))
	}
	p.Extras = append(p.Extras, ckanExtra{"date_modification_data", d.Modified.UTC().Format(time.RFC3339)})
	out := d4cPkg{ckanPkg: p, Fields: []odsField{}}
	for _, c := range d.Columns {
		out.Fields = append(out.Fields, odsField{Name: odsFieldName(c), Label: c, Type: odsFieldType(c), Annotations: map[string]any{}})
	}
	return out
}

func d4cFileName(d *Dataset, i int) string {
	canon := canonicalFormat(d.Resources[i].Format)
	ext := strings.ToLower(canon)
	if fi, ok := formats[canon]; ok {
		ext = fi.ext
	}
	return fmt.Sprintf("%s-%d.%s", d.Name, i+1, ext)
}
