// Command api serves Moisson's HTTP API from the index (Elasticsearch, or
// the embedded index when the indexer runs in the same process) and the
// harvest status from the RUNS stream.
package main

import (
	"context"
	"errors"
	"flag"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/opendatafrance/moisson/api/server"
	"github.com/opendatafrance/moisson/api/status"
	"github.com/opendatafrance/moisson/indexer/index"
	"github.com/opendatafrance/moisson/indexer/index/open"
	"github.com/opendatafrance/moisson/service"
	"go.uber.org/zap"
)

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

type options struct {
	addr, natsURL, esURL, esAlias, path, adminToken, baseURL, esWait string
	replicas, esReplicas                                             int
	trusted                                                          []netip.Prefix
}

func main() {
	var o options
	flag.StringVar(&o.addr, "addr", env("MOISSON_ADDR", "127.0.0.1:8080"), "listen address (env MOISSON_ADDR)")
	flag.StringVar(&o.natsURL, "nats-url", env("MOISSON_NATS_URL", "nats://127.0.0.1:4222"), "NATS URL(s) (env MOISSON_NATS_URL)")
	flag.StringVar(&o.esURL, "es-url", env("MOISSON_ES_URL", ""), "Elasticsearch URL (env MOISSON_ES_URL); empty: the embedded index in --index-path (read-only use: stop the indexer writing it)")
	flag.StringVar(&o.esAlias, "es-alias", env("MOISSON_ES_ALIAS", ""), "Elasticsearch alias (default moisson-datasets)")
	flag.StringVar(&o.path, "index-path", env("MOISSON_INDEX_PATH", "moisson-data/index"), "embedded index directory (without --es-url)")
	flag.IntVar(&o.replicas, "replicas", 1, "stream replicas when creating streams (3 on a cluster)")
	flag.IntVar(&o.esReplicas, "es-replicas", -1, "replicas of each shard of the Elasticsearch index (1 or more on a cluster; -1: 0 for a new index, an existing one keeps its own)")
	flag.StringVar(&o.adminToken, "admin-token", env("MOISSON_ADMIN_TOKEN", ""), "token for POST /v1/sources/{id}/harvest (env MOISSON_ADMIN_TOKEN; empty: disabled)")
	flag.StringVar(&o.baseURL, "base-url", env("MOISSON_BASE_URL", ""), "public address the catalogue's IRIs are built on, e.g. https://moisson.example.org (env MOISSON_BASE_URL; empty: the request's)")
	proxies := flag.String("trusted-proxies", env("MOISSON_TRUSTED_PROXIES", ""), "addresses or prefixes whose X-Forwarded-Host/Proto are honoured, comma-separated (env MOISSON_TRUSTED_PROXIES)")
	flag.Parse()
	var err error
	if o.trusted, err = server.ParseProxies(*proxies); err != nil {
		service.Exit("api", err)
	}
	log := service.Logger("api", false, false)
	service.TuneGC(log)
	defer log.Sync()
	if err := run(o, log); err != nil {
		service.Exit("api", err)
	}
}

func run(o options, log *zap.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := service.Listen(o.addr, "the API")
	if err != nil {
		return err
	}
	defer ln.Close()
	nc, js, err := service.ConnectJetStream(ctx, o.natsURL, "moisson-api", o.replicas, log)
	if err != nil {
		return err
	}
	defer nc.Close()
	idx, err := open.Open(ctx, open.Spec{ESURL: o.esURL, ESAlias: o.esAlias, Path: o.path, Log: log, Replicas: o.esReplicas})
	if err != nil {
		return err
	}
	defer idx.Close()
	runs := status.New()
	if err := service.Retry(ctx, "the runs' watch", log, func(ctx context.Context) error { return runs.Watch(ctx, js, log) }); err != nil {
		return err
	}
	var key []byte
	err = service.Retry(ctx, "the API's bucket", log, func(ctx context.Context) error {
		var err error
		key, err = server.CursorKey(ctx, js, o.replicas)
		return err
	})
	if err != nil {
		return err
	}
	// The index is written by other processes: answers are kept until its
	// generation moves (Elasticsearch: its index statistics), see
	// index.NewServingCache.
	srv := &server.Server{Index: index.NewServingCache(idx), Runs: runs, Log: log, JS: js, AdminToken: o.adminToken,
		BaseURL: o.baseURL, TrustedProxies: o.trusted, CursorKey: key,
		Ready: func(context.Context) error { return service.NATSHealthy(nc)() }}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Background(ctx)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}()
	log.Info("api listening", zap.String("addr", ln.Addr().String()))
	if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
