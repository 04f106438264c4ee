// Command bench measures, for the closing note of the scale-out work, how
// Moisson's indexer and the two index backends perform. It asserts nothing.
//
//  1. Indexing rate into Elasticsearch through our indexer (the JetStream
//     consumer and the Elasticsearch backend, from a RECORDS stream preloaded
//     with -n generated records, on an embedded NATS server) against a raw
//     esutil.BulkIndexer loop over the same documents, in the same run: the
//     ratio is the figure (target ≥ 0.9).
//
//  2. Search latency, p50 and p99, of faceted French queries over
//     -search-n datasets, embedded (bleve) against Elasticsearch.
//
//     go run ./indexer/cmd/bench -es-url http://127.0.0.1:9200 -n 20000 -search-n 100000
//
// Every alias it creates is dropped at the end.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	es "github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esutil"
	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/opendatafrance/moisson/indexer/consumer"
	"github.com/opendatafrance/moisson/indexer/index"
	"github.com/opendatafrance/moisson/indexer/index/bleve"
	"github.com/opendatafrance/moisson/indexer/index/elasticsearch"
	"github.com/opendatafrance/moisson/proto/bus"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// groupProfile is the -group-profile flag.
var groupProfile string

func main() {
	esURL := flag.String("es-url", os.Getenv("MOISSON_ES_URL"), "Elasticsearch URL (env MOISSON_ES_URL)")
	n := flag.Int("n", 20000, "records indexed for the indexing rate")
	rounds := flag.Int("rounds", 3, "indexing measures, each a raw loop then the indexer on fresh indices")
	batch := flag.Int("batch", 500, "indexer batch size")
	workers := flag.Int("workers", 0, "indexer batches in flight (0: the consumer's default)")
	searchN := flag.Int("search-n", 100000, "datasets in the search corpus (0: skip the search part)")
	queries := flag.Int("queries", 400, "timed queries per backend")
	flag.StringVar(&groupProfile, "group-profile", "", "write a CPU profile of the same_as and distinct queries to this file")
	flag.Parse()
	if *esURL == "" {
		fmt.Fprintln(os.Stderr, "bench: give -es-url or MOISSON_ES_URL (scripts/elasticsearch start prints it)")
		os.Exit(2)
	}
	ctx := context.Background()
	fmt.Printf("machine: %d CPU, %s; Elasticsearch %s\n", runtime.NumCPU(), runtime.Version(), *esURL)
	if *n > 0 {
		if err := indexing(ctx, *esURL, *n, *rounds, *batch, *workers); err != nil {
			fmt.Fprintln(os.Stderr, "bench: indexing:", err)
			os.Exit(1)
		}
	}
	if *searchN > 0 {
		if err := searching(ctx, *esURL, *searchN, *queries); err != nil {
			fmt.Fprintln(os.Stderr, "bench: search:", err)
			os.Exit(1)
		}
	}
}

func randomAlias(what string) string {
	b := make([]byte, 4)
	rand.Read(b)
	return "moisson-bench-" + what + "-" + hex.EncodeToString(b)
}

// ---- the generated corpus ----

var (
	territories = []string{"auvergne-rhone-alpes", "bourgogne-franche-comte", "bretagne", "charente-maritime",
		"loire-atlantique", "mulhouse", "occitanie", "paca", "val-de-marne"}
	subjects = []string{"Délibérations du conseil municipal", "Budget primitif", "Subventions versées aux associations",
		"Équipements sportifs", "Qualité de l'eau potable", "Horaires des bibliothèques", "Arrêtés de circulation",
		"Marchés publics attribués", "Stationnement vélo", "Prénoms des nouveau-nés", "Collecte des déchets ménagers",
		"Défibrillateurs", "Parkings relais", "Arbres d'alignement", "Consommation d'électricité des bâtiments",
		"Lieux culturels", "Écoles maternelles et élémentaires", "Menus des cantines", "Bornes de recharge",
		"Plan local d'urbanisme", "Transports scolaires", "Aides économiques aux entreprises", "Logements sociaux",
		"Qualité de l'air", "Pistes cyclables", "Toilettes publiques", "Marchés forains", "Zones inondables"}
	places = []string{"Rennes", "Brest", "Nantes", "Saint-Nazaire", "La Rochelle", "Rochefort", "Mulhouse", "Colmar",
		"Toulouse", "Montpellier", "Nîmes", "Marseille", "Nice", "Toulon", "Grenoble", "Lyon", "Annecy", "Dijon",
		"Besançon", "Nevers", "Créteil", "Vitry-sur-Seine", "Ivry-sur-Seine", "Quimper", "Lorient", "Vannes"}
	words = []string{"données", "jeu", "liste", "localisation", "commune", "intercommunalité", "département", "région",
		"annuel", "mensuel", "historique", "réseau", "service", "public", "usagers", "équipement", "adresse",
		"coordonnées", "géolocalisation", "horaires", "tarifs", "statistiques", "indicateurs", "conseil", "séance",
		"vote", "montant", "bénéficiaire", "attributaire", "contrat", "environnement", "mobilité", "énergie", "culture"}
	formats  = []string{"CSV", "JSON", "GeoJSON", "SHP", "XLSX", "PDF", "XML", "ZIP", "KML"}
	licences = []string{"etalab-2.0", "odbl-1.0", "cc-by-4.0", "cc0-1.0", "other", "unknown"}
	themes   = []string{"GOVE", "ECON", "ENVI", "TRAN", "EDUC", "HEAL", "SOCI", "ENER", "REGI", "EDUC", "AGRI"}
	schemas  = []string{"scdl/deliberations", "scdl/budget", "scdl/subventions", "scdl/equipements", "scdl/marches-publics", "scdl/prenoms"}
)

func pick[T any](r *mrand.Rand, s []T) T { return s[r.IntN(len(s))] }

func dataset(r *mrand.Rand, i int) *moissonv1.Dataset {
	terr := pick(r, territories)
	subject := pick(r, subjects)
	place := pick(r, places)
	var desc strings.Builder
	desc.WriteString(subject + " de " + place + ". ")
	for k := 0; k < 25+r.IntN(40); k++ {
		desc.WriteString(pick(r, words))
		desc.WriteByte(' ')
	}
	d := &moissonv1.Dataset{
		Id:          fmt.Sprintf("bench-%s-%07d", terr, i),
		SourceId:    terr + "-src" + fmt.Sprint(r.IntN(3)),
		TerritoryId: terr,
		PortalUrl:   "https://data." + strings.ToLower(strings.ReplaceAll(place, " ", "-")) + ".fr",
		OriginalId:  fmt.Sprintf("%x", r.Uint64()),
		Protocol:    pick(r, []string{"ckan", "ods", "dcat", "udata", "csw", "d4c", "datafair"}),
		Title:       fmt.Sprintf("%s – %s %d", subject, place, 2015+r.IntN(11)),
		Description: desc.String(),
		Keywords:    []string{pick(r, words), pick(r, words), strings.ToLower(place)},
		Themes:      []string{pick(r, themes)},
		Language:    "fr",
		Publisher:   &moissonv1.Publisher{Name: "Ville de " + place},
		License:     &moissonv1.License{Raw: "raw", Normalized: pick(r, licences)},
		Modified:    timestamppb.New(time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.IntN(3650*24)) * time.Hour)),
	}
	d.LandingPage = d.PortalUrl + "/explore/dataset/" + d.OriginalId
	for k := 0; k < 1+r.IntN(3); k++ {
		d.Distributions = append(d.Distributions, &moissonv1.Distribution{Url: d.PortalUrl + "/f/" + fmt.Sprint(k), Format: pick(r, formats)})
	}
	if r.IntN(4) == 0 {
		d.Scdl = []*moissonv1.ScdlMatch{{Item: pick(r, schemas), Evidence: "declared"}}
	}
	return d
}

func corpus(n int, seed uint64) []*moissonv1.Dataset {
	r := mrand.New(mrand.NewPCG(seed, 42))
	out := make([]*moissonv1.Dataset, n)
	for i := range out {
		out[i] = dataset(r, i)
		// One in twenty is a copy of an earlier one harvested elsewhere,
		// under another title, naming its original's page (duplicates).
		if i > 0 && r.IntN(20) == 0 {
			out[i].Title = "Copie : " + out[i].Title
			out[i].Identifiers = []string{out[r.IntN(i)].GetLandingPage()}
		}
	}
	return out
}

// ---- 1. indexing rate ----

func indexing(ctx context.Context, esURL string, n, rounds, batch, workers int) error {
	ds := corpus(n, 1)
	const version = 1_700_000_000_000_000_000
	fmt.Printf("\n== indexing %d records into Elasticsearch (indexer batch %d, workers %d, best of %d)\n", n, batch, workers, rounds)

	// NATS with JetStream, RECORDS preloaded once; every indexer round
	// reads it again through a new durable consumer.
	dir, err := os.MkdirTemp("", "moisson-bench-nats-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true})
	if err != nil {
		return err
	}
	ns.Start()
	defer ns.Shutdown()
	if !ns.ReadyForConnections(10 * time.Second) {
		return fmt.Errorf("nats not ready")
	}
	nc, js, err := bus.Connect(ns.ClientURL(), "bench")
	if err != nil {
		return err
	}
	defer nc.Close()
	if err := bus.EnsureStreams(ctx, js, bus.Options{}); err != nil {
		return err
	}
	start := time.Now()
	var futures []jetstream.PubAckFuture
	for i, d := range ds {
		env := &moissonv1.RecordEnvelope{Op: moissonv1.RecordEnvelope_UPSERT, Dataset: d, SourceId: d.GetSourceId(),
			RunId: "bench", Seq: uint64(i), ContentHash: fmt.Sprint(i), Version: version}
		m, err := bus.RecordMsg(env)
		if err != nil {
			return err
		}
		f, err := js.PublishMsgAsync(m)
		if err != nil {
			return err
		}
		futures = append(futures, f)
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return err
		}
	}
	fmt.Printf("RECORDS preloaded in %s\n", time.Since(start).Round(time.Millisecond))

	// The raw loop's documents: flattened before timing, as a client that
	// already holds them; it serialises them to JSON while timed, as any
	// client must.
	docs := make([]*index.Document, n)
	for i, d := range ds {
		if docs[i], err = index.NewDocument(d, version); err != nil {
			return err
		}
	}

	bestRaw, bestIdx := 0.0, 0.0
	var ratios []float64
	for round := 1; round <= rounds; round++ {
		raw, err := rawBulk(ctx, esURL, ds, docs, version)
		if err != nil {
			return fmt.Errorf("raw bulk: %w", err)
		}
		ours, err := throughIndexer(ctx, esURL, js, n, batch, workers, round)
		if err != nil {
			return fmt.Errorf("indexer: %w", err)
		}
		fmt.Printf("round %d: raw esutil.BulkIndexer %8.0f docs/s   indexer (consumer + ES backend) %8.0f docs/s   ratio %.2f\n", round, raw, ours, ours/raw)
		bestRaw, bestIdx = math.Max(bestRaw, raw), math.Max(bestIdx, ours)
		ratios = append(ratios, ours/raw)
	}
	sort.Float64s(ratios)
	fmt.Printf("best: raw %.0f docs/s, indexer %.0f docs/s, ratio of the bests %.2f; median ratio of the rounds %.2f\n",
		bestRaw, bestIdx, bestIdx/bestRaw, ratios[len(ratios)/2])
	return nil
}

// rawBulk indexes docs with esutil.BulkIndexer (its defaults: one worker per
// CPU, 5 MB flushes) under a fresh alias made like ours, with the same
// external versions, and returns docs/s.
func rawBulk(ctx context.Context, esURL string, ds []*moissonv1.Dataset, docs []*index.Document, version int64) (float64, error) {
	x, err := elasticsearch.New(ctx, elasticsearch.Config{URL: esURL, Alias: randomAlias("raw")})
	if err != nil {
		return 0, err
	}
	defer x.Close()
	defer x.Drop(context.Background())
	client, err := es.NewClient(es.Config{Addresses: strings.Split(esURL, ",")})
	if err != nil {
		return 0, err
	}
	var failed atomic.Int64
	var firstErr atomic.Value
	bi, err := esutil.NewBulkIndexer(esutil.BulkIndexerConfig{Client: client, Index: x.Alias()})
	if err != nil {
		return 0, err
	}
	start := time.Now()
	for i, d := range ds {
		body, err := json.Marshal(docs[i])
		if err != nil {
			return 0, err
		}
		err = bi.Add(ctx, esutil.BulkIndexerItem{
			Action: "index", DocumentID: d.GetId(), Version: &version, VersionType: "external_gte",
			Body: bytes.NewReader(body),
			OnFailure: func(_ context.Context, _ esutil.BulkIndexerItem, res esutil.BulkIndexerResponseItem, err error) {
				failed.Add(1)
				if err == nil {
					err = fmt.Errorf("%s: %s", res.Error.Type, res.Error.Reason)
				}
				firstErr.CompareAndSwap(nil, err)
			},
		})
		if err != nil {
			return 0, err
		}
	}
	if err := bi.Close(ctx); err != nil {
		return 0, err
	}
	took := time.Since(start)
	if f := failed.Load(); f > 0 {
		return 0, fmt.Errorf("%d documents failed, first: %v", f, firstErr.Load())
	}
	if err := x.Refresh(ctx); err != nil {
		return 0, err
	}
	if c, err := x.Count(ctx); err != nil || c != int64(len(ds)) {
		return 0, fmt.Errorf("raw loop: %d documents indexed of %d (%v)", c, len(ds), err)
	}
	return float64(len(ds)) / took.Seconds(), nil
}

// throughIndexer runs our consumer with the Elasticsearch backend over the
// whole RECORDS stream (a new durable each round) and returns docs/s, from
// its start until every record is acked.
func throughIndexer(ctx context.Context, esURL string, js jetstream.JetStream, n, batch, workers, round int) (float64, error) {
	x, err := elasticsearch.New(ctx, elasticsearch.Config{URL: esURL, Alias: randomAlias("idx")})
	if err != nil {
		return 0, err
	}
	defer x.Close()
	defer x.Drop(context.Background())
	durable := fmt.Sprintf("bench-%d", round)
	c := &consumer.Consumer{JS: js, Index: x, Log: zap.NewNop(), Durable: durable, Batch: batch, Workers: workers}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- c.Run(cctx) }()
	var took time.Duration
	for {
		time.Sleep(20 * time.Millisecond)
		select {
		case err := <-done:
			return 0, fmt.Errorf("consumer stopped: %v", err)
		default:
		}
		cons, err := js.Consumer(ctx, bus.RecordsStream, durable)
		if err != nil {
			continue
		}
		info, err := cons.Info(ctx)
		if err != nil {
			return 0, err
		}
		if info.AckFloor.Stream >= uint64(n) && info.NumAckPending == 0 {
			took = time.Since(start)
			break
		}
		if time.Since(start) > 10*time.Minute {
			return 0, fmt.Errorf("not done after 10 minutes: %d acked", info.AckFloor.Consumer)
		}
	}
	cancel()
	<-done
	_ = js.DeleteConsumer(ctx, bus.RecordsStream, durable)
	if err := x.Refresh(ctx); err != nil {
		return 0, err
	}
	if c, err := x.Count(ctx); err != nil || c != int64(n) {
		return 0, fmt.Errorf("indexer: %d documents indexed of %d (%v)", c, n, err)
	}
	return float64(n) / took.Seconds(), nil
}

// ---- 2. search latency ----

func searching(ctx context.Context, esURL string, n, queries int) error {
	fmt.Printf("\n== search latency over %d datasets: faceted French queries, %d timed per backend\n", n, queries)
	ds := corpus(n, 2)
	ops := make([]index.Op, len(ds))
	for i, d := range ds {
		ops[i] = index.Op{ID: d.GetId(), Version: 1, Dataset: d}
	}
	dir, err := os.MkdirTemp("", "moisson-bench-bleve-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bl, err := bleve.Open(filepath.Join(dir, "index"))
	if err != nil {
		return err
	}
	defer bl.Close()
	ex, err := elasticsearch.New(ctx, elasticsearch.Config{URL: esURL, Alias: randomAlias("search")})
	if err != nil {
		return err
	}
	defer ex.Close()
	defer ex.Drop(context.Background())
	for _, b := range []struct {
		name string
		x    index.Index
	}{{"bleve", bl}, {"elasticsearch", ex}} {
		start := time.Now()
		for i := 0; i < len(ops); i += 1000 {
			items, err := b.x.Write(ctx, ops[i:min(i+1000, len(ops))])
			if err != nil {
				return fmt.Errorf("%s: %w", b.name, err)
			}
			for _, e := range items {
				if e != nil {
					return fmt.Errorf("%s: %w", b.name, e)
				}
			}
			if done := i + 1000; done%20000 == 0 && done < len(ops) {
				fmt.Fprintf(os.Stderr, "%s: %d written (%s)\n", b.name, done, time.Since(start).Round(time.Second))
			}
		}
		fmt.Printf("%s: %d datasets written in %s\n", b.name, n, time.Since(start).Round(time.Millisecond))
	}
	if err := ex.Refresh(ctx); err != nil {
		return err
	}
	texts := []string{"délibérations conseil", "budget primitif", "subventions associations", "équipements sportifs",
		"qualité de l'eau", "horaires bibliothèques", "marchés publics", "stationnement vélo", "collecte déchets",
		"bornes de recharge", "écoles", "menus cantines", "pistes cyclables", "qualité air", "logements sociaux"}
	r := mrand.New(mrand.NewPCG(3, 3))
	qs := make([]index.Query, queries+20)
	for i := range qs {
		q := index.Query{Text: pick(r, texts), Size: 20, Facets: []string{index.FieldTerritory, index.FieldPublisher, index.FieldFormat, index.FieldLicense}, FacetSize: 10}
		switch i % 3 {
		case 1:
			q.Filters = map[string][]string{index.FieldTerritory: {pick(r, territories)}}
		case 2:
			q.Filters = map[string][]string{index.FieldFormat: {"CSV", "JSON"}, index.FieldLicense: {"etalab-2.0"}}
		}
		qs[i] = q
	}
	for _, b := range []struct {
		name string
		x    index.Index
	}{{"bleve", bl}, {"elasticsearch", ex}} {
		if c, err := b.x.Count(ctx); err != nil || c != int64(n) {
			return fmt.Errorf("%s holds %d datasets, want %d (%v)", b.name, c, n, err)
		}
		var lat []time.Duration
		var hits int64
		for i, q := range qs {
			start := time.Now()
			res, err := b.x.Search(ctx, q)
			if err != nil {
				return fmt.Errorf("%s: %w", b.name, err)
			}
			if i >= 20 { // the first 20 warm up
				lat = append(lat, time.Since(start))
				hits += res.Total
			}
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		p := func(q float64) time.Duration { return lat[min(len(lat)-1, int(math.Ceil(q*float64(len(lat))))-1)] }
		fmt.Printf("%-13s p50 %8s   p99 %8s   (mean %d hits per query)\n", b.name, p(0.50).Round(10*time.Microsecond), p(0.99).Round(10*time.Microsecond), hits/int64(len(lat)))
	}
	if groupProfile != "" {
		f, err := os.Create(groupProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	// The same queries with same_as (as GET /v1/datasets asks), then with
	// distinct counts (fewer: each resolves the groups among its hits).
	for _, mode := range []struct {
		name string
		n    int
		set  func(*index.Query)
	}{{"same_as", len(qs), func(q *index.Query) { q.SameAs = true }}, {"distinct", min(len(qs), 60), func(q *index.Query) { q.Distinct = true }}} {
		for _, b := range []struct {
			name string
			x    index.Index
		}{{"bleve", bl}, {"elasticsearch", ex}} {
			var lat []time.Duration
			var hits, datasets int64
			for i, q := range qs[:mode.n] {
				mode.set(&q)
				start := time.Now()
				res, err := b.x.Search(ctx, q)
				if err != nil {
					return fmt.Errorf("%s %s: %w", b.name, mode.name, err)
				}
				if i >= 10 {
					lat = append(lat, time.Since(start))
					hits, datasets = hits+res.Total, datasets+res.Distinct
				}
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			p := func(q float64) time.Duration { return lat[min(len(lat)-1, int(math.Ceil(q*float64(len(lat))))-1)] }
			extra := ""
			if mode.name == "distinct" {
				extra = fmt.Sprintf(", %d datasets", datasets/int64(len(lat)))
			}
			fmt.Printf("%-13s %-8s p50 %8s   p99 %8s   (mean %d hits%s per query)\n", b.name, mode.name, p(0.50).Round(10*time.Microsecond), p(0.99).Round(10*time.Microsecond), hits/int64(len(lat)), extra)
		}
	}
	return nil
}
