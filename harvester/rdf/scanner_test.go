package rdf

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"
)

// sameOneByteAtATime parses data twice, once from memory (IRIs and strings
// are then taken whole from the read buffer: scanner.run) and once one
// byte per Read (the buffer never holds a whole token, so every rune goes
// through the slow path), and fails unless both give the same graph and
// the same error, position included.
func sameOneByteAtATime(t *testing.T, name string, data []byte, parse func(io.Reader, Handler) error) {
	t.Helper()
	read := func(r io.Reader) ([]Triple, string) {
		var g []Triple
		err := parse(r, func(tr Triple) error {
			if g = append(g, tr); len(g) >= 500 {
				return errFuzzStop
			}
			return nil
		})
		return g, fmt.Sprint(err)
	}
	fast, ferr := read(bytes.NewReader(data))
	slow, serr := read(iotest.OneByteReader(bytes.NewReader(data)))
	if ferr != serr {
		t.Fatalf("%s: error %q from memory, %q one byte at a time", name, ferr, serr)
	}
	if ok, why := isomorphic(fast, slow); !ok {
		t.Fatalf("%s: graphs differ between memory and one byte at a time: %s", name, why)
	}
}

// The fast path of the scanner gives what its rune-by-rune path gives, on
// every file of the W3C N-Triples and Turtle suites (good and bad ones).
func TestScannerFastPath(t *testing.T) {
	for _, suite := range []struct {
		dir, ext string
		parse    func(io.Reader, Handler) error
	}{
		{"rdf-n-triples", ".nt", ParseNTriples},
		{"rdf-turtle", ".ttl", func(r io.Reader, h Handler) error { return ParseTurtle(r, "http://example.org/base/doc.ttl", h) }},
	} {
		dir := sharedDir(t, filepath.Join("w3c-rdf-tests", suite.dir))
		names, _ := filepath.Glob(filepath.Join(dir, "*"+suite.ext))
		if len(names) < 50 {
			t.Fatalf("%d files in %s", len(names), dir)
		}
		for _, n := range names {
			data, err := os.ReadFile(n)
			if err != nil {
				t.Fatal(err)
			}
			sameOneByteAtATime(t, filepath.Base(n), data, suite.parse)
		}
	}
}
