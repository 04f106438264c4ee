package normalize

import (
	"strings"
	"testing"
	"time"

	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
)

func TestTimeLayoutRows(t *testing.T) {
	for _, l := range timeLayouts {
		if len(l.Examples) == 0 {
			t.Errorf("layout %q has no example", l.Layout)
		}
		for _, e := range l.Examples {
			got, ok := Time(e)
			if !ok {
				t.Errorf("Time(%q) failed (layout %q)", e, l.Layout)
				continue
			}
			if got.Location() != time.UTC {
				t.Errorf("Time(%q) not in UTC", e)
			}
			// The example must be read by its own row, not an earlier one.
			if _, err := time.Parse(l.Layout, e); err != nil {
				t.Errorf("example %q does not fit its layout %q: %v", e, l.Layout, err)
			}
			if l.DateOnly && (got.Hour() != 0 || got.Minute() != 0) {
				t.Errorf("Time(%q) = %v, want midnight", e, got)
			}
		}
	}
}

func TestTimeMonthRows(t *testing.T) {
	for _, m := range months {
		for _, n := range m.Names {
			got, ok := Time("12 " + n + " 2021")
			if !ok || got.Month() != m.Month || got.Day() != 12 || got.Year() != 2021 {
				t.Errorf("Time(12 %s 2021) = %v, %v; want month %v", n, got, ok, m.Month)
			}
		}
	}
}

func TestTimeCases(t *testing.T) {
	d := func(y int, mo time.Month, dd, h, mi, s, ns int) time.Time {
		return time.Date(y, mo, dd, h, mi, s, ns, time.UTC)
	}
	for _, c := range []struct {
		in   string
		want time.Time
	}{
		{"2021-03-12T10:00:00Z", d(2021, 3, 12, 10, 0, 0, 0)},
		{"2021-03-12T10:00:00+01:00", d(2021, 3, 12, 9, 0, 0, 0)},
		{"2021-03-12T10:00:00.123456+01:00", d(2021, 3, 12, 9, 0, 0, 123456000)},
		{"2021-03-12T10:00:00", d(2021, 3, 12, 10, 0, 0, 0)},
		{"2021-03-12T10:00:00.25", d(2021, 3, 12, 10, 0, 0, 250000000)},
		{" 2021-03-12 ", d(2021, 3, 12, 0, 0, 0, 0)},
		{"2021-03", d(2021, 3, 1, 0, 0, 0, 0)},
		{"2021", d(2021, 1, 1, 0, 0, 0, 0)},
		{"12/03/2021", d(2021, 3, 12, 0, 0, 0, 0)},
		{"12/03/2021 14:30", d(2021, 3, 12, 14, 30, 0, 0)},
		{"12 mars 2021", d(2021, 3, 12, 0, 0, 0, 0)},
		{"1er janvier 2020", d(2020, 1, 1, 0, 0, 0, 0)},
		{"1er Janvier 2020", d(2020, 1, 1, 0, 0, 0, 0)},
		{"lundi 15 février 2021", d(2021, 2, 15, 0, 0, 0, 0)},
		{"15 févr. 2021", d(2021, 2, 15, 0, 0, 0, 0)},
		{"3 août 2019 à 14h30", d(2019, 8, 3, 14, 30, 0, 0)},
		{"3 août 2019 14:30:15", d(2019, 8, 3, 14, 30, 15, 0)},
		{"décembre 2020", d(2020, 12, 1, 0, 0, 0, 0)},
		{"March 12, 2021", d(2021, 3, 12, 0, 0, 0, 0)},
		{"1615543200", d(2021, 3, 12, 10, 0, 0, 0)},
		{"1615543200000", d(2021, 3, 12, 10, 0, 0, 0)},
		{"1615543200123", d(2021, 3, 12, 10, 0, 0, 123000000)},
		{"2020-01-02Z", d(2020, 1, 2, 0, 0, 0, 0)},
		{"2020-01-02+02:00", d(2020, 1, 2, 0, 0, 0, 0)},
		{"2025-01-01 12:00:00.123456+02", d(2025, 1, 1, 10, 0, 0, 123456000)},
		{"Fri, 12 Mar 2021 10:00:00 GMT", d(2021, 3, 12, 10, 0, 0, 0)},
	} {
		got, ok := Time(c.in)
		if !ok || !got.Equal(c.want) || got.Location() != time.UTC {
			t.Errorf("Time(%q) = %v, %v; want %v", c.in, got, ok, c.want)
		}
	}
}

func TestTimeRejects(t *testing.T) {
	for _, in := range []string{
		"", "   ", "Unknown", "n/a", "demain", "0001-01-01T00:00:00Z", "9999-12-31", "1899-12-31", "2101-01-01",
		"31/02/2021", "30 février 2021", "12 brumaire 2021", "2021-13-01", "12345", "123456789012345", "1234567",
		"12 mars", "2021-03-12T25:00:00",
	} {
		if got, ok := Time(in); ok {
			t.Errorf("Time(%q) = %v, want failure", in, got)
		}
	}
}

// FuzzTime: whatever a portal writes, Time does not panic and keeps to the
// years it accepts, and Date either reads a date or keeps the text.
func FuzzTime(f *testing.F) {
	for _, l := range timeLayouts {
		for _, e := range l.Examples {
			f.Add(e)
		}
	}
	for _, s := range []string{"0001-01-01", "9999-12-31T23:59:59Z", "12 mars 2021", "1er janvier 2020 à 14h30", "1617000000", "1617000000000", "-62135596800", "31/02/2021", "２０２１"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, ok := Time(s)
		// The shapes parseTime reads before the table read as the table does.
		if lt, lok := parseLayouts(s); lok {
			if pt, pok := parseTime(s); !pok || !pt.Equal(lt) || pt.Location() != lt.Location() {
				t.Fatalf("parseTime(%q) = %v %v, the layouts' %v", s, pt, pok, lt)
			}
		}
		if ok && (tm.Year() < minYear || tm.Year() > maxYear || tm.Location() != time.UTC) {
			t.Fatalf("Time(%q) = %v", s, tm)
		}
		d := &moissonv1.Dataset{}
		got, ok2 := Date(d, "issued", s)
		if ok2 != ok || !got.Equal(tm) {
			t.Fatalf("Date(%q) = %v %v, Time %v %v", s, got, ok2, tm, ok)
		}
		if !ok && strings.TrimSpace(s) != "" && (d.RawDates["issued"] != strings.TrimSpace(s) || len(d.Warnings) != 1) {
			t.Fatalf("Date(%q) kept %q, warnings %q", s, d.RawDates, d.Warnings)
		}
	})
}
