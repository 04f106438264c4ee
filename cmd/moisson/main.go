// Command moisson runs Moisson all in one process: embedded NATS JetStream,
// embedded index, harvester, indexer and API. By default it harvests the
// nine pilot territories from the portal simulator; with -simulate=false it
// harvests the real portals.
package main

import (
	"context"
	"flag"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/opendatafrance/moisson/api/server"
	"github.com/opendatafrance/moisson/app"
	"github.com/opendatafrance/moisson/service"
	"go.uber.org/zap"
)

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func envBool(name string, def bool) bool {
	if v, err := strconv.ParseBool(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// cli is what the command line sets.
type cli struct {
	o       app.Options
	seed    *int64
	proxies *string
	debug   *bool
}

// defineFlags declares the flags of the all-in-one on fs (the README's
// options table is checked against them).
func defineFlags(fs *flag.FlagSet) *cli {
	c := &cli{}
	o := &c.o
	fs.StringVar(&o.Addr, "addr", env("MOISSON_ADDR", "127.0.0.1:8080"), "API listen address (env MOISSON_ADDR)")
	fs.StringVar(&o.DataDir, "data", env("MOISSON_DATA", "moisson-data"), "data directory: NATS store and index (env MOISSON_DATA)")
	fs.StringVar(&o.ConfigPath, "config", env("MOISSON_CONFIG", ""), "territories file (default: the embedded nine territories; env MOISSON_CONFIG)")
	fs.BoolVar(&o.Simulate, "simulate", envBool("MOISSON_SIMULATE", true), "harvest the portal simulator instead of the real portals (env MOISSON_SIMULATE)")
	fs.StringVar(&o.SimAddr, "sim-addr", env("MOISSON_SIM_ADDR", "127.0.0.1:0"), "simulator listen address (env MOISSON_SIM_ADDR)")
	fs.IntVar(&o.SimDatasets, "sim-datasets", envInt("MOISSON_SIM_DATASETS", 200), "datasets per simulated source (env MOISSON_SIM_DATASETS)")
	c.seed = fs.Int64("sim-seed", 1, "simulator seed")
	fs.StringVar(&o.NATSListen, "nats-listen", env("MOISSON_NATS_LISTEN", ""), "also expose the embedded NATS server on this address (e.g. 127.0.0.1:4222; env MOISSON_NATS_LISTEN)")
	fs.IntVar(&o.Concurrency, "concurrency", 4, "sources harvested at once")
	fs.StringVar(&o.ESURL, "es-url", "", "index into this Elasticsearch instead of the embedded index")
	fs.StringVar(&o.ESAlias, "es-alias", "", "Elasticsearch alias (default moisson-datasets)")
	fs.StringVar(&o.AdminToken, "admin-token", env("MOISSON_ADMIN_TOKEN", ""), "token for POST /v1/sources/{id}/harvest (env MOISSON_ADMIN_TOKEN; empty: disabled)")
	fs.StringVar(&o.BaseURL, "base-url", env("MOISSON_BASE_URL", ""), "public address the catalogue's IRIs are built on (env MOISSON_BASE_URL; empty: the request's)")
	c.proxies = fs.String("trusted-proxies", env("MOISSON_TRUSTED_PROXIES", ""), "addresses or prefixes whose X-Forwarded-Host/Proto are honoured, comma-separated (env MOISSON_TRUSTED_PROXIES)")
	c.debug = fs.Bool("debug", false, "debug logs")
	return c
}

func main() {
	c := defineFlags(flag.CommandLine)
	flag.Parse()
	o, seed, proxies, debug := c.o, c.seed, c.proxies, c.debug
	o.SimSeed = *seed

	log := service.Logger("moisson", *debug, true)
	service.TuneGC(log)
	o.Log = log
	var err error
	if o.Trusted, err = server.ParseProxies(*proxies); err != nil {
		service.Exit("moisson", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	a, err := app.Start(ctx, o)
	if err != nil {
		service.Exit("moisson", err)
	}
	log.Info("Moisson is up", zap.String("api", a.APIURL()), zap.String("try", a.APIURL()+"/v1/datasets?q=deliberation"))
	go reportWhenSearchable(ctx, a, start, log)
	<-ctx.Done()
	log.Info("stopping")
	if err := a.Close(); err != nil {
		log.Error("stopped with an error", zap.Error(err))
		os.Exit(1)
	}
	log.Info("stopped")
}

// reportWhenSearchable logs once the start-up harvest is indexed.
func reportWhenSearchable(ctx context.Context, a *app.App, start time.Time, log *zap.Logger) {
	a.WaitHarvest()
	for ctx.Err() == nil {
		pending, err := a.Pending(ctx)
		if err == nil && pending == 0 {
			n, _ := a.IndexCount(ctx)
			log.Info("everything harvested is searchable", zap.Int64("datasets", n), zap.Duration("since start", time.Since(start)))
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}
