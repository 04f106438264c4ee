package scaleout

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/opendatafrance/moisson/proto/bus"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binaries builds harvester, indexer, api and nats-server once for the
// package and returns their directory.
func binaries(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "moisson-scaleout-bin-")
		if buildErr != nil {
			return
		}
		root, err := filepath.Abs("..")
		if err != nil {
			buildErr = err
			return
		}
		for _, args := range [][]string{
			{"build", "-o", binDir + string(os.PathSeparator), "./harvester/cmd/harvester", "./indexer/cmd/indexer", "./api/cmd/api"},
			// The NATS server from the module the services already depend on.
			{"build", "-o", filepath.Join(binDir, "nats-server"), "github.com/nats-io/nats-server/v2"},
		} {
			cmd := exec.Command("go", args...)
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

// requireES is the Elasticsearch of the tests (MOISSON_ES_URL): missing, the
// test skips with one line, or fails under CI=true; set but not answering,
// it fails.
func requireES(t *testing.T) string {
	t.Helper()
	u := strings.TrimRight(os.Getenv("MOISSON_ES_URL"), "/")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("MOISSON_ES_URL is not set: run scripts/elasticsearch start and export MOISSON_ES_URL=<the URL it prints>")
		}
		t.Skip("scale-out tests skipped: run scripts/elasticsearch start, then set MOISSON_ES_URL=http://127.0.0.1:9200")
	}
	res, err := http.Get(u + "/_cluster/health")
	if err != nil {
		t.Fatalf("Elasticsearch at MOISSON_ES_URL=%s does not answer: %v", u, err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("Elasticsearch at %s: /_cluster/health answers %d", u, res.StatusCode)
	}
	return u
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// proc is one process of the deployment, logging to <dir>/<name>.log.
type proc struct {
	name, logPath string
	cmd           *exec.Cmd
	done          chan struct{}
	err           error
	metrics       string // host:port of /metrics, when it has one
}

// serviceEnv is the environment of the processes: none of the MOISSON_*
// variables of the test run, so that only the flags configure them.
func serviceEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MOISSON_") {
			env = append(env, kv)
		}
	}
	return env
}

func startProc(t *testing.T, dir, name, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, logPath: filepath.Join(dir, name+".log"), done: make(chan struct{})}
	logf, err := os.Create(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	p.cmd.Env = serviceEnv()
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("--- last lines of %s (%s):\n%s", name, p.logPath, tail(p.logPath, 25))
		}
	})
	return p
}

func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM and, after 10 s, SIGKILL.
func (p *proc) stop() {
	if !p.running() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitFor polls cond every 100 ms until it is true or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s (%s)", timeout, what, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func httpOK(u string) bool {
	res, err := http.Get(u)
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode == 200
}

// stack is a deployment on 127.0.0.1: NATS and the simulator; harvesters,
// indexers and the API are started by each test.
type stack struct {
	t         *testing.T
	dir, bin  string
	es        string // Elasticsearch, direct
	alias     string
	natsURL   string
	simTotal  int
	simURL    string
	simConfig string
	apiURL    string
	js        jetstream.JetStream
}

var simLine = regexp.MustCompile(`^simulator serving ([0-9]+) datasets on (\S+)`)

// newStack starts nats-server with JetStream and its own store, and the
// simulator with datasetsPerSource datasets per source, under a fresh
// Elasticsearch alias dropped at the end.
func newStack(t *testing.T, datasetsPerSource int) *stack {
	t.Helper()
	es := requireES(t)
	s := &stack{t: t, dir: t.TempDir(), bin: binaries(t), es: es, alias: "moisson-scaleout-" + randomHex(5)}
	t.Cleanup(s.dropAlias)

	port, mon := freePort(t), freePort(t)
	startProc(t, s.dir, "nats-server", filepath.Join(s.bin, "nats-server"),
		"-js", "-sd", filepath.Join(s.dir, "nats"), "-a", "127.0.0.1", "-p", strconv.Itoa(port), "-m", strconv.Itoa(mon))
	s.natsURL = fmt.Sprintf("nats://127.0.0.1:%d", port)
	waitFor(t, 30*time.Second, "nats-server is not healthy", func() (bool, string) {
		return httpOK(fmt.Sprintf("http://127.0.0.1:%d/healthz?js-enabled-only=true", mon)), ""
	})
	nc, js, err := bus.Connect(s.natsURL, "scaleout-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	s.js = js

	s.simConfig = filepath.Join(s.dir, "sim.yaml")
	sim := startProc(t, s.dir, "simulator", filepath.Join(s.bin, "harvester"), "simulate",
		"-addr", "127.0.0.1:0", "-datasets", strconv.Itoa(datasetsPerSource), "-write-config", s.simConfig)
	// The first line of its stderr tells how many datasets it serves, and
	// where; the configuration is written before it.
	waitFor(t, 30*time.Second, "the simulator did not say what it serves", func() (bool, string) {
		if !sim.running() {
			t.Fatalf("the simulator exited: %v\n%s", sim.err, tail(sim.logPath, 10))
		}
		f, err := os.Open(sim.logPath)
		if err != nil {
			return false, err.Error()
		}
		defer f.Close()
		line, err := bufio.NewReader(f).ReadString('\n')
		if err != nil {
			return false, "no first line yet"
		}
		m := simLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("simulator's first line %q, want %q", line, simLine)
		}
		s.simTotal, _ = strconv.Atoi(m[1])
		s.simURL = m[2]
		return true, ""
	})
	if s.simTotal == 0 {
		t.Fatal("the simulator serves no dataset")
	}
	return s
}

// harvesters starts n harvester workers on the simulator's configuration.
func (s *stack) harvesters(n int) {
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("harvester-%d", i)
		startProc(s.t, s.dir, name, filepath.Join(s.bin, "harvester"), "run",
			"--nats-url", s.natsURL, "--config", s.simConfig, "--worker", name)
	}
}

// indexer starts an indexer writing to Elasticsearch at esURL (the real one
// or a proxy) under the stack's alias.
func (s *stack) indexer(name, esURL string, extra ...string) *proc {
	s.t.Helper()
	metrics := fmt.Sprintf("127.0.0.1:%d", freePort(s.t))
	args := append([]string{"--nats-url", s.natsURL, "--es-url", esURL, "--es-alias", s.alias, "--metrics-addr", metrics}, extra...)
	p := startProc(s.t, s.dir, name, filepath.Join(s.bin, "indexer"), args...)
	p.metrics = metrics
	waitFor(s.t, 60*time.Second, name+" is not healthy", func() (bool, string) {
		if !p.running() {
			s.t.Fatalf("%s exited: %v\n%s", name, p.err, tail(p.logPath, 10))
		}
		return httpOK("http://" + metrics + "/healthz"), ""
	})
	return p
}

// api starts the API on the stack's alias.
func (s *stack) api() *proc {
	s.t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(s.t))
	p := startProc(s.t, s.dir, "api", filepath.Join(s.bin, "api"),
		"--addr", addr, "--nats-url", s.natsURL, "--es-url", s.es, "--es-alias", s.alias)
	s.apiURL = "http://" + addr
	waitFor(s.t, 60*time.Second, "the api is not ready", func() (bool, string) {
		if !p.running() {
			s.t.Fatalf("api exited: %v\n%s", p.err, tail(p.logPath, 10))
		}
		return httpOK(s.apiURL + "/readyz"), ""
	})
	return p
}

// esDo sends a request to Elasticsearch directly.
func (s *stack) esDo(method, path string, body any) (int, []byte) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.es+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res.StatusCode, data
}

// count is the number of documents behind the alias, after a refresh (-1
// when the alias does not exist yet).
func (s *stack) count() int64 {
	s.t.Helper()
	if st, _ := s.esDo(http.MethodPost, "/"+s.alias+"/_refresh", nil); st == 404 {
		return -1
	}
	st, body := s.esDo(http.MethodGet, "/"+s.alias+"/_count", nil)
	if st != 200 {
		return -1
	}
	var r struct {
		Count int64 `json:"count"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		s.t.Fatalf("count: %v: %s", err, body)
	}
	return r.Count
}

// indexTotal is how many index operations the alias's primaries applied
// (rewrites included).
func (s *stack) indexTotal() int64 {
	s.t.Helper()
	st, body := s.esDo(http.MethodGet, "/"+s.alias+"/_stats/indexing", nil)
	if st != 200 {
		s.t.Fatalf("stats: %d %s", st, body)
	}
	var r struct {
		All struct {
			Primaries struct {
				Indexing struct {
					IndexTotal int64 `json:"index_total"`
				} `json:"indexing"`
			} `json:"primaries"`
		} `json:"_all"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		s.t.Fatal(err)
	}
	return r.All.Primaries.Indexing.IndexTotal
}

// dropAlias deletes the stack's indices and template.
func (s *stack) dropAlias() {
	st, body := s.esDo(http.MethodGet, "/_cat/indices/"+s.alias+"-v*?format=json&h=index&expand_wildcards=all", nil)
	if st == 200 {
		var rows []struct {
			Index string `json:"index"`
		}
		_ = json.Unmarshal(body, &rows)
		for _, r := range rows {
			if st, body := s.esDo(http.MethodDelete, "/"+r.Index, nil); st != 200 && st != 404 {
				s.t.Errorf("deleting %s: %d %s", r.Index, st, body)
			}
		}
	}
	s.esDo(http.MethodDelete, "/_index_template/"+s.alias, nil)
}

// waitCount waits until the alias holds exactly want documents.
func (s *stack) waitCount(want int64, timeout time.Duration) {
	s.t.Helper()
	waitFor(s.t, timeout, fmt.Sprintf("Elasticsearch does not hold the %d datasets", want), func() (bool, string) {
		c := s.count()
		if c > want {
			s.t.Fatalf("Elasticsearch holds %d documents, more than the %d served", c, want)
		}
		return c == want, fmt.Sprintf("%d documents", c)
	})
}

func (s *stack) streamMsgs(name string) uint64 {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := s.js.Stream(ctx, name)
	if err != nil {
		s.t.Fatalf("stream %s: %v", name, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		s.t.Fatalf("stream %s: %v", name, err)
	}
	return info.State.Msgs
}

// waitRecords waits until RECORDS holds the whole harvest.
func (s *stack) waitRecords(timeout time.Duration) {
	s.t.Helper()
	waitFor(s.t, timeout, fmt.Sprintf("RECORDS does not hold the %d records", s.simTotal), func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		st, err := s.js.Stream(ctx, bus.RecordsStream)
		if err != nil {
			return false, err.Error()
		}
		info, err := st.Info(ctx)
		if err != nil {
			return false, err.Error()
		}
		if info.State.Msgs > uint64(s.simTotal) {
			s.t.Fatalf("RECORDS holds %d records, more than the %d served", info.State.Msgs, s.simTotal)
		}
		return info.State.Msgs == uint64(s.simTotal), fmt.Sprintf("%d records", info.State.Msgs)
	})
}

// waitDrained waits until the indexers' durable consumer has nothing
// pending nor unacknowledged.
func (s *stack) waitDrained(timeout time.Duration) {
	s.t.Helper()
	waitFor(s.t, timeout, "the indexer consumer is not drained", func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := s.js.Consumer(ctx, bus.RecordsStream, bus.IndexerDurable)
		if err != nil {
			return false, err.Error()
		}
		info, err := c.Info(ctx)
		if err != nil {
			return false, err.Error()
		}
		return info.NumPending == 0 && info.NumAckPending == 0,
			fmt.Sprintf("pending %d, unacked %d, redelivered %d", info.NumPending, info.NumAckPending, info.NumRedelivered)
	})
}

// getJSON decodes the answer of GET u, which must have the status want.
func getJSON(t *testing.T, u string, want int, v any) {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("GET %s: status %d, want %d: %s", u, res.StatusCode, want, body)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v: %s", u, err, body)
		}
	}
}

// metric reads a counter of a process's /metrics.
func metric(t *testing.T, p *proc, name string) float64 {
	t.Helper()
	res, err := http.Get("http://" + p.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == name {
			v, _ := strconv.ParseFloat(f[1], 64)
			return v
		}
	}
	return 0
}

type sourceAnswer struct {
	SourceID    string `json:"source_id"`
	TerritoryID string `json:"territory_id"`
	Status      string `json:"status"`
	DeadLetters int64  `json:"dead_letters"`
	LastRun     *struct {
		Seen   int64  `json:"seen"`
		Worker string `json:"worker"`
	} `json:"last_run"`
}

// sources answers /v1/sources once every enabled source's last run ended.
func (s *stack) sources() []sourceAnswer {
	s.t.Helper()
	var list struct {
		Sources []sourceAnswer `json:"sources"`
	}
	waitFor(s.t, time.Minute, "the api does not show every harvest finished", func() (bool, string) {
		getJSON(s.t, s.apiURL+"/v1/sources", 200, &list)
		var busy []string
		for _, src := range list.Sources {
			switch src.Status {
			case "SUCCEEDED", "DISABLED":
			default:
				busy = append(busy, src.SourceID+"="+src.Status)
			}
		}
		return len(list.Sources) > 0 && len(busy) == 0, strings.Join(busy, " ")
	})
	return list.Sources
}

// esProxy forwards TCP connections to Elasticsearch. It watches the
// requests going through for bulk writes and, after a given number of them,
// either cuts Elasticsearch off (listener and connections closed until
// restore: connection refused, as when it is stopped), or holds every
// answer from then on (the bulk is written, the writer never hears it).
type esProxy struct {
	t      *testing.T
	target string
	addr   string

	mu        sync.Mutex
	ln        net.Listener
	conns     map[net.Conn]bool
	bulks     int
	cutAfter  int // cut at the start of bulk number cutAfter+1 (0: never)
	holdAfter int // hold the answers from bulk number holdAfter+1 on (0: never)
	holding   bool

	cut         chan struct{} // closed when cut off
	heldWritten chan struct{} // closed when Elasticsearch answered the first held bulk
	cutOnce     sync.Once
	heldOnce    sync.Once
}

func newESProxy(t *testing.T, esURL string) *esProxy {
	t.Helper()
	p := &esProxy{t: t, target: strings.TrimPrefix(strings.TrimPrefix(esURL, "http://"), "https://"),
		conns: map[net.Conn]bool{}, cut: make(chan struct{}), heldWritten: make(chan struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.shutdown)
	return p
}

func (p *esProxy) url() string { return "http://" + p.addr }

func (p *esProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			if p.ln != ln { // cut off meanwhile
				p.mu.Unlock()
				c.Close()
				u.Close()
				return
			}
			p.conns[c], p.conns[u] = true, true
			p.mu.Unlock()
			go p.upstream(c, u)
			go p.downstream(u, c)
		}
	}()
}

var bulkRequest = []byte("POST /_bulk")

// upstream copies the requests to Elasticsearch, counting bulk writes.
func (p *esProxy) upstream(c, u net.Conn) {
	defer u.Close()
	buf := make([]byte, 64<<10)
	var carry []byte // the end of the previous read, for a request line split across reads
	for {
		n, err := c.Read(buf)
		if n > 0 {
			scan := append(carry, buf[:n]...)
			found := bytes.Count(scan, bulkRequest)
			if len(scan) >= len(bulkRequest) {
				carry = append([]byte(nil), scan[len(scan)-len(bulkRequest)+1:]...)
			} else {
				carry = append([]byte(nil), scan...)
			}
			if found > 0 && p.bulkStarts(found) {
				return // cut off: this request never reaches Elasticsearch
			}
			if _, err := u.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// bulkStarts counts n new bulk requests and tells whether to cut now.
func (p *esProxy) bulkStarts(n int) bool {
	p.mu.Lock()
	p.bulks += n
	bulks := p.bulks
	if p.holdAfter > 0 && bulks > p.holdAfter {
		p.holding = true
	}
	cut := p.cutAfter > 0 && bulks > p.cutAfter
	p.mu.Unlock()
	if cut {
		p.cutOff()
	}
	return cut
}

// downstream copies the answers to the client, unless they are held.
func (p *esProxy) downstream(u, c net.Conn) {
	defer c.Close()
	buf := make([]byte, 64<<10)
	for {
		n, err := u.Read(buf)
		if n > 0 {
			p.mu.Lock()
			holding := p.holding
			p.mu.Unlock()
			if holding {
				p.heldOnce.Do(func() { close(p.heldWritten) })
			} else if _, err := c.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// cutOff closes the listener and every connection: Elasticsearch is gone.
func (p *esProxy) cutOff() {
	p.mu.Lock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
	p.cutAfter = 0
	p.mu.Unlock()
	p.cutOnce.Do(func() { close(p.cut) })
}

// restore listens again on the same address.
func (p *esProxy) restore() {
	p.t.Helper()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("proxy: listening again on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

func (p *esProxy) shutdown() {
	p.mu.Lock()
	p.cutAfter, p.holdAfter = 0, 0
	p.mu.Unlock()
	p.cutOff()
}
