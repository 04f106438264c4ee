// Package simulator is an HTTP simulator of open-data portals: for every
// source of a configuration it serves the source's real protocol (CKAN
// Action API, DCAT catalogues...) on 127.0.0.1, from a deterministic
// generator, with fault injection. The demo, end-to-end tests and benchmarks
// harvest it instead of the real portals.
//
// URLs: a source's endpoint https://host/some/path becomes
// {base}/sim/{source-id}/some/path (see Rewrite).
//
// Each protocol is one file (ckan.go, dcat.go...) implementing protocol
// over the shared generated Dataset.
package simulator

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/opendatafrance/moisson/harvester/config"
)

// Options tune the generator.
type Options struct {
	Seed              int64          // default 1
	DatasetsPerSource int            // default 200
	PerSource         map[string]int // dataset count per source id (overrides DatasetsPerSource)
	PageSizeCap       int            // maximum page size (CKAN rows); default 1000
	// Today is the day the generated dates run up to (default: today,
	// UTC): catalogues look current whenever the simulator runs.
	Today time.Time
}

// Fault is an injected failure of a source. Status and Delay apply to the
// pages FromPage selects; TruncateAtPage independently cuts one page's body.
// Requests that are not list pages (CKAN package_show, organization_list...)
// are page 0: only faults with FromPage 0 touch them.
type Fault struct {
	Status         int           // HTTP status to answer (e.g. 500) ...
	FromPage       int           // ... on this page (1-based) and the following ones; 0 = every request
	OnlyPage       bool          // only that page
	Delay          time.Duration // sleep before answering (honours request cancellation)
	TruncateAtPage int           // on this page, send half the body with the full Content-Length, then close
	RetryAfter     string        // with Status, a Retry-After header
	Times          int           // if > 0, the fault applies that many times then stops
}

// protocol renders one portal software's API for a source.
type protocol interface {
	// serve answers a request; rest is the URL path after /sim/{id}.
	serve(s *source, r *http.Request, rest string) *reply
}

// protocols maps a config protocol name to its renderer.
var protocols = map[string]protocol{
	"ckan": ckanProtocol{},
	"dcat": dcatProtocol{},

	// udata (data.gouv.fr API v1) and GeoNetwork CSW 2.0.2.
	"udata": udataProtocol{},
	"csw":   cswProtocol{},

	// The portals' own APIs: OpenDataSoft, Data4Citizen, Data Fair.
	"ods":      odsProtocol{},
	"d4c":      d4cProtocol{},
	"datafair": datafairProtocol{},
}

// reply is a planned response: rendered twice (once to hash it for the ETag
// and Content-Length, once to send), so big catalogues stream in constant
// memory.
type reply struct {
	status      int
	contentType string
	page        int // 1-based list page; 0 = not a list page
	lastMod     time.Time
	header      http.Header
	render      func(w io.Writer) error
}

// Simulator serves simulated portals.
type Simulator struct {
	opts    Options
	cfg     *config.Config
	sources map[string]*source
	order   []string

	mu       sync.Mutex
	requests map[string]int
	payloads map[string][]payload

	srv     *http.Server
	ln      net.Listener
	baseURL string
	latency atomic.Int64 // every answer waits that long first (ns)
}

// source is the state of one simulated source.
type source struct {
	cfg   *config.Source
	sim   *Simulator
	proto protocol
	site  string // siteURL(cfg), computed once: answers use it for every dataset

	mu    sync.Mutex
	gen   *generator
	all   []Dataset // generated so far (never modified, only appended)
	n     int       // datasets served
	fault *Fault
	memos map[string]memo
}

// memo is what a request derived from a source's datasets (a sort order,
// Data Fair's documents), with the datasets it was derived from: the
// address of the first and their number. Touch copies on write, so the
// same address and number mean the same datasets.
type memo struct {
	first *Dataset
	n     int
	v     any
}

// derived returns compute's result for ds, computed once while the source
// serves the same datasets: a harvest asks for page after page of one
// order, and sorting the whole catalogue again for every page made the
// simulator's cost quadratic in a source's size. At most 16 are kept.
func (src *source) derived(ds []Dataset, key string, compute func() any) any {
	var first *Dataset
	if len(ds) > 0 {
		first = &ds[0]
	}
	src.mu.Lock()
	m, ok := src.memos[key]
	src.mu.Unlock()
	if ok && m.first == first && m.n == len(ds) {
		return m.v
	}
	v := compute()
	src.mu.Lock()
	if src.memos == nil || len(src.memos) >= 16 {
		src.memos = map[string]memo{}
	}
	src.memos[key] = memo{first, len(ds), v}
	src.mu.Unlock()
	return v
}

type payload struct {
	path        string
	query       url.Values // nil: any query
	contentType string
	body        []byte
}

// New makes a simulator of every source of cfg. Datasets are generated
// lazily, on first use of a source.
func New(cfg *config.Config, opts Options) *Simulator {
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	if opts.DatasetsPerSource <= 0 {
		opts.DatasetsPerSource = 200
	}
	if opts.PageSizeCap <= 0 {
		opts.PageSizeCap = 1000
	}
	if opts.Today.IsZero() {
		opts.Today = time.Now().UTC()
	}
	opts.Today = opts.Today.UTC().Truncate(24 * time.Hour)
	s := &Simulator{opts: opts, cfg: cfg, sources: map[string]*source{},
		requests: map[string]int{}, payloads: map[string][]payload{}}
	for _, src := range cfg.Sources() {
		n := opts.DatasetsPerSource
		if v, ok := opts.PerSource[src.ID]; ok {
			n = max(v, 0)
		}
		s.sources[src.ID] = &source{cfg: src, sim: s, proto: protocols[src.Protocol], site: siteURL(src), n: n}
		s.order = append(s.order, src.ID)
	}
	return s
}

// Prepare generates the datasets of every served source now rather than
// on first use, as a portal has its catalogue before anyone reads it
// (measurements start their clock after it).
func (s *Simulator) Prepare() {
	for _, id := range s.order {
		if src := s.sources[id]; src.served() {
			src.datasets()
		}
	}
}

// Supports reports whether the simulator serves a protocol.
func (s *Simulator) Supports(protocol string) bool { return protocols[protocol] != nil }

// served reports whether a source is served (known, enabled, supported).
func (src *source) served() bool {
	return src != nil && src.proto != nil && src.cfg.Disabled == ""
}

// datasets returns the datasets served now (a snapshot safe to read).
func (src *source) datasets() []Dataset {
	src.mu.Lock()
	defer src.mu.Unlock()
	if src.gen == nil {
		src.gen = newGenerator(src.sim.opts.Seed, src.cfg, src.site, src.sim.opts.Today)
		src.gen.original = src.sim.original(src.cfg)
	}
	if len(src.all) < src.n {
		src.all = slices.Grow(src.all, src.n-len(src.all))
	}
	for len(src.all) < src.n {
		src.all = append(src.all, src.gen.gen(len(src.all)))
	}
	return src.all[:src.n:src.n]
}

// Expected is the number of datasets served for a source now (0 for an
// unknown, disabled or unsupported source).
func (s *Simulator) Expected(sourceID string) int {
	src := s.sources[sourceID]
	if !src.served() {
		return 0
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	return src.n
}

// Total is the sum of Expected over all sources.
func (s *Simulator) Total() int {
	t := 0
	for _, id := range s.order {
		t += s.Expected(id)
	}
	return t
}

// Datasets returns a copy of the datasets served for a source (nil when it
// is not served).
func (s *Simulator) Datasets(sourceID string) []Dataset {
	src := s.sources[sourceID]
	if !src.served() {
		return nil
	}
	return append([]Dataset(nil), src.datasets()...)
}

// Remove drops the n last datasets of a source and returns their ids.
func (s *Simulator) Remove(sourceID string, n int) []string {
	src := s.sources[sourceID]
	if src == nil || n <= 0 {
		return nil
	}
	ds := src.datasets()
	n = min(n, len(ds))
	var ids []string
	for _, d := range ds[len(ds)-n:] {
		ids = append(ids, d.ID)
	}
	src.mu.Lock()
	src.n -= n
	src.mu.Unlock()
	return ids
}

// Touch updates the first n datasets of a source as a portal would when
// someone edits them: the description changes and the modification time
// becomes now. It returns their ids.
func (s *Simulator) Touch(sourceID string, n int) []string {
	src := s.sources[sourceID]
	if src == nil || n <= 0 {
		return nil
	}
	ds := src.datasets()
	src.mu.Lock()
	defer src.mu.Unlock()
	// Copy on write: answers being rendered keep the datasets they had.
	all := append([]Dataset(nil), src.all...)
	now := time.Now().UTC().Truncate(time.Second)
	var ids []string
	for i := 0; i < n && i < len(ds); i++ {
		all[i].Description += " (mise à jour)"
		all[i].Modified = now
		ids = append(ids, all[i].ID)
	}
	src.all = all
	return ids
}

// Resize sets a source's dataset count; growing back regenerates the same
// datasets.
func (s *Simulator) Resize(sourceID string, n int) {
	if src := s.sources[sourceID]; src != nil {
		src.mu.Lock()
		src.n = max(n, 0)
		src.mu.Unlock()
	}
}

// SetFault sets (replaces) the fault of a source.
func (s *Simulator) SetFault(sourceID string, f Fault) {
	if src := s.sources[sourceID]; src != nil {
		src.mu.Lock()
		src.fault = &f
		src.mu.Unlock()
	}
}

// ClearFaults removes every fault.
func (s *Simulator) ClearFaults() {
	for _, src := range s.sources {
		src.mu.Lock()
		src.fault = nil
		src.mu.Unlock()
	}
}

// Requests is the number of requests a source received.
func (s *Simulator) Requests(sourceID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[sourceID]
}

// ServePayload makes the simulator answer exactly body on a path of a
// source. pathAndQuery is the path after the source id (or a full URL of
// the real portal, whose path is used), with an optional query: a payload
// with a query answers only requests with the same parameters (in any
// order); one without answers any query (exact matches win). Payloads go
// through faults and ETags like generated answers, and work for any source
// id, even unsupported protocols.
func (s *Simulator) ServePayload(sourceID, pathAndQuery, contentType string, body []byte) {
	p := payload{contentType: contentType, body: append([]byte(nil), body...)}
	if u, err := url.Parse(pathAndQuery); err == nil {
		p.path = u.Path
		if u.RawQuery != "" {
			p.query = u.Query()
		}
	} else {
		p.path = pathAndQuery
	}
	if !strings.HasPrefix(p.path, "/") {
		p.path = "/" + p.path
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.payloads[sourceID]
	for i, q := range list {
		if q.path == p.path && sameQuery(q.query, p.query) {
			list[i] = p
			return
		}
	}
	s.payloads[sourceID] = append(list, p)
}

func sameQuery(a, b url.Values) bool {
	if (a == nil) != (b == nil) {
		return false
	}
	return a.Encode() == b.Encode()
}

func (s *Simulator) findPayload(id string, r *http.Request, rest string) *payload {
	s.mu.Lock()
	defer s.mu.Unlock()
	var loose *payload
	for i := range s.payloads[id] {
		p := &s.payloads[id][i]
		if strings.TrimSuffix(p.path, "/") != strings.TrimSuffix(rest, "/") {
			continue
		}
		if p.query == nil {
			loose = p
		} else if p.query.Encode() == r.URL.Query().Encode() {
			return p
		}
	}
	return loose
}

// Rewrite returns a copy of cfg whose source endpoints point at the
// simulator ({base}/sim/{id}{real path}), with AllowPrivateAddresses set.
// Sources whose protocol the simulator does not serve are disabled in the
// copy (Disabled says why), so a harvest of the copy matches Total.
func (s *Simulator) Rewrite(cfg *config.Config, baseURL string) *config.Config {
	base := strings.TrimRight(baseURL, "/")
	out := *cfg
	out.AllowPrivateAddresses = true
	// Every simulated portal is on the simulator's one host: politeness
	// per host would make them wait for each other.
	out.Harvest.RatePerHost = -1
	out.Harvest.ConcurrencyPerHost = 16
	out.Territories = nil
	for _, t := range cfg.Territories {
		nt := *t
		nt.Members = nil
		for _, m := range t.Members {
			nm := *m
			nm.Portals = nil
			for _, p := range m.Portals {
				np := *p
				np.Sources = nil
				for _, src := range p.Sources {
					ns := *src
					ns.Params = map[string]string{}
					for k, v := range src.Params {
						ns.Params[k] = v
					}
					ns.Endpoint = base + "/sim/" + src.ID
					if u, err := url.Parse(src.Endpoint); err == nil {
						ns.Endpoint += u.EscapedPath()
						if u.RawQuery != "" {
							ns.Endpoint += "?" + u.RawQuery
						}
					}
					if ns.Disabled == "" && !s.Supports(src.Protocol) && !s.hasPayloads(src.ID) {
						ns.Disabled = "simulator: protocol " + src.Protocol + " is not simulated"
					}
					ns.Territory, ns.Member, ns.Portal = &nt, &nm, &np
					np.Sources = append(np.Sources, &ns)
				}
				nm.Portals = append(nm.Portals, &np)
			}
			nt.Members = append(nt.Members, &nm)
		}
		out.Territories = append(out.Territories, &nt)
	}
	return &out
}

func (s *Simulator) hasPayloads(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.payloads[id]) > 0
}

// Describe lists the sources, one line each: territory, source id,
// protocol, URL, dataset count.
func (s *Simulator) Describe() string {
	var b strings.Builder
	for _, id := range s.order {
		src := s.sources[id]
		terr := ""
		if src.cfg.Territory != nil {
			terr = src.cfg.Territory.ID
		}
		u := s.baseURL + "/sim/" + id
		if pu, err := url.Parse(src.cfg.Endpoint); err == nil {
			u += pu.EscapedPath()
		}
		count := fmt.Sprintf("%d datasets", s.Expected(id))
		switch {
		case src.cfg.Disabled != "":
			count = "disabled: " + src.cfg.Disabled
		case src.proto == nil:
			count = "not simulated (" + src.cfg.Protocol + ")"
		}
		fmt.Fprintf(&b, "%-24s %-24s %-8s %s  %s\n", terr, id, src.cfg.Protocol, u, count)
	}
	return b.String()
}

// Start listens on addr (e.g. "127.0.0.1:0") and serves in the background.
func (s *Simulator) Start(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	s.ln = ln
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	s.baseURL = "http://" + ln.Addr().String()
	go func() { _ = s.srv.Serve(ln) }()
	return s.baseURL, nil
}

// Close stops the server started by Start.
func (s *Simulator) Close() error {
	if s.srv == nil {
		return nil
	}
	err := s.srv.Close()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// Handler serves every simulated source under /sim/{source-id}/.
func (s *Simulator) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

func (s *Simulator) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_control/") {
		s.control(w, r)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/sim/")
	if !ok {
		if r.URL.Path == "/" || r.URL.Path == "/sim" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			io.WriteString(w, s.Describe())
			return
		}
		jsonError(w, http.StatusNotFound, "not_found", "no simulated source at "+r.URL.Path)
		return
	}
	id, rest, _ := strings.Cut(rest, "/")
	rest = "/" + rest
	s.mu.Lock()
	s.requests[id]++
	s.mu.Unlock()

	src := s.sources[id]
	var rep *reply
	if p := s.findPayload(id, r, rest); p != nil {
		body := p.body
		rep = &reply{status: http.StatusOK, contentType: p.contentType, page: payloadPage(r),
			render: func(w io.Writer) error { _, err := w.Write(body); return err }}
	} else {
		switch {
		case src == nil:
			jsonError(w, http.StatusNotFound, "not_found", "unknown source "+id)
			return
		case src.cfg.Disabled != "":
			jsonError(w, http.StatusNotFound, "not_found", "source "+id+" is disabled: "+src.cfg.Disabled)
			return
		case src.proto == nil:
			jsonError(w, http.StatusNotFound, "not_found", "protocol "+src.cfg.Protocol+" is not simulated")
			return
		}
		rep = src.proto.serve(src, r, rest)
		if rep == nil {
			jsonError(w, http.StatusNotFound, "not_found", "no such path "+r.URL.Path)
			return
		}
	}

	if d := time.Duration(s.latency.Load()); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	truncate := false
	if src != nil {
		f := src.takeFault(rep.page)
		if f != nil {
			if f.Delay > 0 && pageMatches(f, rep.page) {
				t := time.NewTimer(f.Delay)
				select {
				case <-t.C:
				case <-r.Context().Done():
					t.Stop()
					return
				}
			}
			if f.Status != 0 && pageMatches(f, rep.page) {
				if f.RetryAfter != "" {
					w.Header().Set("Retry-After", f.RetryAfter)
				}
				jsonError(w, f.Status, "fault", fmt.Sprintf("injected fault: %d %s", f.Status, http.StatusText(f.Status)))
				return
			}
			truncate = f.TruncateAtPage > 0 && f.TruncateAtPage == rep.page
		}
	}
	s.write(w, r, rep, truncate)
}

// control answers the simulator's own API, for demos and fault tests of a
// whole deployment (where the simulator runs in its own process):
//
//	POST /_control/touch          every dataset of every source changes (its description and modification date):
//	                              the next harvest republishes them all
//	POST /_control/latency?d=200ms every answer waits that long first (0 to stop)
func (s *Simulator) control(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		jsonError(w, http.StatusMethodNotAllowed, "method_not_allowed", "POST only")
		return
	}
	switch r.URL.Path {
	case "/_control/touch":
		n := 0
		for _, id := range s.order {
			n += len(s.Touch(id, s.Expected(id)))
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"touched": %d}`+"\n", n)
	case "/_control/latency":
		d, err := time.ParseDuration(r.URL.Query().Get("d"))
		if err != nil || d < 0 || d > time.Minute {
			jsonError(w, http.StatusBadRequest, "bad_parameter", "d must be a duration from 0 to 1m, e.g. 200ms")
			return
		}
		s.latency.Store(int64(d))
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"latency": %q}`+"\n", d)
	default:
		jsonError(w, http.StatusNotFound, "not_found", "no control "+r.URL.Path)
	}
}

// SetLatency makes every answer wait d first.
func (s *Simulator) SetLatency(d time.Duration) { s.latency.Store(int64(d)) }

// payloadPage is the page of a request answered with a payload: ?page=, or
// CKAN's start/rows.
func payloadPage(r *http.Request) int {
	q := r.URL.Query()
	if p, err := parseNat(q.Get("page")); err == nil && p > 0 {
		return p
	}
	if q.Has("start") {
		start, _ := parseNat(q.Get("start"))
		rows, err := parseNat(q.Get("rows"))
		if err != nil || rows == 0 {
			rows = 10
		}
		return start/rows + 1
	}
	return 1
}

func pageMatches(f *Fault, page int) bool {
	switch {
	case f.FromPage <= 0:
		return true
	case f.OnlyPage:
		return page == f.FromPage
	default:
		return page >= f.FromPage
	}
}

// takeFault returns the fault that applies to this request (counting it
// against Times), or nil.
func (src *source) takeFault(page int) *Fault {
	src.mu.Lock()
	defer src.mu.Unlock()
	f := src.fault
	if f == nil {
		return nil
	}
	hit := (pageMatches(f, page) && (f.Status != 0 || f.Delay > 0)) ||
		(f.TruncateAtPage > 0 && f.TruncateAtPage == page)
	if !hit {
		return nil
	}
	cp := *f
	if f.Times > 0 {
		f.Times--
		if f.Times == 0 {
			src.fault = nil
		}
	}
	return &cp
}

// countHash counts and hashes what is written, and keeps it while it stays
// within keptBody bytes: a page is then written from there rather than
// rendered a second time, while a whole-catalogue export (hundreds of
// megabytes) is rendered again to be streamed.
type countHash struct {
	n    int64
	h    *xxhash.Digest // an ETag needs no cryptographic hash: xxhash is ~10× cheaper than SHA-256
	body []byte
	over bool
}

// keptBody is the largest body countHash keeps.
const keptBody = 4 << 20

// bodies are the buffers countHash keeps bodies in, reused.
var bodies = sync.Pool{New: func() any { return new([]byte) }}

func newCountHash() *countHash {
	return &countHash{h: xxhash.New(), body: (*bodies.Get().(*[]byte))[:0]}
}

// release gives the body's buffer back.
func (c *countHash) release() {
	if c.body != nil {
		b := c.body[:0]
		c.body = nil
		bodies.Put(&b)
	}
}

func (c *countHash) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	if !c.over {
		if len(c.body)+len(p) <= keptBody {
			c.body = append(c.body, p...)
		} else {
			c.over, c.body = true, nil
		}
	}
	return c.h.Write(p)
}

// replay writes the body again into w: kept, or rendered anew.
func (c *countHash) replay(w io.Writer, rep *reply) error {
	if c.over {
		return rep.render(w)
	}
	_, err := w.Write(c.body)
	return err
}

var errCut = errors.New("simulator: body truncated")

// cutWriter lets through the first n bytes, then fails.
type cutWriter struct {
	w io.Writer
	n int64
}

func (c *cutWriter) Write(p []byte) (int, error) {
	if c.n <= 0 {
		return 0, errCut
	}
	if int64(len(p)) > c.n {
		k, _ := c.w.Write(p[:c.n])
		c.n = 0
		return k, errCut
	}
	k, err := c.w.Write(p)
	c.n -= int64(k)
	return k, err
}

func (s *Simulator) write(w http.ResponseWriter, r *http.Request, rep *reply, truncate bool) {
	ch := newCountHash()
	defer ch.release()
	if err := rep.render(ch); err != nil {
		jsonError(w, http.StatusInternalServerError, "render", err.Error())
		return
	}
	etag := etagOf(ch.h.Sum64())
	h := w.Header()
	for k, v := range rep.header {
		h[k] = v
	}
	h.Set("ETag", etag)
	if !rep.lastMod.IsZero() {
		h.Set("Last-Modified", rep.lastMod.UTC().Format(http.TimeFormat))
	}
	if rep.status == http.StatusOK && !truncate && notModified(r, etag, rep.lastMod) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", rep.contentType)
	h.Set("Content-Length", fmt.Sprint(ch.n))
	w.WriteHeader(rep.status)
	if r.Method == http.MethodHead {
		return
	}
	if truncate {
		bw := bufio.NewWriter(w)
		_ = ch.replay(&cutWriter{w: bw, n: ch.n / 2}, rep)
		_ = bw.Flush()
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		panic(http.ErrAbortHandler) // close the connection mid-body
	}
	_ = ch.replay(w, rep)
}

// etagOf is the ETag of a body hashing to sum.
func etagOf(sum uint64) string { return fmt.Sprintf(`"%016x"`, sum) }

// notModified applies If-None-Match (preferred) or If-Modified-Since.
func notModified(r *http.Request, etag string, lastMod time.Time) bool {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		for _, t := range strings.Split(inm, ",") {
			t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
			if t == etag || t == "*" {
				return true
			}
		}
		return false
	}
	if ims := r.Header.Get("If-Modified-Since"); ims != "" && !lastMod.IsZero() {
		if t, err := http.ParseTime(ims); err == nil {
			return !lastMod.Truncate(time.Second).After(t)
		}
	}
	return false
}

// jsonError answers {"error": {"code", "message"}}.
func jsonError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

// parseNat parses a non-negative integer.
func parseNat(s string) (int, error) {
	if s == "" {
		return 0, errors.New("empty")
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' || n > 1e9 {
			return 0, errors.New("not a natural number")
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}

// maxModified is the latest Modified of ds.
func maxModified(ds []Dataset) time.Time {
	var t time.Time
	for i := range ds {
		if ds[i].Modified.After(t) {
			t = ds[i].Modified
		}
	}
	return t
}

// endpointPath is the path of a source's real endpoint, without a trailing
// slash.
func (src *source) endpointPath() string {
	u, err := url.Parse(src.cfg.Endpoint)
	if err != nil {
		return ""
	}
	return strings.TrimRight(u.Path, "/")
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// original gives, for the data.gouv.fr organisation of a platform that
// publishes for its members (Mégalis Bretagne: délibérations, budgets,
// subventions, public procurement), the SCDL datasets of collectivités
// published on the other portals of its territory it holds copies of; nil
// for the other sources. Copies come only from non-udata sources (no
// cycle).
func (s *Simulator) original(cfg *config.Source) func(r *rng) *Dataset {
	if cfg.Protocol != "udata" || cfg.Territory == nil || cfg.Member == nil || cfg.Member.Collectivite != "" {
		return nil
	}
	var partners []*source
	for _, id := range s.order {
		o := s.sources[id]
		if o.cfg.Protocol != "udata" && o.cfg.Territory == cfg.Territory && o.served() {
			partners = append(partners, o)
		}
	}
	if len(partners) == 0 {
		return nil
	}
	return func(r *rng) *Dataset {
		o := partners[r.intn(len(partners))]
		ds := o.datasets()
		if len(ds) == 0 {
			return nil
		}
		for k := 0; k < 20; k++ {
			d := ds[r.intn(len(ds))]
			if d.SCDL != "" && d.CollSiren != "" && d.RemoteURL == "" {
				return &d
			}
		}
		return nil
	}
}
