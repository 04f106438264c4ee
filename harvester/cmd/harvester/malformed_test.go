package main

// Malformed, truncated, wrongly encoded and hostile documents through
// inspect: each must end in a clear error (position and reason), never a
// panic, a silent "datasets: 0", or unbounded memory.

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/opendatafrance/moisson/harvester/source/all"
)

const rdfHead = `<?xml version="1.0" encoding="UTF-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dct="http://purl.org/dc/terms/" xmlns:dcat="http://www.w3.org/ns/dcat#">
`

const billionLaughsRDF = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dct="http://purl.org/dc/terms/" xmlns:dcat="http://www.w3.org/ns/dcat#">
<dcat:Dataset rdf:about="http://x/a"><dct:title>&lol9;</dct:title></dcat:Dataset>
</rdf:RDF>
`

const billionLaughsCSW = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol9 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<csw:GetRecordsResponse xmlns:csw="http://www.opengis.net/cat/csw/2.0.2" xmlns:gmd="http://www.isotc211.org/2005/gmd" xmlns:gco="http://www.isotc211.org/2005/gco">
<csw:SearchResults numberOfRecordsMatched="1" numberOfRecordsReturned="1" nextRecord="0">
<gmd:MD_Metadata><gmd:fileIdentifier><gco:CharacterString>&lol9;</gco:CharacterString></gmd:fileIdentifier></gmd:MD_Metadata>
</csw:SearchResults></csw:GetRecordsResponse>
`

func TestInspectMalformed(t *testing.T) {
	deep := strings.Repeat("[", 200000) + strings.Repeat("]", 200000)
	for _, tc := range []struct {
		name, file, format, body string
		want                     []string // substrings of the error line
		datasets                 int      // read (streamed) before the error
	}{
		{"ckan malformed", "a.json", "ckan", `{"success": true, "result": {"count": 1, "results": [{"id": "a", "title": "x",, }]}}`,
			[]string{"ckan: at byte", "invalid character ','"}, 0},
		{"ckan truncated", "a.json", "ckan", `{"help": "https://x/api/3/action/help_show?name=package_search", "success": true, "result": {"count": 2, "results": [{"id": "a", "title": "A"}, {"id": "b", "ti`,
			[]string{"ckan: at byte", "package 2", "unexpected EOF"}, 1},
		{"ckan latin-1 declared utf-8", "a.json", "ckan", "{\"success\": true, \"result\": {\"count\": 1, \"results\": [{\"id\": \"a\", \"title\": \"Donn\xe9es\"}]}}",
			[]string{"ckan: at byte 79:", "invalid UTF-8", "Latin-1"}, 0},
		{"ckan success=false", "a.json", "ckan", `{"success": false, "error": {"__type": "Not Found Error", "message": "Not found"}}`,
			[]string{"success=false", "Not Found Error"}, 0},
		{"ckan hostile nesting", "a.json", "ckan", `{"success": true, "result": ` + deep + `}`,
			[]string{"ckan: at byte", "exceeded max depth"}, 0},
		{"rdfxml truncated", "a.rdf", "dcat", rdfHead + `<dcat:Dataset rdf:about="http://x/a"><dct:title>A</dct:ti`,
			[]string{"rdf/xml: line 3, col 58", "unexpected EOF"}, 0},
		{"rdfxml latin-1 declared utf-8", "a.rdf", "dcat", rdfHead + "<dcat:Dataset rdf:about=\"http://x/a\"><dct:title>Donn\xe9es</dct:title></dcat:Dataset></rdf:RDF>",
			[]string{"rdf/xml: line 3, col 56", "invalid UTF-8", "wrong encoding"}, 0},
		{"rdfxml billion laughs", "a.rdf", "dcat", billionLaughsRDF,
			[]string{"rdf/xml: line", "entity declarations are not supported"}, 0},
		{"turtle malformed", "a.ttl", "dcat", "@prefix dct: <http://purl.org/dc/terms/> .\n<http://x/a> dct:title \"A\" ;\n  dct:description \"B\" ,, .\n",
			[]string{"turtle: line 3, col"}, 0},
		{"turtle truncated", "a.ttl", "dcat", "@prefix dct: <http://purl.org/dc/terms/> .\n<http://x/a> dct:title \"unterminated",
			[]string{"turtle: line 2, col"}, 0},
		{"turtle latin-1", "a.ttl", "dcat", "@prefix dct: <http://purl.org/dc/terms/> .\n<http://x/a> dct:title \"Donn\xe9es\" .\n",
			[]string{"turtle: line 2, col", "invalid UTF-8"}, 0},
		{"jsonld malformed", "a.jsonld", "dcat", "{\"@context\": {\"dct\": \"http://purl.org/dc/terms/\"},\n \"@id\": \"http://x/a\",\n \"dct:title\": \"A\",,\n}",
			[]string{"jsonld: line 3", "invalid character ','"}, 0},
		{"data.json truncated", "data.json", "dcat", `{"conformsTo": "https://project-open-data.cio.gov/v1.1/schema", "dataset": [{"identifier": "a", "title": "A"}, {"identifier": "b", "tit`,
			[]string{"data.json", "at byte", "dataset 2"}, 1},
		{"csw billion laughs", "a.xml", "csw", billionLaughsCSW, []string{"csw: line", "DTD refused"}, 0},
		{"csw truncated", "a.xml", "csw", `<?xml version="1.0"?><csw:GetRecordsResponse xmlns:csw="http://www.opengis.net/cat/csw/2.0.2"><csw:SearchResults numberOfRecordsMatched="1" numberOfRecordsReturned="1"><gmd:MD_Meta`, []string{"csw: line 1", "unexpected EOF"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := all.Protocols[tc.format]; !ok {
				t.Fatalf("protocol %s is not registered in source/all", tc.format)
			}
			p := filepath.Join(t.TempDir(), tc.file)
			if err := os.WriteFile(p, []byte(tc.body), 0o644); err != nil {
				t.Fatal(err)
			}
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			r := runInspect(t, "--format", tc.format, p)
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if r.code == 0 {
				t.Fatalf("inspect succeeded on a bad document:\n%s", r.stderr)
			}
			if r.datasets != tc.datasets {
				t.Errorf("%d datasets before the error, want %d", r.datasets, tc.datasets)
			}
			errLine := ""
			for _, l := range strings.Split(r.stderr, "\n") {
				if strings.HasPrefix(l, "inspect: error: ") {
					errLine = l
				}
			}
			if errLine == "" {
				t.Fatalf("no error line:\n%s", r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(errLine, w) {
					t.Errorf("error %q lacks %q", errLine, w)
				}
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
				t.Errorf("allocated %d MB on a %d-byte document", grew>>20, len(tc.body))
			}
		})
	}
}

// A document that holds nothing a format knows: a clear error, not "0 datasets".
func TestInspectUnknownFormat(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.bin")
	os.WriteFile(p, []byte("\x00\x01 not a catalogue"), 0o644)
	var out, errb strings.Builder
	if code := inspectCmd([]string{p}, strings.NewReader(""), &out, &errb); code == 0 || !strings.Contains(errb.String(), "cannot tell the format") {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
}
