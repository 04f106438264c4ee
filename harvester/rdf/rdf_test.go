package rdf

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestResolveIRI(t *testing.T) {
	// RFC 3986 section 5.4 (normal and abnormal examples, strict parser).
	base := "http://a/b/c/d;p?q"
	cases := map[string]string{
		"g:h": "g:h", "g": "http://a/b/c/g", "./g": "http://a/b/c/g", "g/": "http://a/b/c/g/",
		"/g": "http://a/g", "//g": "http://g", "?y": "http://a/b/c/d;p?y", "g?y": "http://a/b/c/g?y",
		"#s": "http://a/b/c/d;p?q#s", "g#s": "http://a/b/c/g#s", "g?y#s": "http://a/b/c/g?y#s",
		";x": "http://a/b/c/;x", "g;x": "http://a/b/c/g;x", "g;x?y#s": "http://a/b/c/g;x?y#s",
		"": "http://a/b/c/d;p?q", ".": "http://a/b/c/", "./": "http://a/b/c/", "..": "http://a/b/",
		"../": "http://a/b/", "../g": "http://a/b/g", "../..": "http://a/", "../../": "http://a/",
		"../../g": "http://a/g", "../../../g": "http://a/g", "../../../../g": "http://a/g",
		"/./g": "http://a/g", "/../g": "http://a/g", "g.": "http://a/b/c/g.", ".g": "http://a/b/c/.g",
		"g..": "http://a/b/c/g..", "..g": "http://a/b/c/..g", "./../g": "http://a/b/g",
		"./g/.": "http://a/b/c/g/", "g/./h": "http://a/b/c/g/h", "g/../h": "http://a/b/c/h",
		"g;x=1/./y": "http://a/b/c/g;x=1/y", "g;x=1/../y": "http://a/b/c/y", "g?y/./x": "http://a/b/c/g?y/./x",
		"g?y/../x": "http://a/b/c/g?y/../x", "g#s/./x": "http://a/b/c/g#s/./x", "g#s/../x": "http://a/b/c/g#s/../x",
		"http:g": "http:g",
	}
	for ref, want := range cases {
		if got := resolveIRI(base, ref); got != want {
			t.Errorf("resolve(%q, %q) = %q, want %q", base, ref, got, want)
		}
	}
	// empty base path with authority, base with fragment, no base
	for _, c := range [][3]string{
		{"http://a", "g", "http://a/g"},
		{"http://a", "", "http://a"},
		{"http://a/b#frag", "", "http://a/b"},
		{"http://a/b#frag", "#x", "http://a/b#x"},
		{"", "rel/x", "rel/x"},
		{"urn:x", "http://b/c/../d", "http://b/d"},
		{"file:///dir/f.ttl", "../g", "file:///g"},
	} {
		if got := resolveIRI(c[0], c[1]); got != c[2] {
			t.Errorf("resolve(%q, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
}

func mustCollect(t *testing.T, parse func(Handler) error) []Triple {
	t.Helper()
	g, err := collect(parse)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestIsomorphic(t *testing.T) {
	parse := func(s string) []Triple {
		return mustCollect(t, func(h Handler) error { return ParseNTriples(strings.NewReader(s), h) })
	}
	a := parse("_:a <http://p> _:b .\n_:b <http://p> _:c .\n_:c <http://q> \"x\" .\n")
	b := parse("_:z <http://q> \"x\" .\n_:y <http://p> _:z .\n_:x <http://p> _:y .\n")
	if ok, why := isomorphic(a, b); !ok {
		t.Errorf("expected isomorphic graphs: %s", why)
	}
	// same shape except the literal sits at the chain head
	c := parse("_:a <http://p> _:b .\n_:b <http://p> _:c .\n_:a <http://q> \"x\" .\n")
	if ok, _ := isomorphic(a, c); ok {
		t.Error("expected non-isomorphic graphs")
	}
	// two blank nodes merged into one is not isomorphic
	d := parse("_:a <http://p> _:b .\n_:b <http://p> _:a .\n")
	e := parse("_:a <http://p> _:a .\n_:b <http://p> _:b .\n")
	if ok, _ := isomorphic(d, e); ok {
		t.Error("cycle vs two loops reported isomorphic")
	}
	if ok, _ := isomorphic(parse("<http://s> <http://p> \"a\"@en .\n"), parse("<http://s> <http://p> \"a\" .\n")); ok {
		t.Error("language tag ignored")
	}
}

func TestBlankNodesScopedPerParse(t *testing.T) {
	doc := "_:a <http://p> _:a .\n_:a <http://q> [ <http://r> _:b ] ."
	g1 := mustCollect(t, func(h Handler) error { return ParseTurtle(strings.NewReader(doc), "", h) })
	g2 := mustCollect(t, func(h Handler) error { return ParseTurtle(strings.NewReader(doc), "", h) })
	var q Triple
	for _, tr := range g1 {
		if tr.P.Value == "http://q" {
			q = tr
		}
	}
	if g1[0].S != g1[0].O || g1[0].S != q.S {
		t.Errorf("same label must give the same node within a parse: %v", g1)
	}
	labels := map[string]bool{}
	for _, tr := range g1 {
		for _, x := range []Term{tr.S, tr.O} {
			if x.Kind == BlankNode {
				labels[x.Value] = true
			}
		}
	}
	if len(labels) != 3 {
		t.Errorf("want 3 distinct blank nodes, got %v", labels)
	}
	for _, tr := range g2 {
		if labels[tr.S.Value] || labels[tr.O.Value] {
			t.Errorf("blank node %v reused across parses", tr)
		}
	}
	x := mustCollect(t, func(h Handler) error {
		return ParseRDFXML(strings.NewReader(`<rdf:RDF xmlns:rdf="`+rdfNS+`" xmlns:e="http://e/"><e:T rdf:nodeID="a"/></rdf:RDF>`), "", h)
	})
	if x[0].S.Value == g1[0].S.Value || x[0].S.Kind != BlankNode {
		t.Errorf("rdf:nodeID not scoped: %v", x[0])
	}
}

func TestTermString(t *testing.T) {
	cases := []struct {
		t    Term
		want string
	}{
		{iriTerm("http://a/b"), "<http://a/b>"},
		{Term{Kind: BlankNode, Value: "x1"}, "_:x1"},
		{Term{Kind: Literal, Value: "a\"b\\c\nd\re"}, `"a\"b\\c\nd\re"`},
		{Term{Kind: Literal, Value: "x", Datatype: XSDString}, `"x"`},
		{Term{Kind: Literal, Value: "chat", Lang: "fr", Datatype: RDFLangString}, `"chat"@fr`},
		{Term{Kind: Literal, Value: "chat", Lang: "fr"}, `"chat"@fr`},
		{Term{Kind: Literal, Value: "1", Datatype: xsdInteger}, `"1"^^<http://www.w3.org/2001/XMLSchema#integer>`},
	}
	for _, c := range cases {
		if got := c.t.String(); got != c.want {
			t.Errorf("%#v.String() = %s, want %s", c.t, got, c.want)
		}
	}
}

func parseErr(t *testing.T, syntax, doc string) *ParseError {
	t.Helper()
	var err error
	h := func(Triple) error { return nil }
	switch syntax {
	case "nt":
		err = ParseNTriples(strings.NewReader(doc), h)
	case "ttl":
		err = ParseTurtle(strings.NewReader(doc), "http://base/", h)
	case "xml":
		err = ParseRDFXML(strings.NewReader(doc), "http://base/", h)
	}
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("%s: want *ParseError, got %T %v", syntax, err, err)
	}
	return pe
}

func TestParseErrors(t *testing.T) {
	xmlHead := `<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:e="http://e/">`
	cases := []struct {
		syntax, doc string
		line, col   int
		msg         string
	}{
		{"ttl", "@prefix e: <http://e/> .\ne:s e:p e:o\ne:t e:p e:o .", 3, 1, "expected '.'"},
		{"ttl", "<http://s> <http://p> \"caf\xe9\" .", 1, 27, "invalid UTF-8"},
		{"ttl", "# commentaire \xe9\n<http://s> <http://p> 1 .", 1, 15, "invalid UTF-8"},
		{"ttl", "x:s <http://p> 1 .", 1, 2, "undefined prefix"},
		{"ttl", strings.Repeat("[ <http://p> ", 600), 1, 0, "nesting deeper"},
		{"ttl", strings.Repeat("(", 600), 1, 0, "nesting deeper"},
		{"nt", "<http://s> <http://p> \"\xff\" .", 1, 24, "invalid UTF-8"},
		{"nt", "<http://s> <http://p> <o> .", 1, 0, "relative IRI"},
		{"xml", xmlHead + "<e:T e:p=\"caf\xe9\"/></rdf:RDF>", 1, 0, "UTF-8"},
		{"xml", xmlHead + "\n<e:T>\n<e:p>x</e:q></e:T></rdf:RDF>", 3, 0, "end element"},
		{"xml", `<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>` + xmlHead + `<e:T e:p="&b;"/></rdf:RDF>`, 1, 0, "entity"},
		{"xml", xmlHead + `<e:T e:p="&custom;"/></rdf:RDF>`, 1, 0, "entity"},
		{"xml", xmlHead + strings.Repeat("<e:T><e:p>", 300), 1, 0, "nesting deeper"},
		{"xml", `<?xml version="1.0" encoding="KOI8-R"?>` + xmlHead + `</rdf:RDF>`, 1, 0, "unsupported encoding"},
		{"xml", "", 1, 0, "no root element"},
	}
	for _, c := range cases {
		pe := parseErr(t, c.syntax, c.doc)
		if pe.Line != c.line || (c.col != 0 && pe.Col != c.col) || !strings.Contains(pe.Msg, c.msg) {
			t.Errorf("%s %q:\n got %v\nwant line %d col %d containing %q", c.syntax, truncate(c.doc, 60), pe, c.line, c.col, c.msg)
		}
		if !strings.HasPrefix(pe.Error(), map[string]string{"nt": "n-triples", "ttl": "turtle", "xml": "rdf/xml"}[c.syntax]+": line ") {
			t.Errorf("bad Error() format: %s", pe.Error())
		}
	}
}

func TestTokenSizeCap(t *testing.T) {
	big := strings.Repeat("a", maxTokenSize+10)
	pe := parseErr(t, "ttl", `<http://s> <http://p> "`+big+`" .`)
	if !strings.Contains(pe.Msg, "limit") {
		t.Errorf("turtle: %v", pe)
	}
	pe = parseErr(t, "xml", `<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:e="http://e/"><e:T><e:p>`+big+`</e:p></e:T></rdf:RDF>`)
	if !strings.Contains(pe.Msg, "limit") {
		t.Errorf("rdf/xml: %v", pe)
	}
}

func TestRDFXMLCharsets(t *testing.T) {
	for _, c := range []struct{ enc, body, want string }{
		{"ISO-8859-1", "caf\xe9 \xab\xa0x\xa0\xbb", "café «\u00a0x\u00a0»"},
		{"windows-1252", "\x80 l\x92\x9cuvre", "€ l’œuvre"},
		{"latin1", "No\xebl", "Noël"},
	} {
		doc := `<?xml version="1.0" encoding="` + c.enc + `"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:e="http://e/"><e:T e:a="` + c.body + `"><e:p>` + c.body + `</e:p></e:T></rdf:RDF>`
		g := mustCollect(t, func(h Handler) error { return ParseRDFXML(strings.NewReader(doc), "", h) })
		if len(g) != 3 || g[1].O.Value != c.want || g[2].O.Value != c.want {
			t.Errorf("%s: got %v, want %q", c.enc, g, c.want)
		}
	}
}

func TestHandlerErrorStopsParsing(t *testing.T) {
	stop := errors.New("stop")
	docs := map[string]func(io.Reader, Handler) error{
		"<http://s> <http://p> <http://o1> .\n<http://s> <http://p> <http://o2> .\n":                                            ParseNTriples,
		"<http://s> <http://p> <http://o1>, <http://o2> .":                                                                      func(r io.Reader, h Handler) error { return ParseTurtle(r, "", h) },
		`<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:e="http://e/"><e:T e:a="1" e:b="2"/></rdf:RDF>`: func(r io.Reader, h Handler) error { return ParseRDFXML(r, "", h) },
	}
	for doc, parse := range docs {
		n := 0
		err := parse(strings.NewReader(doc), func(Triple) error { n++; return stop })
		if err != stop || n != 1 {
			t.Errorf("got err=%v after %d triples, want the handler error after 1", err, n)
		}
	}
}

// TestStreaming checks that triples are delivered before the end of input.
func TestStreaming(t *testing.T) {
	for name, c := range map[string]struct {
		write func(io.Writer, int) error
		parse func(io.Reader, Handler) error
	}{
		"turtle": {writeCatalogueTurtle, func(r io.Reader, h Handler) error { return ParseTurtle(r, "", h) }},
		"rdfxml": {writeCatalogueRDFXML, func(r io.Reader, h Handler) error { return ParseRDFXML(r, "", h) }},
	} {
		var buf bytes.Buffer
		if err := c.write(&buf, 200); err != nil {
			t.Fatal(err)
		}
		data := buf.Bytes()
		pr, pw := io.Pipe()
		got := make(chan struct{})
		go func() {
			pw.Write(data[:len(data)/2])
			<-got // the first triples must arrive while half the document is unwritten
			pw.Write(data[len(data)/2:])
			pw.Close()
		}()
		first := true
		n := 0
		err := c.parse(pr, func(Triple) error {
			if first {
				close(got)
				first = false
			}
			n++
			return nil
		})
		if err != nil || n != 200*triplesPerDataset+1 {
			t.Errorf("%s: err=%v, %d triples", name, err, n)
		}
	}
}

// TestFlatMemory parses a 100k-dataset catalogue generated on the fly and
// checks that the live heap stays small.
func TestFlatMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	const n = 100000
	for name, c := range map[string]struct {
		write func(io.Writer, int) error
		parse func(io.Reader, Handler) error
	}{
		"rdfxml": {writeCatalogueRDFXML, func(r io.Reader, h Handler) error { return ParseRDFXML(r, "", h) }},
		"turtle": {writeCatalogueTurtle, func(r io.Reader, h Handler) error { return ParseTurtle(r, "", h) }},
	} {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(c.write(pw, n)) }()
		var ms runtime.MemStats
		var peak uint64
		count := 0
		err := c.parse(pr, func(Triple) error {
			count++
			if count%200000 == 0 {
				runtime.GC()
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
			}
			return nil
		})
		if err != nil || count != n*triplesPerDataset+1 {
			t.Fatalf("%s: err=%v, %d triples", name, err, count)
		}
		t.Logf("%s: %d datasets, peak live heap %.1f MiB", name, n, float64(peak)/(1<<20))
		if peak > 32<<20 {
			t.Errorf("%s: live heap grew to %d bytes while streaming", name, peak)
		}
	}
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "VmHWM") {
				t.Logf("process peak RSS: %s", strings.TrimSpace(strings.TrimPrefix(l, "VmHWM:")))
			}
		}
	}
}

// The XML literal namespace tests are commented out of the RDF 1.1 manifest;
// they still exercise exclusive canonicalisation and must pass.
func TestXMLLiteralNamespaces(t *testing.T) {
	dir := sharedDir(t, filepath.Join("w3c-rdf-tests", "rdf-xml", "rdfms-xml-literal-namespaces"))
	for _, name := range []string{"test001", "test002"} {
		base := "https://w3c.github.io/rdf-tests/rdf/rdf11/rdf-xml/rdfms-xml-literal-namespaces/" + name + ".rdf"
		got := mustCollect(t, parseFileHandler(filepath.Join(dir, name+".rdf"), func(r io.Reader, h Handler) error { return ParseRDFXML(r, base, h) }))
		want := mustCollect(t, parseFileHandler(filepath.Join(dir, name+".nt"), ParseNTriples))
		if ok, why := isomorphic(got, want); !ok {
			t.Errorf("%s: %s\n got %v\nwant %v", name, why, got, want)
		}
	}
	doc := `<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:e="http://e/" xmlns:z="http://z/" xmlns:a="http://a/">` +
		`<e:T><e:p rdf:parseType="Literal"><x z:b="1&amp;&quot;" a:c="&#9;" xml:lang="fr" y="&lt;">t &amp; &gt;<e:y xmlns="http://d/"><w/></e:y><!-- c --></x></e:p></e:T></rdf:RDF>`
	g := mustCollect(t, func(h Handler) error { return ParseRDFXML(strings.NewReader(doc), "", h) })
	want := `<x xmlns:a="http://a/" xmlns:z="http://z/" y="&lt;" a:c="&#x9;" xml:lang="fr" z:b="1&amp;&quot;">t &amp; &gt;<e:y xmlns:e="http://e/"><w xmlns="http://d/"></w></e:y></x>`
	if len(g) != 2 || g[1].O.Value != want || g[1].O.Datatype != rdfXMLLiteral {
		t.Errorf("XML literal:\n got %q\nwant %q", g[1].O.Value, want)
	}
}

func parseFileHandler(path string, parse func(io.Reader, Handler) error) func(Handler) error {
	return func(h Handler) error {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		return parse(f, h)
	}
}

// The parser remembers what an element name resolved to while the
// namespace bindings stay the same: a prefix bound again in a sibling, or
// out of scope once its element ended, resolves anew.
func TestRDFXMLPrefixRebound(t *testing.T) {
	doc := `<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="http://example.org/s">
    <p:x xmlns:p="http://one.example/">1</p:x>
    <p:x xmlns:p="http://two.example/">2</p:x>
    <p:x xmlns:p="http://two.example/" p:y="3"/>
    <p:x xmlns:p="http://one.example/" rdf:parseType="Resource"><p:x xmlns:p="http://two.example/">4</p:x></p:x>
  </rdf:Description>
</rdf:RDF>`
	got, err := collect(func(h Handler) error { return ParseRDFXML(strings.NewReader(doc), "", h) })
	if err != nil {
		t.Fatal(err)
	}
	var preds []string
	for _, tr := range got {
		preds = append(preds, tr.P.Value)
	}
	if want := "http://one.example/x http://two.example/x http://two.example/x http://two.example/y http://one.example/x http://two.example/x"; strings.Join(preds, " ") != want {
		t.Errorf("predicates %v, want %s", preds, want)
	}
	out := `<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="http://example.org/s"><p:x xmlns:p="http://one.example/">1</p:x><p:x>2</p:x></rdf:Description>
</rdf:RDF>`
	if _, err := collect(func(h Handler) error { return ParseRDFXML(strings.NewReader(out), "", h) }); err == nil || !strings.Contains(err.Error(), `undeclared namespace prefix "p"`) {
		t.Errorf("prefix out of scope: %v", err)
	}
}
