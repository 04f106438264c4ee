package referential

import (
	"fmt"
	"sort"
)

// Geography is the area of a territory, by official codes: régions,
// départements, EPCI (SIREN) and communes (INSEE codes). Its communes are
// those of the régions and départements listed, the members of the EPCI
// listed, and the communes listed.
type Geography struct {
	Regions      []string `yaml:"regions,omitempty" json:"regions,omitempty"`
	Departements []string `yaml:"departements,omitempty" json:"departements,omitempty"`
	EPCI         []string `yaml:"epci,omitempty" json:"epci,omitempty"`
	Communes     []string `yaml:"communes,omitempty" json:"communes,omitempty"`
}

// Empty tells a geography that names nothing.
func (g Geography) Empty() bool {
	return len(g.Regions)+len(g.Departements)+len(g.EPCI)+len(g.Communes) == 0
}

// Check tells the codes the table does not know.
func (r *Referential) Check(g Geography) error {
	for _, c := range g.Regions {
		if r.regions[c] == nil {
			return fmt.Errorf("no région %q", c)
		}
	}
	for _, c := range g.Departements {
		if r.departements[c] == nil {
			return fmt.Errorf("no département %q", c)
		}
	}
	for _, c := range g.EPCI {
		if r.epci[c] == nil {
			return fmt.Errorf("no EPCI with SIREN %q", c)
		}
	}
	for _, c := range g.Communes {
		if r.communes[c] == nil {
			return fmt.Errorf("no commune with INSEE code %q", c)
		}
	}
	return nil
}

// Area is the collectivités of a geography.
type Area struct {
	r            *Referential
	Communes     map[string]*Collectivite // by INSEE code
	EPCI         map[string]*Collectivite // by SIREN: those most of whose population lives in the area, and those listed
	Departements map[string]*Collectivite // listed, or of a listed région
	Regions      map[string]*Collectivite // listed
}

// Area computes the area of a geography.
func (r *Referential) Area(g Geography) *Area {
	a := &Area{r: r, Communes: map[string]*Collectivite{}, EPCI: map[string]*Collectivite{},
		Departements: map[string]*Collectivite{}, Regions: map[string]*Collectivite{}}
	for _, code := range g.Regions {
		if reg := r.regions[code]; reg != nil {
			a.Regions[code] = reg
			for _, d := range r.departements {
				if d.Region == code {
					a.Departements[d.Code] = d
				}
			}
		}
	}
	for _, code := range g.Departements {
		if d := r.departements[code]; d != nil {
			a.Departements[code] = d
		}
	}
	for _, c := range r.communes {
		if a.Departements[c.Departement] != nil || a.Regions[c.Region] != nil {
			a.Communes[c.Code] = c
		}
	}
	for _, siren := range g.EPCI {
		if e := r.epci[siren]; e != nil {
			a.EPCI[siren] = e
			for _, m := range e.Members {
				if c := r.communes[m]; c != nil {
					a.Communes[m] = c
				}
			}
		}
	}
	for _, code := range g.Communes {
		if c := r.communes[code]; c != nil {
			a.Communes[code] = c
		}
	}
	// The EPCI of the area: those most of whose population lives there.
	for _, e := range r.epci {
		if a.EPCI[e.Code] != nil {
			continue
		}
		in, all := 0, 0
		for _, m := range e.Members {
			if c := r.communes[m]; c != nil {
				all += c.Population
				if a.Communes[m] != nil {
					in += c.Population
				}
			}
		}
		if all > 0 && 2*in > all {
			a.EPCI[e.Code] = e
		}
	}
	return a
}

// DefaultThreshold is the population from which a commune must open its
// data (law for a Digital Republic, art. L. 312-1-1 of the code of
// relations between the public and the administration: 3 500 inhabitants
// and 50 agents; the table has no agent counts).
const DefaultThreshold = 3500

// Obligation is a collectivité the law obliges to open its data, and why.
type Obligation struct {
	*Collectivite
	Why string
}

// Obliged lists the collectivités of the area the duty covers: communes
// from threshold inhabitants, every EPCI à fiscalité propre, the
// départements and the régions. Sorted by kind (communes first), then
// population, largest first.
func (a *Area) Obliged(threshold int) []Obligation {
	if threshold <= 0 {
		threshold = DefaultThreshold
	}
	var out []Obligation
	for _, c := range a.Communes {
		if c.Population >= threshold {
			out = append(out, Obligation{c, fmt.Sprintf("commune of %d inhabitants (≥ %d; agents not counted)", c.Population, threshold)})
		}
	}
	for _, e := range a.EPCI {
		out = append(out, Obligation{e, "EPCI à fiscalité propre (" + e.Type + ")"})
	}
	for _, d := range a.Departements {
		out = append(out, Obligation{d, "département"})
	}
	for _, g := range a.Regions {
		out = append(out, Obligation{g, "région"})
	}
	sort.Slice(out, func(i, j int) bool {
		if ri, rj := out[i].Kind.Rank(), out[j].Kind.Rank(); ri != rj {
			return ri < rj
		}
		if out[i].Population != out[j].Population {
			return out[i].Population > out[j].Population
		}
		return out[i].Code < out[j].Code
	})
	return out
}

// Contains tells whether a collectivité is of the area.
func (a *Area) Contains(c *Collectivite) bool {
	switch c.Kind {
	case Commune:
		return a.Communes[c.Code] != nil
	case EPCI:
		return a.EPCI[c.Code] != nil
	case Departement:
		return a.Departements[c.Code] != nil
	case Region:
		return a.Regions[c.Code] != nil
	}
	return false
}
