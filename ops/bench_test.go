package ops

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/simulator"
	"github.com/opendatafrance/moisson/proto/bus"
	"go.yaml.in/yaml/v3"
)

// BenchmarkWorkers harvests the default simulated territories (every enabled
// source, 200 datasets each) with 1, 2 and 3 harvester processes, each page
// answered after 20 ms as a distant portal would; it reports datasets/s of a
// full harvest, and the time of an unchanged re-harvest.
//
//	go test -run '^$' -bench Workers -benchtime 1x ./ops
func BenchmarkWorkers(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "harvester")
	build := exec.Command("go", "build", "-o", bin, "github.com/opendatafrance/moisson/harvester/cmd/harvester")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		b.Fatal(err)
	}
	for _, workers := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				full, again, n := harvestWith(b, bin, workers)
				b.ReportMetric(float64(n)/full.Seconds(), "datasets/s")
				b.ReportMetric(full.Seconds(), "full-s")
				b.ReportMetric(again.Seconds(), "unchanged-s")
			}
		})
	}
}

func harvestWith(b *testing.B, bin string, workers int) (full, again time.Duration, datasets int) {
	dir := b.TempDir()
	port := freePort(&testing.T{})
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: port, JetStream: true,
		StoreDir: filepath.Join(dir, "nats"), NoSigs: true, NoLog: true})
	if err != nil {
		b.Fatal(err)
	}
	ns.Start()
	defer ns.Shutdown()
	ns.ReadyForConnections(20 * time.Second)
	natsURL := "nats://127.0.0.1:" + strconv.Itoa(port)
	nc, js, err := bus.Connect(natsURL, "bench")
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	ctx := context.Background()
	if err := bus.EnsureStreams(ctx, js, bus.Options{}); err != nil {
		b.Fatal(err)
	}
	base := config.Default()
	sim := simulator.New(base, simulator.Options{DatasetsPerSource: 200})
	simURL, err := sim.Start("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	var ids []string
	for _, s := range base.Sources() {
		if s.Disabled == "" {
			ids = append(ids, s.ID)
			sim.SetFault(s.ID, simulator.Fault{Delay: 20 * time.Millisecond})
		}
	}
	cfg := sim.Rewrite(base, simURL)
	cfg.Harvest.RatePerHost = -1
	cfg.Harvest.ConcurrencyPerHost = 64
	cfgPath := filepath.Join(dir, "sim.yaml")
	out, _ := yaml.Marshal(cfg)
	os.WriteFile(cfgPath, out, 0o644)
	datasets = sim.Total()

	buckets, err := bus.OpenBuckets(ctx, js, 10*time.Second, 1)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for w := 0; w < workers; w++ {
		cmd := exec.Command(bin, "run", "--nats-url", natsURL, "--config", cfgPath, "--worker", fmt.Sprintf("w%d", w),
			"--concurrency", "2", "--lease", "10s")
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		defer func() { cmd.Process.Kill(); cmd.Wait() }()
	}
	waitAll := func(since time.Time) {
		deadline := time.Now().Add(5 * time.Minute)
		for {
			done := 0
			for _, id := range ids {
				var s bus.Schedule
				if ok, _, _ := bus.GetJSON(ctx, buckets.Schedules, id, &s); ok && s.OpenRun == "" && s.LastStatus == "SUCCEEDED" && !s.LastStarted.Before(since) {
					done++
				}
			}
			if done == len(ids) {
				return
			}
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d sources harvested after 5 minutes", done, len(ids))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitAll(start)
	full = time.Since(start)

	// Ask for everything again: nothing changed.
	start = time.Now()
	for _, id := range ids {
		if err := bus.RequestHarvest(ctx, buckets, id, "bench"); err != nil {
			b.Fatal(err)
		}
	}
	waitAll(start)
	again = time.Since(start)
	return full, again, datasets
}
