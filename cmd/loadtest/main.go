// Command loadtest measures the API under a mixed load: it starts the
// all-in-one on the simulator (embedded index, or Elasticsearch with
// -es-url), waits until every simulated dataset is searchable, then sends
// requests at a fixed rate (open loop: a slow answer does not slow the
// load) — full-text searches with facets, filtered searches, coverage — and
// reports the latency percentiles and the errors.
//
//	go run ./cmd/loadtest -datasets 100000 -rate 200 -duration 60s
//	go run ./cmd/loadtest -es-url http://127.0.0.1:9200 ...
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	_ "net/http/pprof"
	"net/url"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/opendatafrance/moisson/app"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

var words = []string{"deliberation", "délibérations conseil", "equipements sportifs", "budget primitif", "subventions associations",
	"qualité de l'air", "stationnement", "piscines", "arbres", "vélo", "prénoms", "l'eau potable", "déchets", "transports",
	"élections", "marchés publics", "bornes de recharge", "défibrillateurs", "adresses", "menus scolaires"}
var territories = []string{"auvergne-rhone-alpes", "bourgogne-franche-comte", "bretagne", "charente-maritime",
	"loire-atlantique", "mulhouse", "occitanie", "paca", "val-de-marne"}
var formats = []string{"CSV", "JSON", "GeoJSON", "SHP", "XLSX", "PDF"}

// request picks one request of the mix: 50 % full text with facets, 30 %
// filters with facets, 20 % coverage.
func request(base string, r *rand.Rand) (kind, u string) {
	switch p := r.IntN(100); {
	case p < 50:
		q := url.Values{"q": {words[r.IntN(len(words))]}, "size": {"20"}}
		return "fulltext", base + "/v1/datasets?" + q.Encode()
	case p < 80:
		q := url.Values{"territory": {territories[r.IntN(len(territories))]}, "format": {formats[r.IntN(len(formats))]}, "size": {"20"}}
		if r.IntN(2) == 0 {
			q.Set("q", words[r.IntN(len(words))])
		}
		return "filtered", base + "/v1/datasets?" + q.Encode()
	default:
		return "coverage", base + "/v1/coverage"
	}
}

func main() {
	datasets := flag.Int("datasets", 100000, "datasets in all (spread over the simulated sources)")
	rate := flag.Int("rate", 200, "requests per second")
	duration := flag.Duration("duration", 60*time.Second, "how long the load lasts")
	esURL := flag.String("es-url", "", "index into this Elasticsearch (default: the embedded index)")
	data := flag.String("data", "", "data directory, kept (default: a temporary one)")
	pprofAddr := flag.String("pprof", "", "serve net/http/pprof on this address while running")
	hold := flag.Duration("hold", 0, "keep serving this long after the load (to look at it)")
	noCache := flag.Bool("no-cache", false, "switch the search result cache off")
	flag.Parse()
	if *pprofAddr != "" {
		go func() { fmt.Fprintln(os.Stderr, http.ListenAndServe(*pprofAddr, nil)) }()
	}

	dir := *data
	if dir == "" {
		d, err := os.MkdirTemp("", "moisson-loadtest-")
		if err != nil {
			fail(err)
		}
		defer os.RemoveAll(d)
		dir = d
	}
	ctx := context.Background()
	probeDir, err := os.MkdirTemp("", "moisson-loadtest-probe-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(probeDir)
	probe, err := app.Start(ctx, app.Options{DataDir: probeDir, Addr: "127.0.0.1:0", Simulate: true, SimDatasets: 1, NoHarvest: true})
	if err != nil {
		fail(err)
	}
	sources := 0
	for _, s := range probe.Config().Sources() {
		if s.Disabled == "" {
			sources++
		}
	}
	probe.Close()
	perSource := (*datasets + sources - 1) / sources
	alias := fmt.Sprintf("moisson-loadtest-%d", time.Now().Unix())
	start := time.Now()
	a, err := app.Start(ctx, app.Options{DataDir: dir, Addr: "127.0.0.1:0", Simulate: true, SimDatasets: perSource,
		Concurrency: 4, ESURL: *esURL, ESAlias: alias, NoCache: *noCache, Log: zap.NewNop()})
	if err != nil {
		fail(err)
	}
	defer a.Close()
	total := int64(a.Simulator().Total())
	fmt.Printf("backend: %s; harvesting and indexing %d datasets (%d sources × %d)\n", backend(*esURL), total, sources, perSource)
	for {
		n, _ := a.IndexCount(ctx)
		p, _ := a.Pending(ctx)
		if n == total && p == 0 {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	took := time.Since(start)
	fmt.Printf("searchable after %s (%.0f datasets/s end to end)\n", took.Round(100*time.Millisecond), float64(total)/took.Seconds())

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	// Warm up the caches a little, as a running service would be.
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 50; i++ {
		_, u := request(a.APIURL(), rng)
		if resp, err := client.Get(u); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	type result struct {
		kind string
		d    time.Duration
		err  bool
	}
	var mu sync.Mutex
	var results []result
	var wg sync.WaitGroup
	// Open loop: request i leaves at start + i/rate whatever happened to the
	// others (a late sender catches up), so a slow server gets the full load.
	interval := time.Second / time.Duration(*rate)
	requests := int(*duration / interval)
	begin := time.Now()
	sent := 0
	for i := 0; i < requests; i++ {
		if d := time.Until(begin.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		kind, u := request(a.APIURL(), rng)
		sent++
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			resp, err := client.Get(u)
			bad := err != nil
			if err == nil {
				_, cerr := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				bad = cerr != nil || resp.StatusCode != http.StatusOK
			}
			d := time.Since(t0)
			mu.Lock()
			results = append(results, result{kind, d, bad})
			mu.Unlock()
		}()
	}
	wg.Wait()
	report := func(name string, keep func(result) bool) {
		var ds []time.Duration
		errs := 0
		for _, r := range results {
			if keep(r) {
				ds = append(ds, r.d)
				if r.err {
					errs++
				}
			}
		}
		if len(ds) == 0 {
			return
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		pct := func(p float64) time.Duration { return ds[min(len(ds)-1, int(p*float64(len(ds))))] }
		fmt.Printf("%-9s %6d requests  p50 %7.1f ms  p99 %7.1f ms  max %7.1f ms  errors %d\n", name, len(ds),
			ms(pct(0.50)), ms(pct(0.99)), ms(ds[len(ds)-1]), errs)
	}
	fmt.Printf("load: %d requests at %d/s for %s (result cache: %s)\n", sent, *rate, *duration, map[bool]string{true: "off", false: "on"}[*noCache])
	report("all", func(result) bool { return true })
	for _, k := range []string{"fulltext", "filtered", "coverage"} {
		report(k, func(r result) bool { return r.kind == k })
	}
	if mfs, err := prometheus.DefaultGatherer.Gather(); err == nil {
		vals := map[string]float64{}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				if m.GetCounter() != nil {
					vals[mf.GetName()] += m.GetCounter().GetValue()
				}
			}
		}
		hits, misses := vals["moisson_search_cache_hits_total"], vals["moisson_search_cache_misses_total"]
		if hits+misses > 0 {
			fmt.Printf("searches behind the requests: %.0f, of which %.0f %% from the cache\n", hits+misses, 100*hits/(hits+misses))
		}
	}
	if *hold > 0 {
		fmt.Println("API on", a.APIURL(), "for", *hold)
		time.Sleep(*hold)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func backend(es string) string {
	if es == "" {
		return "embedded (bleve)"
	}
	return "Elasticsearch " + es
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "loadtest:", err)
	os.Exit(1)
}
