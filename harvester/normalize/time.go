package normalize

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
)

// timeLayout is one date layout portals write. DateOnly layouts carry a
// calendar date: a zone written after it (xsd:date "2020-01-02+02:00") is
// ignored and the result is that date at 00:00 UTC, so the day never shifts.
// Layouts with a time of day and a zone are converted to UTC; without a zone
// the wall time is taken as UTC. Examples must parse (tested).
type timeLayout struct {
	Layout   string
	DateOnly bool
	Examples []string
}

// timeLayouts is THE layout table, tried in order. Fractional seconds are
// accepted after any ":05" (Go's parser does that by itself).
var timeLayouts = []timeLayout{
	{Layout: time.RFC3339, Examples: []string{"2021-03-12T10:00:00Z", "2021-03-12T10:00:00.123456+01:00", "2021-03-12T10:00:00.000Z"}},
	{Layout: "2006-01-02T15:04:05Z0700", Examples: []string{"2021-03-12T10:00:00+0100", "2021-03-12T10:00:00.000+0000"}},
	{Layout: "2006-01-02T15:04:05", Examples: []string{"2021-03-12T10:00:00", "2021-03-12T10:00:00.123456"}},
	{Layout: "2006-01-02T15:04Z07:00", Examples: []string{"2021-03-12T10:00+01:00", "2021-03-12T10:00Z"}},
	{Layout: "2006-01-02T15:04", Examples: []string{"2021-03-12T10:00"}},
	{Layout: "2006-01-02 15:04:05Z07:00", Examples: []string{"2021-03-12 10:00:00+01:00", "2021-03-12 10:00:00Z"}},
	{Layout: "2006-01-02 15:04:05-07", Examples: []string{"2025-01-01 12:00:00.123456+00", "2025-01-01 12:00:00+02"}},
	{Layout: "2006-01-02 15:04:05 -0700", Examples: []string{"2021-03-12 10:00:00 +0100"}},
	{Layout: "2006-01-02 15:04:05", Examples: []string{"2021-03-12 10:00:00", "2021-03-12 10:00:00.5"}},
	{Layout: "2006-01-02 15:04", Examples: []string{"2021-03-12 10:00"}},
	{Layout: "2006-01-02", DateOnly: true, Examples: []string{"2021-03-12"}},
	{Layout: "2006-01-02Z07:00", DateOnly: true, Examples: []string{"2020-01-02Z", "2020-01-02+02:00", "2020-01-02-05:00"}},
	{Layout: "2006-01", DateOnly: true, Examples: []string{"2021-03"}},
	{Layout: "2006", DateOnly: true, Examples: []string{"2021"}},
	{Layout: "20060102", DateOnly: true, Examples: []string{"20210312"}},
	{Layout: "02/01/2006", DateOnly: true, Examples: []string{"12/03/2021"}},
	{Layout: "2/1/2006", DateOnly: true, Examples: []string{"1/3/2021"}},
	{Layout: "02/01/2006 15:04", Examples: []string{"12/03/2021 10:00"}},
	{Layout: "02/01/2006 15:04:05", Examples: []string{"12/03/2021 10:00:00"}},
	{Layout: "02-01-2006", DateOnly: true, Examples: []string{"12-03-2021"}},
	{Layout: "02.01.2006", DateOnly: true, Examples: []string{"12.03.2021"}},
	{Layout: "2006/01/02", DateOnly: true, Examples: []string{"2021/03/12"}},
	{Layout: time.RFC1123, Examples: []string{"Fri, 12 Mar 2021 10:00:00 GMT"}},
	{Layout: time.RFC1123Z, Examples: []string{"Fri, 12 Mar 2021 11:00:00 +0100"}},
}

// month is one month with the names portals write (French first, then
// English), folded and lower-cased; abbreviations are matched with or
// without their final dot.
type month struct {
	Month time.Month
	Names []string
}

// months is THE month-name table used by Time for "12 mars 2021",
// "1er janvier 2020", "mars 2021", "March 12, 2021".
var months = []month{
	{time.January, []string{"janvier", "janv", "jan", "january"}},
	{time.February, []string{"fevrier", "fevr", "fev", "february", "feb"}},
	{time.March, []string{"mars", "march", "mar"}},
	{time.April, []string{"avril", "avr", "april", "apr"}},
	{time.May, []string{"mai", "may"}},
	{time.June, []string{"juin", "june", "jun"}},
	{time.July, []string{"juillet", "juil", "july", "jul"}},
	{time.August, []string{"aout", "august", "aug"}},
	{time.September, []string{"septembre", "sept", "sep", "september"}},
	{time.October, []string{"octobre", "oct", "october"}},
	{time.November, []string{"novembre", "nov", "november"}},
	{time.December, []string{"decembre", "dec", "december"}},
}

var (
	monthByName map[string]time.Month
	// "[weekday] 12 mars 2021 [à 14h30|14:30[:05]]", "1er janvier 2020", "mars 2021"
	// (in key form: ":" is a space there)
	reTextDayFirst = regexp.MustCompile(`^(?:[a-z]+ )?(?:(\d{1,2})(?:er)? )?([a-z]+) (\d{4})(?: (?:a )?(\d{1,2}) ?(?:h ?| )(\d{2})?(?: (\d{2}))?)?$`)
	// "March 12 2021" (English, after folding of "March 12, 2021")
	reTextMonthFirst = regexp.MustCompile(`^([a-z]+) (\d{1,2}) (\d{4})$`)
)

func init() {
	monthByName = map[string]time.Month{}
	for _, m := range months {
		for _, n := range m.Names {
			monthByName[n] = m.Month
		}
	}
}

// minYear and maxYear bound what Time accepts: anything outside is a typo
// or a placeholder ("0001-01-01", "9999-12-31").
const (
	minYear = 1900
	maxYear = 2100
)

// Time parses a date as portals write it (see timeLayouts and months), plus
// epoch seconds (9–10 digits) and epoch milliseconds (12–13 digits) written
// as strings. The result is in UTC; ok is false when s cannot be parsed or
// its year is outside [1900, 2100].
func Time(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	if t, ok := parseTime(s); ok && t.Year() >= minYear && t.Year() <= maxYear {
		return t, true
	}
	return time.Time{}, false
}

func parseTime(s string) (time.Time, bool) {
	// The commonest shapes go straight to their layout: through the table
	// they fail up to fifteen layouts before theirs, each failure an
	// allocation. No layout before theirs in the table parses them.
	switch {
	case len(s) == 10 && s[4] == '-' && s[7] == '-':
		if t, err := time.Parse(time.DateOnly, s); err == nil {
			return t, true
		}
	case len(s) == 10 && s[2] == '/' && s[5] == '/':
		if t, err := time.Parse("02/01/2006", s); err == nil {
			return t, true
		}
	case len(s) == 19 && s[10] == 'T':
		if t, err := time.Parse("2006-01-02T15:04:05", s); err == nil {
			return t, true
		}
	}
	if allDigits(s) {
		switch n := len(s); {
		case n == 9 || n == 10:
			v, err := strconv.ParseInt(s, 10, 64)
			return time.Unix(v, 0).UTC(), err == nil
		case n == 12 || n == 13:
			v, err := strconv.ParseInt(s, 10, 64)
			return time.UnixMilli(v).UTC(), err == nil
		}
	}
	if t, ok := parseLayouts(s); ok {
		return t, true
	}
	return parseTextDate(s)
}

// parseLayouts tries timeLayouts in order.
func parseLayouts(s string) (time.Time, bool) {
	for _, l := range timeLayouts {
		t, err := time.Parse(l.Layout, s)
		if err != nil {
			continue
		}
		if l.DateOnly {
			y, m, d := t.Date()
			return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), true
		}
		return t.UTC(), true
	}
	return time.Time{}, false
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// parseTextDate reads dates with month names, French or English.
func parseTextDate(s string) (time.Time, bool) {
	k := key(s)
	atoi := func(x string) int { n, _ := strconv.Atoi(x); return n }
	if m := reTextDayFirst.FindStringSubmatch(k); m != nil {
		mon, ok := monthByName[m[2]]
		if !ok {
			return time.Time{}, false
		}
		day := 1
		if m[1] != "" {
			day = atoi(m[1])
		}
		hh, mm, ss := atoi(m[4]), atoi(m[5]), atoi(m[6])
		if hh > 23 || mm > 59 || ss > 59 {
			return time.Time{}, false
		}
		return validDate(atoi(m[3]), mon, day, hh, mm, ss)
	}
	if m := reTextMonthFirst.FindStringSubmatch(k); m != nil {
		if mon, ok := monthByName[m[1]]; ok {
			return validDate(atoi(m[3]), mon, atoi(m[2]), 0, 0, 0)
		}
	}
	return time.Time{}, false
}

// validDate builds a UTC time and refuses dates time.Date would normalise
// (31 février).
func validDate(y int, m time.Month, d, hh, mm, ss int) (time.Time, bool) {
	t := time.Date(y, m, d, hh, mm, ss, 0, time.UTC)
	if t.Day() != d || t.Month() != m {
		return time.Time{}, false
	}
	return t, true
}

// FirstDate is Date of the first of vals that reads as a date; when none
// does, the first one given is kept as written (Date).
func FirstDate(d *moissonv1.Dataset, field string, vals ...string) (time.Time, bool) {
	first := ""
	for _, v := range vals {
		if v = strings.TrimSpace(v); v == "" {
			continue
		}
		if t, ok := Time(v); ok {
			return t, true
		}
		if first == "" {
			first = v
		}
	}
	return Date(d, field, first)
}

// Date reads the date field (issued, modified, temporal_start,
// temporal_end) of d from s, as Time does. A value Time cannot read is
// kept as written in d.RawDates, with a warning on the record: the record
// is never failed for a date.
func Date(d *moissonv1.Dataset, field, s string) (time.Time, bool) {
	t, ok := Time(s)
	if ok {
		return t, true
	}
	if s = strings.TrimSpace(s); s != "" {
		if d.RawDates == nil {
			d.RawDates = map[string]string{}
		}
		d.RawDates[field] = s
		d.Warnings = append(d.Warnings, fmt.Sprintf("%s: %q is not a date Moisson reads (or is outside %d–%d); kept as written in raw_dates", field, s, minYear, maxYear))
	}
	return time.Time{}, false
}
