// Package discover tells, from a portal's home or landing page, which
// software the portal runs (CKAN, OpenDataSoft, Data4Citizen, Data Fair,
// udata, GeoNetwork), which machine endpoints it offers (probed with small
// GETs), and reads the schema.org Dataset JSON-LD embedded in the page.
package discover

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"

	"github.com/PuerkitoBio/goquery"
	"github.com/opendatafrance/moisson/harvester/fetch"
	"github.com/opendatafrance/moisson/harvester/normalize"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Software names.
const (
	CKAN       = "ckan"
	ODS        = "ods"
	D4C        = "d4c"
	DataFair   = "datafair"
	UData      = "udata"
	GeoNetwork = "geonetwork"
)

// MaxPageBytes bounds the page read; MaxProbeBytes a probe's answer.
const (
	MaxPageBytes  = 4 << 20
	MaxProbeBytes = 256 << 10
)

// Evidence is one clue that the portal runs some software.
type Evidence struct {
	Software string `json:"software"`
	Clue     string `json:"clue"` // what was seen, e.g. `meta generator "ckan 2.10.4"`
}

// Endpoint is a machine endpoint: a DCAT link of the page, or a probed API root.
type Endpoint struct {
	Software string `json:"software,omitempty"`
	Protocol string `json:"protocol,omitempty"` // the harvester protocol that reads it (ckan, ods, dcat, ...)
	Kind     string `json:"kind"`               // "probe" or "link"
	URL      string `json:"url"`
	Status   int    `json:"status,omitempty"`
	OK       bool   `json:"ok"`
	Note     string `json:"note,omitempty"`
}

// Result is what discover found.
type Result struct {
	URL       string               `json:"url"`
	Software  []string             `json:"software"` // most likely first
	Evidence  []Evidence           `json:"evidence"`
	Endpoints []Endpoint           `json:"endpoints"`
	Datasets  []*moissonv1.Dataset `json:"-"` // schema.org Dataset JSON-LD of the page
	Problems  []string             `json:"problems,omitempty"`
}

// Options configure Discover.
type Options struct {
	Client  *fetch.Client
	NoProbe bool // only read the page
}

// Discover fetches pageURL and probes the API roots of its site.
func Discover(ctx context.Context, pageURL string, opt Options) (*Result, error) {
	if opt.Client == nil {
		opt.Client = fetch.New(fetch.Options{Retries: -1})
	}
	resp, err := opt.Client.Get(ctx, fetch.Request{URL: pageURL, Accept: "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"})
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxPageBytes))
	resp.Close()
	if err != nil {
		return nil, fmt.Errorf("discover: reading %s: %w", pageURL, err)
	}
	res, err := ReadPage(strings.NewReader(string(body)), resp.URL)
	if err != nil {
		return nil, err
	}
	if !opt.NoProbe {
		probeAll(ctx, opt.Client, res)
	}
	res.rank()
	return res, nil
}

// ReadPage reads an HTML page (no network): software clues, DCAT links and
// embedded schema.org datasets.
func ReadPage(r io.Reader, pageURL string) (*Result, error) {
	doc, err := goquery.NewDocumentFromReader(r)
	if err != nil {
		return nil, fmt.Errorf("discover: not HTML: %w", err)
	}
	base, err := url.Parse(pageURL)
	if err != nil {
		return nil, fmt.Errorf("discover: bad URL %q: %w", pageURL, err)
	}
	if href, ok := doc.Find("base[href]").Attr("href"); ok {
		if b, err := base.Parse(href); err == nil {
			base = b
		}
	}
	res := &Result{URL: pageURL, Software: []string{}, Evidence: []Evidence{}, Endpoints: []Endpoint{}}
	add := func(sw, clue string) { res.Evidence = append(res.Evidence, Evidence{Software: sw, Clue: clue}) }

	doc.Find("meta[name]").Each(func(_ int, s *goquery.Selection) {
		name, _ := s.Attr("name")
		content, _ := s.Attr("content")
		if !strings.EqualFold(name, "generator") {
			return
		}
		c := strings.ToLower(content)
		clue := fmt.Sprintf("meta generator %q", content)
		switch {
		case strings.Contains(c, "ckan"):
			add(CKAN, clue)
		case strings.Contains(c, "opendatasoft"):
			add(ODS, clue)
		case strings.Contains(c, "data4citizen") || strings.Contains(c, "d4c"):
			add(D4C, clue)
		case strings.Contains(c, "data-fair") || strings.Contains(c, "data fair") || strings.Contains(c, "koumoul"):
			add(DataFair, clue)
		case strings.Contains(c, "udata"):
			add(UData, clue)
		case strings.Contains(c, "geonetwork"):
			add(GeoNetwork, clue)
		}
	})
	// Asset and link paths.
	seen := map[string]bool{}
	doc.Find("script[src], link[href], img[src], a[href], form[action]").Each(func(_ int, s *goquery.Selection) {
		v := s.AttrOr("src", s.AttrOr("href", s.AttrOr("action", "")))
		l := strings.ToLower(v)
		clue := func(sw, why string) {
			if !seen[sw+why] {
				seen[sw+why] = true
				add(sw, fmt.Sprintf("%s %q", why, truncate(v, 120)))
			}
		}
		switch {
		case strings.Contains(l, "/webassets/") || strings.Contains(l, "/base/javascript/") || strings.Contains(l, "ckanext-") || strings.Contains(l, "/api/3/action/"):
			clue(CKAN, "CKAN asset or API path")
		case strings.Contains(l, "opendatasoft.com") || strings.Contains(l, "/api/explore/v2") || strings.Contains(l, "ods-widgets") || strings.Contains(l, "/explore/dataset/"):
			clue(ODS, "OpenDataSoft asset or path")
		case strings.Contains(l, "/d4c/") || strings.Contains(l, "/modules/custom/d4c") || strings.Contains(l, "data4citizen"):
			clue(D4C, "Data4Citizen path")
		case strings.Contains(l, "/data-fair/") || strings.Contains(l, "koumoul.com"):
			clue(DataFair, "Data Fair path")
		case strings.Contains(l, "/_themes/") && strings.Contains(l, "udata") || strings.Contains(l, "udata") && strings.Contains(l, "/static/") || strings.Contains(l, "/api/1/"):
			clue(UData, "udata asset or API path")
		case strings.Contains(l, "/geonetwork/"):
			clue(GeoNetwork, "GeoNetwork path")
		}
	})
	// DCAT alternates.
	doc.Find(`link[rel~="alternate"][href]`).Each(func(_ int, s *goquery.Selection) {
		typ := strings.ToLower(strings.TrimSpace(s.AttrOr("type", "")))
		switch typ {
		case "application/rdf+xml", "text/turtle", "application/ld+json", "application/n-triples":
		default:
			return
		}
		u, err := base.Parse(strings.TrimSpace(s.AttrOr("href", "")))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			return
		}
		res.Endpoints = append(res.Endpoints, Endpoint{Protocol: "dcat", Kind: "link", URL: u.String(), Note: "link rel=alternate type=" + typ})
	})
	// schema.org JSON-LD.
	doc.Find(`script[type="application/ld+json"]`).Each(func(i int, s *goquery.Selection) {
		ds, err := readJSONLD([]byte(s.Text()), base)
		if err != nil {
			res.Problems = append(res.Problems, fmt.Sprintf("JSON-LD block %d: %v", i+1, err))
			return
		}
		res.Datasets = append(res.Datasets, ds...)
	})
	res.rank()
	return res, nil
}

// rank orders the software by the number of clues (probes that answered
// count three).
func (res *Result) rank() {
	score := map[string]int{}
	for _, e := range res.Evidence {
		score[e.Software]++
	}
	for _, e := range res.Endpoints {
		if e.Kind == "probe" && e.OK && e.Software != "" {
			score[e.Software] += 3
		}
	}
	// Data4Citizen is a Drupal front on CKAN: its CKAN clues are its own.
	if score[D4C] > 0 && score[CKAN] > 0 {
		score[D4C] += score[CKAN]
	}
	res.Software = res.Software[:0]
	for sw := range score {
		res.Software = append(res.Software, sw)
	}
	sort.Slice(res.Software, func(i, j int) bool {
		a, b := res.Software[i], res.Software[j]
		if score[a] != score[b] {
			return score[a] > score[b]
		}
		return a < b
	})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// probe is one candidate API root.
type probe struct {
	software, protocol, path string
	check                    func(body []byte) (bool, string)
}

var probes = []probe{
	{CKAN, "ckan", "/api/3/action/status_show", checkCKAN},
	{ODS, "ods", "/api/explore/v2.1/catalog/datasets?limit=1", checkJSONKeys("total_count", "results")},
	{D4C, "d4c", "/d4c/api/datasets/2.0/search/?rows=0", checkD4C},
	{DataFair, "datafair", "/data-fair/api/v1/datasets?size=0", checkJSONKeys("count", "results")},
	{UData, "udata", "/api/1/site/", checkJSONKeys("id", "title")},
	{GeoNetwork, "csw", "/geonetwork/srv/fre/csw?service=CSW&version=2.0.2&request=GetCapabilities", checkCSW},
	{GeoNetwork, "csw", "/geonetwork/srv/eng/csw?service=CSW&version=2.0.2&request=GetCapabilities", checkCSW},
}

func checkCKAN(b []byte) (bool, string) {
	var v struct {
		Success bool `json:"success"`
		Result  struct {
			Version string `json:"ckan_version"`
			Site    string `json:"site_title"`
		} `json:"result"`
	}
	if json.Unmarshal(b, &v) != nil || !v.Success {
		return false, "not a CKAN status_show answer"
	}
	return true, strings.TrimSpace("CKAN " + v.Result.Version)
}

func checkD4C(b []byte) (bool, string) {
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return false, "not JSON"
	}
	for _, k := range []string{"nhits", "datasets", "result", "count"} {
		if m[k] != nil {
			return true, "search answer with " + k
		}
	}
	return false, "JSON without nhits/datasets"
}

func checkJSONKeys(keys ...string) func([]byte) (bool, string) {
	return func(b []byte) (bool, string) {
		var m map[string]json.RawMessage
		if json.Unmarshal(b, &m) != nil {
			return false, "not a JSON object"
		}
		for _, k := range keys {
			if m[k] == nil {
				return false, "no " + k + " key"
			}
		}
		return true, ""
	}
}

func checkCSW(b []byte) (bool, string) {
	d := xml.NewDecoder(strings.NewReader(string(b)))
	for {
		tok, err := d.Token()
		if err != nil {
			return false, "not a CSW Capabilities document"
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Local == "Capabilities" {
				return true, "CSW Capabilities"
			}
			return false, "root element " + se.Name.Local
		}
	}
}

// roots are the API roots to probe: the page's own path prefix, then its origin.
func roots(pageURL string) []string {
	u, err := url.Parse(pageURL)
	if err != nil {
		return nil
	}
	origin := u.Scheme + "://" + u.Host
	out := []string{}
	p := strings.TrimRight(u.Path, "/")
	if i := strings.LastIndex(p, "/"); i >= 0 && strings.Contains(p[i:], ".") {
		p = p[:i] // a file name (index.html)
	}
	if p != "" {
		out = append(out, origin+p)
	}
	return append(out, origin)
}

func probeAll(ctx context.Context, c *fetch.Client, res *Result) {
	done := map[string]bool{}
	for _, root := range roots(res.URL) {
		for _, p := range probes {
			u := root + p.path
			if done[u] {
				continue
			}
			done[u] = true
			ep := Endpoint{Software: p.software, Protocol: p.protocol, Kind: "probe", URL: u}
			resp, err := c.Get(ctx, fetch.Request{URL: u, Accept: "application/json, application/xml;q=0.9"})
			if err != nil {
				var he *fetch.HTTPError
				if errors.As(err, &he) {
					ep.Status = he.Status
				}
				ep.Note = err.Error()
				if ep.Status == 404 {
					ep.Note = "not found"
				}
				if ctx.Err() != nil {
					return
				}
				res.Endpoints = append(res.Endpoints, ep)
				continue
			}
			ep.Status = resp.Status
			body, rerr := io.ReadAll(io.LimitReader(resp.Body, MaxProbeBytes))
			resp.Close()
			if rerr != nil && !errors.Is(rerr, io.EOF) {
				ep.Note = rerr.Error()
			} else {
				ep.OK, ep.Note = p.check(body)
			}
			if ep.OK {
				res.Evidence = append(res.Evidence, Evidence{Software: p.software, Clue: "probe " + u + " answered"})
				// the harvester's endpoint for the protocol
				switch p.protocol {
				case "ckan":
					ep.URL = strings.TrimSuffix(u, "/status_show")
				case "udata":
					ep.URL = strings.TrimSuffix(u, "/site/")
				case "datafair":
					ep.URL = strings.TrimSuffix(u, "/datasets?size=0")
				case "csw":
					ep.URL = u[:strings.Index(u, "?")]
				}
			}
			res.Endpoints = append(res.Endpoints, ep)
		}
	}
}

// readJSONLD reads the schema.org Datasets of one JSON-LD block: an object,
// a list, or an object with @graph; nested objects are searched too (a
// DataCatalog listing its datasets).
func readJSONLD(b []byte, base *url.URL) ([]*moissonv1.Dataset, error) {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("at byte %d: %v", se.Offset, err)
		}
		return nil, err
	}
	var out []*moissonv1.Dataset
	var walk func(x any, depth int)
	walk = func(x any, depth int) {
		if depth > 8 {
			return
		}
		switch t := x.(type) {
		case []any:
			for _, e := range t {
				walk(e, depth+1)
			}
		case map[string]any:
			if isType(t["@type"], "Dataset") {
				if d := schemaDataset(t, base); d != nil {
					out = append(out, d)
				}
				return
			}
			for k, e := range t {
				if k == "@context" {
					continue
				}
				walk(e, depth+1)
			}
		}
	}
	walk(v, 0)
	return out, nil
}

func isType(v any, name string) bool {
	switch t := v.(type) {
	case string:
		t = strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(t, "http://schema.org/"), "https://schema.org/"), "schema:")
		return t == name
	case []any:
		for _, e := range t {
			if isType(e, name) {
				return true
			}
		}
	}
	return false
}

// str reads a schema.org text value: a string, a number, a language-tagged
// object {"@value"}, or the first of a list.
func str(v any) string {
	switch t := v.(type) {
	case string:
		return strings.TrimSpace(t)
	case float64:
		return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%f", t), "0"), ".")
	case map[string]any:
		if s := str(t["@value"]); s != "" {
			return s
		}
		if s := str(t["name"]); s != "" {
			return s
		}
		return str(t["@id"])
	case []any:
		for _, e := range t {
			if s := str(e); s != "" {
				return s
			}
		}
	}
	return ""
}

func strs(v any) []string {
	switch t := v.(type) {
	case string:
		var out []string
		for _, p := range strings.Split(t, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	case []any:
		var out []string
		for _, e := range t {
			if s := str(e); s != "" {
				out = append(out, s)
			}
		}
		return out
	case map[string]any:
		if s := str(t); s != "" {
			return []string{s}
		}
	}
	return nil
}

func link(v any, base *url.URL) string {
	s := ""
	if m, ok := v.(map[string]any); ok {
		s = normalize.First(str(m["url"]), str(m["@id"]))
	} else {
		s = str(v)
	}
	if s == "" {
		return ""
	}
	if u, err := base.Parse(s); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		return u.String()
	}
	return ""
}

func schemaDataset(m map[string]any, base *url.URL) *moissonv1.Dataset {
	d := &moissonv1.Dataset{
		Title:       normalize.Text(str(m["name"])),
		Description: normalize.Text(str(m["description"])),
		Keywords:    strs(m["keywords"]),
		LandingPage: link(m["url"], base),
		Uri:         link(m["@id"], base),
		Language:    str(m["inLanguage"]),
	}
	d.OriginalId = normalize.First(str(m["identifier"]), d.Uri, d.LandingPage)
	if d.Title == "" || d.OriginalId == "" {
		return nil
	}
	if lic := normalize.First(link(m["license"], base), str(m["license"])); lic != "" {
		d.License = &moissonv1.License{Raw: lic, Normalized: normalize.License(lic)}
	} else {
		d.License = &moissonv1.License{Normalized: "unknown"}
	}
	if t, ok := normalize.Time(str(m["dateModified"])); ok {
		d.Modified = timestamppb.New(t)
	}
	if t, ok := normalize.Time(str(m["datePublished"])); ok {
		d.Issued = timestamppb.New(t)
	}
	for _, k := range []string{"publisher", "creator", "sourceOrganization"} {
		if p := str(m[k]); p != "" {
			d.Publisher = &moissonv1.Publisher{Name: p}
			if pm, ok := m[k].(map[string]any); ok {
				d.Publisher.Uri = link(pm["@id"], base)
				if d.Publisher.Uri == "" {
					d.Publisher.Uri = link(pm["url"], base)
				}
			}
			break
		}
	}
	if s := str(m["spatialCoverage"]); s != "" {
		d.Spatial = &moissonv1.Spatial{Label: s}
	}
	if tc := str(m["temporalCoverage"]); tc != "" {
		if a, b, ok := strings.Cut(tc, "/"); ok {
			tp := &moissonv1.Temporal{}
			if t, ok := normalize.Time(a); ok {
				tp.Start = timestamppb.New(t)
			}
			if t, ok := normalize.Time(b); ok {
				tp.End = timestamppb.New(t)
			}
			if tp.Start != nil || tp.End != nil {
				d.Temporal = tp
			}
		}
	}
	var dists []any
	switch t := m["distribution"].(type) {
	case []any:
		dists = t
	case map[string]any:
		dists = []any{t}
	}
	for _, x := range dists {
		dm, ok := x.(map[string]any)
		if !ok {
			continue
		}
		dist := &moissonv1.Distribution{
			DownloadUrl: link(dm["contentUrl"], base),
			Url:         normalize.First(link(dm["url"], base), link(dm["contentUrl"], base)),
			Title:       normalize.Text(str(dm["name"])),
			MediaType:   str(dm["encodingFormat"]),
		}
		dist.Format = normalize.Format(normalize.First(str(dm["fileFormat"]), dist.MediaType))
		if dist.Format == "" {
			dist.Format = normalize.FormatFromURL(normalize.First(dist.DownloadUrl, dist.Url))
		}
		if dist.Url == "" && dist.DownloadUrl == "" {
			continue
		}
		d.Distributions = append(d.Distributions, dist)
	}
	d.Themes = normalize.Themes(d.Keywords)
	return d
}
