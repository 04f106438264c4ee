package normalize

import "testing"

func TestSIREN(t *testing.T) {
	for in, want := range map[string]string{
		"224400028":                 "224400028",
		"224400028_budget-primitif": "224400028",
		"21440109300015":            "214401093",
		"https://entreprise.data.gouv.fr/etablissements/21440109300015": "214401093",
		"SIREN : 224 400 028":                    "224400028",
		"SIRET 214 401 093 00015":                "214401093",
		"urn:siren:243500139 (Rennes Métropole)": "243500139",
		"224400029":                         "", // Luhn fails
		"000000000":                         "", // all zeros
		"2244000280":                        "", // 10 digits: not a SIREN
		"tel 0240000000 / 1615543200123":    "",
		"m2a_equipements":                   "",
		"":                                  "",
		"bad 224400029 then good 224400028": "224400028",
	} {
		if got := SIREN(in); got != want {
			t.Errorf("SIREN(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLuhn(t *testing.T) {
	for in, want := range map[string]bool{"224400028": true, "214401093": true, "243500139": true, "732829320": true, "732829321": false} {
		if got := luhn(in); got != want {
			t.Errorf("luhn(%s) = %v", in, got)
		}
	}
}

func TestINSEE(t *testing.T) {
	for in, want := range map[string]string{
		"44109":                                  "44109",
		" 2A004 ":                                "2A004",
		"2b033":                                  "2B033",
		"http://id.insee.fr/geo/commune/44109":   "44109",
		"https://geo.api.gouv.fr/communes/44109": "44109",
		"COG 44109":                              "44109",
		"code INSEE : 35238":                     "35238",
		"https://id.insee.fr/geo/commune/2A004":  "2A004",
		"code_commune=97411":                     "97411",
		"Nantes 44000":                           "", // a postcode in free text
		"http://id.insee.fr/geo/commune/441090":  "",
		"00123":                                  "",
		"20123":                                  "", // Corsica is 2A/2B
		"99123":                                  "",
		"97912":                                  "",
		"":                                       "",
		"commune/2C004":                          "",
	} {
		if got := INSEE(in); got != want {
			t.Errorf("INSEE(%q) = %q, want %q", in, got, want)
		}
	}
}
