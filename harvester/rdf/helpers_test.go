package rdf

import (
	"errors"
	"fmt"
	"github.com/opendatafrance/moisson/harvester/internal/sharedtest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sharedDir locates "<repo root>/../shared/<name>", the repo root being the
// nearest ancestor directory containing go.work. Without it the test is
// skipped, unless CI=true where it is a failure.
func sharedDir(tb testing.TB, name string) string {
	tb.Helper()
	return sharedtest.Require(tb, name)
}

func collect(parse func(Handler) error) ([]Triple, error) {
	var g []Triple
	err := parse(func(t Triple) error {
		g = append(g, t)
		return nil
	})
	return g, err
}

type manifestEntry struct {
	name, kind, action, result string
}

// loadManifest reads manifest.ttl with our own Turtle parser. The document
// base is mf:assumedTestBase + "manifest.ttl" when present.
func loadManifest(t *testing.T, dir string) (entries []manifestEntry, testBase string) {
	t.Helper()
	path := filepath.Join(dir, "manifest.ttl")
	parse := func(base string) []Triple {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		g, err := collect(func(h Handler) error { return ParseTurtle(f, base, h) })
		if err != nil {
			t.Fatalf("parsing %s: %v", path, err)
		}
		return g
	}
	const mf = "http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#"
	placeholder := "file:///manifest-dir/"
	g := parse(placeholder + "manifest.ttl")
	testBase = placeholder
	for _, tr := range g {
		if tr.P.Value == "http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#assumedTestBase" {
			testBase = tr.O.Value
			g = parse(testBase + "manifest.ttl")
			break
		}
	}
	props := map[Term]map[string]Term{}
	var manifest Term
	for _, tr := range g {
		if props[tr.S] == nil {
			props[tr.S] = map[string]Term{}
		}
		props[tr.S][tr.P.Value] = tr.O
		if tr.P.Value == RDFType && tr.O.Value == mf+"Manifest" {
			manifest = tr.S
		}
	}
	list, ok := props[manifest][mf+"entries"]
	if !ok {
		t.Fatalf("%s: no mf:entries", path)
	}
	for list.Value != rdfNil {
		e := props[list][rdfFirst]
		p := props[e]
		entries = append(entries, manifestEntry{
			name:   p[mf+"name"].Value,
			kind:   strings.TrimPrefix(p[RDFType].Value, "http://www.w3.org/ns/rdftest#"),
			action: p[mf+"action"].Value,
			result: p[mf+"result"].Value,
		})
		next, ok := props[list][rdfRest]
		if !ok {
			t.Fatalf("%s: broken mf:entries list", path)
		}
		list = next
	}
	return entries, testBase
}

type parseFunc func(path, base string, h Handler) error

func parseFile(parse func(f *os.File, base string, h Handler) error) parseFunc {
	return func(path, base string, h Handler) error {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		return parse(f, base, h)
	}
}

func runSuite(t *testing.T, suite string, parse parseFunc) {
	dir := sharedDir(t, filepath.Join("w3c-rdf-tests", suite))
	entries, testBase := loadManifest(t, dir)
	if len(entries) == 0 {
		t.Fatal("empty manifest")
	}
	local := func(iri string) string {
		return filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(iri, testBase)))
	}
	passed := 0
	var failed []string
	for _, e := range entries {
		err := runEntry(e, local, parse)
		if err == nil {
			passed++
		} else {
			failed = append(failed, e.name+": "+err.Error())
		}
	}
	line := fmt.Sprintf("W3C %s: passed %d of %d", suite, passed, len(entries))
	t.Log(line)
	fmt.Println(line)
	for _, f := range failed {
		t.Errorf("FAILED %s", f)
	}
}

func runEntry(e manifestEntry, local func(string) string, parse parseFunc) error {
	g, err := collect(func(h Handler) error { return parse(local(e.action), e.action, h) })
	var pe *ParseError
	switch e.kind {
	case "TestNTriplesPositiveSyntax", "TestTurtlePositiveSyntax":
		if err != nil {
			return fmt.Errorf("unexpected error: %v", err)
		}
	case "TestNTriplesNegativeSyntax", "TestTurtleNegativeSyntax", "TestXMLNegativeSyntax", "TestTurtleNegativeEval":
		if err == nil {
			return fmt.Errorf("expected a syntax error, got %d triples", len(g))
		}
		if !errors.As(err, &pe) {
			return fmt.Errorf("error is not a *ParseError: %T %v", err, err)
		}
	case "TestTurtleEval", "TestXMLEval":
		if err != nil {
			return fmt.Errorf("unexpected error: %v", err)
		}
		want, err := collect(func(h Handler) error {
			f, err := os.Open(local(e.result))
			if err != nil {
				return err
			}
			defer f.Close()
			return ParseNTriples(f, h)
		})
		if err != nil {
			return fmt.Errorf("reading expected result: %v", err)
		}
		if ok, why := isomorphic(g, want); !ok {
			var b strings.Builder
			for _, t := range g {
				b.WriteString("\n  got: " + t.String())
			}
			for _, t := range want {
				b.WriteString("\n  want: " + t.String())
			}
			return fmt.Errorf("graph mismatch: %s%s", why, b.String())
		}
	default:
		return fmt.Errorf("unknown test type %q", e.kind)
	}
	return nil
}
