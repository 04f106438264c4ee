// Package natstest starts a real NATS server with JetStream for tests, on a
// loopback port and a temporary store, and can restart it on both.
package natstest

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/opendatafrance/moisson/proto/bus"
)

// Server is a JetStream server for one test.
type Server struct {
	t    testing.TB
	dir  string
	port int
	srv  *server.Server
	URL  string
}

// Start starts a server and creates Moisson's streams.
func Start(t testing.TB) *Server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := &Server{t: t, dir: t.TempDir(), port: port}
	s.URL = "nats://127.0.0.1:" + strconv.Itoa(port)
	s.start()
	t.Cleanup(s.Stop)
	nc, js := s.Connect()
	defer nc.Close()
	if err := bus.EnsureStreams(context.Background(), js, bus.Options{}); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *Server) start() {
	srv, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: s.port, JetStream: true, StoreDir: s.dir, NoSigs: true, NoLog: true,
	})
	if err != nil {
		s.t.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(20 * time.Second) {
		s.t.Fatal("nats server not ready")
	}
	s.srv = srv
}

// Stop shuts the server down (a no-op when stopped).
func (s *Server) Stop() {
	if s.srv != nil {
		s.srv.Shutdown()
		s.srv.WaitForShutdown()
		s.srv = nil
	}
}

// Restart starts the server again on the same port and store.
func (s *Server) Restart() {
	s.Stop()
	s.start()
}

// Connect opens a client connection that reconnects forever.
func (s *Server) Connect() (*nats.Conn, jetstream.JetStream) {
	s.t.Helper()
	nc, js, err := bus.Connect(s.URL, s.t.Name())
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(nc.Close)
	return nc, js
}
