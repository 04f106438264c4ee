package dcat

import (
	"bytes"
	"io"
	"os"
	"strconv"
	"testing"

	"github.com/opendatafrance/moisson/harvester/source"
)

// Benchmarks of Read on generated catalogues (gen_test.go), for the
// figures of the closing note; no timed assertion. MOISSON_BENCH_DATASETS
// sets the size (default 100000; JSON-LD, read whole by json-gold, uses a
// tenth of it).

func benchSize(div int) int {
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("MOISSON_BENCH_DATASETS")); err == nil && v > 0 {
		n = v
	}
	return max(n/div, 1)
}

func benchRead(b *testing.B, syntax string, n int, gen func(io.Writer, int) error) {
	var buf bytes.Buffer
	if err := gen(&buf, n); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		got := 0
		if _, err := Read(bytes.NewReader(data), syntax, "", func(source.Record) error { got++; return nil }, nil); err != nil {
			b.Fatal(err)
		}
		if got != n {
			b.Fatalf("read %d datasets, want %d", got, n)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "datasets/s")
}

func BenchmarkReadRDFXML(b *testing.B) {
	benchRead(b, RDFXML, benchSize(1), func(w io.Writer, n int) error { return genRDFXML(w, n, nested) })
}

func BenchmarkReadTurtle(b *testing.B) {
	benchRead(b, Turtle, benchSize(1), genTurtle)
}

func BenchmarkReadJSONLD(b *testing.B) {
	benchRead(b, JSONLD, benchSize(10), genJSONLD)
}
