// Package ckan reads a CKAN portal through its Action API: package_search
// paged by rows/start with a stable sort, optionally filtered on one
// organisation. Packages are decoded one at a time from the response stream.
package ckan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	json "github.com/go-json-experiment/json/v1"

	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/fetch"
	"github.com/opendatafrance/moisson/harvester/normalize"
	"github.com/opendatafrance/moisson/harvester/source"
	"github.com/opendatafrance/moisson/harvester/source/jsonwalk"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// DefaultRows is the page size when the source sets none.
const DefaultRows = 100

// Source reads one CKAN endpoint.
type Source struct {
	endpoint string // the API root, ending in /api/3/action (or /api/action)
	portal   string // the portal's home page, for landing pages
	org      string
	since    time.Time // incremental: only packages modified since
	rows     int
	sort     string
	env      source.Env
}

// New is the source.Factory of CKAN.
func New(src *config.Source, env source.Env) (source.Source, error) {
	s := &Source{
		endpoint: strings.TrimRight(src.Endpoint, "/"),
		rows:     DefaultRows,
		sort:     "id asc",
		env:      env,
		org:      src.Params["organization"],
	}
	if src.Portal != nil {
		s.portal = strings.TrimRight(src.Portal.URL, "/")
	}
	var err error
	if s.rows, err = source.PageSize(src, "ckan", s.rows, 1000); err != nil {
		return nil, err
	}
	if v := src.Params["sort"]; v != "" {
		s.sort = v
	}
	return s, nil
}

// Harvest walks package_search to its end.
func (s *Source) Harvest(ctx context.Context, sink source.Sink) error {
	if since := source.Since(ctx); !since.IsZero() {
		s.since = since
		source.MarkIncremental(sink)
	}
	pages := source.NewPages("count")
	for {
		u := s.pageURL(pages.Read)
		n, count, err := s.readPage(ctx, u, sink)
		if err != nil {
			return err
		}
		if done, err := pages.After(sink, u, n, s.rows, count); done || err != nil {
			return err
		}
	}
}

func (s *Source) pageURL(start int) string {
	q := url.Values{}
	q.Set("rows", strconv.Itoa(s.rows))
	q.Set("start", strconv.Itoa(start))
	q.Set("sort", s.sort)
	var fq []string
	if s.org != "" {
		fq = append(fq, fmt.Sprintf("organization:%q", s.org))
	}
	if !s.since.IsZero() {
		fq = append(fq, "metadata_modified:["+s.since.UTC().Format("2006-01-02T15:04:05Z")+" TO *]")
	}
	if len(fq) > 0 {
		q.Set("fq", strings.Join(fq, " AND "))
	}
	return s.endpoint + "/package_search?" + q.Encode()
}

// readPage reads one package_search answer, handing each package to the sink
// as soon as it is decoded. It returns the number of packages and the
// declared count (-1 if absent).
func (s *Source) readPage(ctx context.Context, u string, sink source.Sink) (int, int64, error) {
	resp, err := s.env.Client.Get(ctx, fetch.Request{URL: u, Accept: "application/json"})
	if err != nil {
		return 0, -1, &source.Error{Kind: fetch.KindOf(err), URL: u, Err: err}
	}
	defer resp.Close()
	n, count, err := DecodeSearch(resp.Body, func(p *Package) error {
		rec, perr := s.Record(p)
		if perr != nil {
			sink.Problem(source.Problem{Kind: source.KindNormalise, URL: u, DatasetID: p.ID, Message: perr.Error()})
			return nil
		}
		if err := sink.Record(ctx, rec); err != nil {
			// The sink's own failure (publishing), not the portal's.
			return source.SinkError{Err: err}
		}
		return nil
	})
	return n, count, source.AnswerError(ctx, u, err)
}

// DecodeSearch streams a package_search answer ({"success", "result":
// {"count", "results": [...]}}) and calls fn for each package. It also
// accepts package_show answers (result is one package) and bare package
// lists. It returns the number of packages and the declared count (-1 if
// absent).
func DecodeSearch(r io.Reader, fn func(*Package) error) (int, int64, error) {
	ur := &utf8Reader{r: r}
	n, count, err := decodeSearch(jsonwalk.NewDecoder(ur, "ckan"), fn)
	if ur.bad >= 0 {
		// encoding/json would silently turn the bytes into U+FFFD.
		return n, count, &source.ParseError{Protocol: "ckan", Offset: ur.bad,
			Msg: "invalid UTF-8 (wrong encoding? a JSON answer must be UTF-8; Latin-1 bytes?)"}
	}
	if ur.ioErr != nil && err != nil {
		// the transport failed (body limit, connection): not a parse error
		return n, count, fmt.Errorf("ckan: reading the answer at byte %d: %w", ur.off, ur.ioErr)
	}
	return n, count, err
}

var errBadUTF8 = errors.New("invalid UTF-8")

// utf8Reader fails on the first invalid UTF-8 sequence, remembering its
// offset. A sequence cut between two reads is completed by the next one.
type utf8Reader struct {
	r     io.Reader
	off   int64 // bytes handed out
	tail  []byte
	bad   int64
	init  bool
	ioErr error // the underlying reader's error, other than EOF
}

func (u *utf8Reader) Read(p []byte) (int, error) {
	if !u.init {
		u.init, u.bad = true, -1
	}
	if u.bad >= 0 {
		return 0, errBadUTF8
	}
	if len(p) < 4 { // room for a held-back sequence (encoding/json reads 512+)
		return 0, io.ErrShortBuffer
	}
	k := copy(p, u.tail)
	u.tail = u.tail[:0]
	n, err := u.r.Read(p[k:])
	if err != nil && err != io.EOF {
		u.ioErr = err
	}
	n += k
	end := n
	if err == nil {
		// hold back an incomplete sequence at the end
		for i := 1; i <= 3 && i <= end; i++ {
			c := p[end-i]
			if c < 0x80 {
				break
			}
			if c >= 0xC0 { // a leading byte: is its sequence complete?
				need := 2
				if c >= 0xE0 {
					need = 3
				}
				if c >= 0xF0 {
					need = 4
				}
				if i < need {
					end -= i
				}
				break
			}
		}
		u.tail = append(u.tail, p[end:n]...)
	}
	if i := firstInvalidUTF8(p[:end]); i >= 0 {
		u.bad = u.off + int64(i)
		return i, errBadUTF8
	}
	u.off += int64(end)
	return end, err
}

func firstInvalidUTF8(b []byte) int {
	if utf8.Valid(b) {
		return -1
	}
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return -1
}

func decodeSearch(d *jsonwalk.Decoder, fn func(*Package) error) (int, int64, error) {
	open, err := d.Open()
	if err != nil {
		return 0, -1, err
	}
	if open == '[' {
		return decodeArray(d, fn)
	}
	n := 0
	var count int64 = -1
	success := true
	var apiErr json.RawMessage
	action := "" // the action named by "help", when it names one
	sawResult := false
	var bare map[string]json.RawMessage // other top-level keys: a bare package dict
	err = d.Object("answer", func(key string) error {
		switch key {
		case "help":
			var raw json.RawMessage
			if err := d.Decode(&raw); err != nil {
				return d.Errorf("help: %v", err)
			}
			var h string
			if json.Unmarshal(raw, &h) == nil {
				action = actionOf(h)
			}
		case "success":
			if err := d.Decode(&success); err != nil {
				return d.Errorf("success: %v", err)
			}
		case "error":
			if err := d.Decode(&apiErr); err != nil {
				return d.Errorf("error: %v", err)
			}
		case "count", "results":
			// A package_search result saved without its envelope
			// ({"count", "results": [...]}).
			if sawResult && key == "count" {
				return d.Skip()
			}
			if key == "count" {
				c, err := d.Int(key)
				count = c
				return err
			}
			sawResult = true
			if err := d.List(key); err != nil {
				return err
			}
			k, _, err := decodeArray(d, fn)
			n += k
			return err
		case "result":
			sawResult = true
			if action == "package_list" || action == "resource_show" || action == "organization_show" || action == "organization_list" {
				return d.Errorf("%s", notPackages(action))
			}
			t, err := d.Token()
			if err != nil {
				return d.Errorf("result: %v", err)
			}
			switch t {
			case json.Delim('['):
				k, _, err := decodeArray(d, fn)
				n += k
				return err
			case json.Delim('{'):
				k, c, err := decodeResult(d, fn)
				n += k
				if c >= 0 {
					count = c
				}
				return err
			default:
				return d.Errorf("result: unexpected %v", t)
			}
		default:
			if sawResult {
				return d.Skip()
			}
			// Before any "result": this may be a bare package dict (no
			// action envelope, as ckanext-dcat's examples and some dumps
			// are). A package is one small object: keep its keys.
			var raw json.RawMessage
			if err := d.Decode(&raw); err != nil {
				return d.Errorf("%s: %v", key, err)
			}
			if bare == nil {
				bare = map[string]json.RawMessage{}
			}
			bare[key] = raw
		}
		return nil
	})
	if err != nil {
		return n, count, err
	}
	if !success {
		return n, count, d.Errorf("the API answered success=false: %s", apiErr)
	}
	if !sawResult {
		if !isPackage(bare) {
			return 0, -1, d.Errorf("neither an Action API answer (no \"result\") nor a package dict (no id/name with title, notes or resources)")
		}
		p, err := packageOf(d, bare)
		if err != nil {
			return 0, -1, err
		}
		if err := fn(p); err != nil {
			return 0, -1, err
		}
		return 1, 1, nil
	}
	return n, count, nil
}

// isPackage tells whether the keys of an object are those of a package dict.
func isPackage(m map[string]json.RawMessage) bool {
	if m["id"] == nil && m["name"] == nil {
		return false
	}
	if m["package_id"] != nil && m["resources"] == nil {
		return false // a resource dict
	}
	return m["title"] != nil || m["notes"] != nil || m["resources"] != nil
}

func packageOf(d *jsonwalk.Decoder, m map[string]json.RawMessage) (*Package, error) {
	raw, _ := json.Marshal(m)
	var p Package
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, d.Errorf("package: %v", err)
	}
	return &p, nil
}

// actionOf reads the action name from an answer's "help" (a help_show URL
// "...help_show?name=package_list", or the docstring of the action).
func actionOf(help string) string {
	if i := strings.Index(help, "help_show?name="); i >= 0 {
		name := help[i+len("help_show?name="):]
		if j := strings.IndexAny(name, "&#"); j >= 0 {
			name = name[:j]
		}
		return name
	}
	return ""
}

func notPackages(action string) string {
	what := map[string]string{
		"package_list":      "a list of dataset names",
		"resource_show":     "one resource (a distribution)",
		"organization_show": "an organisation",
		"organization_list": "a list of organisations",
	}[action]
	return fmt.Sprintf("this is a %s answer: its result is %s, not dataset metadata (read package_search or package_show)", action, what)
}

// decodeResult reads the inside of "result": {...}: either a search result
// (count, results) or a single package (package_show).
func decodeResult(d *jsonwalk.Decoder, fn func(*Package) error) (int, int64, error) {
	n := 0
	var count int64 = -1
	single := map[string]json.RawMessage{}
	sawList := false
	err := d.Object("result", func(key string) error {
		switch key {
		case "count":
			var err error
			count, err = d.Int(key)
			return err
		case "results":
			sawList = true
			if err := d.List(key); err != nil {
				return err
			}
			k, _, err := decodeArray(d, fn)
			n += k
			return err
		}
		raw, err := d.Raw()
		single[key] = raw
		return err
	})
	if err != nil {
		return n, count, err
	}
	if count < 0 && n == 0 && single["id"] != nil {
		if single["package_id"] != nil && single["resources"] == nil {
			return 0, -1, d.Errorf("%s", notPackages("resource_show"))
		}
		// package_show: the result is the package itself.
		p, err := packageOf(d, single)
		if err != nil {
			return 0, -1, err
		}
		if err := fn(p); err != nil {
			return 0, -1, err
		}
		return 1, 1, nil
	}
	if count < 0 && n == 0 && !sawList {
		return 0, -1, d.Errorf("result is an object that is neither a package_search result (count, results) nor a package (id)")
	}
	return n, count, nil
}

// decodeArray reads packages until the closing bracket (the opening one is
// consumed). Each is decoded straight into a Package rather than through
// jsonwalk's Items: this is the hot path of a harvest, and going through a
// RawMessage would scan every package twice.
func decodeArray(d *jsonwalk.Decoder, fn func(*Package) error) (int, int64, error) {
	n := 0
	for d.More() {
		var p Package
		if err := d.Decode(&p); err != nil {
			var te *json.UnmarshalTypeError
			if n == 0 && errors.As(err, &te) && te.Value == "string" && te.Field == "" {
				return n, -1, d.Errorf("%s", notPackages("package_list"))
			}
			return n, -1, d.Errorf("package %d: %v", n+1, err)
		}
		n++
		if err := fn(&p); err != nil {
			return n, -1, err
		}
	}
	if err := d.End("list"); err != nil {
		return n, -1, err
	}
	return n, int64(n), nil
}

// Package is the part of a CKAN package dict Moisson reads.
type Package struct {
	ID               string        `json:"id"`
	Name             string        `json:"name"`
	Title            Text          `json:"title"`
	Notes            Text          `json:"notes"`
	URL              string        `json:"url"`
	LicenseID        string        `json:"license_id"`
	LicenseTitle     string        `json:"license_title"`
	LicenseURL       string        `json:"license_url"`
	MetadataCreated  string        `json:"metadata_created"`
	MetadataModified string        `json:"metadata_modified"`
	Organization     *Organization `json:"organization"`
	Tags             []Tag         `json:"tags"`
	Groups           []Group       `json:"groups"`
	Extras           []Extra       `json:"extras"`
	Resources        []Resource    `json:"resources"`
	Language         Text          `json:"language"`
	Author           string        `json:"author"`
	AuthorEmail      string        `json:"author_email"`
	Maintainer       string        `json:"maintainer"`
	MaintainerEmail  string        `json:"maintainer_email"`
	Frequency        string        `json:"frequency"`
	Spatial          string        `json:"spatial"`
	// ckanext-scheming / ckanext-dcat DCAT-AP fields (top level, not extras).
	Issued          Text    `json:"issued"`
	Modified        Text    `json:"modified"`
	Identifier      Text    `json:"identifier"`
	TitleTranslated LangMap `json:"title_translated"`
	NotesTranslated LangMap `json:"notes_translated"`
	Contact         Agents  `json:"contact"`
	Publisher       Agents  `json:"publisher"`
	Theme           List    `json:"theme"`
	ConformsTo      List    `json:"conforms_to"`
}

// LangMap is a ckanext-fluent translated field ({"fr": ..., "en": ...});
// anything else is ignored.
type LangMap map[string]string

// UnmarshalJSON keeps the string values of an object.
func (m *LangMap) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if json.Unmarshal(b, &raw) != nil {
		return nil
	}
	out := LangMap{}
	for k, v := range raw {
		var s string
		if json.Unmarshal(v, &s) == nil {
			out[k] = s
		}
	}
	*m = out
	return nil
}

// Agent is a scheming contact or publisher ({name, email, url, identifier}).
type Agent struct {
	Name       Text `json:"name"`
	Email      Text `json:"email"`
	URL        Text `json:"url"`
	Identifier Text `json:"identifier"`
}

// Agents is a list of agents, or one agent, or a bare name.
type Agents []Agent

// UnmarshalJSON accepts a list, an object or a string; anything else is ignored.
func (a *Agents) UnmarshalJSON(b []byte) error {
	var list []Agent
	if json.Unmarshal(b, &list) == nil {
		*a = list
		return nil
	}
	var one Agent
	if json.Unmarshal(b, &one) == nil {
		*a = Agents{one}
		return nil
	}
	var name string
	if json.Unmarshal(b, &name) == nil && strings.TrimSpace(name) != "" {
		*a = Agents{{Name: Text(name)}}
	}
	return nil
}

// List is a list of strings, or a string holding a JSON or comma-separated list.
type List []string

// UnmarshalJSON accepts a list of strings or a string; anything else is ignored.
func (l *List) UnmarshalJSON(b []byte) error {
	if s, ok := jsonwalk.PlainString(b); ok {
		*l = splitList(s)
		return nil
	}
	var list []string
	if json.Unmarshal(b, &list) == nil {
		*l = list
		return nil
	}
	var s string
	if json.Unmarshal(b, &s) == nil {
		*l = splitList(s)
	}
	return nil
}

// Text is a CKAN string that may be a translated object ({"fr": "...", "en": "..."}).
type Text string

// UnmarshalJSON accepts a string, null, or a language map (French preferred).
func (t *Text) UnmarshalJSON(b []byte) error {
	if s, ok := jsonwalk.PlainString(b); ok {
		*t = Text(s)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*t = Text(s)
		return nil
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err == nil {
		for _, k := range []string{"fr", "en"} {
			if m[k] != "" {
				*t = Text(m[k])
				return nil
			}
		}
		for _, v := range m {
			if v != "" {
				*t = Text(v)
				break
			}
		}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err == nil {
		*t = Text(strings.Join(list, ", "))
		return nil
	}
	return nil // numbers, booleans: ignored
}

// Organization of a package.
type Organization struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Title Text   `json:"title"`
}

// Tag of a package.
type Tag struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name"`
}

// Group of a package.
type Group struct {
	Name  string `json:"name"`
	Title Text   `json:"title"`
}

// Extra is a key/value of a package.
type Extra struct {
	Key   string `json:"key"`
	Value Text   `json:"value"`
}

// Resource of a package.
type Resource struct {
	ID           string          `json:"id"`
	Name         Text            `json:"name"`
	URL          string          `json:"url"`
	Format       string          `json:"format"`
	Mimetype     string          `json:"mimetype"`
	Size         json.RawMessage `json:"size"`
	LastModified string          `json:"last_modified"`
	Schema       json.RawMessage `json:"schema"`
	ConformsTo   json.RawMessage `json:"conforms_to"`
	AccessURL    string          `json:"access_url"`
	DownloadURL  string          `json:"download_url"`
	License      Text            `json:"license"` // ckanext-dcat DCAT-AP resources
}

// Record normalises a package.
func (s *Source) Record(p *Package) (source.Record, error) {
	// Judged as normalised: a name of spaces is no name, a title of markup
	// no title.
	id := normalize.First(p.ID, p.Name)
	if id == "" {
		return source.Record{}, errors.New("package without id nor name")
	}
	title := normalize.FirstText(p.TitleTranslated["fr"], string(p.Title), p.TitleTranslated["en"], p.Name)
	if title == "" {
		return source.Record{}, fmt.Errorf("package %s has no title", id)
	}
	extras := map[string]string{}
	for _, e := range p.Extras {
		extras[e.Key] = string(e.Value)
	}
	d := &moissonv1.Dataset{
		OriginalId:  id,
		Title:       title,
		Description: normalize.Text(normalize.First(p.NotesTranslated["fr"], string(p.Notes), p.NotesTranslated["en"])),
		Language:    normalize.First(string(p.Language), extras["language"]),
		Uri:         extras["uri"],
	}
	if s.portal != "" && p.Name != "" {
		d.LandingPage = s.portal + "/dataset/" + p.Name
	}
	page := d.LandingPage
	if v := extras["landing_page"]; v != "" {
		d.LandingPage = v
	}
	// A copy harvested elsewhere names its original by one of these (and
	// the page on this portal, when the landing page is the original's).
	d.Identifiers = normalize.Identifiers([]string{d.OriginalId, d.Uri, d.LandingPage}, string(p.Identifier),
		extras["identifier"], extras["dcat_identifier"], extras["guid"], page)
	for _, t := range p.Tags {
		if name := normalize.First(t.DisplayName, t.Name); name != "" {
			d.Keywords = append(d.Keywords, name)
		}
	}
	for _, g := range p.Groups {
		if v := normalize.First(string(g.Title), g.Name); v != "" {
			d.RawThemes = append(d.RawThemes, v)
		}
	}
	if v := extras["theme"]; v != "" {
		d.RawThemes = append(d.RawThemes, splitList(v)...)
	}
	d.RawThemes = append(d.RawThemes, p.Theme...)
	d.Themes = normalize.Themes(append(append([]string{}, d.RawThemes...), d.Keywords...))
	// Licence: the id is the most precise, then the URL, then the label.
	resLicence := ""
	for _, r := range p.Resources {
		if resLicence = strings.TrimSpace(string(r.License)); resLicence != "" {
			break
		}
	}
	raw := normalize.First(p.LicenseTitle, p.LicenseID, p.LicenseURL, extras["license"], resLicence)
	norm := normalize.LicenseOf(p.LicenseID, p.LicenseURL, p.LicenseTitle, extras["license"], resLicence)
	d.License = &moissonv1.License{Raw: raw, Normalized: norm}
	if p.Organization != nil {
		d.Publisher = &moissonv1.Publisher{Name: normalize.First(string(p.Organization.Title), p.Organization.Name)}
	}
	if v := normalize.First(extras["publisher_name"], extras["dcat_publisher_name"]); v != "" {
		if d.Publisher == nil {
			d.Publisher = &moissonv1.Publisher{}
		}
		if d.Publisher.Name == "" {
			d.Publisher.Name = v
		}
	}
	if v := extras["publisher_uri"]; v != "" {
		if d.Publisher == nil {
			d.Publisher = &moissonv1.Publisher{}
		}
		d.Publisher.Uri = v
	}
	if len(p.Publisher) > 0 {
		pub := p.Publisher[0]
		if d.Publisher == nil {
			d.Publisher = &moissonv1.Publisher{}
		}
		if d.Publisher.Name == "" {
			d.Publisher.Name = strings.TrimSpace(string(pub.Name))
		}
		if d.Publisher.Uri == "" {
			d.Publisher.Uri = normalize.First(string(pub.Identifier), string(pub.URL))
		}
	}
	if d.Publisher != nil {
		d.Publisher.Siren = normalize.SIREN(normalize.First(extras["siren"], extras["siret"], d.Publisher.GetUri()))
	}
	if email := normalize.First(p.MaintainerEmail, p.AuthorEmail, extras["contact_email"], extras["contact-email"]); email != "" || p.Maintainer != "" || p.Author != "" {
		d.ContactPoint = &moissonv1.ContactPoint{Name: normalize.First(p.Maintainer, p.Author, extras["contact_name"]), Email: email}
	} else if len(p.Contact) > 0 {
		c := p.Contact[0]
		d.ContactPoint = &moissonv1.ContactPoint{Name: strings.TrimSpace(string(c.Name)),
			Email: strings.TrimPrefix(strings.TrimSpace(string(c.Email)), "mailto:"), Url: strings.TrimSpace(string(c.URL))}
	}
	// The DCAT dates (scheming fields, ckanext-dcat's dcat_* extras) are the
	// data's; metadata_created/modified are the CKAN record's, a fallback.
	if t, ok := normalize.Date(d, "issued", normalize.First(string(p.Issued), extras["issued"], extras["dcat_issued"], p.MetadataCreated)); ok {
		d.Issued = timestamppb.New(t)
	}
	if t, ok := normalize.Date(d, "modified", normalize.First(string(p.Modified), extras["modified"], extras["dcat_modified"], p.MetadataModified)); ok {
		d.Modified = timestamppb.New(t)
	}
	d.AccrualPeriodicity = normalize.First(p.Frequency, extras["frequency"], extras["accrual_periodicity"])
	if su := normalize.First(extras["spatial_uri"], extras["spatial-uri"]); su != "" || extras["spatial_text"] != "" {
		d.Spatial = &moissonv1.Spatial{Uri: su, Label: extras["spatial_text"], InseeCode: normalize.INSEE(su)}
	}
	d.ConformsTo = append(d.ConformsTo, splitList(extras["conforms_to"])...)
	d.ConformsTo = append(d.ConformsTo, p.ConformsTo...)
	for _, r := range p.Resources {
		dist := &moissonv1.Distribution{
			Url:         normalize.First(r.AccessURL, r.URL),
			DownloadUrl: normalize.First(r.DownloadURL, r.URL),
			MediaType:   r.Mimetype,
			Title:       normalize.Text(string(r.Name)),
		}
		dist.Format = normalize.Format(r.Format)
		if dist.Format == "" {
			dist.Format = normalize.Format(r.Mimetype)
		}
		if dist.Format == "" {
			dist.Format = normalize.FormatFromURL(r.URL)
		}
		if dist.MediaType == "" {
			dist.MediaType = normalize.MediaType(dist.Format)
		}
		dist.ByteSize = parseSize(r.Size)
		dist.ConformsTo = append(schemaRefs(r.Schema), schemaRefs(r.ConformsTo)...)
		d.ConformsTo = append(d.ConformsTo, dist.ConformsTo...)
		d.Distributions = append(d.Distributions, dist)
	}
	d.ConformsTo = normalize.Unique(d.ConformsTo)
	return source.Record{Dataset: d}, nil
}

// schemaRefs reads a resource schema: a string, a list, or udata's
// {"name": "scdl/deliberations", "url": ...}.
func schemaRefs(raw json.RawMessage) []string {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return splitList(s)
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	var obj struct {
		Name string `json:"name"`
		URL  string `json:"url"`
	}
	if json.Unmarshal(raw, &obj) == nil {
		var out []string
		for _, v := range []string{obj.Name, obj.URL} {
			if v != "" {
				out = append(out, v)
			}
		}
		return out
	}
	return nil
}

// splitList reads a value that may be a JSON list, or a comma-separated list.
func splitList(v string) []string {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	if strings.HasPrefix(v, "[") {
		var list []string
		if json.Unmarshal([]byte(v), &list) == nil {
			return list
		}
	}
	if strings.HasPrefix(v, "http") || !strings.Contains(v, ",") {
		return []string{v}
	}
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parseSize(raw json.RawMessage) int64 {
	if len(raw) == 0 {
		return 0
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		if v, err := n.Int64(); err == nil && v > 0 {
			return v
		}
		if f, err := n.Float64(); err == nil && f > 0 {
			return int64(f)
		}
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil && v > 0 {
			return v
		}
	}
	return 0
}

// Protocol is the CKAN adapter.
var Protocol = source.Protocol{Name: "ckan", New: New, Read: Read, Sniff: sniff}

// Read reads one saved CKAN answer (package_search, package_show, or a bare
// package or list of packages).
func Read(ctx context.Context, r io.Reader, base string, sink source.Sink) error {
	s := &Source{portal: portalOf(base)}
	n, count, err := DecodeSearch(r, func(p *Package) error {
		rec, perr := s.Record(p)
		if perr != nil {
			sink.Problem(source.Problem{Kind: source.KindNormalise, URL: base, DatasetID: p.ID, Message: perr.Error()})
			return nil
		}
		if err := sink.Record(ctx, rec); err != nil {
			return source.SinkError{Err: err}
		}
		return nil
	})
	if err != nil {
		return source.SinkCause(err)
	}
	_ = n
	sink.Page(base, count)
	return nil
}

// sniff recognises an Action API answer (its "help" names a CKAN action or
// help_show) or a package dict (keys only CKAN writes).
func sniff(head []byte) bool {
	s := string(head)
	if strings.Contains(s, `"package_search`) || strings.Contains(s, `"package_show`) || strings.Contains(s, `help_show?name=`) ||
		strings.Contains(s, "/api/3/action/") && strings.Contains(s, `"success"`) {
		return true
	}
	if strings.Contains(s, `"license_id"`) || strings.Contains(s, `"resources"`) && strings.Contains(s, `"notes"`) {
		return true
	}
	// A legacy package dict opens on its extras list ({"key", "value",
	// "__extras": {"package_id", "revision_id"}}); the package keys may be
	// far beyond the head.
	if strings.Contains(s, `"__extras"`) || strings.Contains(s, `"extras"`) && strings.Contains(s, `"key"`) && strings.Contains(s, `"value"`) && strings.Contains(s, `"revision_id"`) {
		return true
	}
	if strings.Contains(s, `"count"`) && strings.Contains(s, `"results"`) && (strings.Contains(s, `"num_resources"`) || strings.Contains(s, `"search_facets"`)) {
		return true // a package_search result saved without its envelope
	}
	return strings.Contains(s, `"metadata_modified"`) && strings.Contains(s, `"owner_org"`)
}

// portalOf tells a portal's home from the URL an answer came from
// (https://host/data/api/3/action/package_search?... → https://host/data);
// "" for a file path.
func portalOf(base string) string {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	p := u.Path
	if i := strings.Index(p, "/api/"); i >= 0 {
		p = p[:i]
	} else {
		p = ""
	}
	return u.Scheme + "://" + u.Host + strings.TrimRight(p, "/")
}
