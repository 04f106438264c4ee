package normalize

import (
	"slices"
	"strings"
)

// First returns the first value that is not blank, trimmed ("" if none).
func First(v ...string) string {
	for _, s := range v {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}

// FirstText is the first of v that is not empty once cleaned by Text (a
// value of spaces or of markup only is no value), cleaned; "" if none.
func FirstText(v ...string) string {
	for _, s := range v {
		if s = Text(s); s != "" {
			return s
		}
	}
	return ""
}

// Unique drops empty and repeated values, keeping the first occurrence's order.
func Unique(list []string) []string {
	seen := make(map[string]bool, len(list))
	var out []string
	for _, v := range list {
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// Identifiers lists the other identifiers of a dataset (Dataset.identifiers):
// the values trimmed, without blanks, repeats, and the values of own (its
// original id and IRI, which the record already holds).
func Identifiers(own []string, values ...string) []string {
	var out []string
	for _, v := range values {
		v = strings.TrimSpace(v)
		if v == "" || slices.Contains(own, v) || slices.Contains(out, v) {
			continue
		}
		out = append(out, v)
	}
	return out
}
