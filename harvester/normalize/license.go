package normalize

import (
	"regexp"
	"strings"
)

// Normalised licence ids that are not a specific licence.
const (
	LicenseOther   = "other"   // a licence is stated but cannot be mapped
	LicenseUnknown = "unknown" // nothing stated, or explicitly "not specified"
)

// licenseRow is one normalised licence.
//
// Aliases are compared exactly after aliasKey (scheme and "www." dropped,
// folded, lower-cased, punctuation → space), so "etalab-2.0", "Etalab 2.0"
// and "https://spdx.org/licenses/etalab-2.0" need one alias each at most.
// Patterns are regular expressions over key(raw), tried in table order
// after no alias matched. Examples are other raw strings that must map to
// ID; the tests check every alias and every example.
type licenseRow struct {
	ID       string
	Label    string // French display label
	Aliases  []string
	Patterns []string
	Examples []string
}

// licenses is THE licence table. Order matters for patterns: etalab-1.0
// comes before etalab-2.0 (whose patterns also catch unversioned labels).
// Creative Commons licences other than CC0 are decoded by ccLicense with
// the ccKinds table, after these patterns and before the fallback "other".
//
// Rules:
//   - an unversioned "Licence Ouverte"/"Etalab" label or URL means the current
//     version, etalab-2.0; an explicit 1.0, udata's "fr-lo" id and the
//     2011-2014 URLs (data.gouv.fr/Licence-Ouverte-Open-Licence,
//     etalab.gouv.fr/pages/Licence_ouverte_Open_licence-5899923.html) mean etalab-1.0;
//   - every CKAN/udata "other-*" id (other-open, other-pd, other-at, other-nc,
//     other-closed) and any non-empty licence we cannot map is "other";
//   - "notspecified", "License not specified", "non renseignée"... and the
//     empty string are "unknown".
var licenses = []licenseRow{
	{
		ID: LicenseUnknown, Label: "Licence non précisée",
		Aliases: []string{"notspecified", "License not specified", "License Not Specified", "not specified",
			"unknown", "inconnue", "inconnu", "none", "null", "n/a", "nan", "undefined", "non renseignée",
			"non précisée", "non spécifiée", "aucune", "-"},
		Patterns: []string{`\blicen[cs]e (is )?not specified\b`, `^licen[cs]e non (renseignee|precisee|specifiee)$`},
		Examples: []string{"", "   ", "Licence non renseignée", "The license is not specified"},
	},
	{
		ID: "etalab-1.0", Label: "Licence Ouverte 1.0",
		Aliases: []string{"etalab-1.0", "fr-lo", "lo-1.0", "lov1", "Licence Ouverte v1.0", "Licence Ouverte Version 1.0",
			"Licence Ouverte / Open Licence version 1.0",
			"http://www.data.gouv.fr/Licence-Ouverte-Open-Licence",
			"http://www.etalab.gouv.fr/pages/Licence_ouverte_Open_licence-5899923.html",
			"https://www.etalab.gouv.fr/wp-content/uploads/2014/05/Licence_Ouverte.pdf",
			"https://www.etalab.gouv.fr/wp-content/uploads/2014/05/Open_Licence.pdf"},
		Patterns: []string{
			`\b(licence ouverte|open licen[cs]e|etalab)( open licen[cs]e| etalab| lo)*( v| version| ver)? ?1( 0)?\b`,
			`\bdata gouv fr licence ouverte open licence\b`,
			`\blicence ouverte open licence 5899923\b`,
		},
		Examples: []string{"Licence Ouverte 1.0 http://www.data.gouv.fr/Licence-Ouverte-Open-Licence.",
			"Licence ouverte (Etalab) v1", "Open Licence 1.0",
			"voir etalab.gouv.fr/pages/Licence_ouverte_Open_licence-5899923.html"},
	},
	{
		ID: "etalab-2.0", Label: "Licence Ouverte 2.0",
		Aliases: []string{"etalab-2.0", "lov2", "lo-2.0", "lo2", "Licence Ouverte", "Licence ouverte v2.0",
			"Licence Ouverte Version 2.0", "Licence Ouverte / Open Licence", "Licence Ouverte / Open Licence version 2.0",
			"Licence Ouverte (Etalab)", "Licence Ouverte v2.0 (Etalab)", "Open Licence", "Open Licence 2.0", "Etalab",
			"https://www.etalab.gouv.fr/licence-ouverte-open-licence",
			"https://www.etalab.gouv.fr/wp-content/uploads/2017/04/ETALAB-Licence-Ouverte-v2.0.pdf",
			"https://www.etalab.gouv.fr/wp-content/uploads/2018/11/open-licence.pdf",
			"https://spdx.org/licenses/etalab-2.0", "https://spdx.org/licenses/etalab-2.0.html"},
		Patterns: []string{
			`\b(licence ouverte|open licen[cs]e)\b`,
			`\betalab\b`,
			`\blov2\b`,
		},
		Examples: []string{"Licence Ouverte version 2.0  https://www.etalab.gouv.fr/wp-content/uploads/2017/04/ETALAB-Licence-Ouverte-v2.0.pdf",
			"Soumis à la licence Etalab", "<p>Soumis à la <b>licence Etalab</b></p>", "LICENCE OUVERTE V2",
			"Licence Ouverte / Open License (compatible ODC-BY, CC-BY 2.0)", "licence-ouverte-etalab-2-0",
			"https://www.etalab.gouv.fr/licence-ouverte-open-licence/", "lov2 (data.gouv.fr)"},
	},
	{
		ID: "odbl-1.0", Label: "ODbL 1.0",
		Aliases: []string{"odbl-1.0", "odbl", "odc-odbl", "ODbL 1.0", "Open Database License (ODbL)",
			"Open Data Commons Open Database License (ODbL)", "Licence ODbL",
			"http://opendatacommons.org/licenses/odbl/", "https://opendatacommons.org/licenses/odbl/1-0/",
			"http://opendatacommons.org/licenses/odbl/1.0/", "http://www.opendefinition.org/licenses/odc-odbl",
			"https://spdx.org/licenses/ODbL-1.0", "http://publications.europa.eu/resource/authority/licence/ODC_BL"},
		Patterns: []string{`\bodbl\b`, `\bopen ?database licen[cs]e\b`, `\bodc bl\b`},
		Examples: []string{"Open Database License (ODbL) v1.0", "licence ODbL Open Data Commons", "EU licence ODC_BL (2019)"},
	},
	{
		ID: "odc-by-1.0", Label: "ODC-BY 1.0",
		Aliases: []string{"odc-by-1.0", "odc-by", "Open Data Commons Attribution License",
			"http://opendatacommons.org/licenses/by/", "https://opendatacommons.org/licenses/by/1-0/",
			"http://www.opendefinition.org/licenses/odc-by", "https://spdx.org/licenses/ODC-By-1.0"},
		Patterns: []string{`\bodc by\b`, `\bopen data commons attribution\b`, `\bopendatacommons org licenses by\b`},
		Examples: []string{"ODC-BY v1.0 (Open Data Commons)", "Open Data Commons Attribution License v1.0",
			"see opendatacommons.org/licenses/by/summary/"},
	},
	{
		ID: "pddl-1.0", Label: "PDDL 1.0",
		Aliases: []string{"pddl-1.0", "pddl", "odc-pddl", "Open Data Commons Public Domain Dedication and License (PDDL)",
			"http://opendatacommons.org/licenses/pddl/", "https://opendatacommons.org/licenses/pddl/1-0/",
			"http://www.opendefinition.org/licenses/odc-pddl", "https://spdx.org/licenses/PDDL-1.0",
			"http://publications.europa.eu/resource/authority/licence/ODC_PDDL"},
		Patterns: []string{`\bpddl\b`, `\bpublic domain dedication and licen[cs]e\b`},
		Examples: []string{"ODC-PDDL 1.0", "Public Domain Dedication and License v1.0"},
	},
	{
		ID: "cc0-1.0", Label: "CC0 1.0 (domaine public)",
		Aliases: []string{"cc0-1.0", "cc0", "cc-zero", "CC0 1.0", "Creative Commons CCZero", "Creative Commons Zero",
			"https://creativecommons.org/publicdomain/zero/1.0/", "http://www.opendefinition.org/licenses/cc-zero",
			"https://spdx.org/licenses/CC0-1.0", "http://publications.europa.eu/resource/authority/licence/CC0"},
		Patterns: []string{`\bcc ?0\b`, `\bcc ?zero\b`, `\bpublicdomain zero\b`, `\bcreative commons zero\b`},
		Examples: []string{"CC0 1.0 Universel (domaine public)", "Creative Commons CC0", "CC-Zero (domaine public)",
			"http://creativecommons.org/publicdomain/zero/1.0/deed.fr", "Creative Commons Zero v1.0 Universal"},
	},
	{
		ID: LicenseOther, Label: "Autre licence",
		Aliases: []string{"other", "autre", "other-open", "other-pd", "other-at", "other-nc", "other-closed",
			"Other (Open)", "Other (Public Domain)", "Other (Attribution)", "Other (Non-Commercial)", "Other (Not Open)",
			"gfdl", "uk-ogl", "mit", "apache-2.0", "Licence fermée",
			"http://publications.europa.eu/resource/authority/licence/COM_REUSE"},
		Patterns: []string{`^other\b`, `^autre\b`},
		Examples: []string{"https://data.some.org/link/to/license", "open use", "Licence propriétaire de la collectivité",
			"other-whatever", "Autre (voir conditions)"},
	},
}

// ccKind is one Creative Commons licence family (the version is read apart).
type ccKind struct {
	Code     string            // by, by-sa, ...: ids are cc-<code>-<version>
	Examples map[string]string // raw string → expected id (tested)
}

// ccKinds is THE Creative Commons table (CC0 is a licences row). A raw string
// counts as Creative Commons when it says "creative commons", "cc by...",
// "cc-nc"... (any form: label, CKAN id, SPDX id, creativecommons.org URL, EU
// authority URI such as CC_BYNCND_3_0). Its elements (NC, ND, SA, in English
// or French words) pick the row. Its version is the first "1.0", "2.0",
// "2.5", "3.0" or "4.0"; when none is given it is 4.0 (current version, same
// rule as for the Licence Ouverte); ports (FR, AU...) count as the base
// version. Since 2.0 every CC licence includes BY, so "cc-nc" is cc-by-nc.
var ccKinds = []ccKind{
	{Code: "by", Examples: map[string]string{
		"cc-by":                        "cc-by-4.0",
		"Creative Commons Attribution": "cc-by-4.0",
		"Creative Commons Attribution 4.0 International License": "cc-by-4.0",
		"http://creativecommons.org/licenses/by/3.0/":            "cc-by-3.0",
		"CC BY 3.0 AU":                        "cc-by-3.0",
		"https://spdx.org/licenses/CC-BY-4.0": "cc-by-4.0",
		"http://publications.europa.eu/resource/authority/licence/CC_BY_4_0": "cc-by-4.0",
		"Creative Commons Paternité 2.0 France":                              "cc-by-2.0",
		"CC-BY 2.5":                                                          "cc-by-2.5",
	}},
	{Code: "by-sa", Examples: map[string]string{
		"cc-by-sa": "cc-by-sa-4.0",
		"Creative Commons Attribution Share-Alike": "cc-by-sa-4.0",
		"CC BY-SA 4.0": "cc-by-sa-4.0",
		"https://creativecommons.org/licenses/by-sa/3.0/fr/":                   "cc-by-sa-3.0",
		"http://publications.europa.eu/resource/authority/licence/CC_BYSA_4_0": "cc-by-sa-4.0",
		"Creative Commons Attribution - Partage dans les Mêmes Conditions 4.0": "cc-by-sa-4.0",
	}},
	{Code: "by-nd", Examples: map[string]string{
		"CC BY-ND 4.0": "cc-by-nd-4.0",
		"Creative Commons Attribution-NoDerivatives 4.0 International": "cc-by-nd-4.0",
		"CC_BYND_4_0": "cc-by-nd-4.0",
		"Creative Commons Attribution - Pas de Modification 3.0": "cc-by-nd-3.0",
	}},
	{Code: "by-nc", Examples: map[string]string{
		"cc-nc":                                 "cc-by-nc-4.0",
		"Creative Commons Non-Commercial (Any)": "cc-by-nc-4.0",
		"http://creativecommons.org/licenses/by-nc/2.0/":                                 "cc-by-nc-2.0",
		"Creative Commons Attribution - Pas d’Utilisation Commerciale 4.0 International": "cc-by-nc-4.0",
	}},
	{Code: "by-nc-sa", Examples: map[string]string{
		"CC BY-NC-SA 4.0": "cc-by-nc-sa-4.0",
		"https://creativecommons.org/licenses/by-nc-sa/3.0/": "cc-by-nc-sa-3.0",
		"CC_BYNCSA_4_0": "cc-by-nc-sa-4.0",
	}},
	{Code: "by-nc-nd", Examples: map[string]string{
		"http://publications.europa.eu/resource/authority/licence/CC_BYNCND_3_0": "cc-by-nc-nd-3.0",
		"CC-BY-NC-ND-4.0": "cc-by-nc-nd-4.0",
		"Creative Commons Attribution-NonCommercial-NoDerivatives 4.0": "cc-by-nc-nd-4.0",
	}},
}

var (
	licenseByAlias map[string]*licenseRow
	licenseByID    map[string]*licenseRow
	licensePats    []licensePat

	ccMention = regexp.MustCompile(`\bcreative ?commons\b|\bcc ?by|\bcc (nc|nd|sa)\b`)
	ccNC      = regexp.MustCompile(`\bnc\b|\bbync|\bnon ?commercial\b|\bpas d ?utilisation commerciale\b`)
	ccND      = regexp.MustCompile(`\bnd\b|\bbynd\b|ncnd\b|\bno ?deriv|\bpas de modification\b`)
	ccSA      = regexp.MustCompile(`\bsa\b|\bbysa\b|ncsa\b|\bshare ?alike\b|\bpartage dans les memes conditions\b`)
	ccVersion = regexp.MustCompile(`\b([1-4]) (0|5)\b`)
	ccID      = regexp.MustCompile(`^cc-(by(-nc)?(-nd|-sa)?)-([1-4]\.[05])$`)
)

type licensePat struct {
	re  *regexp.Regexp
	row *licenseRow
}

func init() {
	licenseByAlias = map[string]*licenseRow{}
	licenseByID = map[string]*licenseRow{}
	for i := range licenses {
		r := &licenses[i]
		licenseByID[r.ID] = r
		for _, a := range r.Aliases {
			licenseByAlias[aliasKey(a)] = r
		}
		for _, p := range r.Patterns {
			licensePats = append(licensePats, licensePat{regexp.MustCompile(p), r})
		}
	}
}

// aliasKey is the comparison form of aliases: no scheme, no "www.", then key.
func aliasKey(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(strings.TrimPrefix(s, "http://"), "https://")
	s = strings.TrimPrefix(s, "www.")
	return key(s)
}

// License maps a licence label, id or URL, as any portal writes it, to a
// normalised id (see the licenses and ccKinds tables): etalab-2.0,
// etalab-1.0, odbl-1.0, odc-by-1.0, pddl-1.0, cc0-1.0, cc-by[-nc][-nd|-sa]-<v>,
// "other" for a licence that is stated but not mappable, "unknown" when
// nothing is stated. HTML around the value is stripped first.
func License(raw string) string { return licenseMemo.get(raw, license) }

// licenseMemo remembers licences already seen: a catalogue names a handful,
// and the licence table is a list of regular expressions.
var licenseMemo memo[string]

func license(raw string) string {
	raw = Text(raw)
	if r, ok := licenseByAlias[aliasKey(raw)]; ok {
		return r.ID
	}
	k := key(raw)
	if k == "" {
		return LicenseUnknown
	}
	for _, p := range licensePats {
		if p.re.MatchString(k) {
			return p.row.ID
		}
	}
	if id := ccLicense(k); id != "" {
		return id
	}
	return LicenseOther
}

// ccLicense decodes a Creative Commons licence (other than CC0) from key form.
func ccLicense(k string) string {
	if !ccMention.MatchString(k) {
		return ""
	}
	code := "by"
	if ccNC.MatchString(k) {
		code += "-nc"
	}
	switch {
	case ccND.MatchString(k):
		code += "-nd"
	case ccSA.MatchString(k):
		code += "-sa"
	}
	version := "4.0"
	if m := ccVersion.FindStringSubmatch(k); m != nil && (m[2] == "0" || m[1] == "2") {
		version = m[1] + "." + m[2]
	}
	return "cc-" + code + "-" + version
}

// LicenseOf normalises the first of candidates (a portal's licence id,
// URL, title…) that names a known licence; "other" when some name one
// that is not in the table, "unknown" when none says anything.
func LicenseOf(candidates ...string) string {
	norm := LicenseUnknown
	for _, c := range candidates {
		if strings.TrimSpace(c) == "" {
			continue
		}
		switch n := License(c); n {
		case LicenseUnknown:
		case LicenseOther:
			norm = n
		default:
			return n
		}
	}
	return norm
}

// LicenseLabel gives the French display label of a normalised licence id:
// "Licence Ouverte 2.0", "ODbL 1.0", "CC BY-SA 4.0", "Autre licence",
// "Licence non précisée" (also for ""). An id it does not know is returned as is.
func LicenseLabel(id string) string {
	if id == "" {
		return licenseByID[LicenseUnknown].Label
	}
	if r, ok := licenseByID[id]; ok {
		return r.Label
	}
	if m := ccID.FindStringSubmatch(id); m != nil {
		return "CC " + strings.ToUpper(m[1]) + " " + m[4]
	}
	return id
}
