package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/fetch"
	"github.com/opendatafrance/moisson/harvester/harvest"
	"github.com/opendatafrance/moisson/harvester/source"
	"github.com/opendatafrance/moisson/harvester/state"
	"github.com/opendatafrance/moisson/harvester/worker"
	"github.com/opendatafrance/moisson/proto/bus"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"github.com/opendatafrance/moisson/service"
	"go.uber.org/zap"
	"golang.org/x/term"
)

func defaultConfig() []byte { return config.DefaultYAML() }

func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return config.Default(), nil
	}
	return config.Load(path)
}

// connection is what the NATS-backed commands share.
type connection struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	close   func()
	buckets *worker.Buckets
	state   *state.JetStream
}

func connect(ctx context.Context, natsURL, name string, replicas int, leaseTTL time.Duration, log *zap.Logger) (*connection, error) {
	nc, js, err := service.ConnectJetStream(ctx, natsURL, name, replicas, log)
	if err != nil {
		return nil, err
	}
	c := &connection{js: js, close: nc.Close, nc: nc}
	err = service.Retry(ctx, "the harvester's buckets", log, func(ctx context.Context) error {
		var err error
		if c.buckets, err = worker.OpenBuckets(ctx, js, leaseTTL, replicas); err != nil {
			return err
		}
		c.state, err = state.OpenJetStream(ctx, js, replicas)
		return err
	})
	if err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

func runCmd(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	natsURL := fs.String("nats-url", env("MOISSON_NATS_URL", "nats://127.0.0.1:4222"), "NATS URL(s), comma-separated (env MOISSON_NATS_URL)")
	cfgPath := fs.String("config", env("MOISSON_CONFIG", ""), "territories file (default: the embedded nine territories; env MOISSON_CONFIG)")
	concurrency := fs.Int("concurrency", 4, "sources harvested at once by this worker")
	backlog := fs.Uint64("indexer-backlog", 5000, "while more records than this wait for the indexers, start one source at a time (0: do not look)")
	once := fs.Bool("once", false, "harvest every due source once, then exit")
	worker_ := fs.String("worker", env("HOSTNAME", "harvester"), "name of this worker, recorded on its runs and leases")
	metrics := fs.String("metrics-addr", env("MOISSON_METRICS_ADDR", ""), "address of /metrics and /healthz (empty: none)")
	replicas := fs.Int("replicas", 1, "stream and bucket replicas when creating them (3 on a cluster)")
	leaseTTL := fs.Duration("lease", 30*time.Second, "lease time: a dead worker's sources are taken over after this")
	cacheDir := fs.String("cache-dir", env("MOISSON_CACHE_DIR", ""), "keep answers here to ask portals with If-None-Match / If-Modified-Since (empty: no cache)")
	_ = parseArgs(fs, args)
	if *worker_ == "" {
		*worker_ = fmt.Sprintf("harvester-%d", os.Getpid())
	}

	log := service.Logger("harvester", false, false)
	defer log.Sync()
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	conn, err := connect(ctx, *natsURL, "moisson-harvester-"+*worker_, *replicas, *leaseTTL, log)
	if err != nil {
		return err
	}
	defer conn.close()
	if err := service.ServeOps(ctx, *metrics, service.NATSHealthy(conn.nc), log, nil); err != nil {
		return err
	}
	var cache *fetch.Cache
	if *cacheDir != "" {
		if cache, err = fetch.NewCache(*cacheDir); err != nil {
			return err
		}
	}
	runner := &harvest.Runner{
		Env:         source.Env{Client: harvest.Client(cfg, cache), Log: log},
		Publisher:   harvest.NewJetStreamPublisher(conn.js),
		State:       conn.state,
		Log:         log,
		Worker:      *worker_,
		DeleteBelow: cfg.Harvest.DeleteBelow,
	}
	if isTerminal(os.Stderr) {
		runner.Progress = newProgress(os.Stderr).report
	}
	err = service.Retry(ctx, "the sources and territories buckets", log, func(ctx context.Context) error {
		return worker.PublishConfig(ctx, conn.js, *replicas, cfg)
	})
	if err != nil {
		return err
	}
	w := &worker.Worker{Buckets: conn.buckets, Config: cfg, Runner: runner, Log: log, Name: *worker_,
		LeaseTTL: *leaseTTL, Concurrency: *concurrency, BacklogLimit: *backlog}
	if *backlog > 0 {
		w.Backlog = func(ctx context.Context) (uint64, error) { return bus.IndexBacklog(ctx, conn.js) }
	}
	if *once {
		wctx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-w.FirstPass():
			case <-ctx.Done():
			}
			cancel()
		}()
		return w.Run(wctx)
	}
	return w.Run(ctx)
}

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// progress prints, on a terminal, one line per source per second at most:
// pages, datasets, rate, and the ETA when the source declares its total.
type progress struct {
	mu   sync.Mutex
	w    io.Writer
	last map[string]time.Time
}

func newProgress(w io.Writer) *progress { return &progress{w: w, last: map[string]time.Time{}} }

func (p *progress) report(run *moissonv1.HarvestRun) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.last[run.GetRunId()]) < time.Second {
		return
	}
	p.last[run.GetRunId()] = now
	fmt.Fprintln(p.w, progressLine(run, now))
}

func progressLine(run *moissonv1.HarvestRun, now time.Time) string {
	took := now.Sub(run.GetStartedAt().AsTime()).Seconds()
	rate := 0.0
	if took > 0 {
		rate = float64(run.GetSeen()) / took
	}
	line := fmt.Sprintf("%-28s pages %4d  datasets %6d", run.GetSourceId(), run.GetPages(), run.GetSeen())
	if total := run.GetDeclaredTotal(); total > 0 {
		line += fmt.Sprintf("/%d (%3.0f %%)", total, 100*float64(run.GetSeen())/float64(total))
	}
	line += fmt.Sprintf("  %6.0f/s", rate)
	if total := run.GetDeclaredTotal(); total > 0 && rate > 0 && run.GetSeen() < total {
		eta := time.Duration(float64(total-run.GetSeen()) / rate * float64(time.Second))
		line += "  ETA " + eta.Round(time.Second).String()
	}
	return line
}

func triggerCmd(args []string) error {
	fs := flag.NewFlagSet("trigger", flag.ExitOnError)
	natsURL := fs.String("nats-url", env("MOISSON_NATS_URL", "nats://127.0.0.1:4222"), "NATS URL(s)")
	cfgPath := fs.String("config", env("MOISSON_CONFIG", ""), "territories file")
	timeout := fs.Duration("timeout", 10*time.Second, "give up when NATS does not answer within this time")
	_ = parseArgs(fs, args)
	if fs.NArg() != 1 {
		return errors.New("usage: harvester trigger [--nats-url URL] [--timeout 10s] SOURCE")
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	src := cfg.Source(fs.Arg(0))
	if src == nil {
		return fmt.Errorf("no source %q in the configuration", fs.Arg(0))
	}
	if src.Disabled != "" {
		return fmt.Errorf("source %s is disabled, it is not harvested: %s", src.ID, src.Disabled)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	conn, err := connectOnce(ctx, *natsURL, "moisson-trigger", *timeout)
	if err != nil {
		return err
	}
	defer conn.close()
	if err := worker.RequestHarvest(ctx, conn.buckets, src.ID, "cli"); err != nil {
		return err
	}
	fmt.Println("harvest of", src.ID, "requested; a worker takes it within seconds")
	return nil
}

// connectOnce is connect for a one-shot command: it gives up with one
// clear line when NATS does not answer within the context's time.
func connectOnce(ctx context.Context, natsURL, name string, timeout time.Duration) (*connection, error) {
	conn, err := connect(ctx, natsURL, name, 1, 30*time.Second, zap.NewNop())
	if err != nil && ctx.Err() != nil {
		return nil, fmt.Errorf("NATS at %s did not answer within %s: is the harvester's NATS running (README, \"Scale out\"; or go run ./cmd/moisson -nats-listen 127.0.0.1:4222)? Set --nats-url otherwise", natsURL, timeout)
	}
	return conn, err
}

func deletionsCmd(args []string) error {
	fs := flag.NewFlagSet("deletions", flag.ExitOnError)
	natsURL := fs.String("nats-url", env("MOISSON_NATS_URL", "nats://127.0.0.1:4222"), "NATS URL(s)")
	cfgPath := fs.String("config", env("MOISSON_CONFIG", ""), "territories file")
	timeout := fs.Duration("timeout", 10*time.Second, "give up when NATS does not answer within this time")
	_ = parseArgs(fs, args)
	if fs.NArg() != 2 || (fs.Arg(0) != "release" && fs.Arg(0) != "discard") {
		return errors.New("usage: harvester deletions release|discard [--nats-url URL] SOURCE")
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	src := cfg.Source(fs.Arg(1))
	if src == nil {
		return fmt.Errorf("no source %q in the configuration", fs.Arg(1))
	}
	cctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	conn, err := connectOnce(cctx, *natsURL, "moisson-deletions", *timeout)
	if err != nil {
		return err
	}
	defer conn.close()
	ctx := context.Background()
	discard := fs.Arg(0) == "discard"
	return worker.WithLease(ctx, conn.buckets, src.ID, "cli", 2*time.Minute, func(ctx context.Context) error {
		n, err := harvest.ResolveHeld(ctx, conn.state, harvest.NewJetStreamPublisher(conn.js), src, discard, "cli", time.Now())
		if err != nil {
			return err
		}
		if discard {
			fmt.Println("held deletions of", src.ID, "discarded")
		} else {
			fmt.Println(n, "records of", src.ID, "deleted")
		}
		return nil
	})
}
