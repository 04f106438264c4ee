package rdf

import (
	"bytes"
	"testing"
)

const benchDatasets = 10000

func benchCatalogue(b *testing.B, write func(*bytes.Buffer, int) error, parse func(*bytes.Reader, Handler) error) {
	var buf bytes.Buffer
	if err := write(&buf, benchDatasets); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		err := parse(bytes.NewReader(data), func(Triple) error { n++; return nil })
		if err != nil {
			b.Fatal(err)
		}
		if want := benchDatasets*triplesPerDataset + 1; n != want {
			b.Fatalf("got %d triples, want %d", n, want)
		}
	}
	b.ReportMetric(float64(benchDatasets)*float64(b.N)/b.Elapsed().Seconds(), "datasets/s")
}

func BenchmarkTurtleCatalogue(b *testing.B) {
	benchCatalogue(b,
		func(w *bytes.Buffer, n int) error { return writeCatalogueTurtle(w, n) },
		func(r *bytes.Reader, h Handler) error { return ParseTurtle(r, "", h) })
}

func BenchmarkRDFXMLCatalogue(b *testing.B) {
	benchCatalogue(b,
		func(w *bytes.Buffer, n int) error { return writeCatalogueRDFXML(w, n) },
		func(r *bytes.Reader, h Handler) error { return ParseRDFXML(r, "", h) })
}
