package normalize

import (
	"reflect"
	"testing"
)

func TestThemeRows(t *testing.T) {
	if len(themes) != 13 {
		t.Errorf("%d themes, want the 13 EU data themes", len(themes))
	}
	for _, r := range themes {
		if len(r.Examples) == 0 || len(r.Words) == 0 || r.Label == "" {
			t.Errorf("theme %s: no example, word or label", r.Code)
		}
		for _, e := range r.Examples {
			if got := Themes([]string{e}); !reflect.DeepEqual(got, []string{r.Code}) {
				t.Errorf("Themes(%q) = %v, want [%s]", e, got, r.Code)
			}
		}
		// every word must match on its own, with the star expanded
		for _, w := range r.Words {
			in := w
			if in[len(in)-1] == '*' {
				in = in[:len(in)-1] + "s"
			}
			found := false
			for _, c := range Themes([]string{in}) {
				found = found || c == r.Code
			}
			if !found {
				t.Errorf("word %q of %s does not match %q", w, r.Code, in)
			}
		}
		uri := "http://publications.europa.eu/resource/authority/data-theme/" + r.Code
		if got := Themes([]string{uri}); !reflect.DeepEqual(got, []string{r.Code}) {
			t.Errorf("Themes(%q) = %v", uri, got)
		}
	}
}

func TestThemesCases(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want []string
	}{
		{nil, []string{}},
		{[]string{"", "opendata", "covid"}, []string{"HEAL"}},
		{[]string{"Transports, Déplacements", "Environnement", "Transports"}, []string{"ENVI", "TRAN"}},
		{[]string{"environnement-et-sante"}, []string{"ENVI", "HEAL"}},
		{[]string{"gove", "TRAN", "https://publications.europa.eu/resource/authority/data-theme/OP_DATPRO"}, []string{"GOVE", "TRAN"}},
		{[]string{"Business", "agriculture", "metropole", "Sécurité"}, []string{"AGRI", "ECON", "JUST"}},
		{[]string{"geospatial", "keyword1", "Pines", "evian"}, []string{}},
	} {
		if got := Themes(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Themes(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}
