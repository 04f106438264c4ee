// Package config reads the territories configuration: territories → members →
// portals, each portal with one or more sources (a protocol and an endpoint).
//
// The file is written by people: YAML, with comments. The default
// configuration (the nine OpenDataLocale pilot territories) is embedded in
// the binary; a file given with --config replaces it.
package config

import (
	_ "embed"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/opendatafrance/moisson/referential"
	"github.com/robfig/cron/v3"
	"go.yaml.in/yaml/v3"
)

//go:embed territories.yaml
var defaultYAML []byte

// Default returns the embedded configuration of the nine pilot territories.
func Default() *Config {
	c, err := Parse(strings.NewReader(string(defaultYAML)))
	if err != nil {
		panic("embedded territories.yaml is invalid: " + err.Error())
	}
	return c
}

// DefaultYAML returns the embedded configuration as written.
func DefaultYAML() []byte { return append([]byte(nil), defaultYAML...) }

// Config is the whole harvest configuration.
type Config struct {
	// Contact is put in the User-Agent of every request (mailto: or URL).
	Contact string `yaml:"contact"`
	// AllowPrivateAddresses lets the harvester fetch loopback and private
	// addresses (the simulator needs it; real portals never do).
	AllowPrivateAddresses bool         `yaml:"allow_private_addresses"`
	Harvest               Policy       `yaml:"harvest"`
	Territories           []*Territory `yaml:"territories"`
}

// Policy is how the harvester behaves towards portals and their data.
type Policy struct {
	// Politeness per portal host.
	RatePerHost        float64 `yaml:"rate_per_host"`        // requests per second; default 2, negative: no limit
	ConcurrencyPerHost int     `yaml:"concurrency_per_host"` // requests in flight per host; default 2
	// Interval is the default schedule of sources that set none; default 24h.
	Interval Duration `yaml:"interval"`
	// Jitter spreads scheduled runs by up to this share of the interval; default 0.1.
	Jitter float64 `yaml:"jitter"`
	// DeleteBelow: a run seeing fewer than this share of the datasets of the
	// last successful run holds its deletions for a human; default 0.5.
	DeleteBelow float64 `yaml:"delete_below"`
}

// WithDefaults fills the unset fields.
func (p Policy) WithDefaults() Policy {
	if p.RatePerHost == 0 {
		p.RatePerHost = 2
	}
	if p.ConcurrencyPerHost <= 0 {
		p.ConcurrencyPerHost = 2
	}
	if p.Interval <= 0 {
		p.Interval = Duration(24 * time.Hour)
	}
	if p.Jitter <= 0 || p.Jitter > 1 {
		p.Jitter = 0.1
	}
	if p.DeleteBelow <= 0 || p.DeleteBelow > 1 {
		p.DeleteBelow = 0.5
	}
	return p
}

// Territory is one of the pilot territories.
type Territory struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	// Geography is the area the territory covers, by official codes
	// (regions, departements, epci: SIRENs, communes: INSEE codes): the
	// observatory's obliged collectivités are there, and publishers'
	// names are matched against its collectivités.
	Geography referential.Geography `yaml:"geography"`
	// ObligedFrom: the population from which a commune must open its data
	// (default 3500, the law's threshold; the referential has no agent
	// counts, the law's other criterion).
	ObligedFrom int `yaml:"obliged_from"`
	// Publishers: publisher name, as portals write it → SIREN or
	// kind:code (departement:35, region:53), for the names the resolution
	// leaves unresolved (GET /v1/observatory/unresolved lists them).
	Publishers map[string]string `yaml:"publishers"`
	Members    []*Member         `yaml:"members"`
}

// Member is an organisation of a territory (a region, a city, a syndicate).
type Member struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	// Collectivite: the collectivité the member is (SIREN or kind:code),
	// if it is one: records of its portals that name no publisher are
	// that collectivité's.
	Collectivite string `yaml:"collectivite"`
	// Siren of the member, when the referential lacks it (départements and
	// régions): a SIREN in a publisher's fields or a dataset identifier
	// then names it.
	Siren   string    `yaml:"siren"`
	Portals []*Portal `yaml:"portals"`
}

// Spec is what resolution and the observatory need of the territory.
func (t *Territory) Spec() referential.Territory {
	s := referential.Territory{Geography: t.Geography, ObligedFrom: t.ObligedFrom, Publishers: t.Publishers}
	for _, m := range t.Members {
		if m.Collectivite != "" || m.Siren != "" {
			s.Members = append(s.Members, referential.Member{ID: m.ID, Collectivite: m.Collectivite, Siren: m.Siren})
		}
	}
	return s
}

// Portal is a website that publishes datasets, read through its sources.
type Portal struct {
	ID       string    `yaml:"id"`
	Name     string    `yaml:"name"`
	URL      string    `yaml:"url"`      // the portal's home page
	Software string    `yaml:"software"` // ods, ckan, d4c, datafair, udata, geonetwork
	Note     string    `yaml:"note"`     // what is known or doubtful about it
	Sources  []*Source `yaml:"sources"`
}

// Source is one machine endpoint of a portal, read with one protocol.
type Source struct {
	ID       string            `yaml:"id"`
	Protocol string            `yaml:"protocol"` // ckan, dcat, ods, d4c, datafair, udata, csw
	Endpoint string            `yaml:"endpoint"` // API root or catalogue URL
	Params   map[string]string `yaml:"params"`   // protocol-specific (organization, page_size, format...)
	Interval Duration          `yaml:"interval"` // harvest every this long (default: harvest.interval)
	Cron     string            `yaml:"cron"`     // or a cron expression (5 fields, e.g. "0 3 * * *"), in UTC
	Disabled string            `yaml:"disabled"` // non-empty: not harvested, and why

	// Filled by Parse: where the source sits.
	Territory *Territory `yaml:"-"`
	Member    *Member    `yaml:"-"`
	Portal    *Portal    `yaml:"-"`
}

// Duration is a time.Duration written as "6h", "30m".
type Duration time.Duration

// UnmarshalYAML reads a duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	if s == "" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (write it like 6h, 30m or 1h30m)", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

var idRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// Protocols the configuration accepts.
var Protocols = []string{"ckan", "dcat", "ods", "d4c", "datafair", "udata", "csw"}

// Load reads a configuration file.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse reads and validates a configuration.
func Parse(r io.Reader) (*Config, error) {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return &c, nil
}

// memberSiren tells whether a member of t declares siren.
func memberSiren(t *Territory, siren string) bool {
	for _, m := range t.Members {
		if m.Siren == siren && m.Collectivite != "" {
			return true
		}
	}
	return false
}

func (c *Config) validate() error {
	ids := map[string]string{}
	seen := func(kind, id string) error {
		if !idRe.MatchString(id) {
			return fmt.Errorf("%s id %q: use lower-case letters, digits and dashes", kind, id)
		}
		if prev, ok := ids[id]; ok && prev == kind {
			return fmt.Errorf("%s id %q is used twice", kind, id)
		}
		ids[id] = kind
		return nil
	}
	if len(c.Territories) == 0 {
		return fmt.Errorf("no territories")
	}
	ref := referential.France()
	for _, t := range c.Territories {
		if err := seen("territory", t.ID); err != nil {
			return err
		}
		if err := ref.Check(t.Geography); err != nil {
			return fmt.Errorf("territory %s: geography: %w", t.ID, err)
		}
		if t.ObligedFrom < 0 {
			return fmt.Errorf("territory %s: obliged_from %d is negative", t.ID, t.ObligedFrom)
		}
		for name, key := range t.Publishers {
			if ref.ByKey(key) == nil && !memberSiren(t, key) {
				return fmt.Errorf("territory %s: publisher %q: %q is no SIREN of a commune or an EPCI, nor a kind:code (departement:35, region:53) the referential knows", t.ID, name, key)
			}
		}
		for _, m := range t.Members {
			if err := seen("member", m.ID); err != nil {
				return fmt.Errorf("territory %s: %w", t.ID, err)
			}
			if m.Collectivite != "" && ref.ByKey(m.Collectivite) == nil {
				return fmt.Errorf("member %s: collectivite %q: no SIREN of a commune or an EPCI, nor a kind:code the referential knows", m.ID, m.Collectivite)
			}
			if m.Siren != "" && (len(m.Siren) != 9 || strings.Trim(m.Siren, "0123456789") != "") {
				return fmt.Errorf("member %s: siren %q is not 9 digits", m.ID, m.Siren)
			}
			for _, p := range m.Portals {
				if err := seen("portal", p.ID); err != nil {
					return fmt.Errorf("territory %s: %w", t.ID, err)
				}
				for _, s := range p.Sources {
					if err := seen("source", s.ID); err != nil {
						return fmt.Errorf("portal %s: %w", p.ID, err)
					}
					if !contains(Protocols, s.Protocol) {
						return fmt.Errorf("source %s: unknown protocol %q (one of %s)", s.ID, s.Protocol, strings.Join(Protocols, ", "))
					}
					u, err := url.Parse(s.Endpoint)
					if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
						return fmt.Errorf("source %s: endpoint %q is not an http(s) URL", s.ID, s.Endpoint)
					}
					if s.Cron != "" {
						if s.Interval != 0 {
							return fmt.Errorf("source %s: set interval or cron, not both", s.ID)
						}
						if _, err := cron.ParseStandard(s.Cron); err != nil {
							return fmt.Errorf("source %s: cron %q: %w", s.ID, s.Cron, err)
						}
					}
					s.Territory, s.Member, s.Portal = t, m, p
				}
			}
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Sources lists every source of the configuration, in file order.
func (c *Config) Sources() []*Source {
	var out []*Source
	for _, t := range c.Territories {
		for _, m := range t.Members {
			for _, p := range m.Portals {
				out = append(out, p.Sources...)
			}
		}
	}
	return out
}

// Source finds a source by id.
func (c *Config) Source(id string) *Source {
	for _, s := range c.Sources() {
		if s.ID == id {
			return s
		}
	}
	return nil
}

// TerritoryIDs lists the territory ids, sorted.
func (c *Config) TerritoryIDs() []string {
	var ids []string
	for _, t := range c.Territories {
		ids = append(ids, t.ID)
	}
	sort.Strings(ids)
	return ids
}

// MarshalYAML writes a duration as "6h0m0s" (or nothing when zero).
func (d Duration) MarshalYAML() (any, error) {
	if d == 0 {
		return "", nil
	}
	return time.Duration(d).String(), nil
}

// Territory finds a territory by id (nil: none).
func (c *Config) Territory(id string) *Territory {
	for _, t := range c.Territories {
		if t.ID == id {
			return t
		}
	}
	return nil
}
