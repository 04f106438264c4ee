// Package index defines what Moisson asks of a dataset index, whatever the
// backend: the embedded one (bleve) for one machine, Elasticsearch to scale
// out. Both backends implement Index and pass the same contract tests
// (indextest).
package index

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// ErrNotFound is returned by Get for an unknown id.
var ErrNotFound = errors.New("dataset not found")

// ErrBadCursor is returned by Search for a cursor it did not issue.
var ErrBadCursor = errors.New("invalid cursor")

// MaxWindow bounds Query.Offset+Query.Size: the results a search may skip
// (Elasticsearch's index.max_result_window); beyond, cursors walk on.
const MaxWindow = 10000

// ErrOffset is returned by Search for an offset beyond MaxWindow, or with a
// cursor.
var ErrOffset = errors.New("offset beyond the first 10000 results, or with a cursor")

// CheckOffset tells whether the offset of q is one Search takes.
func CheckOffset(q Query) error {
	if q.Offset < 0 || q.Offset > 0 && (q.Cursor != "" || q.Offset+q.Size > MaxWindow) {
		return ErrOffset
	}
	return nil
}

// Op is one write: an upsert of a dataset or a deletion.
type Op struct {
	Delete  bool
	ID      string
	Version int64              // larger wins; a smaller version never overwrites a larger one
	Dataset *moissonv1.Dataset // nil for deletions
}

// PermanentError marks an item the index will never accept as it is (a
// mapping conflict, a document too large): retrying is pointless, it goes to
// the dead letters.
type PermanentError struct{ Reason string }

func (e *PermanentError) Error() string { return "rejected by the index: " + e.Reason }

// IsPermanent tells whether err is a PermanentError.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// Writer applies writes.
type Writer interface {
	// Write applies ops in order. The error is non-nil when the whole request
	// failed (index down): nothing may be taken as written. Otherwise items
	// holds one entry per op: nil when written (or superseded by a newer
	// version already in the index), else why it was not.
	Write(ctx context.Context, ops []Op) (items []error, err error)
}

// Searcher answers queries.
type Searcher interface {
	Search(ctx context.Context, q Query) (*Result, error)
	Get(ctx context.Context, id string) (*moissonv1.Dataset, error)
	Count(ctx context.Context) (int64, error)
}

// Health is what a backend says of its state (GET /v1/status).
type Health struct {
	Backend  string `json:"backend"`           // embedded, elasticsearch
	Cluster  string `json:"cluster,omitempty"` // the cluster's name
	Status   string `json:"status"`            // green, yellow, red
	Nodes    int    `json:"nodes"`             // nodes seen
	Replicas int    `json:"replicas"`          // configured copies of each shard beyond the primary
	Detail   string `json:"detail,omitempty"`
}

// Healther is a backend that can tell its health.
type Healther interface {
	Health(ctx context.Context) (Health, error)
}

// Index is a full backend.
type Index interface {
	Writer
	Searcher
	Close() error
}

// Facet and filter names, as the API spells them.
const (
	FieldTerritory = "territory"
	FieldPublisher = "publisher"
	FieldFormat    = "format"
	FieldLicense   = "license"
	FieldSource    = "source"
	FieldProtocol  = "protocol"
	FieldTheme     = "theme"
	FieldSchema    = "schema"   // SCDL item
	FieldMember    = "member"   // member organisation of the territory that runs the portal
	FieldPortal    = "portal"   // portal URL
	FieldQuality   = "quality"  // metadata quality rating: excellent, good, sufficient, bad
	FieldHasData   = "has_data" // "true" when a distribution has a download URL or a data format
	// FieldEvidence holds "<SCDL item> <evidence>" (e.g. "scdl/budget
	// declared"): how each SCDL match was found (coverage).
	FieldEvidence = "schema_evidence"
	// FieldDupKey holds the duplicate keys (DupKeys): records that share one
	// are the same dataset.
	FieldDupKey = "dup_key"
	// FieldQualityScore is the quality score, as a decimal string (quality
	// averages are computed from its facet).
	FieldQualityScore = "quality_score"
	// FieldCollectivite is the key of the collectivité that published the
	// record (Dataset.collectivite: a SIREN, or departement:35,
	// region:53); none when unresolved.
	FieldCollectivite = "collectivite"
	// FieldUnresolved holds, for a record whose publisher was not
	// resolved, "<source>\x1f<why>\x1f<publisher>" (UnresolvedValue).
	FieldUnresolved = "unresolved"
	// FieldObservatory holds what the observatory counts per collectivité,
	// "<collectivité>\x1f<what>\x1f<value>" (observatoryValues): its
	// portals, SCDL items with their evidence, months of modification,
	// quality scores.
	FieldObservatory = "observatory"
	// FieldFirstMonth is the month the record was first published
	// (issued, else first seen by the harvester), YYYY-MM: the timeline.
	FieldFirstMonth = "first_month"
)

// MaxLargeFacetSize is how many values a facet of a LargeFacet field may
// list in one search (the others: 1000 on Elasticsearch).
const MaxLargeFacetSize = 60000

// LargeFacet tells the fields whose facets list many values: one per
// collectivité, per unresolved publisher, per observatory fact.
func LargeFacet(f string) bool {
	return f == FieldCollectivite || f == FieldUnresolved || f == FieldObservatory
}

// Sep separates the parts of composite facet values.
const Sep = "\x1f"

// What an observatory value counts.
const (
	ObsPortal   = "p" // value: the portal URL
	ObsSCDL     = "s" // value: "<item> <evidence>"
	ObsModified = "m" // value: the month of modification, YYYY-MM (the year, YYYY, before the last three years)
	ObsQuality  = "q" // value: the quality score
)

// FacetFields are the fields that can be filtered and faceted on.
var FacetFields = []string{FieldTerritory, FieldPublisher, FieldFormat, FieldLicense, FieldSource, FieldProtocol, FieldTheme, FieldSchema,
	FieldMember, FieldPortal, FieldQuality, FieldHasData, FieldEvidence, FieldDupKey, FieldQualityScore,
	FieldCollectivite, FieldUnresolved, FieldObservatory, FieldFirstMonth}

// DistinctFields are the facets Query.Distinct counts distinct datasets of
// (the others count records).
var DistinctFields = []string{FieldTerritory, FieldPublisher, FieldFormat, FieldLicense, FieldSource, FieldProtocol, FieldTheme, FieldSchema,
	FieldMember, FieldPortal, FieldQuality, FieldHasData, FieldEvidence, FieldCollectivite}

// DocValues are the values of a facet field in a document.
func DocValues(d *Document, field string) []string {
	one := func(v string) []string { return []string{v} }
	switch field {
	case FieldTerritory:
		return one(d.Territory)
	case FieldPublisher:
		return one(d.Publisher)
	case FieldFormat:
		return d.Formats
	case FieldLicense:
		return one(d.License)
	case FieldSource:
		return one(d.Source)
	case FieldProtocol:
		return one(d.Protocol)
	case FieldTheme:
		return d.Themes
	case FieldSchema:
		return d.Schemas
	case FieldMember:
		return d.Member
	case FieldPortal:
		return one(d.Portal)
	case FieldQuality:
		return one(d.Quality)
	case FieldHasData:
		return one(d.HasData)
	case FieldEvidence:
		return d.Evidence
	case FieldDupKey:
		return d.DupKeys
	case FieldQualityScore:
		return one(d.ScoreKey)
	case FieldCollectivite:
		return d.Collectivite
	case FieldUnresolved:
		return d.Unresolved
	case FieldObservatory:
		return d.Observatory
	case FieldFirstMonth:
		return one(d.FirstMonth)
	}
	return nil
}

// IsFacetField tells whether f can be filtered and faceted on.
func IsFacetField(f string) bool {
	for _, g := range FacetFields {
		if f == g {
			return true
		}
	}
	return false
}

// Sort orders.
const (
	SortRelevance = "relevance" // score, then id
	SortModified  = "-modified" // newest first, then id
	SortTitle     = "title"     // then id
	SortQuality   = "-quality"  // best metadata quality first, then id
)

// Sorts lists the sort orders.
var Sorts = []string{SortRelevance, SortModified, SortTitle, SortQuality}

// Query is a search. Text is what a person typed: backends treat it as plain
// words (all of them must match, in title, description or keywords), never as
// query syntax.
type Query struct {
	Text    string
	Filters map[string][]string // field → accepted values (OR within a field, AND across fields)
	Sort    string              // one of the Sort constants; "" = relevance
	Size    int                 // items per page
	Cursor  string              // opaque, from Result.NextCursor
	// Offset skips that many results (a page asked by number), without a
	// cursor; Offset+Size is at most MaxWindow (ErrOffset beyond).
	Offset    int
	Facets    []string // which facets to count
	FacetSize int      // how many values per facet
	// ModifiedAfter (inclusive) and ModifiedBefore (exclusive) bound the
	// modification date; zero means no bound. A dataset without a
	// modification date matches no bound.
	ModifiedAfter, ModifiedBefore time.Time
	// Distinct makes Result.Distinct and the counts of the DistinctFields
	// facets count distinct datasets (groups of records linked by shared
	// duplicate keys, ApplyDistinct) instead of records.
	Distinct bool
	// FacetMinCount, when above 1, leaves out facet values counted fewer
	// times.
	FacetMinCount int
	// Highlight asks for Result.Hits[i].Highlights.
	Highlight bool
	// SameAs asks for Result.Hits[i].SameAs.
	SameAs bool
	// KeysOnly makes Items hold only each record's id, and Result.Keys its
	// duplicate keys: what grouping needs, without reading whole records.
	KeysOnly bool
}

// Highlight tags around matched words in Hit.Highlights; the text between
// them is HTML-escaped.
const (
	HighlightPre  = "<mark>"
	HighlightPost = "</mark>"
)

// Hit is what a search says of one item beyond the record.
type Hit struct {
	// Highlights: "title" (the whole title) and "description" (fragments
	// around the matches), with the matched words between HighlightPre and
	// HighlightPost. Only fields where a word matched.
	Highlights map[string][]string `json:"highlights,omitempty"`
	// SameAs lists the ids of the other records of the same dataset
	// (linked by shared duplicate keys, FillSameAs), sorted.
	SameAs []string `json:"same_as,omitempty"`
}

// FacetCount is one value of a facet.
type FacetCount struct {
	Key   string `json:"key"`
	Count int64  `json:"count"`
}

// Result is one page of a search.
type Result struct {
	Total      int64
	Items      []*moissonv1.Dataset
	Facets     map[string][]FacetCount
	NextCursor string // "" on the last page
	// Hits is parallel to Items when the query asked for highlights or
	// same_as.
	Hits []Hit
	// Distinct is the number of distinct datasets among the hits, when the
	// query asked for it.
	Distinct int64
	// Keys is parallel to Items when the query was KeysOnly: the duplicate
	// keys of each record.
	Keys [][]string
}

// Document is the flat form both backends index. Raw keeps the whole record
// so Get and Search return it as it was harvested: protojson from
// NewDocument (Elasticsearch keeps it in _source); the embedded index
// stores the protobuf binary encoding instead.
type Document struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	TitleSort   string   `json:"title_sort"`
	Description string   `json:"description"`
	Keywords    []string `json:"keywords"`
	Territory   string   `json:"territory"`
	Source      string   `json:"source"`
	Protocol    string   `json:"protocol"`
	Portal      string   `json:"portal"`
	Member      []string `json:"member"` // none or one: an empty value is not indexed
	Publisher   string   `json:"publisher"`
	Formats     []string `json:"format"`
	License     string   `json:"license"`
	Themes      []string `json:"theme"`
	Schemas     []string `json:"schema"`
	Evidence    []string `json:"schema_evidence"`
	HasData     string   `json:"has_data"` // "true" or "false"
	Quality     string   `json:"quality"`  // rating; "bad" when the record has none
	Score       int      `json:"quality_score_n"`
	ScoreKey    string   `json:"quality_score"`
	DupKeys     []string `json:"dup_key"`
	// The observatory's fields (none for a record not attributed yet).
	Collectivite []string  `json:"collectivite"`
	Unresolved   []string  `json:"unresolved"`
	Observatory  []string  `json:"observatory"`
	FirstMonth   string    `json:"first_month"`
	Modified     time.Time `json:"modified"`
	Version      int64     `json:"version"`
	// VersionKey is Version in decimal, for backends that would round a
	// stored number through float64 (bleve).
	VersionKey string `json:"version_key"`
	Raw        string `json:"raw"`
}

// NewDocument flattens a dataset for indexing.
func NewDocument(d *moissonv1.Dataset, version int64) (*Document, error) {
	raw, err := protojson.Marshal(d)
	if err != nil {
		return nil, err
	}
	doc := Flatten(d, version)
	doc.Raw = string(raw)
	return doc, nil
}

// Flatten is NewDocument without Raw: the fields a search filters and
// counts on.
func Flatten(d *moissonv1.Dataset, version int64) *Document {
	doc := &Document{
		ID:          d.GetId(),
		Title:       d.GetTitle(),
		TitleSort:   SortKey(d.GetTitle()),
		Description: d.GetDescription(),
		Keywords:    d.GetKeywords(),
		Territory:   d.GetTerritoryId(),
		Source:      d.GetSourceId(),
		Protocol:    d.GetProtocol(),
		Portal:      d.GetPortalUrl(),
		Publisher:   d.GetPublisher().GetName(),
		License:     d.GetLicense().GetNormalized(),
		Themes:      d.GetThemes(),
		Version:     version,
		VersionKey:  strconv.FormatInt(version, 10),
	}
	if doc.License == "" {
		doc.License = "unknown"
	}
	if m := d.GetMemberId(); m != "" {
		doc.Member = []string{m}
	}
	doc.HasData = "false"
	if HasData(d) {
		doc.HasData = "true"
	}
	doc.Quality = d.GetQuality().GetRating()
	if doc.Quality == "" {
		doc.Quality = "bad"
	}
	doc.Score = int(d.GetQuality().GetScore())
	doc.ScoreKey = strconv.Itoa(doc.Score)
	doc.DupKeys = DupKeys(d)
	seen := map[string]bool{}
	for _, dist := range d.GetDistributions() {
		if f := dist.GetFormat(); f != "" && !seen[f] {
			seen[f] = true
			doc.Formats = append(doc.Formats, f)
		}
	}
	for _, m := range d.GetScdl() {
		if !slices.Contains(doc.Schemas, m.GetItem()) {
			doc.Schemas = append(doc.Schemas, m.GetItem())
		}
		if ev := m.GetItem() + " " + m.GetEvidence(); !slices.Contains(doc.Evidence, ev) {
			doc.Evidence = append(doc.Evidence, ev)
		}
	}
	if m := d.GetModified(); m != nil {
		doc.Modified = m.AsTime().UTC()
	}
	first := d.GetIssued()
	if first == nil {
		first = d.GetFirstSeen()
	}
	if first == nil {
		first = d.GetHarvestedAt()
	}
	if first != nil {
		doc.FirstMonth = first.AsTime().UTC().Format("2006-01")
	}
	if c := d.GetCollectivite(); c != nil {
		if c.GetKey() == "" {
			doc.Unresolved = []string{UnresolvedValue(d.GetSourceId(), c.GetHow(), c.GetPublisher())}
		} else {
			doc.Collectivite = []string{c.GetKey()}
			doc.Observatory = observatoryValues(c.GetKey(), doc)
		}
	}
	return doc
}

// UnresolvedValue is the FieldUnresolved value of a record.
func UnresolvedValue(source, why, publisher string) string {
	return source + Sep + why + Sep + publisher
}

// observatoryValues are the FieldObservatory values of a record attributed
// to the collectivité key.
func observatoryValues(key string, doc *Document) []string {
	out := []string{key + Sep + ObsQuality + Sep + doc.ScoreKey}
	if doc.Portal != "" {
		out = append(out, key+Sep+ObsPortal+Sep+doc.Portal)
	}
	if !doc.Modified.IsZero() {
		// The month for the last three years (freshness is counted over
		// twelve months), the year before: fewer values to count.
		m := doc.Modified.Format("2006-01")
		if doc.Modified.Before(time.Now().AddDate(-3, 0, 0)) {
			m = doc.Modified.Format("2006")
		}
		out = append(out, key+Sep+ObsModified+Sep+m)
	}
	for _, ev := range doc.Evidence {
		out = append(out, key+Sep+ObsSCDL+Sep+ev)
	}
	return out
}

// Dataset decodes the record kept in a document.
func DecodeRaw(raw string) (*moissonv1.Dataset, error) {
	var d moissonv1.Dataset
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal([]byte(raw), &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// SortKey is the key titles sort by: lower case, accents folded, so that
// "Équipements" sorts with "equipements".
func SortKey(s string) string {
	return strings.ToLower(Fold(s))
}

// Fold removes diacritics from Latin letters (é → e, Œ → OE, ç → c).
func Fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if f, ok := foldTable[r]; ok {
			b.WriteString(f)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

var foldTable = func() map[rune]string {
	m := map[rune]string{}
	add := func(to string, from string) {
		for _, r := range from {
			m[r] = to
		}
	}
	add("a", "àáâãäåā")
	add("A", "ÀÁÂÃÄÅĀ")
	add("c", "çćč")
	add("C", "ÇĆČ")
	add("e", "èéêëēėę")
	add("E", "ÈÉÊËĒĖĘ")
	add("i", "ìíîïī")
	add("I", "ÌÍÎÏĪ")
	add("n", "ñń")
	add("N", "ÑŃ")
	add("o", "òóôõöø")
	add("O", "ÒÓÔÕÖØ")
	add("u", "ùúûüū")
	add("U", "ÙÚÛÜŪ")
	add("y", "ýÿ")
	add("Y", "ÝŸ")
	m['œ'], m['Œ'], m['æ'], m['Æ'], m['ß'] = "oe", "OE", "ae", "AE", "ss"
	m['’'] = "'"
	return m
}()
