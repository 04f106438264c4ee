package dcat

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
	json "github.com/go-json-experiment/json/v1"

	"github.com/opendatafrance/moisson/harvester/fetch"
	"github.com/opendatafrance/moisson/harvester/rdf"
	"github.com/opendatafrance/moisson/harvester/source/jsonwalk"
	"github.com/piprate/json-gold/ld"
)

// JSON-LD is read node by node. json-gold works on whole JSON values and
// takes some 45 times their size in memory to expand them, so a catalogue
// is not handed to it whole: its top-level object is walked with a
// streaming decoder, and each member of a large array (the @graph, or a
// property such as dcat:dataset holding the datasets) goes to json-gold on
// its own, with the document's @context. Memory is that of one node, and a
// node larger than MaxJSONLDNode stops the read with a *fetch.TooLargeError.
// A node already in expanded form skips json-gold altogether, and expanded
// nodes become triples in expanded.go.
const (
	// MaxJSONLDNode bounds one node given to json-gold: a member of the
	// streamed arrays, the rest of the top-level object, or a document that
	// cannot be streamed (its @context after its nodes).
	MaxJSONLDNode = 4 << 20
	// MaxJSONLDContext bounds the @context.
	MaxJSONLDContext = 1 << 20
	// MaxJSONLDNodeTriples bounds the triples one node expands to.
	MaxJSONLDNodeTriples = 200000
)

// jsonldNodeLimit is MaxJSONLDNode (lowered by the fuzz target).
var jsonldNodeLimit int64 = MaxJSONLDNode

// bnodeIRI stands for a labelled blank node ("_:x") while nodes go to
// json-gold one by one: json-gold renames blank nodes in each call, and a
// label names the same node throughout the document.
const bnodeIRI = "urn:x-moisson-bnode:"

// noRemoteLoader refuses remote contexts: a catalogue must not make the
// harvester fetch arbitrary URLs.
type noRemoteLoader struct{}

func (noRemoteLoader) LoadDocument(u string) (*ld.RemoteDocument, error) {
	return nil, ld.NewJsonLdError(ld.LoadingDocumentFailed, fmt.Sprintf("remote context %s not fetched (only inline contexts are read)", u))
}

// budgetReader fails once more than left bytes are read: the bound of the
// JSON value being decoded (the decoder reads a little ahead, which counts).
type budgetReader struct {
	r     io.Reader
	left  int64
	limit int64
	what  string
	lines int // newlines read, to say where a syntax error is
}

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, &fetch.TooLargeError{What: b.what, Limit: b.limit}
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	b.lines += bytes.Count(p[:n], newline)
	return n, err
}

var newline = []byte{'\n'}

// line is the line of the decoder's position: the newlines read, less
// those it has read ahead.
func (j *jsonldReader) line() int {
	return j.budget.lines - bytes.Count(j.dec.Buffered(), newline) + 1
}

// reset starts the budget of the next value.
func (b *budgetReader) reset(what string, limit int64) { b.what, b.limit, b.left = what, limit, limit }

// jsonldReader turns a JSON-LD document into triples.
type jsonldReader struct {
	dec    *jsonwalk.Decoder
	budget *budgetReader
	opts   *ld.JsonLdOptions
	h      rdf.Handler
	nodes  int // nodes given to json-gold, to name their anonymous blank nodes apart
	fast   int // nodes toTriples read (the others: json-gold's ToRDF)
	direct int // of which nodes read as they are, not expanded first
	// expanded turns json-gold's expansion of a node into triples.
	expanded expandedReader
}

// scope is what is known of one top-level node object while it is walked.
type scope struct {
	ctx      any             // its @context
	hasCtx   bool            // ctx was read
	streamed bool            // members of its arrays went to json-gold already
	idKeys   map[string]bool // "@id" and its aliases
	lists    map[string]bool // terms whose values are ordered lists: not split
	id       string          // its @id
	pending  map[string]any  // the keys kept for its last node
}

func newScope() *scope {
	return &scope{idKeys: map[string]bool{"@id": true}, lists: map[string]bool{}, pending: map[string]any{}}
}

// parseJSONLD turns a JSON-LD document into triples, one node at a time.
func parseJSONLD(r io.Reader, base string, h rdf.Handler) error {
	return newJSONLDReader(r, base, h).read()
}

func newJSONLDReader(r io.Reader, base string, h rdf.Handler) *jsonldReader {
	budget := &budgetReader{r: r}
	budget.reset("JSON-LD node", jsonldNodeLimit)
	j := &jsonldReader{dec: jsonwalk.NewDecoder(budget, "jsonld"), budget: budget, h: h}
	j.opts = ld.NewJsonLdOptions(base)
	j.opts.DocumentLoader = noRemoteLoader{}
	return j
}

func (j *jsonldReader) read() error {
	tok, err := j.dec.Token()
	if err != nil {
		return j.syntax(err)
	}
	switch tok {
	case json.Delim('['):
		// A list of nodes (the expanded form ODS serves), each with its
		// own @context if any.
		for j.dec.More() {
			j.budget.reset("JSON-LD node", jsonldNodeLimit)
			first, err := j.dec.Token()
			if err != nil {
				return j.syntax(err)
			}
			if first == json.Delim('{') {
				err = j.object(newScope())
			} else {
				var v any
				if v, err = j.rest(first); err == nil {
					err = j.node(v, nil)
				}
			}
			if err != nil {
				return err
			}
		}
		if _, err := j.dec.Token(); err != nil {
			return j.syntax(err)
		}
	case json.Delim('{'):
		if err := j.object(newScope()); err != nil {
			return err
		}
	default:
		return &rdf.ParseError{Syntax: "jsonld", Msg: "a JSON-LD document is a JSON object or array"}
	}
	return j.end()
}

// object walks a top-level node object (its '{' read): the members of its
// arrays go to json-gold one by one, the rest as one node at the end.
func (j *jsonldReader) object(sc *scope) error {
	for j.dec.More() {
		tok, err := j.dec.Token()
		if err != nil {
			return j.syntax(err)
		}
		k, _ := tok.(string)
		switch {
		case k == "@context":
			if sc.streamed {
				return &rdf.ParseError{Syntax: "jsonld", Line: j.line(), Msg: "@context after the nodes it applies to: put it first"}
			}
			v, err := j.value("JSON-LD @context", MaxJSONLDContext)
			if err != nil {
				return err
			}
			sc.ctx, sc.hasCtx = v, true
			sc.aliases(v)
			continue
		case sc.idKeys[k]:
			v, err := j.value("JSON-LD node", jsonldNodeLimit)
			if err != nil {
				return err
			}
			sc.pending[k] = v
			if s, ok := v.(string); ok {
				sc.id = s
			}
			continue
		}
		j.budget.reset("JSON-LD node", jsonldNodeLimit)
		first, err := j.dec.Token()
		if err != nil {
			return j.syntax(err)
		}
		// An array is split once the terms are known (the @context read,
		// or none and the key an absolute IRI: the expanded form), never
		// when the context makes it an ordered list, and for a property
		// only once the node's @id is known (its members link to it).
		known := sc.hasCtx || k == "@graph" || strings.HasPrefix(k, "http://") || strings.HasPrefix(k, "https://")
		if first == json.Delim('[') && known && !sc.lists[k] && (k == "@graph" || sc.id != "") {
			sc.streamed = true
			if err := j.members(sc, k); err != nil {
				return err
			}
			continue
		}
		v, err := j.rest(first)
		if err != nil {
			return err
		}
		sc.pending[k] = v
	}
	if _, err := j.dec.Token(); err != nil {
		return j.syntax(err)
	}
	if sc.hasCtx {
		sc.pending["@context"] = sc.ctx
	}
	return j.node(sc.pending, sc.idKeys)
}

// end checks nothing follows the top-level value.
func (j *jsonldReader) end() error {
	if _, err := j.dec.Token(); err != io.EOF {
		return &rdf.ParseError{Syntax: "jsonld", Line: j.line(), Msg: fmt.Sprintf("at byte %d: data after the top-level value", j.dec.InputOffset())}
	}
	return nil
}

// rest reads the value that starts with the token first.
func (j *jsonldReader) rest(first json.Token) (any, error) {
	v, err := j.dec.ValueFrom(first)
	return v, j.syntax(err)
}

// members streams the array value of key k (its '[' read), one node per
// member.
func (j *jsonldReader) members(sc *scope, k string) error {
	for j.dec.More() {
		v, err := j.value("JSON-LD node", jsonldNodeLimit)
		if err != nil {
			return err
		}
		doc := map[string]any{}
		if sc.hasCtx {
			doc["@context"] = sc.ctx
		}
		if k == "@graph" {
			doc["@graph"] = []any{v}
		} else {
			// The member of a property of the node, which links to it.
			doc["@id"], doc[k] = sc.id, []any{v}
		}
		if err := j.node(doc, sc.idKeys); err != nil {
			return err
		}
	}
	_, err := j.dec.Token() // ]
	return j.syntax(err)
}

// value decodes the next JSON value within limit bytes.
func (j *jsonldReader) value(what string, limit int64) (any, error) {
	// The budget bounds what is read (with what the decoder had read
	// ahead, at most twice the limit); the offsets tell the value's size.
	j.budget.reset(what, limit)
	start := j.dec.InputOffset()
	v, err := j.dec.Value()
	if err != nil {
		return nil, j.syntax(err)
	}
	if j.dec.InputOffset()-start > limit {
		return nil, &fetch.TooLargeError{What: what, Limit: limit}
	}
	return v, nil
}

// aliases notes the terms the @context makes aliases of "@id", and those
// whose values are ordered lists.
func (j *scope) aliases(ctx any) {
	var walk func(any)
	walk = func(c any) {
		switch c := c.(type) {
		case []any:
			for _, x := range c {
				walk(x)
			}
		case map[string]any:
			for k, v := range c {
				switch v := v.(type) {
				case string:
					if v == "@id" {
						j.idKeys[k] = true
					}
				case map[string]any:
					if v["@id"] == "@id" {
						j.idKeys[k] = true
					}
					switch ct := v["@container"].(type) {
					case string:
						j.lists[k] = j.lists[k] || ct == "@list"
					case []any:
						for _, x := range ct {
							j.lists[k] = j.lists[k] || x == "@list"
						}
					}
				}
			}
		}
	}
	walk(ctx)
}

// node turns one JSON-LD value into triples for the handler; idKeys are the
// keys of @id (nil: "@id" only). A node already in expanded form, with no
// @context, is read as it is (expanding it would change nothing toTriples
// reads: toTriples refuses what expansion would rewrite). Any other goes
// to json-gold's expansion first.
func (j *jsonldReader) node(v any, idKeys map[string]bool) error {
	j.nodes++
	if idKeys == nil {
		idKeys = map[string]bool{"@id": true}
	}
	v = relabel(v, idKeys)
	prefix := "j" + strconv.Itoa(j.nodes)
	ok, err := j.expanded.toTriples(asExpanded(v), prefix)
	if ok {
		j.direct++
	}
	var expanded []any
	if err == nil && !ok {
		if expanded, err = expand(v, j.opts); err == nil {
			ok, err = j.expanded.toTriples(expanded, prefix)
		}
	}
	if err != nil {
		return err
	}
	if ok {
		j.fast++
		for _, t := range j.expanded.out {
			if err := j.h(t); err != nil {
				return err
			}
		}
		return nil
	}
	// A form toTriples does not read: json-gold's ToRDF.
	ds, err := toRDF(expanded, j.opts)
	if err != nil {
		return err
	}
	n := 0
	for _, quads := range ds.Graphs {
		n += len(quads)
	}
	if n > MaxJSONLDNodeTriples {
		return &fetch.TooLargeError{What: "JSON-LD node expansion (triples)", Limit: MaxJSONLDNodeTriples}
	}
	for _, quads := range ds.Graphs {
		for _, q := range quads {
			if err := j.h(rdf.Triple{S: j.term(q.Subject, prefix), P: j.term(q.Predicate, prefix), O: j.term(q.Object, prefix)}); err != nil {
				return err
			}
		}
	}
	return nil
}

// asExpanded is v as the list of nodes an expansion gives: a top-level
// object holding only @graph stands for its members.
func asExpanded(v any) []any {
	if m, ok := v.(map[string]any); ok {
		if g, ok := m["@graph"].([]any); ok && len(m) == 1 {
			return g
		}
	}
	return []any{v}
}

// expand and toRDF are json-gold's Expand and ToRDF (of an expanded
// document), their failures as ParseErrors: json-gold panics on some
// malformed documents (found by FuzzJSONLD), which must not take the
// harvester down.
func expand(v any, opts *ld.JsonLdOptions) (out []any, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, &rdf.ParseError{Syntax: "jsonld", Msg: fmt.Sprintf("not JSON-LD json-gold can read (%v)", p)}
		}
	}()
	out, err = ld.NewJsonLdProcessor().Expand(v, opts)
	if err != nil {
		return nil, &rdf.ParseError{Syntax: "jsonld", Msg: err.Error()}
	}
	return out, nil
}

func toRDF(expanded []any, opts *ld.JsonLdOptions) (out *ld.RDFDataset, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, &rdf.ParseError{Syntax: "jsonld", Msg: fmt.Sprintf("not JSON-LD json-gold can read (%v)", p)}
		}
	}()
	out, err = ld.NewJsonLdApi().ToRDF(expanded, opts)
	if err != nil {
		return nil, &rdf.ParseError{Syntax: "jsonld", Msg: err.Error()}
	}
	return out, nil
}

// relabel replaces the blank node labels given as @id ("_:x") by IRIs of
// ours, so that they name the same node from one call of json-gold to the
// next (term turns them back into blank nodes).
func relabel(v any, idKeys map[string]bool) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if k == "@context" {
				continue
			}
			if s, ok := x.(string); ok && idKeys[k] && strings.HasPrefix(s, "_:") {
				v[k] = bnodeIRI + s[2:]
				continue
			}
			v[k] = relabel(x, idKeys)
		}
	case []any:
		for i, x := range v {
			v[i] = relabel(x, idKeys)
		}
	}
	return v
}

// term converts a json-gold node; anonymous blank nodes are named after the
// node they came from.
func (j *jsonldReader) term(n ld.Node, prefix string) rdf.Term {
	iri := func(s string) rdf.Term {
		if l, ok := strings.CutPrefix(s, bnodeIRI); ok {
			return rdf.Term{Kind: rdf.BlankNode, Value: "jsonld-" + l}
		}
		return rdf.Term{Kind: rdf.IRI, Value: s}
	}
	switch v := n.(type) {
	case ld.IRI:
		return iri(v.Value)
	case *ld.IRI:
		return iri(v.Value)
	case ld.BlankNode:
		return rdf.Term{Kind: rdf.BlankNode, Value: prefix + v.Attribute}
	case *ld.BlankNode:
		return rdf.Term{Kind: rdf.BlankNode, Value: prefix + v.Attribute}
	case ld.Literal:
		return rdf.Term{Kind: rdf.Literal, Value: v.Value, Datatype: v.Datatype, Lang: v.Language}
	case *ld.Literal:
		return rdf.Term{Kind: rdf.Literal, Value: v.Value, Datatype: v.Datatype, Lang: v.Language}
	}
	return rdf.Term{Kind: rdf.Literal, Value: n.GetValue()}
}

// syntax turns a decoding error into a positioned parse error; a bound
// reached and the transport's errors pass as they are.
func (j *jsonldReader) syntax(err error) error {
	if err == nil {
		return nil
	}
	var tl *fetch.TooLargeError
	if errors.As(err, &tl) {
		return tl
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return &rdf.ParseError{Syntax: "jsonld", Line: j.line(), Msg: fmt.Sprintf("at byte %d: unexpected end of the document", j.dec.InputOffset())}
	}
	var se *jsontext.SyntacticError
	if errors.As(err, &se) {
		return &rdf.ParseError{Syntax: "jsonld", Line: j.line(), Msg: fmt.Sprintf("at byte %d: %v", se.ByteOffset, se.Err)}
	}
	return err
}
