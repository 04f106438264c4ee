// Package jsonwalk reads the JSON answers of catalogue APIs as a stream:
// the envelope object key by key, and its lists of datasets one item at a
// time, so that an answer is never held in memory beyond one item. What
// each key means stays with the adapter; this package only walks, and
// makes errors that say where the answer went wrong (*source.ParseError).
//
// The walk is jsontext's (encoding/json/v2's tokenizer, from the module
// that mirrors it for Go 1.26); values are decoded with the v1 package of
// the same module, which is encoding/json's semantics (case-insensitive
// names, invalid UTF-8 replaced, lenient custom decoders) on that faster
// engine. Adapters import it as "json": its RawMessage and Number are what
// they pass around.
package jsonwalk

import (
	"bytes"
	stdjson "encoding/json"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
	json "github.com/go-json-experiment/json/v1"

	"github.com/opendatafrance/moisson/harvester/source"
)

// Decoder reads one answer.
type Decoder struct {
	dec      *jsontext.Decoder
	protocol string
}

// NewDecoder reads r for the adapter named protocol, which prefixes error
// messages. Like encoding/json, it accepts invalid UTF-8 (replaced when
// decoded) and repeated names (the last wins).
func NewDecoder(r io.Reader, protocol string) *Decoder {
	return &Decoder{dec: jsontext.NewDecoder(r, jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true)), protocol: protocol}
}

// InputOffset is the offset in the input after what was read.
func (d *Decoder) InputOffset() int64 { return d.dec.InputOffset() }

// More tells whether the object or list being read has another member:
// false at its end, and at an error, which the next read reports.
func (d *Decoder) More() bool {
	k := d.dec.PeekKind()
	return k != 0 && k != '}' && k != ']'
}

// Token reads the next token as encoding/json's Decoder.Token with
// UseNumber gives it: a json.Delim, a string (a value or an object's
// name), a json.Number, a bool or nil.
func (d *Decoder) Token() (json.Token, error) {
	tok, err := d.dec.ReadToken()
	if err != nil {
		return nil, err
	}
	switch k := tok.Kind(); k {
	case '{', '}', '[', ']':
		return json.Delim(k), nil
	case '"':
		return tok.String(), nil
	case '0':
		return json.Number(tok.String()), nil
	case 't', 'f':
		return tok.Bool(), nil
	}
	return nil, nil
}

// Decode reads the next value into v, as encoding/json does.
func (d *Decoder) Decode(v any) error {
	val, err := d.dec.ReadValue()
	if err != nil {
		return err
	}
	return json.Unmarshal(val, v)
}

// Buffered is what the decoder has read ahead of its position (valid until
// the next read).
func (d *Decoder) Buffered() []byte { return d.dec.UnreadBuffer() }

// Value reads the next value as encoding/json's Decoder with UseNumber
// decodes it into an any: map[string]any, []any, string, encoding/json's
// Number, bool or nil, the shapes json-gold works on. It builds them from
// the tokens, without reflection. Repeated names: the last wins.
func (d *Decoder) Value() (any, error) {
	first, err := d.Token()
	if err != nil {
		return nil, err
	}
	return d.ValueFrom(first)
}

// ValueFrom is Value for a value whose first token, first, was read by
// Token: the rest of an object or a list, or the scalar itself.
func (d *Decoder) ValueFrom(first json.Token) (any, error) {
	switch first {
	case json.Delim('{'):
		m := map[string]any{}
		for d.dec.PeekKind() != '}' {
			name, err := d.dec.ReadToken()
			if err != nil {
				return nil, err
			}
			k := name.String() // a token lives until the next read
			v, err := d.Value()
			if err != nil {
				return nil, err
			}
			m[k] = v
		}
		_, err := d.dec.ReadToken()
		return m, err
	case json.Delim('['):
		a := []any{}
		for d.dec.PeekKind() != ']' {
			v, err := d.Value()
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		_, err := d.dec.ReadToken()
		return a, err
	case json.Delim('}'), json.Delim(']'):
		return nil, d.Errorf("%v where a value belongs", first)
	}
	if n, ok := first.(json.Number); ok {
		return stdjson.Number(n), nil
	}
	return first, nil
}

// Errorf is a parse error at the current offset.
func (d *Decoder) Errorf(format string, args ...any) *source.ParseError {
	return &source.ParseError{Protocol: d.protocol, Offset: d.InputOffset(), Msg: fmt.Sprintf(format, args...)}
}

// Open reads the token an answer opens with: '{' or '['.
func (d *Decoder) Open() (json.Delim, error) {
	tok, err := d.Token()
	if err != nil {
		return 0, d.Errorf("not JSON: %v", err)
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return 0, d.Errorf("expected a JSON object or list, got %v", tok)
	}
	return delim, nil
}

// Object walks the members of an object whose '{' was read, calling fn
// with each key; fn must read the value (Skip it when it wants none). what
// names the object when its '}' is missing ("answer", "result").
func (d *Decoder) Object(what string, fn func(key string) error) error {
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return d.Errorf("%v", err)
		}
		key, _ := t.(string)
		if err := fn(key); err != nil {
			return err
		}
	}
	return d.End(what)
}

// End reads the '}' or ']' that closes what.
func (d *Decoder) End(what string) error {
	if _, err := d.Token(); err != nil {
		return d.Errorf("truncated %s: %v", what, err)
	}
	return nil
}

// Raw reads a value as it is written.
func (d *Decoder) Raw() (json.RawMessage, error) {
	raw, err := d.raw()
	if err != nil {
		return nil, d.Errorf("%v", err)
	}
	return raw, nil
}

// raw is Raw without the error's position.
func (d *Decoder) raw() (json.RawMessage, error) {
	val, err := d.dec.ReadValue()
	if err != nil {
		return nil, err
	}
	return json.RawMessage(bytes.Clone(val)), nil // val lives until the next read
}

// Skip reads a value and forgets it.
func (d *Decoder) Skip() error {
	if err := d.dec.SkipValue(); err != nil {
		return d.Errorf("%v", err)
	}
	return nil
}

// Int reads the integer value of key.
func (d *Decoder) Int(key string) (int64, error) {
	var c json.Number
	if err := d.Decode(&c); err != nil {
		return -1, d.Errorf("%s: %v", key, err)
	}
	v, err := c.Int64()
	if err != nil {
		return -1, d.Errorf("%s: not an integer: %s", key, c)
	}
	return v, nil
}

// Count reads the value of key as a count of datasets: an integer, not
// negative.
func (d *Decoder) Count(key string) (int64, error) {
	var c json.Number
	if err := d.Decode(&c); err != nil {
		return -1, d.Errorf("%s: %v", key, err)
	}
	v, err := c.Int64()
	if err != nil || v < 0 {
		return -1, d.Errorf("%s: not a count: %s", key, c)
	}
	return v, nil
}

// List reads the '[' that opens the value of key, which must be a list.
func (d *Decoder) List(key string) error {
	ok, err := d.ListOrNull(key)
	if err == nil && !ok {
		return d.Errorf("%s is not a list", key)
	}
	return err
}

// ListOrNull reads the '[' that opens the value of key, or a null (then
// false: some APIs write null for an empty list).
func (d *Decoder) ListOrNull(key string) (bool, error) {
	t, err := d.Token()
	switch {
	case err != nil:
		return false, d.Errorf("%s: %v", key, err)
	case t == nil:
		return false, nil
	case t != json.Delim('['):
		return false, d.Errorf("%s is not a list", key)
	}
	return true, nil
}

// Items reads the items of a list whose '[' was read, through its ']',
// and hands each to fn undecoded, with its index counted from start (an
// answer may hold several lists); it returns how many it read. Errors call
// an item a dataset: that is what the lists of catalogue answers hold.
func (d *Decoder) Items(start int, fn func(i int, raw json.RawMessage) error) (int, error) {
	n := 0
	for d.More() {
		raw, err := d.raw()
		if err != nil {
			return n, d.Errorf("dataset %d: %v", start+n+1, err)
		}
		n++
		if err := fn(start+n-1, raw); err != nil {
			return n, err
		}
	}
	return n, d.End("list")
}

// PlainString reads a JSON value that is a string written without
// escapes, in valid UTF-8 and without control characters (nearly every
// string of a catalogue answer): its text, without a decoder's second pass
// over it. ok is false for any other value, which the caller decodes as
// usual; for those it reads, the result is what json.Unmarshal into a
// string gives (FuzzPlainString).
func PlainString(b []byte) (s string, ok bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", false
	}
	in := b[1 : len(b)-1]
	for _, c := range in {
		// Bytes below 0x80 never occur inside a multi-byte UTF-8 sequence.
		if c < 0x20 || c == '"' || c == '\\' {
			return "", false
		}
	}
	if !utf8.Valid(in) {
		return "", false
	}
	return string(in), true
}
