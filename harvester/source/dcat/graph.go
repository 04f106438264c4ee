package dcat

import (
	"slices"
	"sort"
	"strings"

	"github.com/opendatafrance/moisson/harvester/normalize"

	"github.com/opendatafrance/moisson/harvester/rdf"
)

// Vocabularies.
const (
	nsRDF    = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
	nsRDFS   = "http://www.w3.org/2000/01/rdf-schema#"
	nsDCAT   = "http://www.w3.org/ns/dcat#"
	nsDCT    = "http://purl.org/dc/terms/"
	nsFOAF   = "http://xmlns.com/foaf/0.1/"
	nsVCARD  = "http://www.w3.org/2006/vcard/ns#"
	nsSKOS   = "http://www.w3.org/2004/02/skos/core#"
	nsHydra  = "http://www.w3.org/ns/hydra/core#"
	nsSchema = "http://schema.org/"
	nsADMS   = "http://www.w3.org/ns/adms#"
	nsLOCN   = "http://www.w3.org/ns/locn#"
)

// graph is the triples of one page, indexed by subject. Pages are small
// (a page of a Hydra-paged catalogue); a whole unpaged catalogue is held
// once, as its portal serves it.
type graph struct {
	bySubject map[string][]po
	order     []string // subjects in first-seen order, for a stable walk
	// streaming: subjects come and go (stream.go); order then lists only
	// the subjects that carry Hydra paging.
	streaming bool
	m         *graphMemo
}

// graphMemo keeps the normalised form of values that repeat from one
// dataset to the next (themes, licences, places: normalising them takes
// regular expressions), for the whole document.
type graphMemo struct {
	themes themeMemo
	values map[memoKey]string
}

type memoKey struct {
	kind byte // 'l' licence, 'i' INSEE code
	v    string
}

// memoised returns f(v), computed once per distinct value (kind tells the
// functions apart).
func (g *graph) memoised(kind byte, v string, f func(string) string) string {
	m := g.m
	if m.values == nil || len(m.values) > 50000 {
		m.values = map[memoKey]string{}
	}
	k := memoKey{kind, v}
	if r, ok := m.values[k]; ok {
		return r
	}
	r := f(v)
	m.values[k] = r
	return r
}

// themeMemo memoises normalize.Themes term by term (Themes of a list is the
// union of its terms'; the theme table is a list of regular expressions).
type themeMemo struct{ m map[string][]string }

func (t *themeMemo) of(lists ...[]string) []string {
	if t.m == nil || len(t.m) > 50000 {
		t.m = map[string][]string{}
	}
	var out []string
	for _, list := range lists {
		for _, v := range list {
			codes, ok := t.m[v]
			if !ok {
				codes = normalize.Themes([]string{v})
				t.m[v] = codes
			}
			for _, c := range codes {
				if !slices.Contains(out, c) {
					out = append(out, c)
				}
			}
		}
	}
	slices.Sort(out)
	if out == nil {
		out = []string{}
	}
	return out
}

type po struct {
	p   string
	o   rdf.Term
	oid uint32 // streaming: the object's node index in the spooler (0: not tracked)
}

func newGraph() *graph { return &graph{bySubject: map[string][]po{}, m: &graphMemo{}} }

func key(t rdf.Term) string {
	if t.Kind == rdf.BlankNode {
		return "_:" + t.Value
	}
	return t.Value
}

func (g *graph) add(t rdf.Triple) { g.addPO(t.S, t.P.Value, t.O) }

func (g *graph) addPO(s rdf.Term, p string, o rdf.Term) { g.addKeyed(key(s), p, o, 0) }

// addKeyed is addPO with the subject's key already computed.
func (g *graph) addKeyed(k string, p string, o rdf.Term, oid uint32) {
	list, ok := g.bySubject[k]
	if !ok && (!g.streaming || strings.HasPrefix(p, nsHydra) || strings.HasPrefix(o.Value, nsHydra)) {
		g.order = append(g.order, k)
	} else if ok && g.streaming && strings.HasPrefix(p, nsHydra) && !g.inOrder(k) {
		g.order = append(g.order, k)
	}
	g.bySubject[k] = append(list, po{p: p, o: o, oid: oid})
}

// addRun is addKeyed for each triple of run, in order, with one map
// lookup; the graph does not keep run. It returns the number of triples
// the graph now holds for k.
func (g *graph) addRun(k string, run []po) int {
	list, ok := g.bySubject[k]
	for i := range run {
		x := &run[i]
		if known := ok || i > 0; !known && (!g.streaming || strings.HasPrefix(x.p, nsHydra) || strings.HasPrefix(x.o.Value, nsHydra)) {
			g.order = append(g.order, k)
		} else if known && g.streaming && strings.HasPrefix(x.p, nsHydra) && !g.inOrder(k) {
			g.order = append(g.order, k)
		}
	}
	if !ok {
		list = make([]po, 0, len(run))
	}
	list = append(list, run...)
	g.bySubject[k] = list
	return len(list)
}

func (g *graph) inOrder(k string) bool {
	for _, x := range g.order {
		if x == k {
			return true
		}
	}
	return false
}

// subjectsOfType lists subjects typed with class, in document order.
func (g *graph) subjectsOfType(class string) []string {
	var out []string
	for _, s := range g.order {
		for _, x := range g.bySubject[s] {
			if x.p == rdf.RDFType && x.o.Value == class {
				out = append(out, s)
				break
			}
		}
	}
	return out
}

func (g *graph) objects(s, p string) []rdf.Term {
	var out []rdf.Term
	for _, x := range g.bySubject[s] {
		if x.p == p {
			out = append(out, x.o)
		}
	}
	return out
}

func (g *graph) first(s string, ps ...string) (rdf.Term, bool) {
	for _, p := range ps {
		for _, x := range g.bySubject[s] {
			if x.p == p {
				return x.o, true
			}
		}
	}
	return rdf.Term{}, false
}

// literal picks the best literal among the values of the properties: French
// first, then no language, then English, then any.
func (g *graph) literal(s string, ps ...string) string {
	for _, p := range ps {
		if v := bestLiteral(g.objects(s, p)); v != "" {
			return v
		}
	}
	return ""
}

func langRank(lang string) int {
	l := strings.ToLower(lang)
	switch {
	case l == "fr" || strings.HasPrefix(l, "fr-"):
		return 0
	case l == "":
		return 1
	case l == "en" || strings.HasPrefix(l, "en-"):
		return 2
	}
	return 3
}

func bestLiteral(ts []rdf.Term) string {
	best, rank := "", 99
	for _, t := range ts {
		if t.Kind != rdf.Literal || strings.TrimSpace(t.Value) == "" {
			continue
		}
		if r := langRank(t.Lang); r < rank {
			best, rank = t.Value, r
		}
	}
	return best
}

// literals lists literal values of a property, keeping one language: French
// if present, else untagged, else all.
func (g *graph) literals(s, p string) []string {
	ts := g.objects(s, p)
	bestRank := 99
	for _, t := range ts {
		if t.Kind == rdf.Literal {
			if r := langRank(t.Lang); r < bestRank {
				bestRank = r
			}
		}
	}
	var out []string
	seen := map[string]bool{}
	for _, t := range ts {
		if t.Kind != rdf.Literal || (langRank(t.Lang) != bestRank && bestRank < 2) {
			continue
		}
		v := strings.TrimSpace(t.Value)
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// label names a node: its literal value, or its label properties, or its IRI.
func (g *graph) label(t rdf.Term) string {
	if t.Kind == rdf.Literal {
		return strings.TrimSpace(t.Value)
	}
	k := key(t)
	if v := g.literal(k, nsFOAF+"name", nsSKOS+"prefLabel", nsRDFS+"label", nsDCT+"title", nsVCARD+"fn", nsVCARD+"organization-name", nsRDF+"value", nsSchema+"name"); v != "" {
		return v
	}
	if t.Kind == rdf.IRI {
		return t.Value
	}
	return ""
}

// iri returns the IRI of a term, or its rdf:about-like value for blank nodes
// that carry one (schema:url, foaf:homepage), else "".
func iri(t rdf.Term) string {
	if t.Kind == rdf.IRI {
		return t.Value
	}
	if t.Kind == rdf.Literal && (strings.HasPrefix(t.Value, "http://") || strings.HasPrefix(t.Value, "https://")) {
		return strings.TrimSpace(t.Value)
	}
	return ""
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
