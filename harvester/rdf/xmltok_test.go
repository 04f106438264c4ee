package rdf

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// xmlTok is a token in a form both tokenisers can be compared in.
type xmlTok struct {
	kind  string // "start", "end", "text", "pi", "directive"
	name  string
	attrs string
	data  string
}

// normAttr applies attribute value normalisation to what encoding/xml
// returns (it keeps literal tabs and newlines; ours turns them into spaces,
// as XML 1.0 section 3.3.3 requires).
func normAttr(v string) string {
	return strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(v)
}

// stdTokens tokenises with encoding/xml, as the RDF/XML parser did before.
func stdTokens(data []byte) ([]xmlTok, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.CharsetReader = charsetReader
	var out []xmlTok
	for {
		t, err := d.RawToken()
		if err == io.EOF {
			return mergeText(out), nil
		}
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			var a []string
			for _, at := range t.Attr {
				a = append(a, fmt.Sprintf("%s|%s=%q", at.Name.Space, at.Name.Local, normAttr(at.Value)))
			}
			out = append(out, xmlTok{kind: "start", name: t.Name.Space + "|" + t.Name.Local, attrs: strings.Join(a, " ")})
		case xml.EndElement:
			out = append(out, xmlTok{kind: "end", name: t.Name.Space + "|" + t.Name.Local})
		case xml.CharData:
			out = append(out, xmlTok{kind: "text", data: string(t)})
		case xml.ProcInst:
			out = append(out, xmlTok{kind: "pi", name: t.Target, data: string(t.Inst)})
		case xml.Directive:
			out = append(out, xmlTok{kind: "directive", data: string(t)})
		}
	}
}

// ourTokens tokenises with xmlTokenizer; readers other than bytes.Reader
// exercise the buffer refills.
func ourTokens(r io.Reader) ([]xmlTok, error) {
	z := newXMLTokenizer(r)
	var out []xmlTok
	for {
		kind, err := z.next()
		if err != nil {
			return nil, err
		}
		switch kind {
		case tokEOF:
			return mergeText(out), nil
		case tokStart:
			var a []string
			for i := range z.attrs {
				at := &z.attrs[i]
				a = append(a, fmt.Sprintf("%s|%s=%q", at.name.prefix, at.name.local, normAttr(string(z.val(at)))))
			}
			name := z.name.prefix + "|" + z.name.local
			out = append(out, xmlTok{kind: "start", name: name, attrs: strings.Join(a, " ")})
			if z.selfClose {
				out = append(out, xmlTok{kind: "end", name: name})
			}
		case tokEnd:
			out = append(out, xmlTok{kind: "end", name: z.name.prefix + "|" + z.name.local})
		case tokText:
			out = append(out, xmlTok{kind: "text", data: string(z.text)})
		case tokPI:
			out = append(out, xmlTok{kind: "pi", name: z.name.local, data: string(z.text)})
		case tokDirective:
			out = append(out, xmlTok{kind: "directive", data: string(z.text)})
		}
	}
}

// mergeText joins adjacent character data (split differently by comments
// and CDATA sections).
func mergeText(toks []xmlTok) []xmlTok {
	var out []xmlTok
	for _, t := range toks {
		if t.kind == "text" && len(out) > 0 && out[len(out)-1].kind == "text" {
			out[len(out)-1].data += t.data
			continue
		}
		out = append(out, t)
	}
	return out
}

func compareTokenizers(t *testing.T, data []byte) {
	want, stdErr := stdTokens(data)
	for _, r := range []io.Reader{bytes.NewReader(data), iotest.OneByteReader(bytes.NewReader(data)), iotest.HalfReader(bytes.NewReader(data))} {
		got, err := ourTokens(r)
		var pe *ParseError
		if err != nil && (!errors.As(err, &pe) || pe.Line < 1 || pe.Col < 1) {
			t.Fatalf("error is not a positioned *ParseError: %#v", err)
		}
		switch {
		case stdErr != nil:
			// Ours may be more lenient only where encoding/xml is stricter
			// than XML 1.0 (fifth edition names); nothing to compare.
		case err != nil:
			// Known differences where encoding/xml accepts what XML forbids:
			// character references to non-characters (it substitutes
			// U+FFFD); a second XML declaration (it switches the charset
			// again); a "--" inside a comment in a DOCTYPE.
			if strings.Contains(pe.Msg, "illegal character code U+D") || bytes.Count(data, []byte("<?xml")) > 1 ||
				strings.Contains(pe.Msg, `"--" not allowed`) {
				return
			}
			t.Fatalf("encoding/xml accepts, we fail: %v\n%q", err, data)
		default:
			if fmt.Sprint(got) != fmt.Sprint(want) {
				if bytes.Count(data, []byte("<?xml")) > 1 {
					return
				}
				t.Fatalf("tokens differ for %q:\n got %v\nwant %v", data, got, want)
			}
		}
	}
}

// Documents both tokenisers accept, and documents XML rejects.
var (
	tokenizerValid = []string{
		`<?xml version="1.0" encoding="utf-8"?><a:b xmlns:a="http://a/" x='1' y="&lt;&amp;&#x41;&#66;"><!-- c --><?pi  some data ?><![CDATA[<x>&amp;]]]]></a:b>`,
		"<a x=\"a\tb\nc\r\nd\rf\">l1\r\nl2\rl3\n</a>",
		`<!DOCTYPE r [<!ELEMENT r ANY><!-- a > comment --><!ATTLIST r a CDATA "x>y">]><r/>`,
		"<r>caf\u00e9 \u20ac \U0001F600</r>",
		`<r a="x]]>y">]] ]></r>`,
		"\ufeff<?xml version='1.0'?>\n<r:s xmlns:r='http://r/'\n   r:a = 'v' ></r:s >\n",
		`<?xml version="1.0" encoding="ISO-8859-1"?><r a="caf` + "\xe9" + `">` + "\x80\x92" + `</r>`,
		`<é:ü xmlns:é="http://e/">x</é:ü>`,
		`<:a/>`, `<a:/>`,
	}
	tokenizerInvalid = []string{
		`<a>&#xD800;</a>`, `<a>&#0;</a>`, `<a>&unknown;</a>`, `<a>&amp</a>`, `<a>]]></a>`, `<a b="<"/>`, `<a b=c/>`,
		`<a><!-- x -- y --></a>`, `<a:b:c/>`, `<1a/>`, "<a>\x01</a>", "<a>\xff</a>", `<a`, `<a b="`, `<![CDATA[x`,
		`<?xml version="1.1"?><a/>`, `<?xml version="1.0" encoding="KOI8-R"?><a/>`,
	}
)

func TestTokenizerMatchesEncodingXML(t *testing.T) {
	for _, s := range tokenizerValid {
		if _, err := stdTokens([]byte(s)); err != nil {
			t.Errorf("encoding/xml rejects %q: %v", s, err)
		}
		if _, err := ourTokens(strings.NewReader(s)); err != nil {
			t.Errorf("we reject %q: %v", s, err)
		}
		compareTokenizers(t, []byte(s))
	}
	for _, s := range tokenizerInvalid {
		if _, err := ourTokens(strings.NewReader(s)); err == nil {
			t.Errorf("we accept %q", s)
		}
		compareTokenizers(t, []byte(s))
	}
}

func FuzzXMLTokenizer(f *testing.F) {
	addSeeds(f, "rdf-xml", []string{"xml-canon/test002.rdf", "rdfms-empty-property-elements/test016.rdf", "rdf-charmod-literals/test001.rdf", "rdf-charmod-uris/test001.rdf"},
		append(tokenizerValid, tokenizerInvalid...)...)
	f.Fuzz(func(t *testing.T, data []byte) {
		compareTokenizers(t, data)
	})
}

// A single-byte document larger than the tokeniser's buffer reads as its
// UTF-8 twin, and positions count lines and characters of the text.
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
