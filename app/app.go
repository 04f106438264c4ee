// Package app is Moisson all in one process: an embedded NATS server with
// JetStream, the embedded index (bleve), the harvester, the indexer and the
// API — and, for the demo and tests, the portal simulator serving the nine
// territories. The services are the same code the scale-out binaries run.
package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"sync"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/opendatafrance/moisson/api/server"
	"github.com/opendatafrance/moisson/api/status"
	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/fetch"
	"github.com/opendatafrance/moisson/harvester/harvest"
	"github.com/opendatafrance/moisson/harvester/simulator"
	"github.com/opendatafrance/moisson/harvester/source"
	"github.com/opendatafrance/moisson/harvester/state"
	"github.com/opendatafrance/moisson/harvester/worker"
	"github.com/opendatafrance/moisson/indexer/collectivite"
	"github.com/opendatafrance/moisson/indexer/consumer"
	"github.com/opendatafrance/moisson/indexer/index"
	"github.com/opendatafrance/moisson/indexer/index/open"
	"github.com/opendatafrance/moisson/proto/bus"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"github.com/opendatafrance/moisson/service"
	"go.uber.org/zap"
)

// Options configure the all-in-one.
type Options struct {
	DataDir     string         // NATS store and index live here
	Addr        string         // API listen address, e.g. 127.0.0.1:8080
	NATSListen  string         // expose the embedded NATS on this address ("" = in-process only)
	ConfigPath  string         // territories file ("" = the embedded nine territories)
	Config      *config.Config // or the configuration itself (tests)
	Simulate    bool           // serve the territories from the simulator instead of the real portals
	SimAddr     string         // simulator listen address (default 127.0.0.1:0)
	SimDatasets int            // datasets per simulated source
	SimSeed     int64
	Simulator   *simulator.Simulator // or this simulator, made for the same configuration and not started (Simulate implied)
	Concurrency int                  // sources harvested at once
	NoHarvest   bool                 // no harvester worker (tests drive harvests themselves)
	LeaseTTL    time.Duration        // harvest lease time (default 30s)
	AdminToken  string               // protects POST /v1/sources/{id}/harvest ("" disables it)
	ESURL       string               // index into Elasticsearch instead of the embedded index
	ESAlias     string               // its alias (default moisson-datasets)
	NoCache     bool                 // no search result cache (measurements)
	BaseURL     string               // public address of the API, for the catalogue's IRIs ("" = the request's)
	Trusted     []netip.Prefix       // proxies whose X-Forwarded-* headers are honoured
	Log         *zap.Logger
}

// App is a running all-in-one.
type App struct {
	opts    Options
	log     *zap.Logger
	cfg     *config.Config
	ns      *natsserver.Server
	nc      *nats.Conn
	js      jetstream.JetStream
	idx     index.Index
	sim     *simulator.Simulator
	simURL  string
	runs    *status.Runs
	runner  *harvest.Runner
	worker  *worker.Worker
	buckets *worker.Buckets
	http    *http.Server
	apiLn   net.Listener
	apiURL  string
	cancel  context.CancelFunc
	stopped chan struct{}
	wg      sync.WaitGroup
	harvest sync.WaitGroup
}

// Start brings everything up and, unless NoHarvest, starts harvesting every
// source once in the background.
func Start(ctx context.Context, o Options) (*App, error) {
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	if o.DataDir == "" {
		o.DataDir = "moisson-data"
	}
	if o.Addr == "" {
		o.Addr = "127.0.0.1:8080"
	}
	if o.SimAddr == "" {
		o.SimAddr = "127.0.0.1:0"
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	a := &App{opts: o, log: o.Log, stopped: make(chan struct{})}
	started := false
	defer func() {
		if !started {
			a.Close()
		}
	}()
	var err error
	// What would stop the start, said at once: a data directory that
	// cannot be written, a port already taken (the embedded NATS server
	// would only give up after its start timeout).
	if err := service.CheckWritable(o.DataDir, "the data directory"); err != nil {
		return nil, err
	}
	if o.NATSListen != "" {
		if err := service.CheckPort(o.NATSListen, "the embedded NATS server"); err != nil {
			return nil, err
		}
	}
	apiLn, err := service.Listen(o.Addr, "the API")
	if err != nil {
		return nil, err
	}
	a.apiLn = apiLn
	switch {
	case o.Config != nil:
		a.cfg = o.Config
	case o.ConfigPath != "":
		if a.cfg, err = config.Load(o.ConfigPath); err != nil {
			return nil, err
		}
	default:
		a.cfg = config.Default()
	}

	// NATS with JetStream, storing in the data directory.
	nopts := &natsserver.Options{
		ServerName: "moisson",
		JetStream:  true,
		StoreDir:   filepath.Join(o.DataDir, "nats"),
		DontListen: o.NATSListen == "",
		NoSigs:     true,
	}
	if o.NATSListen != "" {
		host, port, err := net.SplitHostPort(o.NATSListen)
		if err != nil {
			return nil, fmt.Errorf("nats listen address: %w", err)
		}
		nopts.Host = host
		if nopts.Port, err = net.LookupPort("tcp", port); err != nil {
			return nil, err
		}
	}
	if a.ns, err = natsserver.NewServer(nopts); err != nil {
		return nil, fmt.Errorf("nats server: %w", err)
	}
	a.ns.Start()
	if !a.ns.ReadyForConnections(10 * time.Second) {
		return nil, fmt.Errorf("the embedded NATS server did not start within 10 s (its store is %s)", nopts.StoreDir)
	}
	if a.nc, err = nats.Connect("", nats.InProcessServer(a.ns), nats.Name("moisson-all-in-one")); err != nil {
		return nil, err
	}
	if a.js, err = jetstream.New(a.nc); err != nil {
		return nil, err
	}
	if err := bus.EnsureStreams(ctx, a.js, bus.Options{}); err != nil {
		return nil, err
	}

	// The index.
	idx, err := open.Open(ctx, open.Spec{ESURL: o.ESURL, ESAlias: o.ESAlias, Path: filepath.Join(o.DataDir, "index"), Log: a.log.Named("index")})
	if err != nil {
		return nil, err // (idx may be a typed nil: not kept for Close)
	}
	a.idx = idx

	// The simulator, and the configuration pointed at it.
	cfg := a.cfg
	if o.Simulate || o.Simulator != nil {
		a.sim = o.Simulator
		if a.sim == nil {
			a.sim = simulator.New(a.cfg, simulator.Options{Seed: o.SimSeed, DatasetsPerSource: o.SimDatasets})
		}
		if a.simURL, err = a.sim.Start(o.SimAddr); err != nil {
			return nil, fmt.Errorf("simulator: %w", err)
		}
		cfg = a.sim.Rewrite(a.cfg, a.simURL)
		a.log.Info("portal simulator serving the territories", zap.String("url", a.simURL), zap.Int("datasets", a.sim.Total()))
	}
	a.cfg = cfg

	runCtx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel

	// Harvest status, from the RUNS stream.
	a.runs = status.New()
	if err := a.runs.Watch(runCtx, a.js, a.log); err != nil {
		return nil, err
	}

	// The indexer.
	keeper := &collectivite.Keeper{JS: a.js, Index: a.idx, Resolvers: collectivite.NewResolvers(), Replicas: 1, Log: a.log.Named("collectivite")}
	cons := &consumer.Consumer{JS: a.js, Index: a.idx, Log: a.log.Named("indexer"), Attributor: keeper}
	a.wg.Add(2)
	go func() {
		defer a.wg.Done()
		if err := keeper.Run(runCtx); err != nil && runCtx.Err() == nil {
			a.log.Error("territories no longer followed", zap.Error(err))
		}
	}()
	go func() {
		defer a.wg.Done()
		if err := cons.Run(runCtx); err != nil {
			a.log.Error("indexer stopped", zap.Error(err))
		}
	}()

	// The API, on the listener opened first.
	ln := a.apiLn
	a.apiURL = "http://" + ln.Addr().String()
	// Facet pages and coverage reports are asked again and again: answers
	// are cached until the next write to the index (index.NewServingCache).
	var searcher index.Searcher = a.idx
	if !o.NoCache {
		searcher = index.NewServingCache(a.idx)
	}
	key, err := server.CursorKey(ctx, a.js, 1)
	if err != nil {
		return nil, err
	}
	srv := &server.Server{Index: searcher, Runs: a.runs, Log: a.log.Named("api"), JS: a.js, AdminToken: o.AdminToken,
		BaseURL: o.BaseURL, TrustedProxies: o.Trusted, CursorKey: key, NATSConnected: a.nc.ConnectedServerName, Ready: func(context.Context) error {
			if !a.nc.IsConnected() {
				return errors.New("nats: not connected")
			}
			return nil
		}}
	a.http = &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	a.wg.Add(2)
	go func() {
		defer a.wg.Done()
		srv.Background(runCtx)
	}()
	go func() {
		defer a.wg.Done()
		if err := a.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("api stopped", zap.Error(err))
		}
	}()
	a.log.Info("api listening", zap.String("url", a.apiURL))

	// The harvester.
	st, err := state.OpenJetStream(ctx, a.js, 1)
	if err != nil {
		return nil, err
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 30 * time.Second
	}
	if a.buckets, err = worker.OpenBuckets(ctx, a.js, o.LeaseTTL, 1); err != nil {
		return nil, err
	}
	if err := worker.PublishConfig(ctx, a.js, 1, a.cfg); err != nil {
		return nil, err
	}
	cache, err := fetch.NewCache(filepath.Join(o.DataDir, "http-cache"))
	if err != nil {
		return nil, err
	}
	a.runner = &harvest.Runner{
		Env:         source.Env{Client: harvest.Client(a.cfg, cache), Log: a.log.Named("harvester")},
		Publisher:   harvest.NewJetStreamPublisher(a.js),
		State:       st,
		Log:         a.log.Named("harvester"),
		Worker:      "all-in-one",
		DeleteBelow: a.cfg.Harvest.DeleteBelow,
	}
	if !o.NoHarvest {
		a.worker = &worker.Worker{
			Buckets: a.buckets, Config: a.cfg, Runner: a.runner, Log: a.log.Named("harvester"),
			Name: "all-in-one", LeaseTTL: o.LeaseTTL, Concurrency: o.Concurrency,
			Backlog: a.Pending,
		}
		a.harvest.Add(1)
		go func() {
			defer a.harvest.Done()
			_ = a.worker.Run(runCtx)
		}()
	}
	started = true
	return a, nil
}

// RequestHarvest asks the harvester to harvest a source now.
func (a *App) RequestHarvest(ctx context.Context, sourceID string) error {
	if a.cfg.Source(sourceID) == nil {
		return fmt.Errorf("no source %q", sourceID)
	}
	return worker.RequestHarvest(ctx, a.buckets, sourceID, "all-in-one")
}

// Harvest harvests one source once.
func (a *App) Harvest(ctx context.Context, sourceID string) (*moissonv1.HarvestRun, error) {
	src := a.cfg.Source(sourceID)
	if src == nil {
		return nil, fmt.Errorf("no source %q", sourceID)
	}
	return a.runner.Run(ctx, src), nil
}

// WaitHarvest waits until every source due at start-up has been harvested.
func (a *App) WaitHarvest() {
	if a.worker != nil {
		select {
		case <-a.worker.FirstPass():
		case <-a.stopped:
		}
	}
}

// APIURL is the API's base URL.
func (a *App) APIURL() string { return a.apiURL }

// Simulator is the portal simulator (nil when harvesting real portals).
func (a *App) Simulator() *simulator.Simulator { return a.sim }

// Config is the configuration harvested (pointed at the simulator if any).
func (a *App) Config() *config.Config { return a.cfg }

// Index is the index the pipeline writes and the API reads.
func (a *App) Index() index.Index { return a.idx }

// IndexCount is the number of indexed datasets.
func (a *App) IndexCount(ctx context.Context) (int64, error) { return a.idx.Count(ctx) }

// Pending is the number of records not yet acknowledged by the indexer.
func (a *App) Pending(ctx context.Context) (uint64, error) {
	return bus.IndexBacklog(ctx, a.js)
}

// Close stops everything, in order: harvest, API, indexer, index, NATS.
func (a *App) Close() error {
	select {
	case <-a.stopped:
	default:
		close(a.stopped)
	}
	if a.cancel != nil {
		a.cancel()
	}
	a.harvest.Wait()
	if a.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = a.http.Shutdown(ctx)
		cancel()
	} else if a.apiLn != nil {
		a.apiLn.Close()
	}
	a.wg.Wait()
	var errs []error
	if a.sim != nil {
		errs = append(errs, a.sim.Close())
	}
	if a.idx != nil {
		errs = append(errs, a.idx.Close())
	}
	if a.nc != nil {
		_ = a.nc.Drain()
		a.nc.Close()
	}
	if a.ns != nil {
		a.ns.Shutdown()
		a.ns.WaitForShutdown()
	}
	return errors.Join(errs...)
}
