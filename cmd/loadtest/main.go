// Command loadtest measures the API under a mixed load: it starts the
// all-in-one on the simulator (embedded index, or Elasticsearch with
// -es-url), waits until every simulated dataset is searchable, then sends
// requests at a fixed rate (open loop: a slow answer does not slow the
// load) — full-text searches with facets, filtered searches, coverage — and
// reports the latency percentiles and the errors.
//
//	go run ./cmd/loadtest -datasets 100000 -rate 200 -duration 60s
//	go run ./cmd/loadtest -es-url http://127.0.0.1:9200 ...
//
// -timeline 5s also reports each 5 s of the load with the searches the
// index computed then and where the CPU went (this process, the
// Elasticsearch node, the rest of the machine). To try again without
// harvesting again, keep the data (-data dir, and -es-alias name with
// Elasticsearch) and add -reuse the next times.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	_ "net/http/pprof"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opendatafrance/moisson/api/server"
	"github.com/opendatafrance/moisson/app"
	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/simulator"
	"github.com/opendatafrance/moisson/indexer/index"
	"github.com/opendatafrance/moisson/indexer/index/bleve"
	"github.com/opendatafrance/moisson/indexer/index/elasticsearch"
	indexopen "github.com/opendatafrance/moisson/indexer/index/open"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"github.com/opendatafrance/moisson/service"
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
	cpuProfile := flag.String("cpuprofile", "", "write the CPU profile of the harvest-to-searchable phase to FILE.pipeline,\n"+
		"and with -stage that of the index writes alone to FILE.stage")
	hold := flag.Duration("hold", 0, "keep serving this long after the load (to look at it)")
	noCache := flag.Bool("no-cache", false, "switch the search result cache off")
	esAlias := flag.String("es-alias", "", "Elasticsearch alias, kept after the run (default: a new one, moisson-loadtest-<time>, dropped at the end)")
	reuse := flag.Bool("reuse", false, "reuse the index that -data (and -es-alias) already hold: no harvest")
	timeline := flag.Duration("timeline", 0, "also report the requests sent in each window this long")
	stage := flag.Bool("stage", false, "after the load, write the same records into a fresh index of the same backend alone\n"+
		"(batches of 500, two in flight, as the indexer does) and report the pipeline's rate against that stage's")
	concurrency := flag.Int("concurrency", 4, "sources harvested at once")
	lazyPortals := flag.Bool("lazy-portals", false, "let the simulator generate a source's datasets on its first request, inside the\n"+
		"measured harvest (default: before the clock, as real portals have their catalogues)")
	progress := flag.Bool("progress", false, "print the indexed and pending counts every 2 s while harvesting")
	backendOnly := flag.Bool("backend-only", false, "with -reuse: compute, one after the other and straight on the index (no API, no cache),\n"+
		"the distinct searches of the requests the load would send, and report how long the index takes")
	flag.Parse()
	service.TuneGC(zap.NewNop()) // as the services run
	if *backendOnly {
		if !*reuse {
			fail(fmt.Errorf("-backend-only needs -reuse"))
		}
		backendTimes(*data, *esURL, *esAlias, *rate, *duration, *timeline)
		return
	}
	if *reuse && (*data == "" || (*esURL != "" && *esAlias == "")) {
		fail(fmt.Errorf("-reuse needs -data, and -es-alias with -es-url"))
	}
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
	cfg := config.Default()
	sources := simulator.New(cfg, simulator.Options{DatasetsPerSource: 1}).Total()
	perSource := (*datasets + sources - 1) / sources
	alias := *esAlias
	if alias == "" {
		alias = fmt.Sprintf("moisson-loadtest-%d", time.Now().Unix())
	}
	// The portals have their catalogues before the harvest starts: the
	// simulator generates them before the clock, unless -lazy-portals
	// (then on each source's first request, as the all-in-one does).
	sim := simulator.New(cfg, simulator.Options{DatasetsPerSource: perSource})
	if !*lazyPortals {
		t0 := time.Now()
		sim.Prepare()
		fmt.Printf("portals' catalogues generated in %s, before the clock\n", time.Since(t0).Round(10*time.Millisecond))
	}
	stopProfile := startProfile(*cpuProfile, "pipeline")
	start, startCPU := time.Now(), procTicks("self")
	a, err := app.Start(ctx, app.Options{DataDir: dir, Addr: "127.0.0.1:0", Config: cfg, Simulator: sim,
		Concurrency: *concurrency, ESURL: *esURL, ESAlias: alias, NoCache: *noCache, NoHarvest: *reuse, Log: zap.NewNop()})
	if err != nil {
		fail(err)
	}
	defer a.Close()
	if es, ok := a.Index().(*elasticsearch.Index); ok && *esAlias == "" {
		// An index of its own: dropped at the end, so that runs do not pile
		// 100k-record indices up in Elasticsearch's heap (-es-alias keeps it).
		defer es.Drop(context.Background())
	}
	total := int64(a.Simulator().Total())
	fmt.Printf("backend: %s; harvesting and indexing %d datasets (%d sources × %d)\n", backend(*esURL), total, sources, perSource)
	var lastProgress time.Time
	for {
		n, _ := a.IndexCount(ctx)
		p, _ := a.Pending(ctx)
		if n == total && p == 0 {
			break
		}
		if *progress && time.Since(lastProgress) >= 2*time.Second {
			lastProgress = time.Now()
			bn, bs, _, _ := histogram("moisson_indexer_batch_seconds")
			fmt.Printf("  %5.1fs indexed %6d, pending %6d, batches %d (%.1f s)\n", time.Since(start).Seconds(), n, p, bn, bs)
		}
		if *reuse {
			fail(fmt.Errorf("-reuse: the index holds %d datasets (%d pending), not %d: run once without -reuse", n, p, total))
		}
		// Polled often enough not to add to what is measured: one count
		// of the index and one consumer info every 50 ms.
		time.Sleep(50 * time.Millisecond)
	}
	took := time.Since(start)
	stopProfile()
	pipelineRate := float64(total) / took.Seconds()
	fmt.Printf("searchable after %s (%.0f datasets/s end to end), %.1f CPU-seconds\n", took.Round(100*time.Millisecond), pipelineRate, (procTicks("self")-startCPU)/100)
	if *stage && !*reuse {
		defer func() {
			rate, err := writeStage(ctx, a.Index(), *esURL, alias, *cpuProfile)
			if err != nil {
				fail(err)
			}
			fmt.Printf("index writes alone (same records, fresh index, batches of 500): %.0f records/s; whole pipeline %.0f datasets/s: ratio %.2f\n",
				rate, pipelineRate, pipelineRate/rate)
		}()
	}

	// "With 100k datasets indexed": the load starts once the index is at
	// rest, its generation (what the result cache keys on) the same for 3 s
	// and, on Elasticsearch, no merge running: the last refresh and the
	// merges of the bulk load land here, not in the measured minute.
	if g, ok := a.Index().(index.Generational); ok {
		settle := time.Now()
		last, since := g.Generation(), time.Now()
		for (time.Since(since) < 3*time.Second || esMerging(*esURL, alias)) && time.Since(settle) < 2*time.Minute {
			time.Sleep(250 * time.Millisecond)
			if v := g.Generation(); v != last {
				last, since = v, time.Now()
			}
		}
		fmt.Printf("index at rest %s later", time.Since(settle).Round(100*time.Millisecond))
		if b, ok := a.Index().(*bleve.Index); ok {
			fmt.Printf(", %d segments", b.Segments())
		}
		fmt.Println()
	}
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
		at   time.Duration // when it was sent, from the start of the load
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
	// The searches the index computed (cache misses) and where the CPU
	// went, sampled per window.
	var missMu sync.Mutex
	var missAt []float64
	var cpuAt []cpuUse
	stopSampling := make(chan struct{})
	if *timeline > 0 {
		go func() {
			t := time.NewTicker(*timeline)
			defer t.Stop()
			prev := counters()["moisson_search_cache_misses_total"]
			prevCPU := readCPU()
			for {
				select {
				case <-stopSampling:
					return
				case <-t.C:
				}
				m, c := counters()["moisson_search_cache_misses_total"], readCPU()
				missMu.Lock()
				missAt = append(missAt, m-prev)
				cpuAt = append(cpuAt, c.since(prevCPU))
				missMu.Unlock()
				prev, prevCPU = m, c
			}
		}()
	}
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
			at := t0.Sub(begin)
			resp, err := client.Get(u)
			bad := err != nil
			if err == nil {
				_, cerr := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				bad = cerr != nil || resp.StatusCode != http.StatusOK
			}
			d := time.Since(t0)
			mu.Lock()
			results = append(results, result{kind, at, d, bad})
			mu.Unlock()
		}()
	}
	wg.Wait()
	close(stopSampling)
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
	if *timeline > 0 {
		fmt.Printf("timeline (by the time a request was sent; misses: searches computed by the index; cpu: cores busy in\n" +
			"this process (API, index, load generator), in Elasticsearch, and in everything else on the machine):\n")
		missMu.Lock()
		for w := 0; time.Duration(w)**timeline < *duration; w++ {
			from, to := time.Duration(w)**timeline, time.Duration(w+1)**timeline
			name := fmt.Sprintf("%5.1f s", from.Seconds())
			if w < len(missAt) {
				name += fmt.Sprintf(" misses %4.0f cpu %s", missAt[w], cpuAt[w])
			}
			report(name, func(r result) bool { return r.at >= from && r.at < to })
		}
		missMu.Unlock()
	}
	if n, sum, bounds, cum := histogram("moisson_search_cache_compute_seconds"); n > 0 {
		q := func(p float64) float64 {
			for i, c := range cum {
				if float64(c) >= p*float64(n) {
					return bounds[i] * 1000
				}
			}
			return math.Inf(1)
		}
		fmt.Printf("searches computed by the index (cache misses and refreshes, warm-up included): %d, mean %.1f ms, p50 ≤ %.1f ms, p99 ≤ %.1f ms\n",
			n, 1000*sum/float64(n), q(0.5), q(0.99))
	}
	vals := counters()
	hits, misses := vals["moisson_search_cache_hits_total"], vals["moisson_search_cache_misses_total"]
	if hits+misses > 0 {
		fmt.Printf("searches behind the requests: %.0f, of which %.1f %% from the cache (%.0f past their TTL, while refreshed: %.0f background refreshes)\n",
			hits+misses, 100*hits/(hits+misses), vals["moisson_search_cache_stale_total"], vals["moisson_search_cache_refreshes_total"])
	}
	if *hold > 0 {
		fmt.Println("API on", a.APIURL(), "for", *hold)
		time.Sleep(*hold)
	}
}

// backendTimes computes the distinct searches of the load straight on the
// index, one at a time: what an empty result cache must have the index
// compute, and how long that takes on its own.
func backendTimes(dir, esURL, alias string, rate int, duration, window time.Duration) {
	ctx := context.Background()
	var idx index.Index
	var err error
	if esURL != "" {
		idx, err = elasticsearch.New(ctx, elasticsearch.Config{URL: esURL, Alias: alias})
	} else {
		idx, err = bleve.Open(filepath.Join(dir, "index"))
	}
	if err != nil {
		fail(err)
	}
	defer idx.Close()
	fmt.Printf("backend only: %s\n", backend(esURL))
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 50; i++ { // the warm-up of the load
		request("", rng)
	}
	interval := time.Second / time.Duration(rate)
	if window <= 0 {
		window = duration
	}
	seen := map[string]bool{}
	type timing struct {
		kind string
		at   time.Duration
		d    time.Duration
	}
	var ts []timing
	now := time.Now().Truncate(time.Minute)
	for i := 0; i < int(duration/interval); i++ {
		kind, u := request("", rng)
		if seen[u] {
			continue
		}
		seen[u] = true
		pu, err := url.Parse(u)
		if err != nil {
			fail(err)
		}
		t0 := time.Now()
		if kind == "coverage" {
			_, err = index.Coverage(ctx, idx, index.Query{}, now)
		} else {
			var q index.Query
			if q, err = server.ParseQuery(pu.Query()); err == nil {
				_, err = idx.Search(ctx, q)
			}
		}
		if err != nil {
			fail(err)
		}
		ts = append(ts, timing{kind, time.Duration(i) * interval, time.Since(t0)})
	}
	for w := time.Duration(0); w < duration; w += window {
		var ds []time.Duration
		var sum time.Duration
		for _, t := range ts {
			if t.at >= w && t.at < w+window {
				ds = append(ds, t.d)
				sum += t.d
			}
		}
		if len(ds) == 0 {
			continue
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		fmt.Printf("requests sent %5.1f-%5.1f s: %4d new searches, %6.0f ms of index time (p50 %6.1f ms, max %7.1f ms)\n",
			w.Seconds(), (w + window).Seconds(), len(ds), ms(sum), ms(ds[len(ds)/2]), ms(ds[len(ds)-1]))
	}
}

// cpuUse is CPU time in ticks (/proc, Linux): this process, the
// Elasticsearch node on this machine if any, the whole machine; or, from
// since, the cores each kept busy.
type cpuUse struct {
	self, es, busy float64
	at             time.Time
}

func (c cpuUse) since(prev cpuUse) cpuUse {
	secs := c.at.Sub(prev.at).Seconds() * 100 // ticks per second
	if secs <= 0 {
		return cpuUse{}
	}
	return cpuUse{self: (c.self - prev.self) / secs, es: (c.es - prev.es) / secs, busy: (c.busy - prev.busy) / secs}
}

func (c cpuUse) String() string {
	return fmt.Sprintf("%.1f/%.1f/%.1f", c.self, c.es, max(0, c.busy-c.self-c.es))
}

var esPID = sync.OnceValue(func() string {
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		if b, err := os.ReadFile("/proc/" + d.Name() + "/cmdline"); err == nil && strings.Contains(string(b), "org.elasticsearch.bootstrap.Elasticsearch") {
			return d.Name()
		}
	}
	return ""
})

func readCPU() cpuUse {
	u := cpuUse{at: time.Now(), self: procTicks("self")}
	if pid := esPID(); pid != "" {
		u.es = procTicks(pid)
	}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line)
		for _, i := range []int{1, 2, 3, 6, 7, 8} { // user nice system irq softirq steal
			if i < len(f) {
				v, _ := strconv.ParseFloat(f[i], 64)
				u.busy += v
			}
		}
	}
	return u
}

// procTicks is the user and system time of a process.
func procTicks(pid string) float64 {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return ut + st
}

// histogram reads a histogram of this process by name: its count, sum,
// and bucket bounds with cumulative counts.
func histogram(name string) (n uint64, sum float64, bounds []float64, cum []uint64) {
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		return
	}
	for _, mf := range mfs {
		if mf.GetName() != name || len(mf.GetMetric()) == 0 {
			continue
		}
		h := mf.GetMetric()[0].GetHistogram()
		for _, b := range h.GetBucket() {
			bounds = append(bounds, b.GetUpperBound())
			cum = append(cum, b.GetCumulativeCount())
		}
		return h.GetSampleCount(), h.GetSampleSum(), bounds, cum
	}
	return
}

// counters sums the Prometheus counters of this process by name.
func counters() map[string]float64 {
	vals := map[string]float64{}
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		return vals
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if m.GetCounter() != nil {
				vals[mf.GetName()] += m.GetCounter().GetValue()
			}
		}
	}
	return vals
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

// writeStage reads back every record of from and writes them into a fresh
// index of the same backend, two batches of 500 in flight as the indexer
// does: the rate of the index-write stage alone, to set the whole
// pipeline's against.
func writeStage(ctx context.Context, from index.Index, esURL, alias, cpuProfile string) (float64, error) {
	var ds []*moissonv1.Dataset
	q := index.Query{Size: 1000, Sort: index.SortTitle}
	for {
		page, err := from.Search(ctx, q)
		if err != nil {
			return 0, err
		}
		ds = append(ds, page.Items...)
		if page.NextCursor == "" {
			break
		}
		q.Cursor = page.NextCursor
	}
	dir, err := os.MkdirTemp("", "moisson-loadtest-stage-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	to, err := indexopen.Open(ctx, indexopen.Spec{ESURL: esURL, ESAlias: alias + "-stage", Path: filepath.Join(dir, "index")})
	if err != nil {
		return 0, err
	}
	defer to.Close()
	if es, ok := to.(*elasticsearch.Index); ok {
		defer es.Drop(context.Background())
	}
	// As many batches in flight as the indexer's consumer has (the default
	// of its Workers). On bleve one writer measured as fast (18.7 s against
	// 19.1 s for 100k records, same run): it writes one batch at a time.
	const writers = 2
	stopProfile := startProfile(cpuProfile, "stage")
	defer stopProfile()
	start, startCPU := time.Now(), procTicks("self")
	batches := make(chan []*moissonv1.Dataset)
	errs := make(chan error, writers)
	for range writers {
		go func() {
			var first error
			for b := range batches {
				if first != nil {
					continue
				}
				ops := make([]index.Op, 0, len(b))
				for _, d := range b {
					ops = append(ops, index.Op{ID: d.GetId(), Version: 1, Dataset: d})
				}
				items, err := to.Write(ctx, ops)
				if err == nil {
					err = errors.Join(items...)
				}
				first = err
			}
			errs <- first
		}()
	}
	for i := 0; i < len(ds); i += 500 {
		batches <- ds[i:min(i+500, len(ds))]
	}
	close(batches)
	for range writers {
		if err := <-errs; err != nil {
			return 0, err
		}
	}
	if es, ok := to.(*elasticsearch.Index); ok {
		if err := es.Refresh(ctx); err != nil {
			return 0, err
		}
	}
	if n, err := to.Count(ctx); err != nil || n != int64(len(ds)) {
		return 0, fmt.Errorf("stage index holds %d records, want %d (%v)", n, len(ds), err)
	}
	took := time.Since(start)
	fmt.Printf("index writes alone: %s, %.1f CPU-seconds\n", took.Round(100*time.Millisecond), (procTicks("self")-startCPU)/100)
	return float64(len(ds)) / took.Seconds(), nil
}

// startProfile writes a CPU profile to prefix.phase until the returned
// function is called (nothing without a prefix).
func startProfile(prefix, phase string) (stop func()) {
	if prefix == "" {
		return func() {}
	}
	f, err := os.Create(prefix + "." + phase)
	if err != nil {
		fail(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fail(err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fail(err)
		}
	}
}

// esMerging tells whether Elasticsearch is merging segments of the alias
// (false without Elasticsearch, or when it cannot tell).
func esMerging(esURL, alias string) bool {
	if esURL == "" {
		return false
	}
	resp, err := http.Get(strings.TrimRight(esURL, "/") + "/" + url.PathEscape(alias) + "/_stats/merge?filter_path=_all.total.merges.current")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var st struct {
		All struct {
			Total struct {
				Merges struct {
					Current int `json:"current"`
				} `json:"merges"`
			} `json:"total"`
		} `json:"_all"`
	}
	return json.NewDecoder(resp.Body).Decode(&st) == nil && st.All.Total.Merges.Current > 0
}
