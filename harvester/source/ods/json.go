package ods

import (
	"strconv"
	"strings"

	json "github.com/go-json-experiment/json/v1"

	"github.com/opendatafrance/moisson/harvester/source/jsonwalk"
)

// Str is a metadata value ODS (or a portal imitating it) writes as a
// string, a number, a boolean, a list (joined with ", ") or null. Objects
// are ignored. It never fails to decode, so one odd value does not lose a
// dataset.
type Str string

// UnmarshalJSON implements json.Unmarshaler.
func (s *Str) UnmarshalJSON(b []byte) error {
	if t, ok := jsonwalk.PlainString(b); ok {
		*s = Str(t)
		return nil
	}
	*s = ""
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil
	}
	*s = Str(scalar(v))
	if list, ok := v.([]any); ok {
		var parts []string
		for _, e := range list {
			if t := strings.TrimSpace(scalar(e)); t != "" {
				parts = append(parts, t)
			}
		}
		*s = Str(strings.Join(parts, ", "))
	}
	return nil
}

// StrList is a list of strings written as a list, a single string, or null.
// Non-string items are turned into text; empty ones are dropped. A single
// string is kept whole (an ODS theme label such as "Spatial planning, Town
// planning" contains commas and is still one theme).
type StrList []string

// UnmarshalJSON implements json.Unmarshaler.
func (l *StrList) UnmarshalJSON(b []byte) error {
	*l = nil
	if t, ok := jsonwalk.PlainString(b); ok {
		if t = strings.TrimSpace(t); t != "" {
			*l = StrList{t}
		}
		return nil
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil
	}
	add := func(e any) {
		if t := strings.TrimSpace(scalar(e)); t != "" {
			*l = append(*l, t)
		}
	}
	if list, ok := v.([]any); ok {
		for _, e := range list {
			add(e)
		}
		return nil
	}
	add(v)
	return nil
}

func scalar(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case map[string]any:
		// {"fr": "...", "en": "..."}: a translated value.
		for _, k := range []string{"fr", "en"} {
			if s, ok := x[k].(string); ok && s != "" {
				return s
			}
		}
	}
	return ""
}

// Int is a count written as a number or a numeric string; anything else is -1.
type Int int64

// UnmarshalJSON implements json.Unmarshaler.
func (n *Int) UnmarshalJSON(b []byte) error {
	*n = -1
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil
	}
	switch x := v.(type) {
	case float64:
		if x >= 0 && x < 1<<62 {
			*n = Int(x)
		}
	case string:
		if i, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil && i >= 0 {
			*n = Int(i)
		}
	}
	return nil
}

// FirstNonEmpty returns the first non-blank value, trimmed.
func FirstNonEmpty(v ...string) string {
	for _, s := range v {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}
