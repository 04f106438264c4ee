package observatory

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opendatafrance/moisson/indexer/index"
	"github.com/opendatafrance/moisson/indexer/index/bleve"
	"github.com/opendatafrance/moisson/indexer/index/elasticsearch"
	"github.com/opendatafrance/moisson/proto/bus"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"github.com/opendatafrance/moisson/referential"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// pilots are the nine territories' geographies (as in the harvester's
// embedded configuration).
var pilots = []bus.TerritoryInfo{
	{ID: "auvergne-rhone-alpes", Territory: referential.Territory{Geography: referential.Geography{Regions: []string{"84"}}}},
	{ID: "bourgogne-franche-comte", Territory: referential.Territory{Geography: referential.Geography{Regions: []string{"27"}}}},
	{ID: "bretagne", Territory: referential.Territory{Geography: referential.Geography{Regions: []string{"53"}}}},
	{ID: "charente-maritime", Territory: referential.Territory{Geography: referential.Geography{Departements: []string{"17"}}}},
	{ID: "loire-atlantique", Territory: referential.Territory{Geography: referential.Geography{Departements: []string{"44"}}}},
	{ID: "mulhouse", Territory: referential.Territory{Geography: referential.Geography{EPCI: []string{"200066009"}}}},
	{ID: "occitanie", Territory: referential.Territory{Geography: referential.Geography{Regions: []string{"76"}}}},
	{ID: "paca", Territory: referential.Territory{Geography: referential.Geography{Regions: []string{"93"}}}},
	{ID: "val-de-marne", Territory: referential.Territory{Geography: referential.Geography{Departements: []string{"94"}}}},
}

// corpus writes n records over the nine territories: two in three
// attributed to an obliged collectivité of their territory (the large ones
// more often), three portals per territory, a month of modification over
// ten years, a quality score, an SCDL item for one in five.
func corpus(b *testing.B, x index.Index, n int) {
	ctx := context.Background()
	var ops []index.Op
	now := time.Now()
	for i := 0; i < n; i++ {
		t := pilots[i%len(pilots)]
		ob := obligedCache(t)
		// Skewed: the first (the largest communes) come back most.
		c := ob[(i*7919)%len(ob)/(1+i%7)]
		d := &moissonv1.Dataset{Id: fmt.Sprintf("r%06d", i), TerritoryId: t.ID, SourceId: fmt.Sprintf("%s-%d", t.ID, i%3),
			PortalUrl: fmt.Sprintf("https://portal%d.%s.example.fr", i%3, t.ID), Title: fmt.Sprintf("Jeu %d", i),
			LandingPage: fmt.Sprintf("https://portal%d.%s.example.fr/d/%d", i%3, t.ID, i),
			Modified:    timestamppb.New(now.AddDate(0, -(i % 120), 0)), HarvestedAt: timestamppb.New(now),
			Quality: &moissonv1.Quality{Score: int32(i % 406), Rating: "good"}}
		if i%5 == 0 {
			d.Scdl = []*moissonv1.ScdlMatch{{Item: "scdl/deliberations", Evidence: "declared"}}
		}
		if i%3 == 2 {
			d.Collectivite = &moissonv1.CollectiviteRef{How: "not-found", Publisher: fmt.Sprintf("Service %d", i%50)}
		} else {
			d.Collectivite = &moissonv1.CollectiviteRef{Key: c.Key(), Kind: string(c.Kind), Code: c.Code, Siren: c.Siren, Name: c.Name, How: "name"}
		}
		ops = append(ops, index.Op{ID: d.Id, Version: 1, Dataset: d})
		if len(ops) == 1000 {
			if _, err := x.Write(ctx, ops); err != nil {
				b.Fatal(err)
			}
			ops = ops[:0]
		}
	}
	if len(ops) > 0 {
		if _, err := x.Write(ctx, ops); err != nil {
			b.Fatal(err)
		}
	}
}

var obliged = map[string][]referential.Obligation{}

func obligedCache(t bus.TerritoryInfo) []referential.Obligation {
	if o, ok := obliged[t.ID]; ok {
		return o
	}
	o := referential.France().Area(t.Geography).Obliged(0)
	obliged[t.ID] = o
	return o
}

// timed is a Searcher that adds up the time of each kind of search.
type timed struct {
	index.Searcher
	by map[string]time.Duration
}

func (t *timed) Search(ctx context.Context, q index.Query) (*index.Result, error) {
	start := time.Now()
	res, err := t.Searcher.Search(ctx, q)
	k := strings.Join(q.Facets, "+")
	if q.Distinct {
		k += " (distinct)"
	}
	t.by[k] += time.Since(start)
	return res, err
}

func benchCompute(b *testing.B, x index.Index) {
	ctx := context.Background()
	terr := func(context.Context) ([]bus.TerritoryInfo, error) { return pilots, nil }
	tx := &timed{Searcher: x, by: map[string]time.Duration{}}
	b.ResetTimer()
	var rep *Report
	for i := 0; i < b.N; i++ {
		var err error
		if rep, err = Compute(ctx, tx, terr, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	for k, d := range tx.by {
		b.Logf("searches %s: %s per report", k, (d / time.Duration(b.N)).Round(time.Millisecond))
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/report")
	b.Logf("%d records, %d collectivités, %d obliged, %d publishing", rep.Total.Records, len(rep.Collectivites), rep.Total.Obliged, rep.Total.Publishing)
}

// BenchmarkObservatory100k: GET /v1/observatory computed (no cache) over
// 100k records, embedded index.
//
//	go test -run '^$' -bench Observatory100k -benchtime 3x ./api/observatory
func BenchmarkObservatory100kBleve(b *testing.B) {
	x, err := bleve.Open(filepath.Join(b.TempDir(), "index"))
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	corpus(b, x, 100_000)
	benchCompute(b, x)
}

// BenchmarkObservatory100kElasticsearch: the same on Elasticsearch
// (MOISSON_ES_URL).
func BenchmarkObservatory100kElasticsearch(b *testing.B) {
	u := os.Getenv("MOISSON_ES_URL")
	if u == "" {
		b.Skip("MOISSON_ES_URL is not set")
	}
	r := make([]byte, 5)
	rand.Read(r)
	ctx := context.Background()
	x, err := elasticsearch.New(ctx, elasticsearch.Config{URL: u, Alias: "moisson-bench-obs-" + hex.EncodeToString(r)})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = x.Drop(ctx)
		x.Close()
	}()
	corpus(b, x, 100_000)
	if err := x.Refresh(ctx); err != nil {
		b.Fatal(err)
	}
	// What a user of Elasticsearch would write instead: per territory one
	// search whose aggregations compute the same per collectivité (records,
	// portals, SCDL evidence, last modification, fresh records, mean
	// quality). Timed in the same run, for the ratio.
	raw := func() {
		for _, t := range pilots {
			q := `{"size":0,"query":{"term":{"territory":"` + t.ID + `"}},"aggs":{"c":{"terms":{"field":"collectivite","size":60000},"aggs":{` +
				`"portals":{"terms":{"field":"portal","size":100}},"ev":{"terms":{"field":"schema_evidence","size":100}},` +
				`"last":{"max":{"field":"modified"}},"fresh":{"filter":{"range":{"modified":{"gte":"now-12M"}}}},` +
				`"q":{"avg":{"field":"quality_score_n"}}}},"u":{"terms":{"field":"unresolved","size":60000}},` +
				`"m":{"terms":{"field":"first_month","size":1000}}}}`
			res, err := http.Post(u+"/"+x.Alias()+"/_search", "application/json", strings.NewReader(q))
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				b.Fatalf("raw aggregation: %d", res.StatusCode)
			}
		}
	}
	raw()
	start := time.Now()
	for i := 0; i < 3; i++ {
		raw()
	}
	rawMs := float64(time.Since(start).Milliseconds()) / 3
	benchCompute(b, x)
	ours := float64(b.Elapsed().Milliseconds()) / float64(b.N)
	b.ReportMetric(rawMs, "ms/raw-es-aggregations")
	b.ReportMetric(ours/rawMs, "ratio-vs-raw")
}
