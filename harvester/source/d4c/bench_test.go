package d4c

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/opendatafrance/moisson/harvester/source/sourcetest"
)

// BenchmarkReadD4C reads a generated catalogue answer of 100000 CKAN
// packages with DataStore fields (MOISSON_BENCH_DATASETS) through Read; no
// timed assertion.
func BenchmarkReadD4C(b *testing.B) {
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("MOISSON_BENCH_DATASETS")); err == nil && v > 0 {
		n = v
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, `{"help": "/d4c/api/datasets/2.0/search", "success": true, "result": {"count": %d, "results": [`, n)
	for i := 0; i < n; i++ {
		if i > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, `{"id": "id-%d", "name": "equipements-%d", "title": "Équipements publics n°%d",
 "notes": "Jeu de données publié par la collectivité dans le cadre de l'ouverture des données publiques. Il est mis à jour régulièrement.",
 "license_id": "fr-lo", "license_title": "Licence Ouverte", "metadata_created": "2021-03-04T10:00:00.123456", "metadata_modified": "2024-05-%02dT08:30:00.654321",
 "organization": {"id": "org-%d", "name": "ville-%d", "title": "Ville %d"},
 "tags": [{"name": "équipements"}, {"name": "services"}, {"name": "k%d"}],
 "resources": [{"id": "r1-%d", "name": "Export CSV", "url": "https://data.example.fr/ds/%d.csv", "format": "CSV"}],
 "fields": [{"id": "_id"}, {"id": "nom"}, {"id": "adresse"}, {"id": "code_insee"}]}`,
			i, i, i, 1+i%28, i%50, i%50, i%50, i%100, i, i)
	}
	buf.WriteString(`]}}`)
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var s sourcetest.Count
		if err := Read(context.Background(), bytes.NewReader(data), "https://data.example.fr/d4c/api/datasets/2.0/search/", &s); err != nil {
			b.Fatal(err)
		}
		if s.N != n {
			b.Fatalf("read %d, want %d (%s)", s.N, n, s.Last)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "datasets/s")
}
