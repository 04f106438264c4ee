package normalize

import (
	"strings"
	"testing"
)

// validLicenseID tells whether License may return id.
func validLicenseID(id string) bool {
	if _, ok := licenseByID[id]; ok {
		return true
	}
	return ccID.MatchString(id)
}

func TestLicenseTableRows(t *testing.T) {
	if len(licenses) == 0 {
		t.Fatal("empty licence table")
	}
	seen := map[string]string{}
	for _, row := range licenses {
		if row.ID == "" || row.Label == "" {
			t.Errorf("row %+v: empty id or label", row)
		}
		if got := LicenseLabel(row.ID); got != row.Label {
			t.Errorf("LicenseLabel(%q) = %q, want %q", row.ID, got, row.Label)
		}
		if len(row.Aliases)+len(row.Examples) == 0 {
			t.Errorf("row %s has no alias nor example", row.ID)
		}
		for _, a := range row.Aliases {
			k := aliasKey(a)
			if prev, dup := seen[k]; dup && prev != row.ID {
				t.Errorf("alias %q (key %q) in rows %s and %s", a, k, prev, row.ID)
			}
			seen[k] = row.ID
			if got := License(a); got != row.ID {
				t.Errorf("License(alias %q) = %q, want %q", a, got, row.ID)
			}
		}
		for _, e := range row.Examples {
			if got := License(e); got != row.ID {
				t.Errorf("License(example %q) = %q, want %q", e, got, row.ID)
			}
		}
	}
	// Every pattern must be reachable: some alias or example of its row
	// must be decided by that very pattern (not by an alias).
	for _, p := range licensePats {
		used := false
		for _, s := range append(append([]string{}, p.row.Examples...), p.row.Aliases...) {
			if _, isAlias := licenseByAlias[aliasKey(Text(s))]; !isAlias && p.re.MatchString(key(Text(s))) {
				used = true
			}
		}
		if !used {
			t.Errorf("pattern %q of %s has no example of its own", p.re, p.row.ID)
		}
	}
}

func TestLicenseCCKinds(t *testing.T) {
	for _, k := range ccKinds {
		if len(k.Examples) == 0 {
			t.Errorf("cc kind %s has no example", k.Code)
		}
		for in, want := range k.Examples {
			if !strings.HasPrefix(want, "cc-"+k.Code+"-") {
				t.Errorf("cc kind %s: example %q expects %q of another kind", k.Code, in, want)
			}
			got := License(in)
			if got != want {
				t.Errorf("License(%q) = %q, want %q", in, got, want)
			}
			if lbl := LicenseLabel(got); !strings.HasPrefix(lbl, "CC "+strings.ToUpper(k.Code)+" ") {
				t.Errorf("LicenseLabel(%q) = %q", got, lbl)
			}
		}
	}
}

func TestLicenseMore(t *testing.T) {
	for in, want := range map[string]string{
		"Licence Ouverte":      "etalab-2.0",
		"Licence ouverte v2.0": "etalab-2.0",
		"lov2":                 "etalab-2.0",
		"fr-lo":                "etalab-1.0",
		"etalab-2.0":           "etalab-2.0",
		"https://www.etalab.gouv.fr/licence-ouverte-open-licence": "etalab-2.0",
		"https://spdx.org/licenses/etalab-2.0":                    "etalab-2.0",
		"Licence Ouverte Version 1.0":                             "etalab-1.0",
		"other-closed":                                            "other",
		"notspecified":                                            "unknown",
		"":                                                        "unknown",
		"ODbL":                                                    "odbl-1.0",
		"CC-BY 4.0":                                               "cc-by-4.0",
		"cc-by-sa-4.0":                                            "cc-by-sa-4.0",
		"CC BY 3.0":                                               "cc-by-3.0",
		"cc0":                                                     "cc0-1.0",
		"Creative Commons Attribution 4.0 International Licence": "cc-by-4.0",
		"http://www.opendefinition.org/licenses/cc-by":           "cc-by-4.0",
		"<DIV><P><SPAN>Creative Commons BY-NC</SPAN></P></DIV>":  "cc-by-nc-4.0",
	} {
		if got := License(in); got != want {
			t.Errorf("License(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLicenseLabelOther(t *testing.T) {
	for in, want := range map[string]string{
		"":                "Licence non précisée",
		"cc-by-nc-nd-3.0": "CC BY-NC-ND 3.0",
		"cc-by-4.0":       "CC BY 4.0",
		"mystery-1.0":     "mystery-1.0",
	} {
		if got := LicenseLabel(in); got != want {
			t.Errorf("LicenseLabel(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLicenseOf(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want string
	}{
		{[]string{"", "  "}, "unknown"},
		{nil, "unknown"},
		{[]string{"notspecified", "https://www.etalab.gouv.fr/licence-ouverte-open-licence"}, "etalab-2.0"},
		{[]string{"Licence maison de la commune", "odc-odbl"}, "odbl-1.0"}, // a known one wins over an unknown label
		{[]string{"Licence maison de la commune"}, "other"},
		{[]string{"", "cc-by", "odc-odbl"}, "cc-by-4.0"}, // the first known one
	} {
		if got := LicenseOf(c.in...); got != c.want {
			t.Errorf("LicenseOf(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
