// Package source defines what a protocol adapter is: a Source walks one
// portal endpoint and yields normalised records. Each protocol lives in its
// own package below this one (ckan, dcat, ...), behind this one interface.
package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/fetch"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"go.uber.org/zap"
)

// Record is one dataset read from a source, normalised. Columns are the
// field names of its data where the source says them (SCDL evidence).
type Record struct {
	Dataset *moissonv1.Dataset
	Columns []string
}

// Error kinds (HarvestError.kind).
const (
	KindHTTP      = "http"
	KindTimeout   = "timeout"
	KindPaging    = "paging"
	KindParse     = "parse"
	KindNormalise = "normalise"
	KindPublish   = "publish"
)

// Problem is something that went wrong with one record or one page but did
// not stop the walk.
type Problem struct {
	Kind      string
	URL       string
	DatasetID string // the portal's identifier when known
	Message   string
	Excerpt   string
}

// Sink receives what a Source reads, in order.
type Sink interface {
	// Page says a page was read; declaredTotal is what the source says it
	// holds (-1 when it does not say).
	Page(url string, declaredTotal int64)
	// Record hands over one dataset. An error stops the walk (the run is
	// cancelled, or publishing failed for good).
	Record(ctx context.Context, r Record) error
	// Problem reports a non-fatal problem.
	Problem(p Problem)
}

// Source walks one endpoint. Harvest returns nil when it saw the whole
// source, or the error that stopped it (what was handed to the sink before
// stays valid).
type Source interface {
	Harvest(ctx context.Context, sink Sink) error
}

// Env is what adapters get to do their work.
type Env struct {
	Client *fetch.Client
	Log    *zap.Logger
}

// Factory builds a Source for a configured source.
type Factory func(src *config.Source, env Env) (Source, error)

// Error is a fatal error of a walk, with its kind and URL, for the run report.
type Error struct {
	Kind string
	URL  string
	Err  error
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s: %v", e.Kind, e.URL, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

// KindOf classifies an error for the run report.
func KindOf(err error) string {
	var se *Error
	if errors.As(err, &se) {
		return se.Kind
	}
	return fetch.KindOf(err)
}

// DocumentReader reads one saved document of a protocol (one answer, one
// page, one file) and hands its datasets to the sink. base is the URL the
// document came from (for relative links), or "" for a file.
type DocumentReader func(ctx context.Context, r io.Reader, base string, sink Sink) error

// Protocol is one protocol adapter: how to harvest a configured source, and
// how to read one saved document of it (harvester inspect, tests).
type Protocol struct {
	Name string
	New  Factory
	Read DocumentReader
	// Sniff tells, from the first bytes of a document, whether it is likely
	// this protocol's (for inspect --format auto). May be nil.
	Sniff func(head []byte) bool
}

type sinceKey struct{}

// WithSince asks adapters that can for only the datasets modified since t
// (an incremental run).
func WithSince(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, sinceKey{}, t)
}

// Since is the time an incremental run starts from (zero: a full run).
func Since(ctx context.Context) time.Time {
	t, _ := ctx.Value(sinceKey{}).(time.Time)
	return t
}

// MarkIncremental tells the sink the walk only covers what changed since
// Since(ctx): what it did not see is not gone.
func MarkIncremental(sink Sink) {
	if m, ok := sink.(interface{ Incremental() }); ok {
		m.Incremental()
	}
}

// SinkError marks an error the sink returned while an adapter was decoding
// an answer, so that it is passed on as it is rather than mistaken for a
// decoding or network error.
type SinkError struct{ Err error }

func (e SinkError) Error() string { return e.Err.Error() }
func (e SinkError) Unwrap() error { return e.Err }
