// Package ops tests Moisson's harvester workers as separate processes.
package ops

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/simulator"
	"github.com/opendatafrance/moisson/indexer/consumer"
	"github.com/opendatafrance/moisson/indexer/index/bleve"
	"github.com/opendatafrance/moisson/proto/bus"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"go.uber.org/zap/zaptest"
	"go.yaml.in/yaml/v3"
)

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Three harvester workers share the sources; one is killed (SIGKILL) in the
// middle of a run. Every source ends harvested successfully exactly once for
// its schedule tick, the dead worker's run is closed as FAILED by the worker
// that takes over, and the index holds exactly what the portals serve.
func TestThreeWorkersOneKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs processes")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "harvester")
	build := exec.Command("go", "build", "-o", bin, "github.com/opendatafrance/moisson/harvester/cmd/harvester")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("building the harvester: %v", err)
	}

	// NATS with JetStream.
	port := freePort(t)
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: port, JetStream: true,
		StoreDir: filepath.Join(dir, "nats"), NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	defer ns.Shutdown()
	if !ns.ReadyForConnections(20 * time.Second) {
		t.Fatal("nats not ready")
	}
	natsURL := "nats://127.0.0.1:" + strconv.Itoa(port)
	nc, js, err := bus.Connect(natsURL, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := bus.EnsureStreams(ctx, js, bus.Options{}); err != nil {
		t.Fatal(err)
	}

	// Six slow portals: 12 pages of 5 datasets, 150 ms a page.
	base := config.Default()
	keep := map[string]bool{"arnia-ckan": true, "nevers-ckan": true, "datasud-ckan": true, "nice-ckan": true, "bretagne-ods": true, "toulouse-ods": true}
	for _, s := range base.Sources() {
		if !keep[s.ID] {
			s.Disabled = "not in this test"
			continue
		}
		s.Params = map[string]string{"page_size": "5"}
		s.Interval = config.Duration(time.Hour)
	}
	sim := simulator.New(base, simulator.Options{DatasetsPerSource: 60})
	simURL, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	for id := range keep {
		sim.SetFault(id, simulator.Fault{Delay: 150 * time.Millisecond})
	}
	cfg := sim.Rewrite(base, simURL)
	cfg.Harvest.RatePerHost = -1
	cfg.Harvest.ConcurrencyPerHost = 16
	cfgPath := filepath.Join(dir, "sim.yaml")
	b, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	want := int64(0)
	for id := range keep {
		want += int64(sim.Expected(id))
	}

	// The indexer, in this process, into an embedded index.
	idx, err := bleve.OpenMem()
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	go (&consumer.Consumer{JS: js, Index: idx, Log: zaptest.NewLogger(t).Named("indexer")}).Run(ctx)

	// Three workers.
	workers := map[string]*exec.Cmd{}
	for _, name := range []string{"w1", "w2", "w3"} {
		cmd := exec.Command(bin, "run", "--nats-url", natsURL, "--config", cfgPath, "--worker", name,
			"--lease", "2s", "--concurrency", "2")
		logf, _ := os.Create(filepath.Join(dir, name+".log"))
		defer logf.Close()
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		workers[name] = cmd
		defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	}

	buckets, err := bus.OpenBuckets(ctx, js, 2*time.Second, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Kill the first worker seen holding a lease in the middle of a run.
	var victim, victimRun, victimSource string
	deadline := time.Now().Add(60 * time.Second)
	for victim == "" && time.Now().Before(deadline) {
		for id := range keep {
			var l bus.Lease
			if ok, _, _ := bus.GetJSON(ctx, buckets.Leases, id, &l); ok && l.RunID != "" && l.Pages >= 2 {
				victim, victimRun, victimSource = l.Worker, l.RunID, id
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if victim == "" {
		t.Fatal("no worker was seen in the middle of a run")
	}
	if err := workers[victim].Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed %s during run %s of %s", victim, victimRun, victimSource)

	// Every source ends with a successful run and no open run.
	deadline = time.Now().Add(2 * time.Minute)
	for {
		done := 0
		for id := range keep {
			var s bus.Schedule
			if ok, _, _ := bus.GetJSON(ctx, buckets.Schedules, id, &s); ok && s.LastStatus == "SUCCEEDED" && s.OpenRun == "" {
				done++
			}
		}
		if done == len(keep) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 2 minutes %d of %d sources are harvested", done, len(keep))
		}
		time.Sleep(200 * time.Millisecond)
	}

	// The runs: exactly one SUCCEEDED per source; the dead one closed FAILED.
	runs := readRuns(t, ctx, js)
	for id := range keep {
		ok := 0
		for _, r := range runs[id] {
			if r.GetStatus() == moissonv1.HarvestRun_SUCCEEDED {
				ok++
			}
		}
		if ok != 1 {
			t.Errorf("source %s: %d successful runs, want exactly 1", id, ok)
		}
	}
	closed := false
	for _, r := range runs[victimSource] {
		if r.GetRunId() == victimRun && r.GetStatus() == moissonv1.HarvestRun_FAILED {
			closed = true
		}
	}
	if !closed {
		t.Errorf("the run %s of the killed worker was not closed as FAILED", victimRun)
	}

	// The index holds exactly what the portals serve.
	deadline = time.Now().Add(time.Minute)
	for {
		n, _ := idx.Count(ctx)
		if n == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the index holds %d datasets, the portals serve %d", n, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// readRuns reads the RUNS stream: the latest event of each run, per source.
func readRuns(t *testing.T, ctx context.Context, js jetstream.JetStream) map[string][]*moissonv1.HarvestRun {
	t.Helper()
	st, err := js.Stream(ctx, bus.RunsStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	latest := map[string]*moissonv1.HarvestRun{}
	for n := uint64(0); n < info.State.Msgs; {
		batch, err := cons.Fetch(500, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			n++
			r, err := bus.DecodeRun(m.Data())
			if err != nil {
				t.Fatal(err)
			}
			latest[r.GetRunId()] = r
		}
		if got == 0 {
			break
		}
	}
	out := map[string][]*moissonv1.HarvestRun{}
	for _, r := range latest {
		out[r.GetSourceId()] = append(out[r.GetSourceId()], r)
	}
	return out
}
