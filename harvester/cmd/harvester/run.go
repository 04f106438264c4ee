package main

import (
	"context"
	"errors"
	"flag"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/fetch"
	"github.com/opendatafrance/moisson/harvester/harvest"
	"github.com/opendatafrance/moisson/harvester/source"
	"github.com/opendatafrance/moisson/proto/bus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

func defaultConfig() []byte { return config.DefaultYAML() }

func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return config.Default(), nil
	}
	return config.Load(path)
}

func runCmd(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	natsURL := fs.String("nats-url", env("MOISSON_NATS_URL", "nats://127.0.0.1:4222"), "NATS URL(s), comma-separated (env MOISSON_NATS_URL)")
	cfgPath := fs.String("config", env("MOISSON_CONFIG", ""), "territories file (default: the embedded nine territories; env MOISSON_CONFIG)")
	concurrency := fs.Int("concurrency", 4, "sources harvested at once")
	every := fs.Duration("every", 0, "harvest again every this long (0: once, then exit)")
	only := fs.String("source", "", "harvest only this source id")
	worker := fs.String("worker", env("HOSTNAME", "harvester"), "name of this worker, recorded on its runs")
	metrics := fs.String("metrics-addr", env("MOISSON_METRICS_ADDR", ""), "address of /metrics and /healthz (empty: none)")
	replicas := fs.Int("replicas", 1, "stream replicas when creating streams (3 on a cluster)")
	_ = fs.Parse(args)

	log, _ := zap.NewProduction()
	defer log.Sync()
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if *only != "" {
		src := cfg.Source(*only)
		if src == nil {
			return errors.New("no source " + *only + " in the configuration")
		}
		for _, s := range cfg.Sources() {
			if s != src && s.Disabled == "" {
				s.Disabled = "not selected (--source " + *only + ")"
			}
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	nc, js, err := bus.Connect(*natsURL, "moisson-harvester-"+*worker)
	if err != nil {
		return err
	}
	defer nc.Close()
	if err := bus.WaitStreams(ctx, js, bus.Options{Replicas: *replicas}, func(err error) {
		log.Warn("streams not ready, retrying", zap.Error(err))
	}); err != nil {
		return err
	}
	if *metrics != "" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.Handler())
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok\n")) })
		srv := &http.Server{Addr: *metrics, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.ListenAndServe() }()
		defer srv.Close()
	}
	runner := &harvest.Runner{
		Env: source.Env{Client: fetch.New(fetch.Options{
			Contact: cfg.Contact, AllowPrivate: cfg.AllowPrivateAddresses,
		}), Log: log},
		Publisher: harvest.NewJetStreamPublisher(js),
		Log:       log,
		Worker:    *worker,
	}
	for {
		start := time.Now()
		runs := runner.RunAll(ctx, cfg, *concurrency)
		var seen int64
		for _, r := range runs {
			seen += r.GetSeen()
		}
		log.Info("harvest pass done", zap.Int("sources", len(runs)), zap.Int64("datasets", seen), zap.Duration("took", time.Since(start)))
		if *every <= 0 || ctx.Err() != nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(*every):
		}
	}
}
