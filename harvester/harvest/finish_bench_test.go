package harvest_test

import (
	"bytes"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/harvest"
	"github.com/opendatafrance/moisson/harvester/simulator"
	"github.com/opendatafrance/moisson/harvester/source"
	"github.com/opendatafrance/moisson/harvester/source/dcat"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"google.golang.org/protobuf/proto"
)

// BenchmarkFinish completes the records of the simulator's DCAT export of
// one source (identity, plain text, SCDL, quality, content hash): the
// stage every record of every protocol goes through, on one core.
func BenchmarkFinish(b *testing.B) {
	const n = 2000
	cfg := config.Default()
	src := cfg.Source("rennes-dcat")
	if src == nil {
		b.Fatal("no source rennes-dcat")
	}
	src.Disabled = ""
	sim := simulator.New(cfg, simulator.Options{PerSource: map[string]int{"rennes-dcat": n}})
	rec := httptest.NewRecorder()
	sim.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/sim/rennes-dcat/api/explore/v2.1/catalog/exports/dcat", nil))
	var recs []source.Record
	if _, err := dcat.Read(bytes.NewReader(rec.Body.Bytes()), dcat.RDFXML, "", func(r source.Record) error {
		recs = append(recs, r)
		return nil
	}, nil); err != nil || len(recs) != n {
		b.Fatalf("read %d records: %v", len(recs), err)
	}
	work := make([]source.Record, n)
	at := time.Now()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		for j, r := range recs {
			work[j] = source.Record{Dataset: proto.Clone(r.Dataset).(*moissonv1.Dataset), Columns: r.Columns}
		}
		b.StartTimer()
		for _, r := range work {
			harvest.Finish(src, r, "run", at)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
