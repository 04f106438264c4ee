package ods

import (
	"io"

	json "github.com/go-json-experiment/json/v1"

	"github.com/opendatafrance/moisson/harvester/source/jsonwalk"
)

// Item is one dataset of an answer, still undecoded: decoding happens per
// item so that a malformed dataset is a problem of that dataset only.
type Item struct {
	Index int             // 0-based position in the answer
	Raw   json.RawMessage // the dataset object (a v2.0 {"dataset": ...} wrapper is kept)
}

// Decode streams an ODS catalogue answer and calls fn for each dataset as
// soon as it is read. It understands:
//   - Explore v2.1 /catalog/datasets: {"total_count": N, "results": [...]}
//   - Explore v2.0 /catalog/datasets: {"total_count": N, "datasets": [{"dataset": {...}, "links": [...]}]}
//   - API v1 /api/datasets/1.0/search: {"nhits": N, "datasets": [{"datasetid", "metas", ...}]}
//   - /catalog/exports/json: a bare JSON array of datasets
//   - a single dataset object (v2.1, v2.0 wrapped, or v1)
//
// It returns the number of datasets and the declared total (-1 when the
// answer does not say). An ODS error answer ({"error_code", "message"}) is
// a *source.ParseError.
func Decode(r io.Reader, fn func(Item) error) (int, int64, error) {
	d := jsonwalk.NewDecoder(r, "ods")
	n := 0
	items := func() error {
		k, err := d.Items(n, func(i int, raw json.RawMessage) error { return fn(Item{Index: i, Raw: raw}) })
		n += k
		return err
	}
	open, err := d.Open()
	if err != nil {
		return 0, -1, err
	}
	if open == '[' {
		if err := items(); err != nil {
			return n, -1, err
		}
		if _, err := d.Token(); err != io.EOF {
			return n, -1, d.Errorf("data after the list")
		}
		return n, int64(n), nil
	}
	var total int64 = -1
	lists := 0
	single := map[string]json.RawMessage{}
	err = d.Object("answer", func(key string) error {
		switch key {
		case "total_count", "nhits":
			var err error
			total, err = d.Count(key)
			return err
		case "results", "datasets":
			ok, err := d.ListOrNull(key)
			if err != nil {
				return err
			}
			lists++ // "results": null is an empty list
			if !ok {
				return nil
			}
			return items()
		}
		raw, err := d.Raw()
		single[key] = raw
		return err
	})
	if err != nil {
		return n, total, err
	}
	if lists == 0 {
		if single["dataset_id"] != nil || single["datasetid"] != nil || single["dataset"] != nil {
			raw, err := json.Marshal(single)
			if err != nil {
				return 0, -1, d.Errorf("%v", err)
			}
			if err := fn(Item{Index: 0, Raw: raw}); err != nil {
				return 1, 1, err
			}
			return 1, 1, nil
		}
		if single["error_code"] != nil || single["message"] != nil || single["error"] != nil {
			msg := string(single["message"])
			if msg == "" {
				msg = string(single["error"])
			}
			return 0, total, d.Errorf("the API answered an error: %s %s", single["error_code"], msg)
		}
		return 0, total, d.Errorf("no results, datasets nor dataset in the answer")
	}
	return n, total, nil
}

// Dataset is an ODS dataset, as v2.1, v2.0 (inside "dataset") and v1 write it.
type Dataset struct {
	DatasetID          string                     `json:"dataset_id"`
	LegacyID           string                     `json:"datasetid"` // API v1
	UID                string                     `json:"dataset_uid"`
	HasRecords         *bool                      `json:"has_records"`
	Features           StrList                    `json:"features"`
	Attachments        []Attachment               `json:"attachments"`
	AlternativeExports []Attachment               `json:"alternative_exports"`
	Fields             []Field                    `json:"fields"`
	Metas              Metas                      `json:"metas"`
	InteropMetas       map[string]json.RawMessage `json:"interop_metas"` // API v1
	Wrapped            *Dataset                   `json:"dataset"`       // API v2.0 wrapper
}

// ID is the dataset's identifier.
func (d *Dataset) ID() string { return FirstNonEmpty(d.DatasetID, d.LegacyID) }

// Attachment is an attachment or an alternative export of a dataset.
type Attachment struct {
	ID          Str `json:"id"`
	Title       Str `json:"title"`
	Description Str `json:"description"`
	URL         Str `json:"url"`
	Href        Str `json:"href"`
	Mimetype    Str `json:"mimetype"`
}

// Field is a column of a dataset.
type Field struct {
	Name  Str `json:"name"`
	Label Str `json:"label"`
	Type  Str `json:"type"`
}

// Default is metas.default (v2) or the flat metas of v1.
type Default struct {
	Title             Str     `json:"title"`
	Description       Str     `json:"description"`
	Keyword           StrList `json:"keyword"`
	Theme             StrList `json:"theme"`
	License           Str     `json:"license"`
	LicenseURL        Str     `json:"license_url"`
	Language          Str     `json:"language"`
	Modified          Str     `json:"modified"`
	DataProcessed     Str     `json:"data_processed"`
	MetadataProcessed Str     `json:"metadata_processed"`
	Publisher         Str     `json:"publisher"`
	Territory         StrList `json:"territory"`
	References        Str     `json:"references"`
	RecordsCount      *Int    `json:"records_count"`
	Domain            Str     `json:"domain"`
}

// DCAT is metas.dcat (v2) or interop_metas.dcat (v1).
type DCAT struct {
	Created            Str `json:"created"`
	Issued             Str `json:"issued"`
	Creator            Str `json:"creator"`
	ContactName        Str `json:"contact_name"`
	ContactEmail       Str `json:"contact_email"`
	AccrualPeriodicity Str `json:"accrualperiodicity"`
	Spatial            Str `json:"spatial"`
	Temporal           Str `json:"temporal"`
}

// inspire is the part of interop_metas.inspire (v1) read as a fallback.
type inspire struct {
	ContactName  Str `json:"contact_individual_name"`
	ContactEmail Str `json:"contact_email"`
}

// Parse decodes one item into a Dataset (unwrapping v2.0's "dataset").
func Parse(raw json.RawMessage) (*Dataset, error) {
	var d Dataset
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, err
	}
	if d.Wrapped != nil && d.ID() == "" {
		w := d.Wrapped
		return w, nil
	}
	return &d, nil
}

// metas returns the default and dcat metadata, whatever the API version.
func (d *Dataset) metas() (Default, DCAT, inspire) {
	var dc DCAT
	var insp inspire
	def := d.Metas.Default
	if d.Metas.hasDefault {
		dc = d.Metas.DCAT
	}
	if raw := d.InteropMetas["dcat"]; len(raw) > 0 && raw[0] == '{' && dc == (DCAT{}) {
		_ = json.Unmarshal(raw, &dc)
	}
	if raw := d.InteropMetas["inspire"]; len(raw) > 0 && raw[0] == '{' {
		_ = json.Unmarshal(raw, &insp)
	}
	return def, dc, insp
}
