// Package deploy holds the container images of the scale-out deployment
// (one Dockerfile per service, built from the repository root) and the test
// of docker-compose.yml against them and the binaries.
package deploy

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"
)

type composeFile struct {
	Name     string             `yaml:"name"`
	Services map[string]service `yaml:"services"`
	Volumes  map[string]any     `yaml:"volumes"`
	Extra    map[string]any     `yaml:",inline"` // x-… extension fields (anchors)
}

type service struct {
	Image       string            `yaml:"image"`
	Restart     string            `yaml:"restart"`
	Build       *build            `yaml:"build"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Ports       []string          `yaml:"ports"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Healthcheck *struct {
		Test        []string `yaml:"test"`
		Interval    string   `yaml:"interval"`
		Timeout     string   `yaml:"timeout"`
		Retries     int      `yaml:"retries"`
		StartPeriod string   `yaml:"start_period"`
	} `yaml:"healthcheck"`
}

type build struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
}

func load(t *testing.T) composeFile {
	t.Helper()
	data, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true) // a misspelt key is an error, not silently ignored
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	for k := range c.Extra {
		if !strings.HasPrefix(k, "x-") {
			t.Errorf("docker-compose.yml: unknown top-level key %s", k)
		}
	}
	return c
}

// interpolate resolves compose's ${VAR}, ${VAR-default} and ${VAR:-default}
// with the variables unset.
var interpolation = regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-([^}]*))?\}`)

func interpolate(s string) string {
	return interpolation.ReplaceAllString(s, "$1")
}

// flagValue is the value of a flag in a command ("--x v", "-x v", "--x=v").
func flagValue(cmd []string, name string) (string, bool) {
	for i, a := range cmd {
		n, v, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || n != name {
			continue
		}
		if hasValue {
			return interpolate(v), true
		}
		if i+1 < len(cmd) && !strings.HasPrefix(cmd[i+1], "-") {
			return interpolate(cmd[i+1]), true
		}
		return "", true
	}
	return "", false
}

func hasFlag(cmd []string, name string) bool { _, ok := flagValue(cmd, name); return ok }

// kind tells what a service runs.
func kind(s service) string {
	switch {
	case strings.HasPrefix(s.Image, "nats:"):
		return "nats"
	case strings.HasPrefix(s.Image, "docker.elastic.co/elasticsearch/elasticsearch:"):
		return "elasticsearch"
	case s.Build != nil && strings.Contains(s.Build.Dockerfile, "harvester") && len(s.Command) > 0:
		return "harvester " + s.Command[0]
	case s.Build != nil && strings.Contains(s.Build.Dockerfile, "indexer"):
		return "indexer"
	case s.Build != nil && strings.Contains(s.Build.Dockerfile, "api"):
		return "api"
	}
	return "?"
}

func servicesOf(c composeFile, k string) []string {
	var names []string
	for name, s := range c.Services {
		if kind(s) == k {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

func TestServices(t *testing.T) {
	c := load(t)
	counts := map[string]int{}
	for name, s := range c.Services {
		counts[kind(s)]++
		if s.Healthcheck == nil || len(s.Healthcheck.Test) < 2 || s.Healthcheck.Test[0] != "CMD" {
			t.Errorf("%s: no exec-form health check", name)
		}
		for _, v := range s.Volumes {
			vol, _, _ := strings.Cut(v, ":")
			if _, ok := c.Volumes[vol]; !ok {
				t.Errorf("%s: volume %s is not declared", name, vol)
			}
		}
		for dep, d := range s.DependsOn {
			if _, ok := c.Services[dep]; !ok || d.Condition != "service_healthy" {
				t.Errorf("%s: depends on %s (%q), want a service and service_healthy", name, dep, d.Condition)
			}
		}
	}
	want := map[string]int{"nats": 3, "elasticsearch": 1, "harvester simulate": 1, "harvester run": 2, "indexer": 2, "api": 1}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("%d %s services, want %d (all: %v)", counts[k], k, n, counts)
		}
	}
	if counts["?"] > 0 {
		t.Errorf("services of unknown kind: %v", counts)
	}

	es := c.Services[servicesOf(c, "elasticsearch")[0]]
	if !strings.HasPrefix(es.Image, "docker.elastic.co/elasticsearch/elasticsearch:8.19.") {
		t.Errorf("Elasticsearch image %s, want 8.19", es.Image)
	}
	for k, v := range map[string]string{"discovery.type": "single-node", "xpack.security.enabled": "false"} {
		if es.Environment[k] != v {
			t.Errorf("Elasticsearch %s = %q, want %q", k, es.Environment[k], v)
		}
	}
	if heap := es.Environment["ES_JAVA_OPTS"]; !regexp.MustCompile(`-Xmx(\d{3}m|1g)\b`).MatchString(heap) {
		t.Errorf("Elasticsearch heap %q: want a small -Xmx", heap)
	}
	if !strings.Contains(strings.Join(es.Healthcheck.Test, " "), "9200/_cluster/health") {
		t.Errorf("Elasticsearch health check %v", es.Healthcheck.Test)
	}

	nats := servicesOf(c, "nats")
	var natsURLs []string
	for _, n := range nats {
		natsURLs = append(natsURLs, "nats://"+n+":4222")
	}
	// Every service of ours reaches every NATS node, creates streams with
	// 3 replicas, waits for the nodes' health; the indexers and the API
	// write and read the same Elasticsearch.
	for _, k := range []string{"harvester run", "indexer", "api"} {
		for _, name := range servicesOf(c, k) {
			s := c.Services[name]
			if v, _ := flagValue(s.Command, "nats-url"); v != strings.Join(natsURLs, ",") {
				t.Errorf("%s: --nats-url %q, want %q", name, v, strings.Join(natsURLs, ","))
			}
			if v, _ := flagValue(s.Command, "replicas"); v != "3" {
				t.Errorf("%s: --replicas %q, want 3", name, v)
			}
			for _, n := range nats {
				if _, ok := s.DependsOn[n]; !ok {
					t.Errorf("%s does not wait for %s", name, n)
				}
			}
			if k == "harvester run" {
				continue
			}
			if v, _ := flagValue(s.Command, "es-url"); v != "http://"+servicesOf(c, "elasticsearch")[0]+":9200" {
				t.Errorf("%s: --es-url %q", name, v)
			}
		}
	}
	// The workers read the configuration the simulator writes, pointed at
	// the simulator's name in the network.
	simName := servicesOf(c, "harvester simulate")[0]
	sim := c.Services[simName]
	written, _ := flagValue(sim.Command, "write-config")
	addr, _ := flagValue(sim.Command, "addr")
	adv, _ := flagValue(sim.Command, "advertise-url")
	_, port, _ := strings.Cut(addr, ":")
	if adv != "http://"+simName+":"+port || !strings.HasPrefix(addr, "0.0.0.0:") {
		t.Errorf("simulator listens on %q and advertises %q: want 0.0.0.0 and http://%s:<port>", addr, adv, simName)
	}
	workers := map[string]bool{}
	for _, name := range servicesOf(c, "harvester run") {
		s := c.Services[name]
		if v, _ := flagValue(s.Command, "config"); v != written {
			t.Errorf("%s reads --config %q by default, the simulator writes %q", name, v, written)
		}
		if mountOf(s, filepath.Dir(written)) != mountOf(sim, filepath.Dir(written)) || mountOf(s, filepath.Dir(written)) == "" {
			t.Errorf("%s does not mount the simulator's %s volume", name, filepath.Dir(written))
		}
		w, _ := flagValue(s.Command, "worker")
		if w == "" || workers[w] {
			t.Errorf("%s: --worker %q: each worker needs its own name", name, w)
		}
		workers[w] = true
	}
	if api := c.Services[servicesOf(c, "api")[0]]; len(api.Ports) == 0 {
		t.Error("the API publishes no port")
	}
}

// mountOf is the volume mounted at dir in a service.
func mountOf(s service, dir string) string {
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && parts[1] == dir {
			return parts[0]
		}
	}
	return ""
}

func TestNATSCluster(t *testing.T) {
	c := load(t)
	nats := servicesOf(c, "nats")
	if len(nats) != 3 {
		t.Fatalf("NATS nodes %v, want 3", nats)
	}
	clusterNames := map[string]bool{}
	serverNames := map[string]bool{}
	for _, name := range nats {
		s := c.Services[name]
		if !regexp.MustCompile(`^nats:2\.\d+`).MatchString(s.Image) {
			t.Errorf("%s: image %s, want nats:2.x", name, s.Image)
		}
		if !hasFlag(s.Command, "jetstream") && !hasFlag(s.Command, "js") {
			t.Errorf("%s: JetStream not enabled", name)
		}
		store, _ := flagValue(s.Command, "store_dir")
		if store == "" || mountOf(s, store) == "" {
			t.Errorf("%s: store dir %q is not on a volume", name, store)
		}
		sn, _ := flagValue(s.Command, "server_name")
		cn, _ := flagValue(s.Command, "cluster_name")
		serverNames[sn], clusterNames[cn] = true, true
		listen, _ := flagValue(s.Command, "cluster")
		if listen != "nats://0.0.0.0:6222" {
			t.Errorf("%s: --cluster %q", name, listen)
		}
		routes, _ := flagValue(s.Command, "routes")
		var got, want []string
		for _, r := range strings.Split(routes, ",") {
			got = append(got, strings.TrimSpace(r))
		}
		for _, other := range nats {
			if other != name {
				want = append(want, "nats://"+other+":6222")
			}
		}
		sort.Strings(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: routes %v, want the two other nodes %v", name, got, want)
		}
		mon, _ := flagValue(s.Command, "http_port")
		if hc := strings.Join(s.Healthcheck.Test, " "); mon == "" || !strings.Contains(hc, ":"+mon+"/healthz") {
			t.Errorf("%s: health check %q, want /healthz on the monitoring port %q", name, hc, mon)
		}
	}
	if len(serverNames) != 3 || serverNames[""] {
		t.Errorf("server names %v, want three distinct", serverNames)
	}
	if len(clusterNames) != 1 || clusterNames[""] {
		t.Errorf("cluster names %v, want one", clusterNames)
	}
}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries builds the services and nats-server (from the module the
// services depend on) once.
func binaries(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "moisson-deploy-bin-")
		if buildErr != nil {
			return
		}
		for _, args := range [][]string{
			{"build", "-o", binDir + string(os.PathSeparator), "./harvester/cmd/harvester", "./indexer/cmd/indexer", "./api/cmd/api"},
			{"build", "-o", filepath.Join(binDir, "nats-server"), "github.com/nats-io/nats-server/v2"},
		} {
			cmd := exec.Command("go", args...)
			cmd.Dir = ".."
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = &buildError{args: args, out: string(out), err: err}
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

type buildError struct {
	args []string
	out  string
	err  error
}

func (e *buildError) Error() string {
	return "go " + strings.Join(e.args, " ") + ": " + e.err.Error() + "\n" + e.out
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

var helpFlag = regexp.MustCompile(`(?:^|[\s,])(--?[A-Za-z][A-Za-z0-9_-]*)`)

// helpFlags runs a binary's help and collects the flags it names.
func helpFlags(t *testing.T, bin string, args ...string) map[string]bool {
	t.Helper()
	out, _ := exec.Command(bin, args...).CombinedOutput() // help exits 0 or 2 depending on the binary
	flags := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(strings.TrimSpace(line), "-") {
			continue
		}
		for _, m := range helpFlag.FindAllStringSubmatch(line, -1) {
			flags[strings.TrimLeft(m[1], "-")] = true
		}
	}
	if len(flags) < 3 {
		t.Fatalf("%s %v: no flags in its help:\n%s", bin, args, out)
	}
	return flags
}

// TestCommandFlags: every flag a service passes exists in its binary (Go's
// flag package takes -x and --x alike).
func TestCommandFlags(t *testing.T) {
	c := load(t)
	bin := binaries(t)
	check := func(name string, cmd []string, flags map[string]bool) {
		for _, a := range cmd {
			if !strings.HasPrefix(a, "-") {
				continue
			}
			n, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
			if !flags[n] {
				t.Errorf("%s: flag %s is not a flag of the binary", name, a)
			}
		}
	}
	for name, s := range c.Services {
		switch k := kind(s); k {
		case "nats":
			check(name, s.Command, helpFlags(t, filepath.Join(bin, "nats-server"), "--help"))
		case "harvester run", "harvester simulate":
			check(name, s.Command[1:], helpFlags(t, filepath.Join(bin, "harvester"), s.Command[0], "-h"))
		case "indexer", "api":
			check(name, s.Command, helpFlags(t, filepath.Join(bin, k), "-h"))
		}
	}
}

var (
	goBuildOut = regexp.MustCompile(`go build .*-o (/\S+) (\./\S+)`)
	entrypoint = regexp.MustCompile(`(?m)^ENTRYPOINT \["([^"]+)"\]`)
)

// TestDockerfiles: each service's Dockerfile builds, from the repository
// root and the whole go.work workspace, the binary of a main package and
// runs it.
func TestDockerfiles(t *testing.T) {
	c := load(t)
	work, err := os.ReadFile("../go.work")
	if err != nil {
		t.Fatal(err)
	}
	var modules []string
	for _, m := range regexp.MustCompile(`(?m)^\s+(\.\S*)\s*$`).FindAllStringSubmatch(string(work), -1) {
		modules = append(modules, strings.TrimPrefix(strings.TrimPrefix(m[1], "."), "/"))
	}
	if len(modules) < 5 {
		t.Fatalf("go.work uses %v", modules)
	}
	checked := map[string]bool{}
	for name, s := range c.Services {
		if s.Build == nil {
			continue
		}
		if s.Build.Context != "." {
			t.Errorf("%s: build context %q, want the repository root", name, s.Build.Context)
		}
		df := s.Build.Dockerfile
		data, err := os.ReadFile(filepath.Join("..", df))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		text := string(data)
		m := goBuildOut.FindStringSubmatch(text)
		if m == nil {
			t.Errorf("%s: no 'go build -o /path ./pkg' in it", df)
			continue
		}
		out, pkg := m[1], m[2]
		binName := filepath.Base(out)
		// The service runs the binary of its kind.
		if want := strings.Fields(kind(s))[0]; binName != want {
			t.Errorf("%s (%s) builds %s, want %s", name, df, binName, want)
		}
		src, err := os.ReadFile(filepath.Join("..", pkg, "main.go"))
		if err != nil || !strings.Contains(string(src), "package main") || !strings.Contains(string(src), "func main()") {
			t.Errorf("%s builds %s, which is not a main package: %v", df, pkg, err)
		}
		e := entrypoint.FindStringSubmatch(text)
		if e == nil {
			t.Errorf("%s: no exec-form ENTRYPOINT", df)
		} else if !regexp.MustCompile(`(?m)^COPY --from=build ` + regexp.QuoteMeta(out) + ` ` + regexp.QuoteMeta(e[1]) + `$`).MatchString(text) {
			t.Errorf("%s: the ENTRYPOINT %s is not the binary built at %s", df, e[1], out)
		}
		if !strings.Contains(text, "CGO_ENABLED=0") {
			t.Errorf("%s: the binary must be static for distroless/static", df)
		}
		// go.work aware: every module of the workspace is there before the
		// download, and the whole tree before the build.
		download := strings.Index(text, "go mod download")
		for _, f := range []string{"go.work", "go.work.sum"} {
			if i := strings.Index(text, f); i < 0 || i > download {
				t.Errorf("%s: %s not copied before go mod download", df, f)
			}
		}
		for _, mod := range modules {
			p := "go.mod"
			if mod != "" {
				p = mod + "/go.mod"
			}
			if i := strings.Index(text, p); i < 0 || i > download {
				t.Errorf("%s: %s not copied before go mod download", df, p)
			}
		}
		if !strings.Contains(text, "\nCOPY . .\n") {
			t.Errorf("%s: the sources are not copied", df)
		}
		// The health checks use the busybox the image carries.
		if hc := s.Healthcheck; hc != nil && len(hc.Test) > 1 && strings.HasPrefix(hc.Test[1], "/bin/busybox") &&
			!strings.Contains(text, "COPY --from=tools /bin/busybox /bin/busybox") {
			t.Errorf("%s: the health check runs /bin/busybox, which %s does not copy", name, df)
		}
		ignore, err := os.ReadFile(filepath.Join("..", df+".dockerignore"))
		if err != nil || !strings.Contains(string(ignore), ".git") {
			t.Errorf("%s: no %s.dockerignore keeping .git out of the context: %v", df, df, err)
		}
		checked[df] = true
	}
	if len(checked) != 3 {
		t.Errorf("Dockerfiles used: %v, want the three services'", checked)
	}
	entries, _ := filepath.Glob("*.Dockerfile")
	for _, e := range entries {
		if !checked["deploy/"+e] {
			t.Errorf("deploy/%s is not used by docker-compose.yml", e)
		}
	}
}
