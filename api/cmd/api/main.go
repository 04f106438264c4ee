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
	"github.com/opendatafrance/moisson/proto/bus"
	"go.uber.org/zap"
)

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func main() {
	addr := flag.String("addr", env("MOISSON_ADDR", "127.0.0.1:8080"), "listen address (env MOISSON_ADDR)")
	natsURL := flag.String("nats-url", env("MOISSON_NATS_URL", "nats://127.0.0.1:4222"), "NATS URL(s) (env MOISSON_NATS_URL)")
	esURL := flag.String("es-url", env("MOISSON_ES_URL", ""), "Elasticsearch URL (env MOISSON_ES_URL); empty: the embedded index in --index-path (read-only use: stop the indexer writing it)")
	esAlias := flag.String("es-alias", env("MOISSON_ES_ALIAS", ""), "Elasticsearch alias (default moisson-datasets)")
	path := flag.String("index-path", env("MOISSON_INDEX_PATH", "moisson-data/index"), "embedded index directory (without --es-url)")
	replicas := flag.Int("replicas", 1, "stream replicas when creating streams (3 on a cluster)")
	adminToken := flag.String("admin-token", env("MOISSON_ADMIN_TOKEN", ""), "token for POST /v1/sources/{id}/harvest (env MOISSON_ADMIN_TOKEN; empty: disabled)")
	baseURL := flag.String("base-url", env("MOISSON_BASE_URL", ""), "public address the catalogue's IRIs are built on, e.g. https://moisson.example.org (env MOISSON_BASE_URL; empty: the request's)")
	proxies := flag.String("trusted-proxies", env("MOISSON_TRUSTED_PROXIES", ""), "addresses or prefixes whose X-Forwarded-Host/Proto are honoured, comma-separated (env MOISSON_TRUSTED_PROXIES)")
	flag.Parse()
	log, _ := zap.NewProduction()
	defer log.Sync()
	trusted, err := server.ParseProxies(*proxies)
	if err != nil {
		log.Fatal("bad flag", zap.Error(err))
	}
	if err := run(*addr, *natsURL, *esURL, *esAlias, *path, *replicas, *adminToken, *baseURL, trusted, log); err != nil {
		log.Fatal("api stopped", zap.Error(err))
	}
}

func run(addr, natsURL, esURL, esAlias, path string, replicas int, adminToken, baseURL string, trusted []netip.Prefix, log *zap.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	nc, js, err := bus.Connect(natsURL, "moisson-api")
	if err != nil {
		return err
	}
	defer nc.Close()
	if err := bus.WaitStreams(ctx, js, bus.Options{Replicas: replicas}, func(err error) {
		log.Warn("streams not ready, retrying", zap.Error(err))
	}); err != nil {
		return err
	}
	idx, err := open.Open(ctx, open.Spec{ESURL: esURL, ESAlias: esAlias, Path: path, Log: log})
	if err != nil {
		return err
	}
	defer idx.Close()
	runs := status.New()
	if err := runs.Watch(ctx, js, log); err != nil {
		return err
	}
	// The index is written by other processes: answers are kept until its
	// generation moves (Elasticsearch: its index statistics), see
	// index.NewServingCache.
	cache := index.NewServingCache(idx)
	key, err := server.CursorKey(ctx, js, replicas)
	if err != nil {
		return err
	}
	srv := &server.Server{Index: cache, Runs: runs, Log: log, JS: js, AdminToken: adminToken, BaseURL: baseURL, TrustedProxies: trusted,
		CursorKey: key, Ready: func(context.Context) error {
			if !nc.IsConnected() {
				return errors.New("nats: not connected")
			}
			return nil
		}}
	hs := &http.Server{Addr: addr, Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}()
	log.Info("api listening", zap.String("addr", addr))
	if err := hs.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
