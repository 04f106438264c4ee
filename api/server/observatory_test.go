package server

import (
	"strings"
	"testing"
)

// The observatory's parameters are checked: an unknown one, a kind, a
// boolean or a sort that does not exist is a 400 that says which; the
// report itself answers (no territories configured: the index's).
func TestObservatoryParameters(t *testing.T) {
	srv, _ := testServer(t)
	for q, want := range map[string]string{
		"/v1/observatory?bogus=1":            "unknown parameter bogus",
		"/v1/observatory?kind=ville":         "kind must be one of commune, epci, departement, region",
		"/v1/observatory?obliged=maybe":      "obliged must be true or false",
		"/v1/observatory?publishes=2x":       "publishes must be true or false",
		"/v1/observatory?sort=-size":         "sort must be one of",
		"/v1/observatory?format=xml":         "format",
		"/v1/observatory/unresolved?kind=1":  "unknown parameter kind",
		"/v1/observatory/unresolved?format=": "",
	} {
		code, _, body := get(t, srv.URL+q)
		if want == "" {
			if code != 200 {
				t.Errorf("%s: %d %.200s", q, code, body)
			}
			continue
		}
		if code != 400 || !strings.Contains(body, want) || !strings.Contains(body, "bad_parameter") {
			t.Errorf("%s: %d %.200s, want 400 with %q", q, code, body, want)
		}
	}
	for _, q := range []string{"/v1/observatory", "/v1/observatory?kind=commune&obliged=true&sort=-population&territory=", "/v1/observatory?format=csv"} {
		if code, _, body := get(t, srv.URL+q); code != 200 {
			t.Errorf("%s: %d %.200s", q, code, body)
		}
	}
}
