package ods

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ParseError is an answer that is not an ODS catalogue answer.
type ParseError struct {
	Msg    string
	Offset int64 // bytes read when the error was found
}

func (e *ParseError) Error() string { return fmt.Sprintf("ods: at byte %d: %s", e.Offset, e.Msg) }

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
// a *ParseError.
func Decode(r io.Reader, fn func(Item) error) (int, int64, error) {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	n, total, err := decode(dec, fn)
	var pe *ParseError
	if errors.As(err, &pe) && pe.Offset == 0 {
		pe.Offset = dec.InputOffset()
	}
	return n, total, err
}

func decode(dec *json.Decoder, fn func(Item) error) (int, int64, error) {
	tok, err := dec.Token()
	if err != nil {
		return 0, -1, &ParseError{Msg: "not JSON: " + err.Error()}
	}
	switch tok {
	case json.Delim('['):
		n, err := decodeArray(dec, 0, fn)
		if err != nil {
			return n, -1, err
		}
		if _, err := dec.Token(); err != io.EOF {
			return n, -1, &ParseError{Msg: "data after the list"}
		}
		return n, int64(n), nil
	case json.Delim('{'):
	default:
		return 0, -1, &ParseError{Msg: fmt.Sprintf("expected a JSON object or list, got %v", tok)}
	}
	n := 0
	var total int64 = -1
	lists := 0
	single := map[string]json.RawMessage{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return n, total, &ParseError{Msg: err.Error()}
		}
		key, _ := t.(string)
		switch key {
		case "total_count", "nhits":
			var c json.Number
			if err := dec.Decode(&c); err != nil {
				return n, total, &ParseError{Msg: key + ": " + err.Error()}
			}
			v, err := c.Int64()
			if err != nil || v < 0 {
				return n, total, &ParseError{Msg: fmt.Sprintf("%s: not a count: %s", key, c)}
			}
			total = v
		case "results", "datasets":
			t, err := dec.Token()
			if err != nil {
				return n, total, &ParseError{Msg: key + ": " + err.Error()}
			}
			if t == nil { // "results": null
				lists++
				continue
			}
			if t != json.Delim('[') {
				return n, total, &ParseError{Msg: key + " is not a list"}
			}
			lists++
			k, err := decodeArray(dec, n, fn)
			n += k
			if err != nil {
				return n, total, err
			}
		default:
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return n, total, &ParseError{Msg: err.Error()}
			}
			single[key] = raw
		}
	}
	if _, err := dec.Token(); err != nil {
		return n, total, &ParseError{Msg: "truncated answer: " + err.Error()}
	}
	if lists == 0 {
		if single["dataset_id"] != nil || single["datasetid"] != nil || single["dataset"] != nil {
			raw, err := json.Marshal(single)
			if err != nil {
				return 0, -1, &ParseError{Msg: err.Error()}
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
			return 0, total, &ParseError{Msg: "the API answered an error: " + string(single["error_code"]) + " " + msg}
		}
		return 0, total, &ParseError{Msg: "no results, datasets nor dataset in the answer"}
	}
	return n, total, nil
}

// decodeArray reads items until the closing bracket (the opening one is consumed).
func decodeArray(dec *json.Decoder, start int, fn func(Item) error) (int, error) {
	n := 0
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return n, &ParseError{Msg: fmt.Sprintf("dataset %d: %v", start+n+1, err)}
		}
		n++
		if err := fn(Item{Index: start + n - 1, Raw: raw}); err != nil {
			return n, err
		}
	}
	if _, err := dec.Token(); err != nil {
		return n, &ParseError{Msg: "truncated list: " + err.Error()}
	}
	return n, nil
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
	Metas              map[string]json.RawMessage `json:"metas"`
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
	var def Default
	var dc DCAT
	var insp inspire
	if raw, ok := d.Metas["default"]; ok && len(raw) > 0 && raw[0] == '{' {
		_ = json.Unmarshal(raw, &def)
		if raw := d.Metas["dcat"]; len(raw) > 0 && raw[0] == '{' {
			_ = json.Unmarshal(raw, &dc)
		}
	} else if d.Metas != nil {
		b, _ := json.Marshal(d.Metas)
		_ = json.Unmarshal(b, &def)
	}
	if raw := d.InteropMetas["dcat"]; len(raw) > 0 && raw[0] == '{' && dc == (DCAT{}) {
		_ = json.Unmarshal(raw, &dc)
	}
	if raw := d.InteropMetas["inspire"]; len(raw) > 0 && raw[0] == '{' {
		_ = json.Unmarshal(raw, &insp)
	}
	return def, dc, insp
}
