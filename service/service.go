// Package service is how a Moisson service starts and what it says when it
// cannot: its logger, its garbage collector, its JetStream connection, its
// HTTP listeners (a taken port names what holds it), its health and metrics
// endpoints, and the one line it ends on. The API, the indexer, the
// harvester workers and the all-in-one are wired by it, each the same way.
package service

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/opendatafrance/moisson/proto/bus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Logger is a service's logger: JSON lines (console lines when console),
// debug or info, no stack traces below panics (a failure is said in one
// line, with its fields).
func Logger(name string, debug, console bool) *zap.Logger {
	cfg := zap.NewProductionConfig()
	if console {
		cfg.Encoding = "console"
		cfg.EncoderConfig = zap.NewDevelopmentEncoderConfig()
	}
	if debug {
		cfg.Level = zap.NewAtomicLevelAt(zap.DebugLevel)
	}
	cfg.DisableStacktrace = true
	log, err := cfg.Build(zap.AddStacktrace(zapcore.PanicLevel))
	if err != nil {
		return zap.NewNop()
	}
	return log.Named(name)
}

// Exit ends a service that could not start or run: one line on stderr,
// exit status 1.
func Exit(name string, err error) {
	fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
	os.Exit(1)
}

// Listen listens on a TCP address for what (e.g. "the API"); a taken
// port is an error naming it and, when this machine tells, what holds it.
func Listen(addr, what string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return ln, nil
	}
	if errors.Is(err, syscall.EADDRINUSE) {
		holder := PortHolder(addr)
		if holder != "" {
			holder = ", held by " + holder
		}
		return nil, fmt.Errorf("%s cannot listen on %s: the port is taken%s; stop that process or choose another address", what, addr, holder)
	}
	if errors.Is(err, syscall.EACCES) {
		return nil, fmt.Errorf("%s cannot listen on %s: permission denied (ports below 1024 need privileges)", what, addr)
	}
	return nil, fmt.Errorf("%s cannot listen on %s: %w", what, addr, err)
}

// CheckPort tells, without keeping it, whether addr can be listened on
// (Listen's error otherwise).
func CheckPort(addr, what string) error {
	ln, err := Listen(addr, what)
	if err != nil {
		return err
	}
	return ln.Close()
}

// CheckWritable tells whether dir exists (it is made) and can be written,
// naming it otherwise.
func CheckWritable(dir, what string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("%s: cannot create the directory %s: %w", what, dir, errors.Unwrap(err))
	}
	f, err := os.CreateTemp(dir, ".write-test-*")
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("%s: the directory %s cannot be written (%v): give a writable one", what, dir, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// ConnectJetStream connects to NATS (urls: comma-separated) and waits
// until the streams exist (created with replicas when missing), logging
// each retry: services may start before NATS.
func ConnectJetStream(ctx context.Context, urls, name string, replicas int, log *zap.Logger) (*nats.Conn, jetstream.JetStream, error) {
	nc, js, err := bus.Connect(urls, name)
	if err != nil {
		return nil, nil, err
	}
	if err := bus.WaitStreams(ctx, js, bus.Options{Replicas: replicas}, func(err error) {
		log.Warn("streams not ready, retrying", zap.String("nats", urls), zap.Error(err))
	}); err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

// Retry calls fn until it succeeds or ctx ends, every 2 s, logging each
// failure: a JetStream cluster still electing its leaders, or busy making
// the replicas of new streams, answers with timeouts for a while.
func Retry(ctx context.Context, what string, log *zap.Logger, fn func(ctx context.Context) error) error {
	for {
		err := fn(ctx)
		if err == nil || ctx.Err() != nil {
			return err
		}
		log.Warn(what+": not ready, retrying", zap.Error(err))
		select {
		case <-ctx.Done():
			return err
		case <-time.After(2 * time.Second):
		}
	}
}

// ServeOps serves /metrics, /healthz, /debug/pprof/ (and whatever extra registers) on
// addr until ctx ends; healthy reports what is wrong ("" when nothing).
// An empty addr serves nothing.
func ServeOps(ctx context.Context, addr string, healthy func() error, log *zap.Logger, extra func(*http.ServeMux)) error {
	if addr == "" {
		return nil
	}
	ln, err := Listen(addr, "the metrics endpoint")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if healthy != nil {
			if err := healthy(); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		fmt.Fprintln(w, "ok")
	})
	// Profiles and goroutine dumps, as nats-server's profiling port: what
	// a process stuck in a cluster is doing (the ops address is not the
	// public one).
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", boundSeconds(pprof.Profile))
	mux.HandleFunc("GET /debug/pprof/trace", boundSeconds(pprof.Trace))
	if extra != nil {
		extra(mux)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics endpoint stopped", zap.Error(err))
		}
	}()
	return nil
}

// MaxProfileSeconds bounds the duration a CPU profile or a trace asks for
// (net/http/pprof takes any): one profile runs at a time, and a trace holds
// what it records.
const MaxProfileSeconds = 120

// boundSeconds answers 400 to a profile or trace asked for more than
// MaxProfileSeconds, or for a duration that is not a whole number of
// seconds.
func boundSeconds(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if v := r.URL.Query().Get("seconds"); v != "" {
			if n, err := strconv.Atoi(v); err != nil || n < 1 || n > MaxProfileSeconds {
				http.Error(w, fmt.Sprintf("seconds must be a whole number from 1 to %d", MaxProfileSeconds), http.StatusBadRequest)
				return
			}
		}
		h(w, r)
	}
}

// NATSHealthy reports a NATS connection that is not connected.
func NATSHealthy(nc *nats.Conn) func() error {
	return func() error {
		if !nc.IsConnected() {
			return errors.New("nats: not connected (" + strings.ToLower(nc.Status().String()) + ")")
		}
		return nil
	}
}
