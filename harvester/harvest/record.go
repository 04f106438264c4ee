package harvest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/fetch"
	"github.com/opendatafrance/moisson/harvester/normalize"
	"github.com/opendatafrance/moisson/harvester/quality"
	"github.com/opendatafrance/moisson/harvester/source"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// DatasetID is the stable id of a record: the source id and a hash of the
// portal's own identifier, so the same dataset read again keeps its id.
func DatasetID(sourceID, originalID string) string {
	h := sha256.Sum256([]byte(sourceID + "\x00" + originalID))
	return sourceID + "-" + hex.EncodeToString(h[:8])
}

// Finish completes a record read from src: identity, SCDL evidence, metadata
// quality, content hash and provenance.
func Finish(src *config.Source, rec source.Record, runID string, at time.Time) *moissonv1.Dataset {
	bp := hashBuf.Get().(*[]byte)
	d, wire := finish(src, rec, runID, at, (*bp)[:0])
	putHashBuf(bp, wire)
	return d
}

// finish is Finish, which also gives the encoding of the dataset it hashed
// (appended to buf): what bus.RecordMsgEncoded publishes without
// marshalling the dataset again.
func finish(src *config.Source, rec source.Record, runID string, at time.Time, buf []byte) (*moissonv1.Dataset, []byte) {
	d := rec.Dataset
	d.SourceId = src.ID
	d.Protocol = src.Protocol
	if src.Territory != nil {
		d.TerritoryId = src.Territory.ID
	}
	if src.Member != nil {
		d.MemberId = src.Member.ID
	}
	if src.Portal != nil {
		d.PortalUrl = src.Portal.URL
	}
	d.Id = DatasetID(src.ID, d.GetOriginalId())
	plainAndSafe(d)
	d.Scdl = normalize.SCDL(d.GetTitle(), d.GetKeywords(), d.GetConformsTo(), rec.Columns)
	d.Quality = quality.Assess(d)
	d.HarvestedAt, d.RunId, d.ContentHash, d.FirstSeen = nil, "", "", nil
	d.ContentHash, buf = contentHash(d, buf)
	d.HarvestedAt = timestamppb.New(at)
	d.RunId = runID
	return d, buf
}

// plainAndSafe makes the texts people read plain text (markup hidden behind
// entities included), and drops the links a page must not offer
// (javascript:, data:…), each with a warning on the record: what is
// published is shown and re-exported as it is.
func plainAndSafe(d *moissonv1.Dataset) {
	d.Title = normalize.Text(d.Title)
	d.Description = normalize.Text(d.Description)
	if p := d.GetPublisher(); p != nil {
		p.Name = normalize.Text(p.Name)
	}
	// dist is the index of the distribution the field is of, or -1 (the
	// warning's name for it is built only when needed).
	link := func(dist int, field, u string) string {
		if u == "" || normalize.SafeLink(u) {
			return u
		}
		if dist >= 0 {
			field = fmt.Sprintf("distributions[%d].%s", dist, field)
		}
		d.Warnings = append(d.Warnings, fmt.Sprintf("%s: %s is not an http(s) or ftp link; dropped", field, clipText(u, 80)))
		return ""
	}
	iri := func(field, u string) string {
		if !normalize.UnsafeIRI(u) {
			return u
		}
		d.Warnings = append(d.Warnings, fmt.Sprintf("%s: %s is not an identifier a page may link to; dropped", field, clipText(u, 80)))
		return ""
	}
	d.LandingPage = link(-1, "landing_page", d.LandingPage)
	d.Uri = iri("uri", d.Uri)
	if c := d.GetContactPoint(); c != nil {
		c.Url = link(-1, "contact_point.url", c.Url)
	}
	if p := d.GetPublisher(); p != nil {
		p.Uri = iri("publisher.uri", p.Uri)
	}
	for i, x := range d.Distributions {
		x.Title = normalize.Text(x.Title)
		x.Url = link(i, "url", x.Url)
		x.DownloadUrl = link(i, "download_url", x.DownloadUrl)
	}
	kept := d.Identifiers[:0]
	for _, id := range d.Identifiers {
		if iri("identifiers", id) != "" {
			kept = append(kept, id)
		}
	}
	d.Identifiers = kept
}

func clipText(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// hashBuf holds the buffers ContentHash marshals into.
var hashBuf = sync.Pool{New: func() any { return new([]byte) }}

// putHashBuf gives a buffer back, unless it grew large.
func putHashBuf(bp *[]byte, b []byte) {
	if cap(b) <= 1<<20 {
		*bp = b[:0]
		hashBuf.Put(bp)
	}
}

// ContentHash hashes the normalised content of a dataset, provenance fields
// excluded, so it stays the same across runs when nothing changed.
func ContentHash(d *moissonv1.Dataset) string {
	if d.HarvestedAt != nil || d.RunId != "" || d.ContentHash != "" || d.FirstSeen != nil {
		c := proto.Clone(d).(*moissonv1.Dataset)
		c.HarvestedAt, c.RunId, c.ContentHash, c.FirstSeen = nil, "", "", nil
		d = c
	}
	bp := hashBuf.Get().(*[]byte)
	h, b := contentHash(d, (*bp)[:0])
	putHashBuf(bp, b)
	return h
}

// contentHash hashes d as it is, and gives its deterministic encoding,
// appended to buf.
func contentHash(d *moissonv1.Dataset, buf []byte) (string, []byte) {
	b, err := proto.MarshalOptions{Deterministic: true}.MarshalAppend(buf, d)
	if err != nil {
		panic(err) // a Dataset always marshals
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:16]), b
}

// Client builds the HTTP client a configuration asks for; with a cache, its
// requests are conditional (ETag / Last-Modified).
func Client(cfg *config.Config, cache *fetch.Cache) *fetch.Client {
	p := cfg.Harvest.WithDefaults()
	rate := p.RatePerHost
	if rate < 0 {
		rate = 0
	}
	return fetch.New(fetch.Options{
		Contact:            cfg.Contact,
		AllowedPrivate:     allowedPrivate(cfg),
		Cache:              cache,
		RatePerHost:        rate,
		ConcurrencyPerHost: p.ConcurrencyPerHost,
	})
}

// allowedPrivate lists the addresses of the configured endpoints, when the
// configuration allows private addresses: only those may be private.
func allowedPrivate(cfg *config.Config) []string {
	if !cfg.AllowPrivateAddresses {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, src := range cfg.Sources() {
		u, err := url.Parse(src.Endpoint)
		if err != nil {
			continue
		}
		port := u.Port()
		if port == "" {
			port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
		}
		ips := []string{u.Hostname()}
		if net.ParseIP(u.Hostname()) == nil {
			if addrs, err := net.LookupHost(u.Hostname()); err == nil {
				ips = addrs
			}
		}
		for _, ip := range ips {
			a := net.JoinHostPort(ip, port)
			if !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	return out
}
