package dcat

import (
	"bytes"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/simulator"
	"github.com/opendatafrance/moisson/harvester/source"
)

// Benchmarks of Read on generated catalogues (gen_test.go), for the
// figures of the closing note; no timed assertion. MOISSON_BENCH_DATASETS
// sets the size (default 100000; JSON-LD, a compact document each node of
// which json-gold expands, uses a tenth of it).

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

// BenchmarkSimulatorExport reads the portal simulator's own whole-catalogue
// exports (the shapes of an ODS export: every dataset points at shared
// nodes described again under it, its landing page is its IRI) at two
// sizes, so that a cost growing faster than the catalogue shows as a
// datasets/s falling between them. MOISSON_BENCH_SIZES sets the sizes
// (default 10000,100000).
func BenchmarkSimulatorExport(b *testing.B) {
	sizes := []int{10000, 100000}
	if v := os.Getenv("MOISSON_BENCH_SIZES"); v != "" {
		sizes = sizes[:0]
		for _, f := range strings.Split(v, ",") {
			if n, err := strconv.Atoi(f); err == nil && n > 0 {
				sizes = append(sizes, n)
			}
		}
	}
	cfg := config.Default()
	for _, s := range cfg.Sources() {
		s.Disabled = ""
	}
	for _, syn := range []struct{ name, path, syntax string }{
		{"rdfxml", "dcat", RDFXML}, {"turtle", "ttl", Turtle}, {"ntriples", "nt", NTriples}, {"jsonld", "jsonld", JSONLD},
	} {
		for _, n := range sizes {
			b.Run(fmt.Sprintf("%s/%d", syn.name, n), func(b *testing.B) {
				sim := simulator.New(cfg, simulator.Options{PerSource: map[string]int{"rennes-dcat": n}})
				rec := httptest.NewRecorder()
				sim.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/sim/rennes-dcat/api/explore/v2.1/catalog/exports/"+syn.path, nil))
				if rec.Code != 200 {
					b.Fatalf("simulator: %d", rec.Code)
				}
				data := rec.Body.Bytes()
				b.SetBytes(int64(len(data)))
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					got := 0
					if _, err := Read(bytes.NewReader(data), syn.syntax, "", func(source.Record) error { got++; return nil }, nil); err != nil {
						b.Fatal(err)
					}
					if got != n {
						b.Fatalf("read %d datasets, want %d", got, n)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "datasets/s")
			})
		}
	}
}
