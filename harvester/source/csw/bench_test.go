package csw

import (
	"bytes"
	"net/url"
	"testing"

	"github.com/opendatafrance/moisson/harvester/source"
	"github.com/opendatafrance/moisson/harvester/source/sourcetest"
)

// BenchmarkReadResponse reads GetRecords answers of 1000 records, as the
// simulator serves them (ISO 19139 and Dublin Core), through ReadResponse;
// no timed assertion.
func BenchmarkReadResponse(b *testing.B) {
	const n = 1000
	sim, src := sourcetest.ServeSource(b, "geobretagne-csw", n, nil)
	for _, schema := range []struct{ name, uri string }{{"iso19139", nsGMD}, {"dublin-core", nsCSW}} {
		b.Run(schema.name, func(b *testing.B) {
			u, _ := url.Parse(src.Endpoint)
			q := url.Values{"service": {"CSW"}, "version": {"2.0.2"}, "request": {"GetRecords"}, "typeNames": {"csw:Record"},
				"resultType": {"results"}, "elementSetName": {"full"}, "outputSchema": {schema.uri}, "maxRecords": {"1000"}, "startPosition": {"1"}}
			data := sim.Get(b, u.Path+"?"+q.Encode())
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				got := 0
				_, err := ReadResponse(bytes.NewReader(data), Options{Base: src.Endpoint}, func(source.Record) error { got++; return nil },
					func(p source.Problem) { b.Fatal(p) })
				if err != nil {
					b.Fatal(err)
				}
				if got != n {
					b.Fatalf("read %d records, want %d", got, n)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "datasets/s")
		})
	}
}
