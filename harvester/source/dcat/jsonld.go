package dcat

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/opendatafrance/moisson/harvester/rdf"
	"github.com/piprate/json-gold/ld"
)

// MaxJSONLDBytes bounds a JSON-LD page: json-gold works on a whole document.
const MaxJSONLDBytes = 256 << 20

// noRemoteLoader refuses remote contexts: a catalogue must not make the
// harvester fetch arbitrary URLs.
type noRemoteLoader struct{}

func (noRemoteLoader) LoadDocument(u string) (*ld.RemoteDocument, error) {
	return nil, ld.NewJsonLdError(ld.LoadingDocumentFailed, fmt.Sprintf("remote context %s not fetched (only inline contexts are read)", u))
}

// parseJSONLD turns a JSON-LD document into triples with json-gold.
func parseJSONLD(r io.Reader, base string, h rdf.Handler) error {
	data, err := io.ReadAll(io.LimitReader(r, MaxJSONLDBytes+1))
	if err != nil {
		return err
	}
	if len(data) > MaxJSONLDBytes {
		return fmt.Errorf("JSON-LD document larger than %d bytes", MaxJSONLDBytes)
	}
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return &rdf.ParseError{Syntax: "jsonld", Line: lineOf(data, se.Offset), Msg: se.Error()}
		}
		return &rdf.ParseError{Syntax: "jsonld", Msg: err.Error()}
	}
	opts := ld.NewJsonLdOptions(base)
	opts.DocumentLoader = noRemoteLoader{}
	out, err := ld.NewJsonLdProcessor().ToRDF(doc, opts)
	if err != nil {
		return &rdf.ParseError{Syntax: "jsonld", Msg: err.Error()}
	}
	ds, ok := out.(*ld.RDFDataset)
	if !ok {
		return &rdf.ParseError{Syntax: "jsonld", Msg: "unexpected json-gold output"}
	}
	for _, quads := range ds.Graphs {
		for _, q := range quads {
			if err := h(rdf.Triple{S: term(q.Subject), P: term(q.Predicate), O: term(q.Object)}); err != nil {
				return err
			}
		}
	}
	return nil
}

func term(n ld.Node) rdf.Term {
	switch v := n.(type) {
	case ld.IRI:
		return rdf.Term{Kind: rdf.IRI, Value: v.Value}
	case *ld.IRI:
		return rdf.Term{Kind: rdf.IRI, Value: v.Value}
	case ld.BlankNode:
		return rdf.Term{Kind: rdf.BlankNode, Value: "jsonld" + v.Attribute}
	case *ld.BlankNode:
		return rdf.Term{Kind: rdf.BlankNode, Value: "jsonld" + v.Attribute}
	case ld.Literal:
		return rdf.Term{Kind: rdf.Literal, Value: v.Value, Datatype: v.Datatype, Lang: v.Language}
	case *ld.Literal:
		return rdf.Term{Kind: rdf.Literal, Value: v.Value, Datatype: v.Datatype, Lang: v.Language}
	}
	return rdf.Term{Kind: rdf.Literal, Value: n.GetValue()}
}

func lineOf(data []byte, off int64) int {
	line := 1
	for i := int64(0); i < off && i < int64(len(data)); i++ {
		if data[i] == '\n' {
			line++
		}
	}
	return line
}
