package simulator

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
	"testing"
)

type cswResults struct {
	XMLName xml.Name `xml:"GetRecordsResponse"`
	Results struct {
		Matched  int `xml:"numberOfRecordsMatched,attr"`
		Returned int `xml:"numberOfRecordsReturned,attr"`
		Next     int `xml:"nextRecord,attr"`
		ISO      []struct {
			ID    string   `xml:"fileIdentifier>CharacterString"`
			Title string   `xml:"identificationInfo>MD_DataIdentification>citation>CI_Citation>title>CharacterString"`
			URLs  []string `xml:"distributionInfo>MD_Distribution>transferOptions>MD_DigitalTransferOptions>onLine>CI_OnlineResource>linkage>URL"`
		} `xml:"MD_Metadata"`
		DC []struct {
			ID    string `xml:"identifier"`
			Title string `xml:"title"`
		} `xml:"Record"`
	} `xml:"SearchResults"`
}

const cswPath = "/sim/geobretagne-csw/geonetwork/srv/fre/csw"

func cswGet(t *testing.T, base, query string) (cswResults, []byte) {
	t.Helper()
	resp, body := get(t, base+cswPath+"?"+query)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/xml") {
		t.Fatalf("%s: %d %s", query, resp.StatusCode, body)
	}
	var r cswResults
	if err := xml.Unmarshal(body, &r); err != nil {
		t.Fatalf("%s: not well-formed: %v", query, err)
	}
	return r, body
}

func TestCSWPaging(t *testing.T) {
	sim, srv := newSim(t, Options{PerSource: map[string]int{"geobretagne-csw": 23}})
	gen := sim.Datasets("geobretagne-csw")
	start, n := 1, 0
	ids := map[string]bool{}
	for start != 0 {
		q := fmt.Sprintf("service=CSW&version=2.0.2&request=GetRecords&typeNames=gmd:MD_Metadata&outputSchema=%s&elementSetName=full&resultType=results&startPosition=%d&maxRecords=10", cswSchemaISO, start)
		r, _ := cswGet(t, srv.URL, q)
		if r.Results.Matched != 23 || r.Results.Returned != len(r.Results.ISO) {
			t.Fatalf("start %d: matched %d returned %d records %d", start, r.Results.Matched, r.Results.Returned, len(r.Results.ISO))
		}
		for i, rec := range r.Results.ISO {
			g := gen[start-1+i]
			if rec.Title != g.Title || ids[rec.ID] || len(rec.ID) != 36 || len(rec.URLs) < len(g.Resources) || rec.URLs[0] != g.Resources[0].URL {
				t.Errorf("record %d: %+v vs %s", start+i, rec, g.Title)
			}
			ids[rec.ID] = true
		}
		n += len(r.Results.ISO)
		want := start + 10
		if want > 23 {
			want = 0
		}
		if r.Results.Next != want {
			t.Fatalf("start %d: nextRecord %d, want %d", start, r.Results.Next, want)
		}
		start = r.Results.Next
	}
	if n != 23 {
		t.Errorf("%d records", n)
	}
	// Parameter names are case-insensitive; hits; Dublin Core by default.
	r, body := cswGet(t, srv.URL, "SERVICE=CSW&REQUEST=GetRecords&RESULTTYPE=hits&OUTPUTSCHEMA="+cswSchemaISO)
	if r.Results.Matched != 23 || r.Results.Returned != 0 || len(r.Results.ISO) != 0 {
		t.Errorf("hits: %+v", r.Results)
	}
	r, _ = cswGet(t, srv.URL, "service=CSW&request=GetRecords&maxRecords=5")
	if len(r.Results.DC) != 5 || r.Results.DC[0].Title != gen[0].Title || !bytes.Contains(body, []byte("numberOfRecordsMatched=\"23\"")) {
		t.Errorf("Dublin Core: %+v", r.Results.DC)
	}
	// GetRecordById.
	resp, body := get(t, srv.URL+cswPath+"?service=CSW&request=GetRecordById&outputSchema="+cswSchemaISO+"&id="+cswID(sim.sources["geobretagne-csw"], &gen[4]))
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte(xmlText(gen[4].Title))) || !bytes.Contains(body, []byte("GetRecordByIdResponse")) {
		t.Errorf("GetRecordById: %d %.300s", resp.StatusCode, body)
	}
}

func TestCSWExceptions(t *testing.T) {
	_, srv := newSim(t, Options{DatasetsPerSource: 5})
	for q, code := range map[string]string{
		"service=CSW":                         "MissingParameterValue",
		"service=CSW&request=Harvest":         "OperationNotSupported",
		"service=WMS&request=GetRecords":      "InvalidParameterValue",
		"request=GetRecords&outputSchema=foo": "InvalidParameterValue",
		"request=GetRecords&startPosition=0":  "InvalidParameterValue",
		"request=GetRecords&maxRecords=dix":   "InvalidParameterValue",
		"request=GetRecordById":               "MissingParameterValue",
	} {
		resp, body := get(t, srv.URL+cswPath+"?"+q)
		var e struct {
			XMLName   xml.Name `xml:"ExceptionReport"`
			Exception struct {
				Code string `xml:"exceptionCode,attr"`
				Text string `xml:"ExceptionText"`
			} `xml:"Exception"`
		}
		if resp.StatusCode != 400 || xml.Unmarshal(body, &e) != nil || e.Exception.Code != code || e.Exception.Text == "" {
			t.Errorf("%s: %d %s", q, resp.StatusCode, body)
		}
	}
	if resp, _ := get(t, srv.URL+"/sim/geobretagne-csw/geonetwork/srv/fre/other?request=GetRecords"); resp.StatusCode != 404 {
		t.Errorf("other path: %d", resp.StatusCode)
	}
}

func TestCSWDeterministicFaultsETag(t *testing.T) {
	q := "?service=CSW&request=GetRecords&outputSchema=" + cswSchemaISO + "&startPosition=1&maxRecords=10"
	_, a := newSim(t, Options{DatasetsPerSource: 12})
	_, b := newSim(t, Options{DatasetsPerSource: 12})
	ra, ba := get(t, a.URL+cswPath+q)
	_, bb := get(t, b.URL+cswPath+q)
	if !bytes.Equal(ba, bb) || len(ba) == 0 {
		t.Error("not deterministic")
	}
	if resp, _ := get(t, a.URL+cswPath+q, "If-None-Match", ra.Header.Get("ETag")); resp.StatusCode != 304 {
		t.Errorf("If-None-Match: %d", resp.StatusCode)
	}
	sim, c := newSim(t, Options{DatasetsPerSource: 12})
	sim.SetFault("geobretagne-csw", Fault{Status: 500, FromPage: 2, OnlyPage: true})
	if resp, _ := get(t, c.URL+cswPath+q); resp.StatusCode != 200 {
		t.Errorf("page 1: %d", resp.StatusCode)
	}
	if resp, _ := get(t, c.URL+cswPath+strings.Replace(q, "startPosition=1", "startPosition=11", 1)); resp.StatusCode != 500 {
		t.Errorf("page 2: %d", resp.StatusCode)
	}
}
