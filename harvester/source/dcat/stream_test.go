package dcat

import (
	"encoding/json"
	"errors"
	"slices"

	"github.com/opendatafrance/moisson/harvester/fetch"

	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/opendatafrance/moisson/harvester/internal/sharedtest"
	"github.com/piprate/json-gold/ld"

	"github.com/opendatafrance/moisson/harvester/rdf"
	"github.com/opendatafrance/moisson/harvester/source"
	"google.golang.org/protobuf/proto"
)

// readFullGraph is the reference reader: the whole document in one graph
// (a set of triples), every dataset mapped at the end (what Read did before
// streaming); JSON-LD goes to json-gold whole.
func readFullGraph(t testing.TB, data []byte, syntax string) map[string]*source.Record {
	g := newGraph()
	seen := map[rdf.Triple]bool{}
	h := func(tr rdf.Triple) error {
		if !seen[tr] {
			seen[tr] = true
			g.add(tr)
		}
		return nil
	}
	var err error
	switch syntax {
	case RDFXML:
		err = rdf.ParseRDFXMLOpts(bytes.NewReader(data), "", rdf.Options{Lenient: true}, h)
	case Turtle:
		err = rdf.ParseTurtle(bytes.NewReader(data), "", h)
	case JSONLD:
		err = parseJSONLDWhole(data, h)
	}
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*source.Record{}
	for _, s := range g.subjectsOfType(nsDCAT + "Dataset") {
		if rec, err := g.dataset(s); err == nil {
			out[s] = &rec
		}
	}
	return out
}

func readStreaming(t testing.TB, data []byte, syntax string) (map[string]*source.Record, []string) {
	out := map[string]*source.Record{}
	var order []string
	_, err := Read(bytes.NewReader(data), syntax, "", func(r source.Record) error {
		k := r.Dataset.GetUri()
		if k == "" {
			k = r.Dataset.GetOriginalId()
		}
		if out[k] != nil {
			t.Errorf("dataset %s emitted twice", k)
		}
		out[k] = &r
		order = append(order, k)
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out, order
}

func sameRecords(t *testing.T, name string, full, stream map[string]*source.Record) {
	t.Helper()
	if len(full) != len(stream) {
		t.Errorf("%s: streaming read %d datasets, the full graph %d", name, len(stream), len(full))
	}
	for k, f := range full {
		key := f.Dataset.GetUri()
		if key == "" {
			key = f.Dataset.GetOriginalId()
		}
		s := stream[key]
		if s == nil {
			t.Errorf("%s: dataset %s (%s) missing from the streaming read", name, k, key)
			continue
		}
		if !proto.Equal(f.Dataset, s.Dataset) {
			t.Errorf("%s: dataset %s differs:\nfull:   %v\nstream: %v", name, key, f.Dataset, s.Dataset)
		}
	}
}

// Streaming must give exactly the records of the full graph, whatever the
// layout: nested, distributions after all datasets (the fallback), shared
// nodes described last, and on every real DCAT fixture.
func TestStreamingMatchesFullGraph(t *testing.T) {
	var b bytes.Buffer
	for _, tc := range []struct {
		name   string
		syntax string
		gen    func(io.Writer) error
	}{
		{"nested rdfxml", RDFXML, func(w io.Writer) error { return genRDFXML(w, 300, nested) }},
		{"flat rdfxml (distributions last)", RDFXML, func(w io.Writer) error { return genRDFXML(w, 300, flatTail) }},
		{"turtle", Turtle, func(w io.Writer) error { return genTurtle(w, 300) }},
		{"jsonld", JSONLD, func(w io.Writer) error { return genJSONLD(w, 50) }},
		{"jsonld catalogue node", JSONLD, func(w io.Writer) error { return genJSONLDCatalog(w, 50) }},
	} {
		b.Reset()
		if err := tc.gen(&b); err != nil {
			t.Fatal(err)
		}
		full := readFullGraph(t, b.Bytes(), tc.syntax)
		stream, _ := readStreaming(t, b.Bytes(), tc.syntax)
		if len(full) == 0 {
			t.Fatalf("%s: no dataset", tc.name)
		}
		sameRecords(t, tc.name, full, stream)
	}
	// A dataset whose second description comes after another dataset's
	// (the heuristic "group closed = dataset complete" would be wrong).
	doc := `@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
<http://x/a> a dcat:Dataset ; dct:title "A" ; dct:publisher <http://x/p> .
<http://x/b> a dcat:Dataset ; dct:title "B" ; dct:publisher <http://x/p> .
<http://x/a> dct:description "late description of A" ; dcat:distribution _:d .
_:d dcat:downloadURL <http://x/a.csv> .
<http://x/p> <http://xmlns.com/foaf/0.1/name> "Publisher, described last" .
`
	full := readFullGraph(t, []byte(doc), Turtle)
	stream, _ := readStreaming(t, []byte(doc), Turtle)
	sameRecords(t, "late descriptions", full, stream)
	if got := stream["http://x/a"].Dataset.GetDescription(); got != "late description of A" {
		t.Errorf("late description lost: %q", got)
	}
	if got := stream["http://x/b"].Dataset.GetPublisher().GetName(); got != "Publisher, described last" {
		t.Errorf("publisher described last: got %q", got)
	}

	dir := fixtureDir(t)
	if dir == "" {
		return
	}
	n := 0
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		syntax := Detect("", p)
		if syntax == "" || !strings.Contains(p, "/dcat/") || strings.HasSuffix(p, "evian.json") || strings.HasSuffix(p, "dataset.ttl") {
			return nil
		}
		if syntax == JSONLD && !strings.HasSuffix(p, ".jsonld") {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		n++
		full := readFullGraph(t, data, syntax)
		stream, _ := readStreaming(t, data, syntax)
		sameRecords(t, filepath.Base(p), full, stream)
		return nil
	})
	if n < 15 {
		t.Errorf("only %d DCAT fixtures compared", n)
	}
}

// The spool moved to a file, with more distinct short values than the
// dictionary has slots, gives the same records.
func TestStreamingThroughFile(t *testing.T) {
	defer func(n int) { spoolMemLimit = n }(spoolMemLimit)
	spoolMemLimit = 4 << 10
	var b bytes.Buffer
	for _, tc := range []struct {
		name   string
		syntax string
		gen    func(io.Writer) error
	}{
		{"nested rdfxml", RDFXML, func(w io.Writer) error { return genRDFXML(w, 3000, nested) }},
		{"flat rdfxml (distributions last)", RDFXML, func(w io.Writer) error { return genRDFXML(w, 1000, flatTail) }},
		{"turtle", Turtle, func(w io.Writer) error { return genTurtle(w, 3000) }},
	} {
		b.Reset()
		if err := tc.gen(&b); err != nil {
			t.Fatal(err)
		}
		full := readFullGraph(t, b.Bytes(), tc.syntax)
		stream, _ := readStreaming(t, b.Bytes(), tc.syntax)
		if len(full) == 0 {
			t.Fatalf("%s: no dataset", tc.name)
		}
		sameRecords(t, tc.name, full, stream)
	}
}

// fixtureDir is <repo root>/../shared/fixtures/real, or "" (test skipped
// unless CI=true).
func fixtureDir(t testing.TB) string {
	dir := sharedtest.Path("fixtures", "real")
	if dir == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("real fixtures not found (<repo root>/../shared/fixtures/real)")
		}
		t.Log("real fixtures not found: fixture part skipped")
	}
	return dir
}

// TestReadPeakRSS reads a generated 100k-dataset RDF/XML catalogue, streamed
// from a generator (never held whole), through Read in a child process and
// checks its peak RSS (VmHWM). MOISSON_RSS_DATASETS changes the size.
func TestReadPeakRSS(t *testing.T) {
	if mode := os.Getenv("MOISSON_RSS_CHILD"); mode != "" {
		rssChild(t, mode)
		return
	}
	if testing.Short() {
		t.Skip("memory test: skipped with -short")
	}
	if runtime.GOOS != "linux" {
		t.Skip("needs /proc/self/status")
	}
	if raceEnabled {
		t.Skip("memory bound: measured without the race detector, whose shadow memory counts in the RSS")
	}
	n := 100000
	if v := os.Getenv("MOISSON_RSS_DATASETS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	run := func(mode string) (int, int) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestReadPeakRSS$", "-test.v")
		cmd.Env = append(os.Environ(), "MOISSON_RSS_CHILD="+mode, "MOISSON_RSS_DATASETS="+strconv.Itoa(n))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child %s: %v\n%s", mode, err, out)
		}
		var kb, got int
		for _, line := range strings.Split(string(out), "\n") {
			if i := strings.Index(line, "RSS-RESULT "); i >= 0 {
				fmt.Sscanf(line[i:], "RSS-RESULT %d %d", &got, &kb)
			}
		}
		if kb == 0 {
			t.Fatalf("child %s printed no result:\n%s", mode, out)
		}
		return got, kb
	}
	got, kb := run("stream")
	t.Logf("Read (streaming) of %d generated RDF/XML datasets: %d read, peak RSS %.1f MB", n, got, float64(kb)/1024)
	if got != n {
		t.Errorf("read %d datasets, want %d", got, n)
	}
	if kb > 150*1024 {
		t.Errorf("peak RSS %.1f MB, want < 150 MB", float64(kb)/1024)
	}
	if os.Getenv("MOISSON_RSS_BEFORE") != "" {
		got, kb := run("full")
		t.Logf("full graph (the reader before streaming): %d read, peak RSS %.1f MB", got, float64(kb)/1024)
	}
	// JSON-LD, given to json-gold node by node: a fifth of the datasets
	// (some 26 MB; whole, json-gold took some 45 times that).
	n /= 5
	got, kb = run("jsonld")
	t.Logf("Read of %d generated JSON-LD datasets: %d read, peak RSS %.1f MB", n, got, float64(kb)/1024)
	if got != n || kb > 150*1024 {
		t.Errorf("JSON-LD: read %d of %d datasets, peak RSS %.1f MB, want < 150 MB", got, n, float64(kb)/1024)
	}
}

func rssChild(t *testing.T, mode string) {
	n, _ := strconv.Atoi(os.Getenv("MOISSON_RSS_DATASETS"))
	r := genReader(func(w io.Writer) error { return genRDFXML(w, n, nested) })
	defer r.Close()
	got := 0
	if mode == "parse" {
		if err := rdf.ParseRDFXML(r, "", func(tr rdf.Triple) error { got++; return nil }); err != nil {
			t.Fatal(err)
		}
	} else if mode == "pass1" {
		sp := newSpooler()
		defer sp.close()
		if err := rdf.ParseRDFXML(r, "", sp.add); err != nil {
			t.Fatal(err)
		}
		got = int(sp.meta.n) - 1 // nodes
	} else if mode == "full" {
		g := newGraph()
		if err := rdf.ParseRDFXML(r, "", func(tr rdf.Triple) error { g.add(tr); return nil }); err != nil {
			t.Fatal(err)
		}
		for _, s := range g.subjectsOfType(nsDCAT + "Dataset") {
			if _, err := g.dataset(s); err == nil {
				got++
			}
		}
	} else if mode == "jsonld" {
		jr := genReader(func(w io.Writer) error { return genJSONLD(w, n) })
		defer jr.Close()
		if _, err := Read(jr, JSONLD, "", func(source.Record) error { got++; return nil }, nil); err != nil {
			t.Fatal(err)
		}
	} else {
		if _, err := Read(r, RDFXML, "", func(source.Record) error { got++; return nil }, nil); err != nil {
			t.Fatal(err)
		}
	}
	fmt.Printf("RSS-RESULT %d %d\n", got, vmHWM(t))
}

func vmHWM(t *testing.T) int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return kb
		}
	}
	t.Fatal("no VmHWM")
	return 0
}

// Order: a nested document yields its datasets in document order.
func TestStreamingOrder(t *testing.T) {
	var b bytes.Buffer
	genRDFXML(&b, 20, nested)
	_, order := readStreaming(t, b.Bytes(), RDFXML)
	want := make([]string, 20)
	for i := range want {
		want[i] = fmt.Sprintf("https://data.example.fr/explore/dataset/ds-%d/", i)
	}
	if strings.Join(order, " ") != strings.Join(want, " ") {
		t.Errorf("order %v", order)
	}
}

// Shared nodes: real exports describe the same place, publisher or contact
// point again under every dataset, and give each dataset its own IRI as
// landing page. The streaming read must still hold a bounded number of
// subjects (datasets are dropped once emitted), and a node described again
// must not gather one copy of its description per dataset (reading it would
// cost the catalogue's size for each dataset: a quadratic read). Before,
// 3 000 nested RDF/XML datasets held ~15 000 subjects and the place 3 000
// labels.
func TestStreamingSharedNodesBounded(t *testing.T) {
	const n = 3000
	for _, c := range []struct {
		name   string
		syntax string
		gen    func(io.Writer, int) error
	}{
		{"rdfxml", RDFXML, func(w io.Writer, n int) error { return genRDFXML(w, n, nested) }},
		{"turtle", Turtle, genTurtle},
		{"ntriples", NTriples, genNTriples},
		{"jsonld", JSONLD, genJSONLD},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := c.gen(&b, n); err != nil {
				t.Fatal(err)
			}
			sp := newSpooler()
			defer sp.close()
			got := 0
			if _, err := sp.read(&b, c.syntax, "", func(r source.Record) error { got++; return nil }, func(id, msg string) { t.Errorf("%s: %s", id, msg) }); err != nil {
				t.Fatal(err)
			}
			if got != n {
				t.Fatalf("read %d datasets, want %d", got, n)
			}
			t.Logf("%d datasets: at most %d subjects held, %d triples of one subject", n, sp.peakSubjects, sp.peakTriples)
			if sp.peakSubjects > 100 {
				t.Errorf("held up to %d subjects while reading %d datasets: emitted datasets are not dropped", sp.peakSubjects, n)
			}
			if sp.peakTriples > 100 {
				t.Errorf("one subject held %d triples: a shared node gathers a copy of its description per dataset", sp.peakTriples)
			}
		})
	}
}

// parseJSONLDWhole gives the whole document to json-gold at once: the
// reference for parseJSONLD, which gives it one node at a time.
func parseJSONLDWhole(data []byte, h rdf.Handler) error {
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		return err
	}
	opts := ld.NewJsonLdOptions("")
	opts.DocumentLoader = noRemoteLoader{}
	out, err := jsongoldToRDF(doc, opts)
	if err != nil {
		return err
	}
	j := &jsonldReader{}
	for _, quads := range out.(*ld.RDFDataset).Graphs {
		for _, q := range quads {
			if err := h(rdf.Triple{S: j.term(q.Subject, "w"), P: j.term(q.Predicate, "w"), O: j.term(q.Object, "w")}); err != nil {
				return err
			}
		}
	}
	return nil
}

// jsongoldToRDF is json-gold's own ToRDF, the reference, a panic as an
// error.
func jsongoldToRDF(doc any, opts *ld.JsonLdOptions) (out any, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("json-gold panicked: %v", p)
		}
	}()
	return ld.NewJsonLdProcessor().ToRDF(doc, opts)
}

// genJSONLDCatalog writes a catalogue as one node holding its datasets in
// dcat:dataset, with an aliased "id" keyword, a labelled blank node shared
// by every dataset, and its Hydra view after the datasets.
func genJSONLDCatalog(w io.Writer, n int) error {
	bw := bufio.NewWriter(w)
	fmt.Fprint(bw, `{"@context": {"dcat": "http://www.w3.org/ns/dcat#", "dct": "http://purl.org/dc/terms/", "vcard": "http://www.w3.org/2006/vcard/ns#",
  "hydra": "http://www.w3.org/ns/hydra/core#", "id": "@id", "type": "@type"},
 "id": "https://data.example.fr/catalog", "type": "dcat:Catalog", "dct:title": "Catalogue",
 "dcat:dataset": [`)
	for i := 0; i < n; i++ {
		if i > 0 {
			fmt.Fprint(bw, ",")
		}
		fmt.Fprintf(bw, `
  {"id": "https://data.example.fr/d/%d", "type": "dcat:Dataset", "dct:title": "Jeu %d",
   "dcat:contactPoint": {"id": "_:contact", "type": "vcard:Kind", "vcard:fn": "Service SIG"},
   "dcat:distribution": {"type": "dcat:Distribution", "dcat:downloadURL": {"id": "https://data.example.fr/d/%d.csv"}, "dct:format": "CSV"}}`, i, i, i)
	}
	fmt.Fprintf(bw, `],
 "hydra:view": {"id": "https://data.example.fr/catalog?page=1", "type": "hydra:PartialCollectionView",
   "hydra:next": {"id": "https://data.example.fr/catalog?page=2"}, "hydra:totalItems": %d}}
`, 2*n)
	return bw.Flush()
}

// JSON-LD goes to json-gold one node at a time: the paging said after the
// datasets is still read, a blank node label names one node throughout, and
// a node over MaxJSONLDNode stops the read with a typed error naming the
// limit instead of taking gigabytes.
func TestJSONLDNodeByNode(t *testing.T) {
	var b bytes.Buffer
	genJSONLDCatalog(&b, 20)
	got := 0
	pg, err := Read(&b, JSONLD, "", func(r source.Record) error {
		got++
		if r.Dataset.GetContactPoint().GetName() != "Service SIG" {
			t.Errorf("%s: contact point %v", r.Dataset.GetUri(), r.Dataset.GetContactPoint())
		}
		return nil
	}, nil)
	if err != nil || got != 20 || pg.Next != "https://data.example.fr/catalog?page=2" || pg.TotalItems != 40 {
		t.Errorf("read %d datasets, paging %+v, %v", got, pg, err)
	}
	huge := `{"@context": {"dct": "http://purl.org/dc/terms/"}, "@graph": [{"@id": "http://x/1", "dct:title": "` +
		strings.Repeat("a", MaxJSONLDNode) + `"}]}`
	_, err = Read(strings.NewReader(huge), JSONLD, "", func(source.Record) error { return nil }, nil)
	var tl *fetch.TooLargeError
	if !errors.As(err, &tl) || !strings.Contains(err.Error(), "4 MiB") || fetch.KindOf(err) != fetch.KindTooLarge {
		t.Errorf("a node over the limit: %v, want a TooLargeError naming 4 MiB", err)
	}
}

// FuzzJSONLD checks the node-by-node reading of JSON-LD against json-gold
// given the whole document (same triples, blank nodes aside), and its size
// bound (lowered here): a read either gives what json-gold gives, or fails
// with a ParseError or a TooLargeError naming the limit.
func FuzzJSONLD(f *testing.F) {
	var b bytes.Buffer
	genJSONLDCatalog(&b, 3)
	f.Add(b.String())
	b.Reset()
	genJSONLD(&b, 2)
	f.Add(b.String())
	f.Add(`[{"@context": {"x": "http://x/"}, "@id": "_:a", "x:p": {"@id": "_:a"}}, {"@id": "http://y", "http://x/q": [1, 2.5, true]}]`)
	f.Add(`{"@context": {"l": {"@id": "http://x/l", "@container": "@list"}}, "@id": "http://s", "l": ["a", "b"], "http://x/m": [{"@value": "v", "@language": "fr"}]}`)
	f.Add(`{"@graph": [{"@id": "http://a", "http://x/p": "late"}], "@context": {"p": "http://x/p"}}`)
	// Expanded, read by toTriples without json-gold: a language in upper
	// case, numbers, an IRI ld.IsURL refuses, an anonymous node.
	f.Add(`[{"@id": "_:c", "@type": ["http://www.w3.org/ns/dcat#Catalog"], "http://www.w3.org/ns/dcat#dataset": [{"@id": "http://x.fr/d/1",
 "http://purl.org/dc/terms/title": [{"@value": "T", "@language": "FR"}], "http://x.fr/n": [{"@value": 2.5}, {"@value": 3}, {"@value": true}, {"@value": 1e2, "@type": "http://www.w3.org/2001/XMLSchema#double"}],
 "http://x.fr/o": [{"@id": "http://x.y.fr/z"}, {"http://x.fr/p": [{"@value": "anon", "@type": "http://x.fr/t"}]}]}]}]`)
	old := jsonldNodeLimit
	defer func() { jsonldNodeLimit = old }()
	f.Fuzz(func(t *testing.T, doc string) {
		jsonldNodeLimit = 2048
		var whole, stream []string
		canon := func(tr rdf.Triple) string {
			term := func(x rdf.Term) string {
				if x.Kind == rdf.BlankNode {
					return "_"
				}
				return fmt.Sprintf("%d|%s|%s|%s", x.Kind, x.Value, x.Lang, x.Datatype)
			}
			return term(tr.S) + " " + term(tr.P) + " " + term(tr.O)
		}
		werr := parseJSONLDWhole([]byte(doc), func(tr rdf.Triple) error { whole = append(whole, canon(tr)); return nil })
		serr := parseJSONLD(strings.NewReader(doc), "", func(tr rdf.Triple) error { stream = append(stream, canon(tr)); return nil })
		var tl *fetch.TooLargeError
		var pe *rdf.ParseError
		switch {
		case errors.As(serr, &tl):
			if tl.Limit != 2048 && tl.Limit != MaxJSONLDContext && tl.Limit != MaxJSONLDNodeTriples {
				t.Fatalf("limit %d named", tl.Limit)
			}
			return
		case serr != nil:
			if !errors.As(serr, &pe) || pe.Msg == "" {
				t.Fatalf("error is not a ParseError with a reason: %T %v", serr, serr)
			}
			return
		case werr != nil:
			if len(doc) <= 2048 {
				t.Fatalf("read node by node, refused whole: %v", werr)
			}
			return
		}
		set := func(l []string) string { slices.Sort(l); return strings.Join(slices.Compact(l), "\n") }
		if w, s := set(whole), set(stream); w != s {
			t.Fatalf("whole:\n%s\nnode by node:\n%s", w, s)
		}
	})
}
