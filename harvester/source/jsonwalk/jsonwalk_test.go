package jsonwalk

import (
	"bytes"
	stdjson "encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	json "github.com/go-json-experiment/json/v1"

	"github.com/opendatafrance/moisson/harvester/source"
)

// walk reads {"total": N, "results": [...] | null, ...} the way adapters
// do, numbering items from 10 to check that indexes carry on.
func walk(doc string) (total int64, ids []int, err error) {
	d := NewDecoder(strings.NewReader(doc), "test")
	if _, err := d.Open(); err != nil {
		return -1, nil, err
	}
	total = -1
	err = d.Object("answer", func(key string) error {
		var err error
		switch key {
		case "total":
			total, err = d.Count(key)
		case "offset":
			_, err = d.Int(key)
		case "results":
			var ok bool
			if ok, err = d.ListOrNull(key); ok {
				_, err = d.Items(10, func(i int, raw json.RawMessage) error {
					ids = append(ids, i)
					return nil
				})
			}
		default:
			err = d.Skip()
		}
		return err
	})
	return total, ids, err
}

func TestWalk(t *testing.T) {
	total, ids, err := walk(`{"total": 2, "offset": -5, "x": {"y": [1]}, "results": [{"a": 1}, {"b": [2]}]}`)
	if err != nil || total != 2 || len(ids) != 2 || ids[0] != 10 || ids[1] != 11 {
		t.Fatalf("total %d ids %v err %v", total, ids, err)
	}
	if _, ids, err := walk(`{"results": null}`); err != nil || len(ids) != 0 {
		t.Fatalf("null list: %v %v", ids, err)
	}
	for doc, want := range map[string]string{
		`nope`:                          "test: at byte 0: not JSON",
		`{"total": -1}`:                 "total: not a count: -1",
		`{"total": 1.5}`:                "total: not a count: 1.5",
		`{"offset": 1.5}`:               "offset: not an integer: 1.5",
		`{"results": {}}`:               "results is not a list",
		`{"results": [{"a": 1}, {"b"`:   "dataset 12:",
		`{"results": [{"a": 1}`:         "truncated list",
		`{"total": 1, "results": []`:    "truncated answer",
		`{"total": 1, "results": [] 3}`: "invalid character '3'",
	} {
		_, _, err := walk(doc)
		var pe *source.ParseError
		if !errors.As(err, &pe) || pe.Protocol != "test" || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want a ParseError with %q", doc, err, want)
		}
	}
}

// The offset of an error is where the decoder stood when it was found.
func TestErrorOffset(t *testing.T) {
	doc := `{"results": [{"a": 1}, {"a": 2}, "x"]}`
	d := NewDecoder(strings.NewReader(doc), "test")
	_, _ = d.Open()
	err := d.Object("answer", func(key string) error {
		if err := d.List(key); err != nil {
			return err
		}
		_, err := d.Items(0, func(i int, raw json.RawMessage) error {
			if raw[0] != '{' {
				return d.Errorf("dataset %d is not an object", i+1)
			}
			return nil
		})
		return err
	})
	var pe *source.ParseError
	if !errors.As(err, &pe) || pe.Offset != int64(strings.Index(doc, `"x"`)+3) {
		t.Fatalf("%v, want an error just after \"x\"", err)
	}
}

func FuzzPlainString(f *testing.F) {
	for _, s := range []string{`"Plan local d'urbanisme"`, `"Lyon – Métropole"`, `"a\"b"`, `"a\\nb"`, "\"a\tb\"", `"\xff"`, `""`, `"`, `null`, `12`, `"a"b"`, `["a"]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := PlainString(b)
		var want string
		err := json.Unmarshal(b, &want)
		if ok && (err != nil || got != want) {
			t.Fatalf("PlainString(%q) = %q, json.Unmarshal gives %q, %v", b, got, want, err)
		}
		if !ok && err == nil && !bytes.ContainsAny(b, "\\\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\v\f\r") && utf8.Valid(b) && len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
			t.Fatalf("PlainString(%q) refused a plain string", b)
		}
	})
}

// FuzzTokens: the walk reads the tokens encoding/json's Decoder (with
// UseNumber) reads, on any input the latter reads through; where the
// latter fails, the walk fails too.
func FuzzTokens(f *testing.F) {
	for _, s := range []string{`{"total_count": 12, "results": [{"a": [1, 2.5e3, true, null, "x\u00e9\n"]}]}`, `[{"id": "\ud83d\ude00"}, {}]`, `{"a":}`, `{"a": 1`, `"\xff"`, `{"a": 1, "a": 2}`, `[1e999]`, `  {} `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		std := stdjson.NewDecoder(bytes.NewReader(b))
		std.UseNumber()
		walk := NewDecoder(bytes.NewReader(b), "fuzz")
		for i := 0; ; i++ {
			want, werr := std.Token()
			got, gerr := walk.Token()
			if werr != nil {
				if werr != io.EOF && gerr == nil && i < 1000 {
					// encoding/json checks what may follow a token as it
					// reads it, jsontext when it reads the next one.
					if _, gerr = walk.Token(); gerr == nil {
						t.Fatalf("token %d: encoding/json fails (%v), the walk reads %#v", i, werr, got)
					}
				}
				return
			}
			if gerr != nil {
				t.Fatalf("token %d: encoding/json reads %#v, the walk fails: %v", i, want, gerr)
			}
			if fmt.Sprint(want) != fmt.Sprint(got) {
				t.Fatalf("token %d: encoding/json reads %#v, the walk %#v", i, want, got)
			}
		}
	})
}

// FuzzValue: Value gives what encoding/json's Decoder with UseNumber
// decodes into an any, value after value, on any input the latter reads;
// where the latter fails, Value fails too.
func FuzzValue(f *testing.F) {
	for _, s := range []string{`{"@id": "x", "n": [1, 2.5e3, -0, true, null, {"@value": "é\u00e9", "@language": "fr"}], "n": {}} []`, `[{"a": 1}, "\xff", "\ud800"]`, `{"a":}`, `{"a": 1`, `{"a": 1]`, `  1e999 "x" `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		std := stdjson.NewDecoder(bytes.NewReader(b))
		std.UseNumber()
		walk := NewDecoder(bytes.NewReader(b), "fuzz")
		for i := 0; i < 100; i++ {
			var want any
			werr := std.Decode(&want)
			got, gerr := walk.Value()
			if werr != nil {
				if werr != io.EOF && gerr == nil {
					t.Fatalf("value %d: encoding/json fails (%v), Value reads %#v", i, werr, got)
				}
				return
			}
			if gerr != nil {
				t.Fatalf("value %d: encoding/json reads %#v, Value fails: %v", i, want, gerr)
			}
			if !reflect.DeepEqual(want, got) {
				t.Fatalf("value %d: encoding/json reads %#v, Value %#v", i, want, got)
			}
		}
	})
}

// TestValueDepth: Value recurses per level; nesting is bounded (jsontext
// stops at 10 000 levels), so a hostile document is an error, not a stack
// grown without end.
func TestValueDepth(t *testing.T) {
	doc := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	if _, err := NewDecoder(strings.NewReader(doc), "test").Value(); err == nil || !strings.Contains(err.Error(), "depth") {
		t.Fatalf("20 000 nested lists: %v, want a depth error", err)
	}
	doc = strings.Repeat("[", 100) + strings.Repeat("]", 100)
	if _, err := NewDecoder(strings.NewReader(doc), "test").Value(); err != nil {
		t.Fatalf("100 nested lists: %v", err)
	}
}
