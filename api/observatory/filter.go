package observatory

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/opendatafrance/moisson/referential"
)

// FilterParams are the query parameters ParseFilter reads.
var FilterParams = []string{"territory", "kind", "obliged", "publishes", "sort"}

// Kinds are the kinds of collectivité a filter takes, in their order.
var Kinds = func() (out []string) {
	for _, k := range referential.Kinds {
		out = append(out, string(k))
	}
	return out
}()

// ParamError is a filter parameter with a value it does not take; each
// caller words it (the API in English, the page in French).
type ParamError struct {
	Param, Value string
}

func (e *ParamError) Error() string {
	switch e.Param {
	case "kind":
		return fmt.Sprintf("kind must be one of %s, got %q", strings.Join(Kinds, ", "), e.Value)
	case "sort":
		return fmt.Sprintf("sort must be one of %s (with - for descending), got %q", strings.Join(Sorts, ", "), e.Value)
	}
	return fmt.Sprintf("%s must be true or false, got %q", e.Param, e.Value)
}

// ParseFilter reads a filter from query parameters: territory and kind
// (repeatable), obliged and publishes (true or false), sort (one of Sorts,
// with "-" first for descending). An empty value is no filter (what a form
// sends for "all").
func ParseFilter(q url.Values) (Filter, error) {
	var f Filter
	for _, t := range q["territory"] {
		if t != "" {
			f.Territories = append(f.Territories, t)
		}
	}
	for _, k := range q["kind"] {
		if k == "" {
			continue
		}
		if !slices.Contains(Kinds, k) {
			return f, &ParamError{"kind", k}
		}
		f.Kinds = append(f.Kinds, k)
	}
	for _, b := range []struct {
		name string
		dst  **bool
	}{{"obliged", &f.Obliged}, {"publishes", &f.Publishes}} {
		v := q.Get(b.name)
		if v == "" {
			continue
		}
		x, err := strconv.ParseBool(v)
		if err != nil {
			return f, &ParamError{b.name, v}
		}
		*b.dst = &x
	}
	if sv := q.Get("sort"); sv != "" {
		f.Sort, f.Desc = strings.TrimPrefix(sv, "-"), strings.HasPrefix(sv, "-")
		if !slices.Contains(Sorts, f.Sort) {
			return f, &ParamError{"sort", sv}
		}
	}
	return f, nil
}
