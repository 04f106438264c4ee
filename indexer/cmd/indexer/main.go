// Command indexer consumes the RECORDS stream into the index. Run as many as
// needed: they share one durable consumer.
//
//	indexer [flags]          consume RECORDS into the index
//	indexer reindex [flags]  move the Elasticsearch alias to a new versioned index
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/opendatafrance/moisson/indexer/collectivite"
	"github.com/opendatafrance/moisson/indexer/consumer"
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

func main() {
	if len(os.Args) > 1 && os.Args[1] == "reindex" {
		if err := reindexCmd(os.Args[2:], os.Stdout, os.Stderr); err != nil {
			if !errors.Is(err, flag.ErrHelp) {
				fmt.Fprintln(os.Stderr, "indexer reindex:", err)
			}
			os.Exit(2)
		}
		return
	}
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: indexer [flags]\n       indexer reindex [flags]   (indexer reindex -h)\n\nflags:\n")
		flag.PrintDefaults()
	}
	natsURL := flag.String("nats-url", env("MOISSON_NATS_URL", "nats://127.0.0.1:4222"), "NATS URL(s), comma-separated (env MOISSON_NATS_URL)")
	esURL := flag.String("es-url", env("MOISSON_ES_URL", ""), "Elasticsearch URL (env MOISSON_ES_URL); empty: the embedded index in --index-path")
	esAlias := flag.String("es-alias", env("MOISSON_ES_ALIAS", ""), "Elasticsearch alias (default moisson-datasets)")
	path := flag.String("index-path", env("MOISSON_INDEX_PATH", "moisson-data/index"), "embedded index directory (without --es-url)")
	esReplicas := flag.Int("es-replicas", -1, "replicas of each shard of the Elasticsearch index (1 or more on a cluster; -1: 0 for a new index, an existing one keeps its own)")
	esWait := flag.String("es-wait-active-shards", "", "copies of a shard up before a write is taken (1, all, a number; empty: Elasticsearch's default)")
	metrics := flag.String("metrics-addr", env("MOISSON_METRICS_ADDR", "127.0.0.1:9102"), "address of /metrics and /healthz (empty: none)")
	batch := flag.Int("batch", 500, "records per index write")
	workers := flag.Int("workers", 2, "batches written at once (each acked after its own write)")
	replicas := flag.Int("replicas", 1, "stream replicas when creating streams (3 on a cluster)")
	ackWait := flag.Duration("ack-wait", 15*time.Second, "how long a delivered record may stay unacked before JetStream redelivers it (after a crash, the wait before another indexer takes it over; a batch being written is kept by in-progress acks)")
	flag.Parse()

	log := service.Logger("indexer", false, false)
	service.TuneGC(log)
	defer log.Sync()
	spec := open.Spec{ESURL: *esURL, ESAlias: *esAlias, Path: *path, Log: log, Replicas: *esReplicas, WaitForActiveShards: *esWait}
	if err := run(*natsURL, spec, *metrics, *batch, *workers, *replicas, *ackWait, log); err != nil {
		service.Exit("indexer", err)
	}
}

func run(natsURL string, spec open.Spec, metricsAddr string, batch, workers, replicas int, ackWait time.Duration, log *zap.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	nc, js, err := service.ConnectJetStream(ctx, natsURL, "moisson-indexer", replicas, log)
	if err != nil {
		return err
	}
	defer nc.Close()
	idx, err := open.Open(ctx, spec)
	if err != nil {
		return err
	}
	defer idx.Close()
	if err := service.ServeOps(ctx, metricsAddr, service.NATSHealthy(nc), log, nil); err != nil {
		return err
	}
	keeper := &collectivite.Keeper{JS: js, Index: idx, Resolvers: collectivite.NewResolvers(), Replicas: replicas, Log: log.Named("collectivite")}
	go func() {
		if err := keeper.Run(ctx); err != nil && ctx.Err() == nil {
			log.Error("territories no longer followed", zap.Error(err))
		}
	}()
	c := &consumer.Consumer{JS: js, Index: idx, Log: log, Batch: batch, Workers: workers, AckWait: ackWait, Attributor: keeper}
	return c.Run(ctx)
}
