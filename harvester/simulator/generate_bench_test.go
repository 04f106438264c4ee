package simulator

import (
	"fmt"
	"testing"
	"time"

	"github.com/opendatafrance/moisson/harvester/config"
)

// BenchmarkGenerate generates one source's catalogue at two sizes: the
// datasets/s stay the same when the cost is linear. Titles and names that
// collide get numbered suffixes; finding the next free one used to start
// from 2 each time, which made a 50 000-dataset source quadratic.
func BenchmarkGenerate(b *testing.B) {
	cfg := config.Default()
	today := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	for _, n := range []int{10000, 50000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				sim := New(cfg, Options{PerSource: map[string]int{"rennes-dcat": n}, Today: today})
				if got := len(sim.Datasets("rennes-dcat")); got != n {
					b.Fatalf("%d datasets, want %d", got, n)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "datasets/s")
		})
	}
}
