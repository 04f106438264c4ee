package server

// One way to write a list, whatever the route: every list answer
// (sources, runs, run errors, run changes, dead letters, coverage,
// quality, export) takes ?format=json (default) or csv (or the Accept
// header, text/csv), and for CSV ?dialect=excel-fr for the form French
// Excel opens as it is (UTF-8 BOM, ';' between cells, decimal comma).
// CSV cells a spreadsheet would run as a formula are neutralised, as OWASP
// recommends. Lists are written row by row: memory does not grow with
// them.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/reflect/protoreflect"

	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
)

// listFormat is how a list answer is written.
type listFormat struct {
	csv     bool
	excelFR bool // the CSV dialect of French Excel
}

// Dialects of CSV (?dialect=).
const (
	DialectRFC4180 = "rfc4180"
	DialectExcelFR = "excel-fr"
)

// parseListFormat reads ?format=json|csv, else the Accept header, and
// ?dialect=rfc4180|excel-fr. extra lists other formats the route takes
// (export: jsonl, ttl...): they come back in other.
func parseListFormat(r *http.Request, extra ...string) (f listFormat, other string, err error) {
	v := r.URL.Query()
	switch fm := v.Get("format"); {
	case fm == "csv":
		f.csv = true
	case fm == "json":
	case fm == "":
		for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
			if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/csv" {
				f.csv = true
			}
		}
	default:
		for _, x := range extra {
			if fm == x {
				return f, fm, nil
			}
		}
		return f, "", fmt.Errorf("format must be one of %s, got %q", strings.Join(append([]string{"json", "csv"}, extra...), ", "), fm)
	}
	switch d := v.Get("dialect"); d {
	case "", DialectRFC4180:
	case DialectExcelFR:
		f.excelFR = true
	default:
		return f, "", fmt.Errorf("dialect must be %s (the default) or %s (UTF-8 BOM, ';' separator, decimal comma, for French Excel), got %q", DialectRFC4180, DialectExcelFR, d)
	}
	if f.excelFR && !f.csv && v.Get("format") != "csv" {
		return f, "", fmt.Errorf("dialect is a parameter of CSV answers: add format=csv")
	}
	return f, "", nil
}

// listParams are the parameters parseListFormat reads.
var listParams = []string{"format", "dialect"}

// csvOut writes CSV rows.
type csvOut struct {
	cw      *csv.Writer
	bw      *bufio.Writer
	fr      bool
	numeric map[int]bool // columns of numbers (decimal comma in excel-fr; never neutralised)
	rows    int
}

// newCSV starts a CSV answer (headers, BOM) with its header row; numeric
// names the columns holding numbers.
func newCSV(w http.ResponseWriter, f listFormat, filename string, header []string, numeric ...string) *csvOut {
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	if filename != "" {
		h.Set("Content-Disposition", `attachment; filename="`+filename+`.csv"`)
	}
	bw := bufio.NewWriterSize(w, 32<<10)
	c := &csvOut{bw: bw, cw: csv.NewWriter(bw), fr: f.excelFR, numeric: map[int]bool{}}
	if f.excelFR {
		bw.WriteString("\ufeff")
		c.cw.Comma = ';'
		c.cw.UseCRLF = true
	}
	for i, name := range header {
		for _, n := range numeric {
			if n == name {
				c.numeric[i] = true
			}
		}
	}
	_ = c.cw.Write(header)
	return c
}

// row writes one row.
func (c *csvOut) row(cells ...string) error {
	for i, v := range cells {
		if c.numeric[i] {
			if c.fr {
				cells[i] = strings.Replace(v, ".", ",", 1)
			}
			continue
		}
		cells[i] = neutralise(v)
	}
	if err := c.cw.Write(cells); err != nil {
		return err
	}
	if c.rows++; c.rows%200 == 0 {
		c.cw.Flush()
	}
	return c.cw.Error()
}

// flush sends what is buffered (and to the client, when it can be).
func (c *csvOut) flush(w http.ResponseWriter) error {
	c.cw.Flush()
	if err := c.bw.Flush(); err != nil {
		return err
	}
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	return c.cw.Error()
}

// close ends the answer.
func (c *csvOut) close() error {
	c.cw.Flush()
	return c.bw.Flush()
}

// neutralise makes a cell that starts like a formula (=, +, -, @, tab,
// carriage return) text for a spreadsheet, with a leading apostrophe
// (OWASP, CSV injection).
func neutralise(v string) string {
	if v == "" {
		return v
	}
	switch v[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + v
	}
	return v
}

// jsonList writes {"<head fields>", "<name>": [ items ]} item by item.
type jsonList struct {
	bw *bufio.Writer
	n  int
}

// newJSONList starts a JSON list answer: head holds the fields before the
// list (in order), name the list's key.
func newJSONList(w http.ResponseWriter, name string, head ...any) *jsonList {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	bw := bufio.NewWriterSize(w, 32<<10)
	bw.WriteByte('{')
	for i := 0; i+1 < len(head); i += 2 {
		k, _ := json.Marshal(head[i])
		v, _ := json.Marshal(head[i+1])
		bw.Write(k)
		bw.WriteByte(':')
		bw.Write(v)
		bw.WriteByte(',')
	}
	k, _ := json.Marshal(name)
	bw.Write(k)
	bw.WriteString(":[")
	return &jsonList{bw: bw}
}

// item writes one item (a json.RawMessage is written as it is).
func (l *jsonList) item(v any) error {
	if l.n > 0 {
		l.bw.WriteByte(',')
	}
	l.n++
	if raw, ok := v.(json.RawMessage); ok {
		_, err := l.bw.Write(raw)
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = l.bw.Write(b)
	return err
}

func (l *jsonList) close() error {
	l.bw.WriteString("]}\n")
	return l.bw.Flush()
}

// eachMessage calls fn for the first total messages of subject in stream,
// oldest first, through an ordered consumer: constant memory, whatever
// the number of messages.
func eachMessage(ctx context.Context, stream jetstream.Stream, subject string, total uint64, fn func(jetstream.Msg) error) error {
	if total == 0 {
		return nil
	}
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		return err
	}
	for n := uint64(0); n < total; {
		batch, err := cons.Fetch(500, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return err
		}
		got := 0
		for m := range batch.Messages() {
			if n >= total {
				break // newer than the total announced
			}
			got++
			n++
			if err := fn(m); err != nil {
				return err
			}
		}
		if got == 0 {
			return batch.Error()
		}
	}
	return nil
}

// int64Fields are the JSON names of the 64-bit integer fields of the
// record contract: protojson writes them as strings (JSON numbers lose
// precision past 2^53), which are counts and sizes far below that here.
var int64Fields = func() *regexp.Regexp {
	names := map[string]bool{}
	var walk func(md protoreflect.MessageDescriptor)
	seen := map[protoreflect.FullName]bool{}
	walk = func(md protoreflect.MessageDescriptor) {
		if seen[md.FullName()] {
			return
		}
		seen[md.FullName()] = true
		fields := md.Fields()
		for i := 0; i < fields.Len(); i++ {
			f := fields.Get(i)
			switch f.Kind() {
			case protoreflect.Int64Kind, protoreflect.Uint64Kind, protoreflect.Sint64Kind, protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind:
				names[string(f.Name())] = true
			case protoreflect.MessageKind:
				walk(f.Message())
			}
		}
	}
	for _, m := range []protoreflect.ProtoMessage{&moissonv1.Dataset{}, &moissonv1.HarvestRun{}, &moissonv1.RecordEnvelope{}} {
		walk(m.ProtoReflect().Descriptor())
	}
	alt := make([]string, 0, len(names))
	for n := range names {
		alt = append(alt, regexp.QuoteMeta(n))
	}
	// A key is never inside a string value: quotes there are escaped.
	return regexp.MustCompile(`"(` + strings.Join(alt, "|") + `)"(\s*):(\s*)"(-?[0-9]+)"`)
}()

// int64Numbers writes the 64-bit integers of protojson output as numbers.
func int64Numbers(b []byte) []byte {
	if !bytes.Contains(b, []byte(`":`)) {
		return b
	}
	return int64Fields.ReplaceAll(b, []byte(`"$1"$2:$3$4`))
}
