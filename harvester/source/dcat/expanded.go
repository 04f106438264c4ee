package dcat

import (
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/opendatafrance/moisson/harvester/fetch"
	"github.com/opendatafrance/moisson/harvester/normalize"
	"github.com/opendatafrance/moisson/harvester/rdf"
	"github.com/piprate/json-gold/ld"
)

// Expanded JSON-LD is turned into triples here rather than by json-gold's
// ToRDF. json-gold still expands each node (contexts, aliases, relative
// IRIs: the hard part of the specification); what follows expansion in its
// ToRDF (a node map, then every http(s) IRI checked against a large regular
// expression, remembered for one call only, that is one node) took 70 % of
// reading an OpenDataSoft export, regular expression 52 %.
//
// toTriples does the same for the expanded forms catalogues use: node
// objects with @id, @type and properties whose values are value objects
// (a string, number or boolean @value, with @language or @type) or node
// objects. It gives json-gold's triples: same terms, same triples dropped
// (an http(s) IRI json-gold's ld.IsURL refuses, a malformed language tag),
// blank node labels aside. Anything else (@list, @graph, @reverse, @index,
// @json...) makes it answer false, and json-gold's ToRDF reads the node.
// FuzzJSONLD holds the two to the same triples.

// XSD and RDF datatypes of JSON-LD's literals.
const (
	xsdBoolean = "http://www.w3.org/2001/XMLSchema#boolean"
	xsdInteger = "http://www.w3.org/2001/XMLSchema#integer"
	xsdDouble  = "http://www.w3.org/2001/XMLSchema#double"
)

// validLanguage is json-gold's test of a language tag (validLanguageRegex).
var validLanguage = regexp.MustCompile("^[a-zA-Z]+(-[a-zA-Z0-9]+)*$")

// iriClass is what json-gold makes of a string in an expanded document,
// remembered per string for the whole document (iriClasses).
type iriClass uint8

const (
	iriRelative iriClass = iota + 1 // not an absolute IRI (ld.IsRelativeIri): skipped by json-gold
	iriInvalid                      // absolute, refused by json-gold's validIRI: its triples dropped
	iriValid
)

// iriClasses remembers iriClass per string across the nodes of one document,
// bounded: past maxIRIClasses strings it starts again, and a string longer
// than maxIRIClassKey is not kept.
type iriClasses map[string]iriClass

const (
	maxIRIClasses  = 1 << 16
	maxIRIClassKey = 1 << 10
)

func (c *iriClasses) of(s string) iriClass {
	if k, ok := (*c)[s]; ok {
		return k
	}
	k := classify(s)
	if len(s) > maxIRIClassKey {
		return k
	}
	if len(*c) >= maxIRIClasses {
		*c = iriClasses{}
	}
	(*c)[s] = k
	return k
}

func classify(s string) iriClass {
	k := iriValid
	switch {
	case ld.IsRelativeIri(s):
		k = iriRelative
	case (strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")) && !plainURL(s) && !ld.IsURL(s):
		k = iriInvalid
	}
	return k
}

// expandedReader turns expanded JSON-LD into triples, one node at a time.
type expandedReader struct {
	classes iriClasses
	out     []rdf.Triple // the triples of the node being read
	prefix  string       // names its blank nodes apart from other nodes'
	anon    int          // its anonymous blank nodes
}

// toTriples reads one expanded document (json-gold's Expand output) into
// x.out; false if it holds a form it does not read (json-gold reads it
// then), or a *fetch.TooLargeError past MaxJSONLDNodeTriples.
func (x *expandedReader) toTriples(expanded []any, prefix string) (bool, error) {
	if x.classes == nil {
		x.classes = iriClasses{}
	}
	x.out, x.prefix, x.anon = x.out[:0], prefix, 0
	for _, v := range expanded {
		m, ok := v.(map[string]any)
		if !ok {
			return false, nil
		}
		subject, valid, ok := x.subject(m)
		if !ok {
			return false, nil
		}
		if ok, err := x.node(m, subject, valid); !ok || err != nil {
			return false, err
		}
	}
	return true, nil
}

// subject is the term naming a node object; valid is false when json-gold
// drops the triples it is in (its IRI refused).
func (x *expandedReader) subject(m map[string]any) (subject rdf.Term, valid, ok bool) {
	id, has := m["@id"]
	if !has {
		x.anon++
		return rdf.Term{Kind: rdf.BlankNode, Value: x.prefix + "_:b" + strconv.Itoa(x.anon-1)}, true, true
	}
	s, isStr := id.(string)
	if !isStr {
		return subject, false, false
	}
	return x.id(s)
}

// node reads the properties of a node object named subject. A property's
// node object comes after the triple pointing at it, as in the document.
func (x *expandedReader) node(m map[string]any, subject rdf.Term, valid bool) (ok bool, err error) {
	// In json-gold's order (it sorts the properties), so that a record
	// does not depend on Go's map order.
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		switch {
		case k == "@id":
		case k == "@type":
			types, isArr := m[k].([]any)
			if !isArr {
				return false, nil
			}
			for _, t := range types {
				s, isStr := t.(string)
				if !isStr || strings.HasPrefix(s, "_:") {
					return false, nil
				}
				switch x.classes.of(s) {
				case iriRelative:
					return false, nil
				case iriValid:
					if err := x.emit(valid, subject, rdfTypeTerm, rdf.Term{Kind: rdf.IRI, Value: s}); err != nil {
						return false, err
					}
				}
			}
		case strings.HasPrefix(k, "@") || strings.HasPrefix(k, "_:"):
			return false, nil
		default:
			values, isArr := m[k].([]any)
			if !isArr {
				return false, nil
			}
			class := x.classes.of(k)
			if class == iriRelative {
				return false, nil
			}
			pred := rdf.Term{Kind: rdf.IRI, Value: k}
			for _, v := range values {
				o, isMap := v.(map[string]any)
				if !isMap {
					return false, nil
				}
				_, isValue := o["@value"]
				var obj rdf.Term
				var objValid bool
				if isValue {
					obj, objValid, ok = x.literal(o)
				} else {
					obj, objValid, ok = x.subject(o)
				}
				if !ok {
					return false, nil
				}
				if err := x.emit(valid && class == iriValid && objValid, subject, pred, obj); err != nil {
					return false, err
				}
				if !isValue {
					if ok, err := x.node(o, obj, objValid); !ok || err != nil {
						return false, err
					}
				}
			}
		}
	}
	return true, nil
}

var rdfTypeTerm = rdf.Term{Kind: rdf.IRI, Value: rdf.RDFType}

// emit keeps a triple json-gold keeps.
func (x *expandedReader) emit(valid bool, s, p, o rdf.Term) error {
	if !valid {
		return nil
	}
	if len(x.out) >= MaxJSONLDNodeTriples {
		return &fetch.TooLargeError{What: "JSON-LD node expansion (triples)", Limit: MaxJSONLDNodeTriples}
	}
	x.out = append(x.out, rdf.Triple{S: s, P: p, O: o})
	return nil
}

// id is the term of an @id: a blank node, or an IRI (valid false when
// json-gold drops it); ok is false for a relative one.
func (x *expandedReader) id(s string) (t rdf.Term, valid, ok bool) {
	if l, isBnode := strings.CutPrefix(s, "_:"); isBnode {
		return rdf.Term{Kind: rdf.BlankNode, Value: x.prefix + "_:l" + l}, true, true
	}
	if l, isOurs := strings.CutPrefix(s, bnodeIRI); isOurs {
		return rdf.Term{Kind: rdf.BlankNode, Value: "jsonld-" + l}, true, true
	}
	switch x.classes.of(s) {
	case iriRelative:
		return t, false, false
	case iriInvalid:
		return rdf.Term{Kind: rdf.IRI, Value: s}, false, true
	}
	return rdf.Term{Kind: rdf.IRI, Value: s}, true, true
}

// literal reads a value object: a string with a language or a datatype, or
// a boolean.
func (x *expandedReader) literal(o map[string]any) (t rdf.Term, valid, ok bool) {
	var dt, lang string
	hasLang := false
	for k, v := range o {
		s, isStr := v.(string)
		switch {
		case k == "@value":
		case k == "@type" && isStr && !strings.HasPrefix(s, "@") && !strings.HasPrefix(s, "_:"):
			dt = s
		case k == "@language" && isStr:
			// Lower case, as json-gold's expansion writes it.
			lang, hasLang = strings.ToLower(s), true
		default:
			return t, false, false
		}
	}
	valid = true
	if dt != "" {
		switch x.classes.of(dt) {
		case iriRelative:
			return t, false, false
		case iriInvalid:
			valid = false
		}
	}
	switch v := o["@value"].(type) {
	case string:
		switch {
		case hasLang && dt != "":
			return t, false, false
		case hasLang:
			return rdf.Term{Kind: rdf.Literal, Value: v, Datatype: rdf.RDFLangString, Lang: lang}, valid && (lang == "" || validLanguage.MatchString(lang)), true
		case dt == "":
			dt = rdf.XSDString
		}
		return rdf.Term{Kind: rdf.Literal, Value: v, Datatype: dt}, valid, true
	case bool:
		if hasLang {
			return t, false, false
		}
		if dt == "" {
			dt = xsdBoolean
		}
		return rdf.Term{Kind: rdf.Literal, Value: strconv.FormatBool(v), Datatype: dt}, valid, true
	case json.Number:
		// As json-gold writes numbers: an integral value as an
		// xsd:integer, any other (or one typed xsd:double) as a
		// canonical xsd:double.
		f, err := v.Float64()
		if hasLang || err != nil {
			return t, false, false
		}
		if f != float64(int64(f)) || dt == xsdDouble {
			if dt == "" {
				dt = xsdDouble
			}
			return rdf.Term{Kind: rdf.Literal, Value: ld.GetCanonicalDouble(f), Datatype: dt}, valid, true
		}
		if dt == "" {
			dt = xsdInteger
		}
		return rdf.Term{Kind: rdf.Literal, Value: strconv.FormatInt(int64(f), 10), Datatype: dt}, valid, true
	}
	return t, false, false
}

// plainURL reports whether s is an http(s) URL of the plainest shape, which
// ld.IsURL accepts (TestPlainURL and FuzzPlainURL hold it to that): what
// normalize.PlainHTTPURL reads (url.Parse takes it too), shorter than 2083
// bytes, a port of at most five digits, and a host name whose labels are
// letters, digits and inner single hyphens, its first label at least two
// characters long starting with a letter and its last one two letters or
// more. Most IRIs of a catalogue are so, and this costs a fraction of
// ld.IsURL's regular expression.
func plainURL(s string) bool {
	host, port, ok := normalize.PlainHTTPURL(s)
	if !ok || len(s) >= 2083 || len(port) > 5 { // ld.IsURL's bound, in runes (fewer than bytes)
		return false
	}
	labels := 0
	for label := range strings.SplitSeq(host, ".") {
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' || strings.Contains(label, "--") ||
			labels == 0 && (len(label) < 2 || label[0]|0x20 < 'a' || label[0]|0x20 > 'z') {
			return false
		}
		labels++
	}
	if last := host[strings.LastIndexByte(host, '.')+1:]; labels > 1 {
		if len(last) < 2 {
			return false
		}
		for i := 0; i < len(last); i++ {
			if c := last[i] | 0x20; c < 'a' || c > 'z' {
				return false
			}
		}
	}
	return true
}
