package rdf

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestRDFXMLLargeLatin1(t *testing.T) {
	var latin, utf strings.Builder
	head := `<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:e="http://e/">` + "\n"
	latin.WriteString(`<?xml version="1.0" encoding="ISO-8859-1"?>` + "\n" + head)
	utf.WriteString(`<?xml version="1.0"?>` + "\n" + head)
	for i := range 3000 {
		fmt.Fprintf(&latin, "<e:T rdf:about=\"http://x/%d\" e:a=\"caf\xe9 %d\"><e:p>No\xebl \x80 %d</e:p></e:T>\n", i, i, i)
		fmt.Fprintf(&utf, "<e:T rdf:about=\"http://x/%d\" e:a=\"café %d\"><e:p>Noël € %d</e:p></e:T>\n", i, i, i)
	}
	latin.WriteString("</rdf:RDF>\n")
	utf.WriteString("</rdf:RDF>\n")
	got := mustCollect(t, func(h Handler) error {
		return ParseRDFXML(iotest.HalfReader(strings.NewReader(latin.String())), "", h)
	})
	want := mustCollect(t, func(h Handler) error { return ParseRDFXML(strings.NewReader(utf.String()), "", h) })
	if len(got) != 3*3000 {
		t.Fatalf("%d triples", len(got))
	}
	if ok, why := isomorphic(got, want); !ok {
		t.Fatal(why)
	}
	// an error far into the document: line 2+3000+1, after the value (as
	// encoding/xml)
	bad := strings.Replace(utf.String(), "</rdf:RDF>", "<e:T e:a=\"x\xffy\"/></rdf:RDF>", 1)
	pe := parseErr(t, "xml", bad)
	if pe.Line != 3003 || pe.Col != 15 || !strings.Contains(pe.Msg, "UTF-8") {
		t.Errorf("got %v, want line 3003 col 15", pe)
	}
	// columns count characters (two bytes each in UTF-8 here)
	bad = strings.Replace(latin.String(), "</rdf:RDF>", "<!--\xe9\xe9--><e:T e:a=\"x&bad;\"/></rdf:RDF>", 1)
	pe = parseErr(t, "xml", bad)
	if pe.Line != 3003 || pe.Col != 26 || !strings.Contains(pe.Msg, "&bad;") {
		t.Errorf("got %v, want line 3003 col 26", pe)
	}
}

// Attribute values are normalised (XML 1.0 section 3.3.3); character
// references are kept as they are.
func TestRDFXMLAttributeNormalisation(t *testing.T) {
	doc := "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns:e=\"http://e/\">" +
		"<e:T e:a=\"a\tb\r\nc\nd&#9;e&#10;f\"/></rdf:RDF>"
	g := mustCollect(t, func(h Handler) error { return ParseRDFXML(strings.NewReader(doc), "", h) })
	if len(g) != 2 || g[1].O.Value != "a b c d\te\nf" {
		t.Errorf("got %v", g)
	}
}

// The size of one token stays bounded, whatever the token.
func TestRDFXMLTokenLimitInTags(t *testing.T) {
	for _, c := range [][2]string{
		{`<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:e="http://e/"><e:T e:a="`, `"/></rdf:RDF>`},
		{`<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><!--`, `--></rdf:RDF>`},
		{`<!DOCTYPE r [`, `]><r/>`},
		{`<?pi `, `?><r/>`},
	} {
		// the document is streamed, not built
		doc := io.MultiReader(strings.NewReader(c[0]), io.LimitReader(repeatReader('a'), maxTokenSize+10), strings.NewReader(c[1]))
		err := ParseRDFXML(doc, "", func(Triple) error { return nil })
		var pe *ParseError
		if !errors.As(err, &pe) || !strings.Contains(pe.Msg, "limit") {
			t.Errorf("%s: %v", c[0], err)
		}
	}
}

type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}
