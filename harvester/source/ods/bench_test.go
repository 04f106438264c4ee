package ods

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/simulator"
	"github.com/opendatafrance/moisson/harvester/source/sourcetest"
)

// BenchmarkReadODS reads a 100k-dataset ODS Explore v2.1 catalogue (the
// simulator's exports/json listing of one portal) through Read; reports
// datasets/s and bytes allocated. No timed assertion.
func BenchmarkReadODS(b *testing.B) {
	const n = 100000
	cfg := config.Default()
	sim := simulator.New(cfg, simulator.Options{PerSource: map[string]int{"bretagne-ods": n}})
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + "/sim/bretagne-ods/api/explore/v2.1/catalog/exports/json")
	if err != nil {
		b.Fatal(err)
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		b.Fatalf("%d %v", resp.StatusCode, err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sink := &sourcetest.Count{}
		if err := Read(context.Background(), bytes.NewReader(data), "", sink); err != nil {
			b.Fatal(err)
		}
		if sink.N != n {
			b.Fatalf("read %d datasets, want %d", sink.N, n)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "datasets/s")
}
