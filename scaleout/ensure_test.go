package scaleout

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/opendatafrance/moisson/proto/bus"
)

// natsCluster starts three clustered JetStream servers in this process and
// returns their client URLs.
func natsCluster(t *testing.T) string {
	return newTestCluster(t, "ensure").urls()
}

// testCluster is three clustered JetStream servers in this process; each
// can be stopped and started again on its ports and store.
type testCluster struct {
	t       *testing.T
	opts    []*server.Options
	servers []*server.Server
}

// newTestCluster starts the cluster and waits until it is ready.
func newTestCluster(t *testing.T, name string) *testCluster {
	t.Helper()
	c := &testCluster{t: t, opts: make([]*server.Options, 3), servers: make([]*server.Server, 3)}
	cports := []int{freePort(t), freePort(t), freePort(t)}
	var routes []*url.URL
	for _, p := range cports {
		routes = append(routes, &url.URL{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", p)})
	}
	for i, p := range cports {
		c.opts[i] = &server.Options{
			ServerName: fmt.Sprintf("n%d", i+1), Host: "127.0.0.1", Port: freePort(t), JetStream: true, StoreDir: t.TempDir(),
			Cluster: server.ClusterOpts{Name: name, Host: "127.0.0.1", Port: p},
			Routes:  routes, NoLog: true, NoSigs: true,
		}
		c.start(i)
	}
	t.Cleanup(func() {
		for _, s := range c.servers {
			s.Shutdown()
		}
	})
	// Ready: a meta leader that knows the three peers, each current (with a
	// peer not yet seen, a replicated create fails with "no suitable peers
	// for placement, peer offline").
	deadline := time.Now().Add(20 * time.Second)
	for !clusterReady(c.servers) {
		if time.Now().After(deadline) {
			t.Fatal("the JetStream cluster did not form")
		}
		time.Sleep(100 * time.Millisecond)
	}
	return c
}

// start starts server i (again).
func (c *testCluster) start(i int) {
	c.t.Helper()
	s, err := server.NewServer(c.opts[i])
	if err != nil {
		c.t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		c.t.Fatal("a NATS server did not start")
	}
	c.servers[i] = s
}

// url is server i's client URL.
func (c *testCluster) url(i int) string { return fmt.Sprintf("nats://127.0.0.1:%d", c.opts[i].Port) }

// urls are the client URLs of all three.
func (c *testCluster) urls() string { return c.url(0) + "," + c.url(1) + "," + c.url(2) }

func clusterReady(servers []*server.Server) bool {
	peers := 0
	for _, s := range servers {
		if !s.JetStreamIsCurrent() {
			return false
		}
		if s.JetStreamIsLeader() {
			peers = len(s.JetStreamClusterPeers())
		}
	}
	return peers == len(servers)
}

// TestConcurrentStart: six services opening the streams, buckets and the
// consumer at once on a three-node cluster. A cluster leaves concurrent
// create-or-update requests for one stream unanswered: each service waited
// 5 s per stream and bucket and retried (a minute to start on three
// nodes). Twice: the first start creates, the second finds. Each service
// gets one attempt of at most 30 s: usually all six are ready within a
// second, but under the test command's load (packages tested in parallel
// on two cores) a new stream may take seconds to elect its leader, and 10 s
// failed about one run in fifty.
func TestConcurrentStart(t *testing.T) {
	urls := natsCluster(t)
	for _, round := range []string{"first start", "restart"} {
		start := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, 6)
		for i := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				nc, js, err := bus.Connect(urls, fmt.Sprint("svc", i))
				if err != nil {
					errs <- err
					return
				}
				defer nc.Close()
				// One attempt each (the services retry, but must not
				// need to): an unanswered request used to fail it.
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				if err := bus.EnsureStreams(ctx, js, bus.Options{Replicas: 3}); err != nil {
					errs <- fmt.Errorf("svc%d streams: %w", i, err)
					return
				}
				if _, err := bus.OpenBuckets(ctx, js, 30*time.Second, 3); err != nil {
					errs <- fmt.Errorf("svc%d buckets: %w", i, err)
					return
				}
				if _, err := bus.EnsureConsumer(ctx, js, bus.RecordsStream, jetstream.ConsumerConfig{
					Durable: "indexer", AckPolicy: jetstream.AckExplicitPolicy, AckWait: 15 * time.Second,
				}); err != nil {
					errs <- fmt.Errorf("svc%d consumer: %w", i, err)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("%s: %v", round, err)
		}
		t.Logf("%s: six services ready in %s", round, time.Since(start).Round(time.Millisecond))
	}
}
