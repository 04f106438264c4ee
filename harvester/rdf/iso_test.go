package rdf

import (
	"fmt"
	"sort"
	"strings"
)

// isomorphic reports whether graphs a and b are equal up to blank node
// renaming (set semantics: duplicate triples are ignored). On mismatch it
// returns a short explanation.
func isomorphic(a, b []Triple) (bool, string) {
	a, b = dedup(a), dedup(b)
	if len(a) != len(b) {
		return false, fmt.Sprintf("triple count differs: got %d, want %d", len(a), len(b))
	}
	groundA, bnA := splitGround(a)
	groundB, bnB := splitGround(b)
	setB := make(map[string]bool, len(groundB))
	for _, t := range groundB {
		setB[t.String()] = true
	}
	for _, t := range groundA {
		if !setB[t.String()] {
			return false, "unexpected triple " + t.String()
		}
	}
	if len(groundA) != len(groundB) || len(bnA) != len(bnB) {
		return false, "ground / blank triple counts differ"
	}
	if len(bnA) == 0 {
		return true, ""
	}
	m := newMatcher(bnA, bnB)
	if !m.solve(0) {
		return false, "no blank node bijection makes the graphs equal"
	}
	return true, ""
}

func dedup(g []Triple) []Triple {
	seen := make(map[Triple]bool, len(g))
	out := g[:0:0]
	for _, t := range g {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

func splitGround(g []Triple) (ground, blank []Triple) {
	for _, t := range g {
		if t.S.Kind == BlankNode || t.O.Kind == BlankNode {
			blank = append(blank, t)
		} else {
			ground = append(ground, t)
		}
	}
	return
}

type matcher struct {
	a, b         []Triple
	nodesA       []string
	sigA, sigB   map[string]string
	byNodeA      map[string][]Triple
	setB         map[Triple]bool
	mapping      map[string]string
	used         map[string]bool
	candidatesOf map[string][]string
}

// signature computes an iteratively refined colour of each blank node from
// its non-blank context.
func signatures(g []Triple) map[string]string {
	col := map[string]string{}
	for _, t := range g {
		for _, x := range []Term{t.S, t.O} {
			if x.Kind == BlankNode {
				col[x.Value] = ""
			}
		}
	}
	key := func(x Term) string {
		if x.Kind == BlankNode {
			return "_:" + col[x.Value]
		}
		return x.String()
	}
	for round := 0; round < 4; round++ {
		parts := map[string][]string{}
		for _, t := range g {
			if t.S.Kind == BlankNode {
				parts[t.S.Value] = append(parts[t.S.Value], "s "+t.P.String()+" "+key(t.O))
			}
			if t.O.Kind == BlankNode {
				parts[t.O.Value] = append(parts[t.O.Value], "o "+key(t.S)+" "+t.P.String())
			}
		}
		next := map[string]string{}
		for n := range col {
			p := parts[n]
			sort.Strings(p)
			h := fnv(strings.Join(p, "\n"))
			next[n] = h
		}
		col = next
	}
	return col
}

func fnv(s string) string {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return fmt.Sprintf("%016x", h)
}

func newMatcher(a, b []Triple) *matcher {
	m := &matcher{a: a, b: b, sigA: signatures(a), sigB: signatures(b),
		byNodeA: map[string][]Triple{}, setB: map[Triple]bool{}, mapping: map[string]string{},
		used: map[string]bool{}, candidatesOf: map[string][]string{}}
	for _, t := range b {
		m.setB[t] = true
	}
	for _, t := range a {
		if t.S.Kind == BlankNode {
			m.byNodeA[t.S.Value] = append(m.byNodeA[t.S.Value], t)
		}
		if t.O.Kind == BlankNode && t.O != t.S {
			m.byNodeA[t.O.Value] = append(m.byNodeA[t.O.Value], t)
		}
	}
	bySig := map[string][]string{}
	for n, s := range m.sigB {
		bySig[s] = append(bySig[s], n)
	}
	for n, s := range m.sigA {
		m.nodesA = append(m.nodesA, n)
		c := bySig[s]
		sort.Strings(c)
		m.candidatesOf[n] = c
	}
	sort.Slice(m.nodesA, func(i, j int) bool {
		ci, cj := len(m.candidatesOf[m.nodesA[i]]), len(m.candidatesOf[m.nodesA[j]])
		if ci != cj {
			return ci < cj
		}
		return m.nodesA[i] < m.nodesA[j]
	})
	return m
}

func (m *matcher) mapTerm(t Term) (Term, bool) {
	if t.Kind != BlankNode {
		return t, true
	}
	v, ok := m.mapping[t.Value]
	return Term{Kind: BlankNode, Value: v}, ok
}

func (m *matcher) consistent(n string) bool {
	for _, t := range m.byNodeA[n] {
		s, ok1 := m.mapTerm(t.S)
		o, ok2 := m.mapTerm(t.O)
		if ok1 && ok2 && !m.setB[Triple{S: s, P: t.P, O: o}] {
			return false
		}
	}
	return true
}

func (m *matcher) solve(i int) bool {
	if len(m.sigA) != len(m.sigB) {
		return false
	}
	if i == len(m.nodesA) {
		return true
	}
	n := m.nodesA[i]
	for _, c := range m.candidatesOf[n] {
		if m.used[c] {
			continue
		}
		m.mapping[n] = c
		m.used[c] = true
		if m.consistent(n) && m.solve(i+1) {
			return true
		}
		delete(m.mapping, n)
		m.used[c] = false
	}
	return false
}
