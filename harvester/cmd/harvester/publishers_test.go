package main

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/opendatafrance/moisson/referential"
)

// franceYAML is a configuration whose one territory is all of France
// (metropolitan and overseas régions): the real payloads come from
// everywhere, and name resolution then has the most namesakes to confuse.
const franceYAML = `territories:
  - id: france
    geography: {regions: ["01","02","03","04","06","11","24","27","28","32","44","52","53","75","76","84","93","94"]}
    members:
      - id: m
        portals:
          - id: p
            sources:
              - id: s
                protocol: ckan
                endpoint: https://example.org/api/3/action
`

// TestRealPublishers resolves the publishers of every real payload of
// ../shared/fixtures/real through inspect --territory, reports the share
// resolved by kind of evidence (distinct publishers and records), and
// checks the ones whose collectivité is known, and that State services,
// agencies and platforms stay unresolved.
func TestRealPublishers(t *testing.T) {
	dir := fixtureDir(t)
	cfg := filepath.Join(t.TempDir(), "france.yaml")
	if err := os.WriteFile(cfg, []byte(franceYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	type pub struct{ how, key string }
	publishers := map[string]pub{} // publisher name → resolution
	records := map[string]int{}    // how → records
	total := 0
	for _, row := range fixtureRows {
		if row.err != "" {
			continue
		}
		r := runInspect(t, "--territory", "france", "--config", cfg, filepath.Join(dir, filepath.FromSlash(row.file)))
		for _, d := range r.records {
			c := d.GetCollectivite()
			if c == nil {
				t.Fatalf("%s: record %s without its collectivité", row.file, d.GetOriginalId())
			}
			total++
			records[c.GetHow()]++
			if name := c.GetPublisher(); name != "" {
				publishers[name] = pub{c.GetHow(), c.GetKey()}
			}
		}
	}
	byHow := map[string]int{}
	resolved := 0
	for _, p := range publishers {
		byHow[p.how]++
		if p.key != "" {
			resolved++
		}
	}
	var hows []string
	for h := range records {
		hows = append(hows, h)
	}
	sort.Strings(hows)
	t.Logf("%d records, %d distinct named publishers, %d of them resolved (%.0f %%)", total, len(publishers), resolved, 100*float64(resolved)/float64(len(publishers)))
	for _, h := range hows {
		t.Logf("  %-16s %3d publishers %4d records", h, byHow[h], records[h])
	}

	ref := referential.France()
	for name, want := range map[string]string{
		// Communes, by name in the forms portals write.
		"Vanves":                 ref.Commune("92075").Key(),
		"Mairie Evian-les-Bains": ref.Commune("74119").Key(),
		"Ville Evian-les-Bains":  ref.Commune("74119").Key(),
		// State services, agencies, platforms: never a collectivité.
		"ADEME": "", "Institut National de la Statistique et des Etudes Economiques (Insee)": "",
		"Ministère de l'Agriculture et de l'Alimentation":                             "",
		"Agence Départementale D'Aide aux Collectivités Locales des Landes":           "",
		"DDTM 80 (Direction Départementale des Territoires et de la Mer de la Somme)": "",
		"Institut national de l'information géographique et forestière (IGN-F)":       "",
		"SGAR Auvergne-Rhône-Alpes":                                                   "", "Géo2France": "", "data.gouv.fr": "",
	} {
		got, ok := publishers[name]
		if !ok {
			t.Errorf("publisher %q not in the payloads", name)
			continue
		}
		if got.key != want {
			t.Errorf("%q resolved to %q (%s), want %q", name, got.key, got.how, want)
		}
	}
	// The udata organisations that carry a SIREN are resolved by it.
	if byHow[referential.BySiren] < 4 {
		t.Errorf("%d publishers resolved by their SIREN, want the 4 of results.json at least", byHow[referential.BySiren])
	}
}
