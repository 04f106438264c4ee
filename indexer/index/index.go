// Package index defines what Moisson asks of a dataset index, whatever the
// backend: the embedded one (bleve) for one machine, Elasticsearch to scale
// out. Both backends implement Index and pass the same contract tests
// (indextest).
package index

import (
	"context"
	"errors"
	"strings"
	"time"

	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// ErrNotFound is returned by Get for an unknown id.
var ErrNotFound = errors.New("dataset not found")

// ErrBadCursor is returned by Search for a cursor it did not issue.
var ErrBadCursor = errors.New("invalid cursor")

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
	FieldSchema    = "schema" // SCDL item
)

// FacetFields are the fields that can be filtered and faceted on.
var FacetFields = []string{FieldTerritory, FieldPublisher, FieldFormat, FieldLicense, FieldSource, FieldProtocol, FieldTheme, FieldSchema}

// Sort orders.
const (
	SortRelevance = "relevance" // score, then id
	SortModified  = "-modified" // newest first, then id
	SortTitle     = "title"     // then id
)

// Query is a search. Text is what a person typed: backends treat it as plain
// words (all of them must match, in title, description or keywords), never as
// query syntax.
type Query struct {
	Text      string
	Filters   map[string][]string // field → accepted values (OR within a field, AND across fields)
	Sort      string              // one of the Sort constants; "" = relevance
	Size      int                 // items per page
	Cursor    string              // opaque, from Result.NextCursor
	Facets    []string            // which facets to count
	FacetSize int                 // how many values per facet
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
}

// Document is the flat form both backends index. Raw keeps the whole record
// (protojson) so Get and Search return it as it was harvested.
type Document struct {
	ID          string    `json:"id"`
	Title       string    `json:"title"`
	TitleSort   string    `json:"title_sort"`
	Description string    `json:"description"`
	Keywords    []string  `json:"keywords"`
	Territory   string    `json:"territory"`
	Source      string    `json:"source"`
	Protocol    string    `json:"protocol"`
	Portal      string    `json:"portal"`
	Publisher   string    `json:"publisher"`
	Formats     []string  `json:"format"`
	License     string    `json:"license"`
	Themes      []string  `json:"theme"`
	Schemas     []string  `json:"schema"`
	Modified    time.Time `json:"modified"`
	Version     int64     `json:"version"`
	Raw         string    `json:"raw"`
}

// NewDocument flattens a dataset for indexing.
func NewDocument(d *moissonv1.Dataset, version int64) (*Document, error) {
	raw, err := protojson.Marshal(d)
	if err != nil {
		return nil, err
	}
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
		Raw:         string(raw),
	}
	if doc.License == "" {
		doc.License = "unknown"
	}
	seen := map[string]bool{}
	for _, dist := range d.GetDistributions() {
		if f := dist.GetFormat(); f != "" && !seen[f] {
			seen[f] = true
			doc.Formats = append(doc.Formats, f)
		}
	}
	for _, m := range d.GetScdl() {
		doc.Schemas = append(doc.Schemas, m.GetItem())
	}
	if m := d.GetModified(); m != nil {
		doc.Modified = m.AsTime().UTC()
	}
	return doc, nil
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
