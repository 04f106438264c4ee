package normalize

import (
	"regexp"
	"strings"
)

var (
	// digit runs, allowing the usual "224 400 028" / "224 400 028 00015" grouping.
	reSIRENRun = regexp.MustCompile(`\d{3}[  ]\d{3}[  ]\d{3}(?:[  ]\d{5})?|\d+`)
	// an INSEE commune code after a word that announces one.
	reINSEECtx = regexp.MustCompile(`(?i)(?:^|[^a-z])(?:communes?|insee|cog|depcom|codgeo|code_?com|citycode)[^0-9a-z]{1,3}((?:\d{2}|2[ab])\d{3})(?:$|[^0-9a-z])`)
	reINSEE    = regexp.MustCompile(`(?i)^(?:\d{2}|2[ab])\d{3}$`)
)

// SIREN extracts the first 9-digit SIREN from s: a digit run of exactly 9
// digits (a SIREN) or 14 digits (a SIRET, whose first 9 are the SIREN),
// possibly grouped by spaces ("224 400 028"), whose 9 digits pass the Luhn
// checksum and are not all zeros. Longer or shorter runs (phone numbers,
// timestamps) are skipped. "" if none.
func SIREN(s string) string {
	for _, run := range reSIRENRun.FindAllString(s, -1) {
		d := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, run)
		if len(d) != 9 && len(d) != 14 {
			continue
		}
		if d = d[:9]; luhn(d) && d != "000000000" {
			return d
		}
	}
	return ""
}

// luhn checks the Luhn checksum of a digit string.
func luhn(d string) bool {
	sum := 0
	for i := 0; i < len(d); i++ {
		n := int(d[len(d)-1-i] - '0')
		if i%2 == 1 {
			if n *= 2; n > 9 {
				n -= 9
			}
		}
		sum += n
	}
	return sum%10 == 0
}

// INSEE extracts a 5-character INSEE commune code (COG): either s is the
// code itself (after trimming), or the code follows a word that announces
// one — "commune(s)", "insee", "cog", "depcom", "codgeo", "code_com",
// "citycode" — and a separator of 1–3 characters:
// "http://id.insee.fr/geo/commune/44109", "https://geo.api.gouv.fr/communes/44109",
// "COG 44109", "code INSEE : 2A004". A bare 5-digit number in free text is
// not taken (it is as likely a postcode). The department part must exist:
// 01–19, 21–95, 2A, 2B, 971–978, 984–989. Corsica letters come back upper-case. "" if none.
func INSEE(s string) string {
	s = strings.TrimSpace(s)
	if reINSEE.MatchString(s) {
		if c := strings.ToUpper(s); validINSEE(c) {
			return c
		}
		return ""
	}
	for _, m := range reINSEECtx.FindAllStringSubmatch(s, -1) {
		if c := strings.ToUpper(m[1]); validINSEE(c) {
			return c
		}
	}
	return ""
}

func validINSEE(c string) bool {
	switch dep := c[:2]; {
	case dep == "2A" || dep == "2B":
		return true
	case dep == "97":
		return c[2] >= '1' && c[2] <= '8'
	case dep == "98":
		return c[2] >= '4' && c[2] <= '9'
	case dep == "00" || dep == "20" || dep == "96" || dep == "99":
		return false
	}
	return c[0] >= '0' && c[0] <= '9' && c[1] >= '0' && c[1] <= '9'
}
