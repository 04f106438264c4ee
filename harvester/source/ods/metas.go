package ods

import (
	"errors"
	"reflect"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	json "github.com/go-json-experiment/json/v1"
)

// Metas is a dataset's metas. API v2 writes it as blocks by metadata
// template ("default", "dcat", "inspire", "semantic"…), v1 as the default
// block's fields, flat. It is read in one pass: the default and dcat blocks
// are decoded where they stand and the other blocks skipped, rather than
// each block copied and decoded again.
type Metas struct {
	// Default is the default block, else (no "default" object: API v1)
	// the fields of metas read as one. DCAT is the dcat block; the mapper
	// reads it only along a default block (v1 has it in interop_metas).
	Default    Default
	DCAT       DCAT
	hasDefault bool
}

// defaultNames are Default's field names, lower-cased: the flat fields of
// a v1 metas (matched without case, as encoding/json does).
var defaultNames = func() map[string]bool {
	m := map[string]bool{}
	t := reflect.TypeFor[Default]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		m[strings.ToLower(name)] = true
	}
	return m
}()

var errMetasNotObject = errors.New("metas is not an object")

// UnmarshalJSONFrom implements json.UnmarshalerFrom. null is no metas;
// another value than an object fails the dataset, as it did when metas was
// decoded into a map.
func (m *Metas) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	*m = Metas{}
	switch dec.PeekKind() {
	case 'n':
		_, err := dec.ReadToken()
		return err
	case '{':
	default:
		if err := dec.SkipValue(); err != nil {
			return err
		}
		return errMetasNotObject
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	opts := dec.Options()
	var flat []byte // the v1 fields, as an object's members
	hasDCAT := false
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			return err
		}
		key := name.String()
		switch {
		case key == "default" || key == "dcat":
			// The last of a repeated name counts, as in a map.
			if dec.PeekKind() != '{' {
				if key == "default" {
					m.hasDefault, m.Default = false, Default{}
				} else {
					hasDCAT, m.DCAT = false, DCAT{}
				}
				if err := dec.SkipValue(); err != nil {
					return err
				}
				continue
			}
			// Default's and DCAT's fields never fail to decode (Str,
			// StrList, Int): an error is the document's syntax.
			if key == "default" {
				m.Default = Default{}
				err, m.hasDefault = jsonv2.UnmarshalDecode(dec, &m.Default, opts), true
			} else {
				m.DCAT = DCAT{}
				err, hasDCAT = jsonv2.UnmarshalDecode(dec, &m.DCAT, opts), true
			}
			if err != nil {
				return err
			}
		case defaultNames[strings.ToLower(key)]:
			v, err := dec.ReadValue()
			if err != nil {
				return err
			}
			if flat != nil {
				flat = append(flat, ',')
			}
			flat, _ = jsontext.AppendQuote(flat, key)
			flat = append(flat, ':')
			flat = append(flat, v...)
		default:
			if err := dec.SkipValue(); err != nil {
				return err
			}
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	if !hasDCAT {
		m.DCAT = DCAT{}
	}
	if !m.hasDefault {
		m.Default = Default{}
		if flat != nil {
			_ = json.Unmarshal(append(append([]byte{'{'}, flat...), '}'), &m.Default)
		}
	}
	return nil
}
