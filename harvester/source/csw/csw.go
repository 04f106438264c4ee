// Package csw reads an OGC Catalogue Service for the Web (CSW 2.0.2), as
// GeoNetwork serves it: GetRecords in ISO 19139 (gmd:MD_Metadata), paged
// by startPosition/maxRecords and nextRecord, checked against
// numberOfRecordsMatched. Records are decoded one at a time from the
// response stream. ISO 19115-3 (mdb:MD_Metadata) and Dublin Core
// (csw:Record) records are read too, and records written as DCAT or
// GeoDCAT-AP RDF (outputSchema DCAT) are handed to the dcat package.
package csw

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/fetch"
	"github.com/opendatafrance/moisson/harvester/source"
)

// DefaultPageSize is maxRecords when the source sets none.
const DefaultPageSize = 50

// MaxPages bounds a walk.
const MaxPages = 100000

// Output schemas.
const (
	SchemaISO  = "http://www.isotc211.org/2005/gmd"
	SchemaDCAT = "http://www.w3.org/ns/dcat#"
)

// Source reads one CSW endpoint.
type Source struct {
	endpoint string
	landing  string // landing page prefix, the record id is appended ("" if unknown)
	pageSize int
	schema   string // outputSchema
	typeName string
	env      source.Env
}

// New is the source.Factory of CSW. The endpoint is the CSW URL;
// params.page_size sets maxRecords (default 50); params.output_schema is
// "iso" (default) or "dcat" (GeoNetwork's DCAT output).
func New(src *config.Source, env source.Env) (source.Source, error) {
	s := &Source{endpoint: strings.TrimSpace(src.Endpoint), pageSize: DefaultPageSize, env: env,
		schema: SchemaISO, typeName: "gmd:MD_Metadata"}
	u, err := url.Parse(s.endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("csw source %s: endpoint %q is not an http(s) URL", src.ID, src.Endpoint)
	}
	if s.pageSize, err = source.PageSize(src, "csw", s.pageSize, 1000); err != nil {
		return nil, err
	}
	switch v := src.Params["output_schema"]; v {
	case "", "iso", SchemaISO:
	case "dcat", SchemaDCAT:
		s.schema, s.typeName = SchemaDCAT, "csw:Record"
	default:
		return nil, fmt.Errorf("csw source %s: output_schema %q is not iso or dcat", src.ID, v)
	}
	portal := ""
	if src.Portal != nil {
		portal = src.Portal.URL
	}
	s.landing = LandingPrefix(portal, s.endpoint)
	return s, nil
}

// LandingPrefix is the GeoNetwork record page prefix:
// {portal}/geonetwork/srv/fre/catalog.search#/metadata/ when the portal URL
// is known, else derived from an endpoint under …/srv/…; "" otherwise.
func LandingPrefix(portal, endpoint string) string {
	if pu, err := url.Parse(portal); err == nil && pu.Host != "" && (pu.Scheme == "http" || pu.Scheme == "https") {
		return pu.Scheme + "://" + pu.Host + "/geonetwork/srv/fre/catalog.search#/metadata/"
	}
	if eu, err := url.Parse(endpoint); err == nil && eu.Host != "" && (eu.Scheme == "http" || eu.Scheme == "https") {
		if i := strings.Index(eu.Path, "/srv/"); i >= 0 {
			return eu.Scheme + "://" + eu.Host + eu.Path[:i] + "/srv/fre/catalog.search#/metadata/"
		}
	}
	return ""
}

// PageURL is the GetRecords request for a page.
func (s *Source) PageURL(start int) string {
	return GetRecordsURL(s.endpoint, s.typeName, s.schema, start, s.pageSize)
}

// GetRecordsURL builds a GetRecords KVP request on endpoint; parameters the
// endpoint already carries under the same name (any case) are replaced.
func GetRecordsURL(endpoint, typeName, schema string, start, max int) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return endpoint
	}
	set := [][2]string{
		{"service", "CSW"}, {"version", "2.0.2"}, {"request", "GetRecords"},
		{"typeNames", typeName}, {"outputSchema", schema}, {"elementSetName", "full"},
		{"resultType", "results"}, {"startPosition", strconv.Itoa(start)}, {"maxRecords", strconv.Itoa(max)},
	}
	var parts []string
	for _, kv := range strings.Split(u.RawQuery, "&") {
		if kv == "" {
			continue
		}
		k, _, _ := strings.Cut(kv, "=")
		if ku, err := url.QueryUnescape(k); err == nil {
			k = ku
		}
		dup := false
		for _, p := range set {
			if strings.EqualFold(p[0], k) {
				dup = true
			}
		}
		if !dup {
			parts = append(parts, kv)
		}
	}
	for _, p := range set {
		parts = append(parts, p[0]+"="+url.QueryEscape(p[1]))
	}
	u.RawQuery = strings.Join(parts, "&")
	return u.String()
}

// Harvest walks GetRecords pages, following nextRecord.
func (s *Source) Harvest(ctx context.Context, sink source.Sink) error {
	start := 1
	var declared int64 = -1
	seen := 0
	hashes := map[[32]byte]int{}
	for page := 1; ; page++ {
		if page > MaxPages {
			return &source.Error{Kind: source.KindPaging, URL: s.endpoint, Err: fmt.Errorf("more than %d pages", MaxPages)}
		}
		u := s.PageURL(start)
		resp, err := s.env.Client.Get(ctx, fetch.Request{URL: u, Accept: "application/xml, text/xml;q=0.9, */*;q=0.1"})
		if err != nil {
			return &source.Error{Kind: fetch.KindOf(err), URL: u, Err: err}
		}
		h := sha256.New()
		res, err := ReadResponse(io.TeeReader(resp.Body, h), Options{Base: u, Landing: s.landing},
			func(r source.Record) error { return sink.Record(ctx, r) },
			func(p source.Problem) {
				if p.URL == "" {
					p.URL = u
				}
				sink.Problem(p)
			})
		resp.Close()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var se *source.Error
			if errors.As(err, &se) {
				return err
			}
			var pe *ParseError
			var ee *ExceptionError
			if errors.As(err, &pe) || errors.As(err, &ee) {
				return &source.Error{Kind: source.KindParse, URL: u, Err: err}
			}
			return &source.Error{Kind: fetch.KindOf(err), URL: u, Err: err}
		}
		var sum [32]byte
		copy(sum[:], h.Sum(nil))
		if res.Matched >= 0 {
			if declared >= 0 && res.Matched != declared {
				sink.Problem(source.Problem{Kind: source.KindPaging, URL: u,
					Message: fmt.Sprintf("numberOfRecordsMatched changed during the walk: %d then %d", declared, res.Matched)})
			}
			declared = res.Matched
		}
		sink.Page(u, declared)
		if p, ok := hashes[sum]; ok && res.Records > 0 {
			return &source.Error{Kind: source.KindPaging, URL: u,
				Err: fmt.Errorf("page %d (startPosition=%d) is identical to page %d", page, start, p)}
		}
		hashes[sum] = page
		if res.Returned >= 0 && int64(res.Records) < res.Returned {
			return &source.Error{Kind: source.KindPaging, URL: u,
				Err: fmt.Errorf("the page holds %d records, numberOfRecordsReturned says %d", res.Records, res.Returned)}
		}
		if res.Returned >= 0 && int64(res.Records) > res.Returned {
			sink.Problem(source.Problem{Kind: source.KindPaging, URL: u,
				Message: fmt.Sprintf("the page holds %d records, more than numberOfRecordsReturned %d", res.Records, res.Returned)})
		}
		seen += res.Records
		next := res.Next
		if next < 0 { // no nextRecord: go on while the matched count says so
			next = 0
			if declared >= 0 && int64(start+res.Records) <= declared && res.Records > 0 {
				next = int64(start + res.Records)
			}
		}
		if next > 0 && declared >= 0 && next == declared+1 {
			next = 0 // some servers point one past the last record instead of 0
		}
		if next == 0 {
			if declared >= 0 && int64(seen) < declared {
				return &source.Error{Kind: source.KindPaging, URL: u,
					Err: fmt.Errorf("the walk ended after %d records, numberOfRecordsMatched is %d", seen, declared)}
			}
			return nil
		}
		switch {
		case next <= int64(start):
			return &source.Error{Kind: source.KindPaging, URL: u,
				Err: fmt.Errorf("nextRecord %d does not move forward from startPosition %d", next, start)}
		case declared >= 0 && next > declared:
			return &source.Error{Kind: source.KindPaging, URL: u,
				Err: fmt.Errorf("nextRecord %d is past numberOfRecordsMatched %d", next, declared)}
		case res.Records == 0:
			return &source.Error{Kind: source.KindPaging, URL: u,
				Err: fmt.Errorf("empty page at startPosition %d announces nextRecord %d", start, next)}
		case next > int64(start+res.Records):
			sink.Problem(source.Problem{Kind: source.KindPaging, URL: u,
				Message: fmt.Sprintf("nextRecord %d skips records %d..%d", next, start+res.Records, next-1)})
		case next < int64(start+res.Records):
			sink.Problem(source.Problem{Kind: source.KindPaging, URL: u,
				Message: fmt.Sprintf("nextRecord %d overlaps the %d records read from %d", next, res.Records, start)})
		}
		if next > 1<<31 {
			return &source.Error{Kind: source.KindPaging, URL: u, Err: fmt.Errorf("nextRecord %d out of range", next)}
		}
		start = int(next)
	}
}

// Protocol is the CSW adapter.
var Protocol = source.Protocol{Name: "csw", New: New, Read: Read, Sniff: sniff}

// Read reads one saved CSW answer (GetRecords, GetRecordById, or a bare
// MD_Metadata document). A page with fewer records than it declares is
// reported as a paging problem.
func Read(ctx context.Context, r io.Reader, base string, sink source.Sink) error {
	res, err := ReadResponse(r, Options{Base: base, Landing: LandingPrefix("", base)},
		func(rec source.Record) error { return sink.Record(ctx, rec) },
		func(p source.Problem) {
			if p.URL == "" {
				p.URL = base
			}
			sink.Problem(p)
		})
	if err != nil {
		return err
	}
	if res.Returned >= 0 && int64(res.Records) != res.Returned {
		sink.Problem(source.Problem{Kind: source.KindPaging, URL: base,
			Message: fmt.Sprintf("the page holds %d records, numberOfRecordsReturned says %d", res.Records, res.Returned)})
	}
	sink.Page(base, res.Matched)
	return nil
}

func sniff(head []byte) bool {
	s := string(head)
	for _, m := range []string{"GetRecordsResponse", "GetRecordByIdResponse", "MD_Metadata", "http://www.opengis.net/cat/csw"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return strings.Contains(s, "ExceptionReport") && strings.Contains(s, "http://www.opengis.net/ows")
}
