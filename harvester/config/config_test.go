package config

import (
	"strings"
	"testing"
	"time"

	"github.com/opendatafrance/moisson/referential"
)

// The nine pilot territories.
var pilots = []string{"auvergne-rhone-alpes", "bourgogne-franche-comte", "bretagne", "charente-maritime",
	"loire-atlantique", "mulhouse", "occitanie", "paca", "val-de-marne"}

func TestDefault(t *testing.T) {
	c := Default()
	if got := strings.Join(c.TerritoryIDs(), ","); got != strings.Join(pilots, ",") {
		t.Fatalf("territories %s, want %s", got, strings.Join(pilots, ","))
	}
	enabled := map[string]int{}
	portals := map[string]int{}
	for _, s := range c.Sources() {
		if s.Territory == nil || s.Member == nil || s.Portal == nil {
			t.Fatalf("source %s without its territory, member or portal", s.ID)
		}
		if s.Disabled == "" {
			enabled[s.Territory.ID]++
			portals[s.Portal.ID]++
		}
	}
	for _, id := range pilots {
		if enabled[id] == 0 {
			t.Errorf("territory %s has no enabled source", id)
		}
	}
	for p, n := range portals {
		if n > 1 {
			t.Errorf("portal %s is harvested through %d sources: its datasets would be indexed twice", p, n)
		}
	}
	// Every protocol of the nine territories is in use.
	used := map[string]bool{}
	for _, s := range c.Sources() {
		if s.Disabled == "" {
			used[s.Protocol] = true
		}
	}
	for _, p := range Protocols {
		if !used[p] {
			t.Errorf("no enabled source speaks %s", p)
		}
	}
}

func TestParseErrors(t *testing.T) {
	ok := `territories:
  - id: t
    members:
      - id: m
        portals:
          - id: p
            sources:
              - id: s
                protocol: ckan
                endpoint: https://example.org/api/3/action
`
	if _, err := Parse(strings.NewReader(ok)); err != nil {
		t.Fatalf("valid config refused: %v", err)
	}
	for name, tc := range map[string]struct{ from, to, want string }{
		"unknown key":    {"protocol: ckan", "protocol: ckan\n                colour: blue", "colour"},
		"bad protocol":   {"protocol: ckan", "protocol: gopher", "unknown protocol"},
		"bad endpoint":   {"https://example.org/api/3/action", "ftp://example.org/", "not an http(s) URL"},
		"bad id":         {"id: s", "id: S P", "lower-case"},
		"bad interval":   {"protocol: ckan", "protocol: ckan\n                interval: soon", "not a duration"},
		"bad cron":       {"protocol: ckan", "protocol: ckan\n                cron: every day", "cron"},
		"cron+interval":  {"protocol: ckan", "protocol: ckan\n                cron: \"0 3 * * *\"\n                interval: 6h", "not both"},
		"duplicate id":   {"              - id: s\n", "              - id: s\n                protocol: ckan\n                endpoint: https://a.org/\n              - id: s\n", "used twice"},
		"no territories": {ok, "territories: []\n", "no territories"},
		"bad region":     {"  - id: t\n", "  - id: t\n    geography: {regions: [\"99\"]}\n", "no région \"99\""},
		"bad epci":       {"  - id: t\n", "  - id: t\n    geography: {epci: [\"123456789\"]}\n", "no EPCI"},
		"bad override":   {"  - id: t\n", "  - id: t\n    publishers: {\"Ville de X\": \"123\"}\n", "Ville de X"},
		"bad member":     {"      - id: m\n", "      - id: m\n        collectivite: commune:00000\n", "collectivite"},
		"bad siren":      {"      - id: m\n", "      - id: m\n        siren: \"12\"\n", "9 digits"},
	} {
		_, err := Parse(strings.NewReader(strings.Replace(ok, tc.from, tc.to, 1)))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", name, err, tc.want)
		}
	}
}

// TestGeographies: every pilot territory names its area, and each member
// that is a collectivité says which.
func TestGeographies(t *testing.T) {
	ref := referential.France()
	for _, tr := range Default().Territories {
		if tr.Geography.Empty() {
			t.Errorf("territory %s has no geography", tr.ID)
			continue
		}
		a := ref.Area(tr.Geography)
		if len(a.Communes) == 0 || len(a.Obliged(tr.ObligedFrom)) == 0 {
			t.Errorf("territory %s: %d communes, none obliged", tr.ID, len(a.Communes))
		}
		for _, m := range tr.Spec().Members {
			c := ref.ByKey(m.Collectivite)
			if c == nil {
				t.Errorf("member %s: collectivite %q unknown", m.ID, m.Collectivite)
			} else if !a.Contains(c) {
				t.Errorf("member %s: %s is not in the territory %s", m.ID, c.Name, tr.ID)
			}
		}
	}
}

func TestSchedule(t *testing.T) {
	c := Default()
	a, b := c.Source("arnia-ckan"), c.Source("nice-ckan")
	last := time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)
	p := Policy{Interval: Duration(10 * time.Hour)}
	na, nb := a.Next(last, p), b.Next(last, p)
	for _, n := range []time.Time{na, nb} {
		if n.Before(last.Add(10*time.Hour)) || !n.Before(last.Add(11*time.Hour)) {
			t.Errorf("next %s not within the interval plus 10 %% jitter of %s", n, last)
		}
	}
	if na.Equal(nb) {
		t.Error("two sources got the same jitter")
	}
	if a.Next(last, p) != na {
		t.Error("jitter is not stable")
	}
	if !a.Next(time.Time{}, p).IsZero() {
		t.Error("a source never harvested is not due at once")
	}
	a.Cron = "0 3 * * *"
	n := a.Next(last, p)
	if n.Before(last.Add(24*time.Hour)) || !n.Before(last.Add(25*time.Hour)) {
		t.Errorf("cron next %s, want the next day at 03:00 plus jitter", n)
	}
	if a.Schedule(p) != "cron 0 3 * * * (UTC)" || b.Schedule(p) != "every 10h0m0s" {
		t.Errorf("schedules %q, %q", a.Schedule(p), b.Schedule(p))
	}
}
