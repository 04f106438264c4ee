// Package source defines what a protocol adapter is: a Source walks one
// portal endpoint and yields normalised records. Each protocol lives in its
// own package below this one (ckan, dcat, ...), behind this one interface.
package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
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

// Error kinds (HarvestError.kind): those of the transport (fetch.KindOf),
// then those of reading and publishing.
const (
	KindHTTP       = fetch.KindHTTP
	KindTimeout    = fetch.KindTimeout
	KindDNS        = fetch.KindDNS
	KindConnection = fetch.KindConnection
	KindTLS        = fetch.KindTLS
	KindTooLarge   = fetch.KindTooLarge
	KindRobots     = fetch.KindRobots
	KindForbidden  = fetch.KindForbidden
	KindPaging     = "paging"
	KindParse      = "parse"
	KindNormalise  = "normalise"
	KindPublish    = "publish"
)

// Kinds lists every error kind.
var Kinds = []string{KindHTTP, KindTimeout, KindDNS, KindConnection, KindTLS, KindTooLarge, KindRobots, KindForbidden,
	KindPaging, KindParse, KindNormalise, KindPublish}

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

// ParseError is an answer that is not what a JSON adapter reads (see
// package jsonwalk), located by the bytes read when it was found.
type ParseError struct {
	Protocol string // the adapter, which prefixes the message ("ckan")
	Msg      string
	Offset   int64
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%s: at byte %d: %s", e.Protocol, e.Offset, e.Msg)
}

// AnswerError is what a walk returns for err, met while reading the answer
// at u: a malformed answer (*ParseError) as KindParse, the sink's own error
// (SinkError) as it is, any error of a cancelled run as it is, and anything
// else as a failure of the transport. nil stays nil.
func AnswerError(ctx context.Context, u string, err error) error {
	if err == nil {
		return nil
	}
	var pe *ParseError
	if errors.As(err, &pe) {
		return &Error{Kind: KindParse, URL: u, Err: err}
	}
	var se SinkError
	if errors.As(err, &se) {
		return se.Err
	}
	if ctx.Err() != nil {
		return err
	}
	return &Error{Kind: fetch.KindOf(err), URL: u, Err: err}
}

// SinkCause is the sink's own error when err marks one (SinkError), else
// err: what a DocumentReader returns.
func SinkCause(err error) error {
	var se SinkError
	if errors.As(err, &se) {
		return se.Err
	}
	return err
}

// PageSize reads the page_size parameter of src: def when it is not set,
// else an integer in 1..max. protocol names the adapter in the error.
func PageSize(src *config.Source, protocol string, def, max int) (int, error) {
	v := src.Params["page_size"]
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, fmt.Errorf("%s source %s: page_size %q must be 1..%d", protocol, src.ID, v, max)
	}
	return n, nil
}
