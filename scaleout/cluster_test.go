package scaleout

// The clusters of scripts/cluster, broken: during a harvest of the whole
// simulated catalogue (the simulator changes every dataset first, so that
// all of it is published and indexed again), one fault after the other:
//
//  1. kill -9 the JetStream meta leader, then the RECORDS stream leader;
//  2. kill -9 the Elasticsearch node holding the primary of the dataset
//     index, then bring it back;
//  3. kill -9 the harvester worker holding a source's lease, and an indexer;
//  4. stop a NATS node for 30 s (SIGSTOP: its peers see a partition) and
//     let it rejoin.
//
// After each: Elasticsearch holds exactly what the simulator serves, source
// by source (nothing indexed twice under two ids, nothing lost), no run
// deleted anything, every source's last run SUCCEEDED (or PARTIAL with its
// errors said), and a client polling both APIs throughout saw them answer.
// Each fault's time to recover is logged; the logs stay after a failure
// (or with MOISSON_CLUSTER_KEEP=1). MOISSON_CLUSTER_TESTS=1 runs it
// (.ci/run does, in its own step): it starts 3 NATS and 3 Elasticsearch
// nodes and takes a few minutes.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/opendatafrance/moisson/proto/bus"
)

const clusterToken = "cluster-test-token"

type cluster struct {
	t       *testing.T
	dir     string
	base    int
	total   int
	expect  map[string]int // source → datasets the simulator serves
	nc      *nats.Conn
	js      jetstream.JetStream
	polling *poller
}

func (c *cluster) port(n int) int { return n + c.base }

func (c *cluster) script(args ...string) string {
	c.t.Helper()
	cmd := exec.Command("../scripts/cluster", args...)
	cmd.Env = append(os.Environ(), "MOISSON_CLUSTER_DIR="+c.dir, "MOISSON_CLUSTER_PORT_BASE="+strconv.Itoa(c.base),
		"MOISSON_CLUSTER_DATASETS=600", "MOISSON_ADMIN_TOKEN="+clusterToken)
	out, err := cmd.CombinedOutput()
	if err != nil {
		c.t.Fatalf("scripts/cluster %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (c *cluster) pid(name string) int {
	c.t.Helper()
	b, err := os.ReadFile(filepath.Join(c.dir, "pids", name+".pid"))
	if err != nil {
		c.t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		c.t.Fatal(err)
	}
	return pid
}

func (c *cluster) signal(name string, sig syscall.Signal) {
	c.t.Helper()
	if err := syscall.Kill(c.pid(name), sig); err != nil {
		c.t.Fatalf("%s %s: %v", sig, name, err)
	}
	c.t.Logf("%s: %s", name, sig)
}

func (c *cluster) getJSON(u string, v any) error {
	res, err := http.Get(u)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		return fmt.Errorf("%s: %d", u, res.StatusCode)
	}
	return json.NewDecoder(res.Body).Decode(v)
}

// es asks any Elasticsearch node that answers.
func (c *cluster) es(path string, v any) error {
	var err error
	for i := 1; i <= 3; i++ {
		if err = c.getJSON(fmt.Sprintf("http://127.0.0.1:%d%s", c.port(9200+i), path), v); err == nil {
			return nil
		}
	}
	return err
}

// perSource counts the documents of each source in the index.
func (c *cluster) perSource() (map[string]int, int, error) {
	var ans struct {
		Hits struct {
			Total struct {
				Value int `json:"value"`
			} `json:"total"`
		} `json:"hits"`
		Aggs struct {
			S struct {
				Buckets []struct {
					Key   string `json:"key"`
					Count int    `json:"doc_count"`
				} `json:"buckets"`
			} `json:"s"`
		} `json:"aggregations"`
	}
	q := `/moisson-datasets/_search?size=0&track_total_hits=true&source_content_type=application/json&source=` +
		`{"aggs":{"s":{"terms":{"field":"source","size":200}}},"track_total_hits":true}`
	if err := c.es(strings.ReplaceAll(strings.ReplaceAll(q, `"`, "%22"), " ", ""), &ans); err != nil {
		return nil, 0, err
	}
	out := map[string]int{}
	for _, b := range ans.Aggs.S.Buckets {
		out[b.Key] = b.Count
	}
	return out, ans.Hits.Total.Value, nil
}

type clusterSource struct {
	SourceID string `json:"source_id"`
	Disabled string `json:"disabled"`
	Status   string `json:"status"`
	LastRun  *struct {
		Finished   *time.Time `json:"finished_at"`
		Deleted    int64      `json:"deleted"`
		ErrorCount int64      `json:"error_count"`
	} `json:"last_run"`
}

func (c *cluster) sources() []clusterSource {
	var st struct {
		Sources []clusterSource `json:"sources"`
	}
	if err := c.getJSON(fmt.Sprintf("http://127.0.0.1:%d/v1/sources", c.port(8081)), &st); err != nil {
		if err = c.getJSON(fmt.Sprintf("http://127.0.0.1:%d/v1/sources", c.port(8082)), &st); err != nil {
			return nil
		}
	}
	return st.Sources
}

// harvestAll changes every simulated dataset, then asks for a harvest of
// every source through the API; it returns when it asked.
func (c *cluster) harvestAll() time.Time {
	c.t.Helper()
	sim := fmt.Sprintf("http://127.0.0.1:%d", c.port(8090))
	for _, u := range []string{sim + "/_control/touch", sim + "/_control/latency?d=150ms"} {
		res, err := http.Post(u, "", nil)
		if err != nil || res.StatusCode != 200 {
			c.t.Fatalf("POST %s: %v %v", u, res.StatusCode, err)
		}
		res.Body.Close()
	}
	asked := time.Now()
	for _, s := range c.sources() {
		if s.Disabled != "" {
			continue
		}
		req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/v1/sources/%s/harvest", c.port(8081), s.SourceID), nil)
		req.Header.Set("Authorization", "Bearer "+clusterToken)
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != http.StatusAccepted {
			c.t.Fatalf("harvest %s: %v %v", s.SourceID, res.StatusCode, err)
		}
		res.Body.Close()
	}
	return asked
}

// dumpWorkers writes the goroutines of both workers (their ops address's
// /debug/pprof/goroutine) beside the cluster's logs.
func (c *cluster) dumpWorkers(phase string) {
	for i := 1; i <= 2; i++ {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/goroutine?debug=2", c.port(9110+i)))
		if err != nil {
			c.t.Logf("%s: goroutines of h%d: %v", phase, i, err)
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		f := filepath.Join(c.dir, "logs", fmt.Sprintf("h%d-goroutines-%s.txt", i, strings.ReplaceAll(phase, " ", "-")))
		if err := os.WriteFile(f, b, 0o644); err == nil {
			c.t.Logf("%s: slow to settle; goroutines of h%d in %s", phase, i, f)
		}
	}
}

// settle waits until every source's last run after since has ended, the
// indexers have nothing left and the index holds what the simulator
// serves; then checks it all.
func (c *cluster) settle(phase string, since time.Time) {
	c.t.Helper()
	start := time.Now()
	dumped := false
	waitFor(c.t, 6*time.Minute, phase+": the harvest and the indexing did not settle", func() (bool, string) {
		if !dumped && time.Since(start) > time.Minute {
			// Slow: what the workers are doing, for the logs.
			dumped = true
			c.dumpWorkers(phase)
		}
		for _, s := range c.sources() {
			if s.Disabled != "" {
				continue
			}
			if s.Status == "RUNNING" || s.LastRun == nil || s.LastRun.Finished == nil || s.LastRun.Finished.Before(since) {
				return false, s.SourceID + " not harvested again yet (" + s.Status + ")"
			}
		}
		var st struct {
			Indexing struct{ Pending, InProgress int64 }
		}
		if err := c.getJSON(fmt.Sprintf("http://127.0.0.1:%d/v1/status", c.port(8082)), &st); err != nil {
			return false, err.Error()
		}
		if st.Indexing.Pending+st.Indexing.InProgress > 0 {
			return false, fmt.Sprintf("%d records wait for the index", st.Indexing.Pending+st.Indexing.InProgress)
		}
		_, n, err := c.perSource()
		return err == nil && n == c.total, fmt.Sprintf("%d of %d indexed (%v)", n, c.total, err)
	})
	c.t.Logf("%s: harvest and index settled %s after the fault", phase, time.Since(start).Round(100*time.Millisecond))
	got, n, err := c.perSource()
	if err != nil || n != c.total {
		c.t.Fatalf("%s: %d documents, %d served (%v)", phase, n, c.total, err)
	}
	for src, want := range c.expect {
		if got[src] != want {
			c.t.Errorf("%s: source %s has %d documents in the index, the simulator serves %d", phase, src, got[src], want)
		}
	}
	for _, s := range c.sources() {
		if s.Disabled != "" {
			continue
		}
		switch {
		case s.LastRun.Deleted != 0:
			c.t.Errorf("%s: the last run of %s deleted %d records", phase, s.SourceID, s.LastRun.Deleted)
		case s.Status == "PARTIAL" && s.LastRun.ErrorCount > 0:
			c.t.Logf("%s: %s ended PARTIAL with %d errors said", phase, s.SourceID, s.LastRun.ErrorCount)
		case s.Status != "SUCCEEDED":
			c.t.Errorf("%s: the last run of %s is %s", phase, s.SourceID, s.Status)
		}
	}
	c.polling.report(phase)
}

// poller asks both APIs a search every 200 ms, counting the answers.
type poller struct {
	t              *testing.T
	urls           []string
	asked, failed  atomic.Int64
	lastAsk, lastF int64
	stop           chan struct{}
	wg             sync.WaitGroup
	firstError     atomic.Value
}

func newPoller(t *testing.T, urls ...string) *poller {
	p := &poller{t: t, urls: urls, stop: make(chan struct{})}
	client := &http.Client{Timeout: 5 * time.Second}
	for _, u := range urls {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			tick := time.NewTicker(200 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-p.stop:
					return
				case <-tick.C:
				}
				p.asked.Add(1)
				res, err := client.Get(u + "/v1/datasets?q=budget&size=5")
				if err == nil {
					res.Body.Close()
					if res.StatusCode != 200 {
						err = fmt.Errorf("status %d", res.StatusCode)
					}
				}
				if err != nil {
					p.failed.Add(1)
					p.firstError.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	return p
}

// report logs the answers since the last report.
func (p *poller) report(phase string) {
	a, f := p.asked.Load(), p.failed.Load()
	da, df := a-p.lastAsk, f-p.lastF
	p.lastAsk, p.lastF = a, f
	rate := 0.0
	if da > 0 {
		rate = 100 * float64(df) / float64(da)
	}
	first, _ := p.firstError.Load().(string)
	p.t.Logf("%s: the API pollers asked %d searches, %d failed (%.2f %%) %s", phase, da, df, rate, first)
	if rate > 5 {
		p.t.Errorf("%s: %.1f %% of the searches failed during the fault", phase, rate)
	}
}

func (p *poller) close() {
	close(p.stop)
	p.wg.Wait()
}

// metaLeader is the JetStream meta leader as one server's monitoring says.
func (c *cluster) metaLeader(exclude string) string {
	for i := 1; i <= 3; i++ {
		if fmt.Sprintf("n%d", i) == exclude {
			continue
		}
		var jsz struct {
			Meta struct {
				Leader string `json:"leader"`
			} `json:"meta_cluster"`
		}
		if c.getJSON(fmt.Sprintf("http://127.0.0.1:%d/jsz", c.port(8221+i)), &jsz) == nil && jsz.Meta.Leader != "" {
			return jsz.Meta.Leader
		}
	}
	return ""
}

func (c *cluster) streamLeader() string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := c.js.Stream(ctx, bus.RecordsStream)
	if err != nil {
		return ""
	}
	info, err := st.Info(ctx)
	if err != nil || info.Cluster == nil {
		return ""
	}
	return info.Cluster.Leader
}

// recover measures how long cond takes to hold after a fault.
func (c *cluster) recover(what string, timeout time.Duration, cond func() bool) time.Duration {
	c.t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			c.t.Fatalf("%s: not recovered after %s", what, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
	d := time.Since(start)
	c.t.Logf("%s: recovered in %s", what, d.Round(10*time.Millisecond))
	return d
}

func TestClusterFaults(t *testing.T) {
	if os.Getenv("MOISSON_CLUSTER_TESTS") != "1" {
		t.Skip("the cluster faults test starts 3 NATS and 3 Elasticsearch nodes: MOISSON_CLUSTER_TESTS=1 runs it (.ci/run does)")
	}
	// Not t.TempDir(): Elasticsearch runs as its own user (root may not
	// run it), which must reach its directories.
	dir, err := os.MkdirTemp("", "moisson-cluster-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	// The directory stays after a failure, with every process's log.
	// Every port (base + 4222 … base + 9303) below 32768, where Linux
	// starts picking ephemeral ports for outgoing connections: a port
	// taken by one of those made nats-server exit.
	c := &cluster{t: t, dir: dir, base: 10000 + freePort(t)%1300*10}
	c.script("up")
	defer func() {
		if t.Failed() {
			for _, n := range []string{"n1", "es1", "h1", "h2", "i1", "i2", "a1"} {
				t.Logf("---- %s\n%s", n, tail(filepath.Join(c.dir, "logs", n+".log"), 15))
			}
		}
		if t.Failed() || os.Getenv("MOISSON_CLUSTER_KEEP") == "1" {
			c.script("down")
			t.Logf("the cluster's logs are kept in %s/logs", c.dir)
			return
		}
		c.script("down", "--clean")
	}()
	// What the simulator serves, source by source.
	var res *http.Response
	res, err = http.Get(fmt.Sprintf("http://127.0.0.1:%d/", c.port(8090)))
	if err != nil {
		t.Fatal(err)
	}
	var desc strings.Builder
	buf := make([]byte, 64<<10)
	for {
		n, err := res.Body.Read(buf)
		desc.Write(buf[:n])
		if err != nil {
			break
		}
	}
	res.Body.Close()
	c.expect = map[string]int{}
	for _, line := range strings.Split(desc.String(), "\n") {
		// "territory  source  protocol  URL  N datasets"
		f := strings.Fields(line)
		if len(f) < 6 || f[len(f)-1] != "datasets" {
			continue
		}
		if n, err := strconv.Atoi(f[len(f)-2]); err == nil && n > 0 {
			c.expect[f[1]] = n
			c.total += n
		}
	}
	if c.total == 0 {
		t.Fatalf("the simulator serves nothing:\n%s", desc.String())
	}
	urls := fmt.Sprintf("nats://127.0.0.1:%d,nats://127.0.0.1:%d,nats://127.0.0.1:%d", c.port(4222), c.port(4223), c.port(4224))
	if c.nc, c.js, err = bus.Connect(urls, "cluster-test"); err != nil {
		t.Fatal(err)
	}
	defer c.nc.Close()
	c.polling = newPoller(t, fmt.Sprintf("http://127.0.0.1:%d", c.port(8081)), fmt.Sprintf("http://127.0.0.1:%d", c.port(8082)))
	defer c.polling.close()
	c.settle("first harvest", time.Time{})

	t.Run("nats leaders", func(t *testing.T) {
		since := c.harvestAll()
		time.Sleep(2 * time.Second)
		meta := c.metaLeader("")
		c.signal(meta, syscall.SIGKILL)
		c.recover("JetStream meta leader "+meta+" killed: a new meta leader", time.Minute, func() bool {
			l := c.metaLeader(meta)
			return l != "" && l != meta
		})
		c.script("restart", meta)
		time.Sleep(3 * time.Second)
		leader := c.streamLeader()
		if leader == "" {
			t.Fatal("the RECORDS stream has no leader")
		}
		c.signal(leader, syscall.SIGKILL)
		c.recover("RECORDS leader "+leader+" killed: a new stream leader", time.Minute, func() bool {
			l := c.streamLeader()
			return l != "" && l != leader
		})
		c.script("restart", leader)
		c.settle("nats leaders", since)
	})

	t.Run("elasticsearch primary", func(t *testing.T) {
		since := c.harvestAll()
		time.Sleep(2 * time.Second)
		primary := func() string {
			var shards []struct {
				Prirep, State, Node string
			}
			if c.es("/_cat/shards/moisson-datasets?format=json&h=prirep,state,node", &shards) != nil {
				return ""
			}
			for _, s := range shards {
				if s.Prirep == "p" && s.State == "STARTED" {
					return s.Node
				}
			}
			return ""
		}
		node := primary()
		if node == "" {
			t.Fatal("no started primary")
		}
		c.signal(node, syscall.SIGKILL)
		c.recover("Elasticsearch node "+node+" holding the primary killed: a replica promoted", 2*time.Minute, func() bool {
			p := primary()
			return p != "" && p != node
		})
		c.script("restart", node)
		c.recover(node+" back: the cluster green with 3 nodes", 3*time.Minute, func() bool {
			var h struct {
				Status string `json:"status"`
				Nodes  int    `json:"number_of_nodes"`
			}
			return c.es("/_cluster/health", &h) == nil && h.Status == "green" && h.Nodes == 3
		})
		c.settle("elasticsearch primary", since)
	})

	t.Run("worker and indexer", func(t *testing.T) {
		since := c.harvestAll()
		var holder, source string
		c.recover("a source leased", time.Minute, func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			kv, err := c.js.KeyValue(ctx, bus.LeaseBucket)
			if err != nil {
				return false
			}
			keys, err := kv.Keys(ctx)
			if err != nil || len(keys) == 0 {
				return false
			}
			var l bus.Lease
			if ok, _, err := bus.GetJSON(ctx, kv, keys[0], &l); !ok || err != nil {
				return false
			}
			holder, source = l.Worker, keys[0]
			return holder == "h1" || holder == "h2"
		})
		c.signal(holder, syscall.SIGKILL)
		c.signal("i1", syscall.SIGKILL)
		c.recover("worker "+holder+" killed while harvesting "+source+": the other worker harvested it", 3*time.Minute, func() bool {
			for _, s := range c.sources() {
				if s.SourceID == source {
					return s.Status != "RUNNING" && s.LastRun != nil && s.LastRun.Finished != nil && s.LastRun.Finished.After(since)
				}
			}
			return false
		})
		c.settle("worker and indexer", since)
		c.script("restart", holder)
		c.script("restart", "i1")
	})

	t.Run("nats partition", func(t *testing.T) {
		since := c.harvestAll()
		time.Sleep(2 * time.Second)
		node := c.streamLeader()
		c.signal(node, syscall.SIGSTOP)
		time.Sleep(30 * time.Second)
		c.signal(node, syscall.SIGCONT)
		c.recover(node+" back after 30 s away: every RECORDS replica current", 2*time.Minute, func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			st, err := c.js.Stream(ctx, bus.RecordsStream)
			if err != nil {
				return false
			}
			info, err := st.Info(ctx)
			if err != nil || info.Cluster == nil || info.Cluster.Leader == "" {
				return false
			}
			for _, r := range info.Cluster.Replicas {
				if !r.Current || r.Offline {
					return false
				}
			}
			return true
		})
		c.settle("nats partition", since)
	})
}
