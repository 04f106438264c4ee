package dcat

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/fetch"
	"github.com/opendatafrance/moisson/harvester/rdf"
	"github.com/opendatafrance/moisson/harvester/simulator"
	"github.com/piprate/json-gold/ld"
)

// plainURL must never accept what ld.IsURL refuses: json-gold drops the
// triples of such IRIs, and toTriples must drop the same. Every host of up
// to six characters over letters, a digit, a hyphen and a dot, with each
// kind of tail.
func TestPlainURL(t *testing.T) {
	alphabet := "ab1-."
	var hosts []string
	var grow func(string)
	grow = func(h string) {
		if h != "" {
			hosts = append(hosts, h)
		}
		if len(h) < 6 {
			for _, c := range alphabet {
				grow(h + string(c))
			}
		}
	}
	grow("")
	accepted := 0
	for _, h := range hosts {
		for _, tail := range []string{"", "/", ":8080", ":123456", "/a b", "?q=é", "#x", "/é/%20"} {
			for _, scheme := range []string{"http://", "https://"} {
				s := scheme + h + tail
				if plainURL(s) {
					accepted++
					if !ld.IsURL(s) {
						t.Errorf("plainURL(%q) but ld.IsURL refuses it", s)
					}
				}
			}
		}
	}
	for _, s := range []string{"http://data.rennesmetropole.fr/explore/dataset/a/", "https://id.insee.fr/geo/commune/35238", "http://localhost:8080/x?y#z"} {
		if !plainURL(s) {
			t.Errorf("plainURL(%q) = false: the common shape goes to the regular expression", s)
		}
	}
	if accepted < 1000 {
		t.Errorf("plainURL accepted only %d of the generated URLs", accepted)
	}
}

func FuzzPlainURL(f *testing.F) {
	f.Add("http://data.rennesmetropole.fr/explore/dataset/a/")
	f.Add("https://x.y.fr:8080/a?b#c")
	f.Fuzz(func(t *testing.T, s string) {
		if plainURL(s) && !ld.IsURL(s) {
			t.Fatalf("plainURL(%q) but ld.IsURL refuses it", s)
		}
	})
}

// The expanded JSON-LD that portals serve (OpenDataSoft's export, the
// simulator's, ckanext-dcat's) is read by toTriples, not json-gold's
// ToRDF, and gives the same triples as json-gold given the whole document.
func TestExpandedMatchesJSONGold(t *testing.T) {
	cfg := config.Default()
	for _, s := range cfg.Sources() {
		s.Disabled = ""
	}
	sim := simulator.New(cfg, simulator.Options{PerSource: map[string]int{"rennes-dcat": 40}})
	rec := httptest.NewRecorder()
	sim.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/sim/rennes-dcat/api/explore/v2.1/catalog/exports/jsonld", nil))
	docs := map[string][]byte{"simulator export": rec.Body.Bytes()}
	var b bytes.Buffer
	genJSONLDCatalog(&b, 5) // compact, with a @context: expanded by json-gold first
	docs["generated catalogue"] = b.Bytes()
	if dir := fixtureDir(t); dir != "" {
		names, _ := filepath.Glob(filepath.Join(dir, "opendatateam__udata/udata/harvest/tests/dcat/*.jsonld"))
		if len(names) == 0 {
			t.Fatalf("no JSON-LD fixture under %s", dir)
		}
		for _, n := range names {
			data, err := os.ReadFile(n)
			if err != nil {
				t.Fatal(err)
			}
			docs[filepath.Base(n)] = data
		}
	}
	for name, data := range docs {
		t.Run(name, func(t *testing.T) {
			canon := func(l *[]string) rdf.Handler {
				return func(tr rdf.Triple) error {
					term := func(x rdf.Term) string {
						if x.Kind == rdf.BlankNode {
							return "_"
						}
						return x.String()
					}
					*l = append(*l, term(tr.S)+" "+term(tr.P)+" "+term(tr.O))
					return nil
				}
			}
			var whole, ours []string
			if err := parseJSONLDWhole(data, canon(&whole)); err != nil {
				t.Fatal(err)
			}
			r := newJSONLDReader(bytes.NewReader(data), "", canon(&ours))
			if err := r.read(); err != nil {
				t.Fatal(err)
			}
			if r.fast != r.nodes {
				t.Errorf("toTriples read %d of %d nodes", r.fast, r.nodes)
			}
			if name == "simulator export" && r.direct != r.nodes {
				t.Errorf("%d of %d nodes were read without expanding them first", r.direct, r.nodes)
			}
			slices.Sort(whole)
			slices.Sort(ours)
			whole, ours = slices.Compact(whole), slices.Compact(ours)
			if w, o := strings.Join(whole, "\n"), strings.Join(ours, "\n"); w != o {
				t.Errorf("json-gold whole (%d triples) and node by node (%d) differ", len(whole), len(ours))
				for _, l := range whole {
					if _, found := slices.BinarySearch(ours, l); !found {
						t.Logf("only json-gold: %s", l)
					}
				}
				for _, l := range ours {
					if _, found := slices.BinarySearch(whole, l); !found {
						t.Logf("only ours: %s", l)
					}
				}
			}
		})
	}
}

// What toTriples reads is bounded: a node expanding to more than
// MaxJSONLDNodeTriples triples stops the read with a typed error naming the
// limit (here a compact node of 300 000 numbers, 600 kB, expanded by
// json-gold first), and the IRI memo
// keeps neither long strings nor more than maxIRIClasses of them.
func TestExpandedBounds(t *testing.T) {
	var b strings.Builder
	// Under an object (not an array, which would be streamed member by
	// member): one node.
	b.WriteString(`{"@context": {"p": "http://x.fr/p", "q": "http://x.fr/q"}, "@id": "http://x.fr/s", "p": {"q": [1`)
	for range 300000 - 1 {
		b.WriteString(",1")
	}
	b.WriteString("]}}")
	err := parseJSONLD(strings.NewReader(b.String()), "", func(rdf.Triple) error { return nil })
	var tl *fetch.TooLargeError
	if !errors.As(err, &tl) || tl.Limit != MaxJSONLDNodeTriples {
		t.Errorf("300 000 values in one node: %v, want a TooLargeError naming %d", err, MaxJSONLDNodeTriples)
	}
	c := iriClasses{}
	long := "http://x.fr/" + strings.Repeat("a", maxIRIClassKey)
	if c.of(long); len(c) != 0 {
		t.Errorf("memo kept a string of %d bytes (bound %d)", len(long), maxIRIClassKey)
	}
	for i := range maxIRIClasses + 10 {
		c.of("http://x.fr/" + strconv.Itoa(i))
	}
	if len(c) > maxIRIClasses {
		t.Errorf("memo holds %d strings, bound %d", len(c), maxIRIClasses)
	}
}
