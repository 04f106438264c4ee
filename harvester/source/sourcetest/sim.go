package sourcetest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/fetch"
	"github.com/opendatafrance/moisson/harvester/simulator"
	"github.com/opendatafrance/moisson/harvester/source"
	"go.uber.org/zap"
)

// Sim is a simulator served on a local test server for the test's length.
type Sim struct {
	*simulator.Simulator
	URL    string         // the test server's root
	Config *config.Config // the configuration, its endpoints moved to the test server
}

// Serve serves a simulator of cfg.
func Serve(t testing.TB, cfg *config.Config, opts simulator.Options) *Sim {
	t.Helper()
	sim := simulator.New(cfg, opts)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return &Sim{Simulator: sim, URL: srv.URL, Config: sim.Rewrite(cfg, srv.URL)}
}

// ServeYAML serves a simulator of a configuration written in YAML.
func ServeYAML(t testing.TB, yaml string, opts simulator.Options) *Sim {
	t.Helper()
	cfg, err := config.Parse(strings.NewReader(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return Serve(t, cfg, opts)
}

// ServeSource serves a simulator of the default configuration holding n
// datasets in source id, and returns that source with params added.
func ServeSource(t testing.TB, id string, n int, params map[string]string) (*Sim, *config.Source) {
	t.Helper()
	sim := Serve(t, config.Default(), simulator.Options{PerSource: map[string]int{id: n}, DatasetsPerSource: 5})
	src := sim.Config.Source(id)
	if src == nil {
		t.Fatalf("no source %s", id)
	}
	for k, v := range params {
		src.Params[k] = v
	}
	return sim, src
}

// Get fetches a path of the test server; any status but 200 fails the test.
func (s *Sim) Get(t testing.TB, path string) []byte {
	t.Helper()
	resp, err := http.Get(s.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v %s", path, resp.StatusCode, err, b)
	}
	return b
}

// Env lets an adapter reach the local test server, without retries so
// that a fault the simulator injects shows at once.
func Env() source.Env {
	return source.Env{Client: fetch.New(fetch.Options{AllowPrivate: true, Retries: -1}), Log: zap.NewNop()}
}

// Harvest makes the source src with newSource and walks it into sink; a
// walk that hangs fails after 30 s rather than at the test binary's
// timeout.
func Harvest(t testing.TB, newSource source.Factory, src *config.Source, sink source.Sink) error {
	t.Helper()
	s, err := newSource(src, Env())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return s.Harvest(ctx, sink)
}

// KindOf is the kind of a *source.Error; "" for nil or any other error
// (unlike source.KindOf, which calls those transport errors).
func KindOf(err error) string {
	var se *source.Error
	if errors.As(err, &se) {
		return se.Kind
	}
	return ""
}
