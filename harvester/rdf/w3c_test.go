package rdf

import (
	"io"
	"os"
	"testing"
)

func TestW3CNTriples(t *testing.T) {
	runSuite(t, "rdf-n-triples", parseFile(func(f *os.File, _ string, h Handler) error {
		return ParseNTriples(f, h)
	}))
}

func TestW3CTurtle(t *testing.T) {
	runSuite(t, "rdf-turtle", parseFile(func(f *os.File, base string, h Handler) error {
		return ParseTurtle(f, base, h)
	}))
}

func TestW3CRDFXML(t *testing.T) {
	runSuite(t, "rdf-xml", parseFile(func(f *os.File, base string, h Handler) error {
		return ParseRDFXML(io.Reader(f), base, h)
	}))
}
