package server

// GET /v1/status: the health of what the API stands on, in one answer: the
// NATS JetStream cluster (the RECORDS stream's leader and replicas) and
// the index (Elasticsearch's cluster health, or the embedded index), and
// how many harvested records still wait for the index.

import (
	"context"
	"net/http"
	"time"

	"github.com/opendatafrance/moisson/indexer/index"
	"github.com/opendatafrance/moisson/proto/bus"
)

// natsHealth is the JetStream side of /v1/status.
type natsHealth struct {
	Status    string        `json:"status"` // green: a leader and every replica current; yellow: a leader; red: none
	Connected string        `json:"connected,omitempty"`
	Cluster   string        `json:"cluster,omitempty"`
	Leader    string        `json:"leader,omitempty"` // of the RECORDS stream
	Replicas  []natsReplica `json:"replicas"`
	Detail    string        `json:"detail,omitempty"`
}

type natsReplica struct {
	Name    string        `json:"name"`
	Current bool          `json:"current"`
	Offline bool          `json:"offline,omitempty"`
	Lag     uint64        `json:"lag,omitempty"`
	Active  time.Duration `json:"active_ns,omitempty"`
}

type statusJSON struct {
	Status   string       `json:"status"` // the worst of the two
	NATS     natsHealth   `json:"nats"`
	Index    index.Health `json:"index"`
	Indexing indexingJSON `json:"indexing"`
}

func (s *Server) statusRoutes(route routeFunc) {
	route("GET /v1/status", s.status)
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	if !onlyParams(w, r) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	st := statusJSON{NATS: s.natsHealth(ctx), Index: s.indexHealth(ctx), Indexing: s.indexing(ctx)}
	st.Status = worst(st.NATS.Status, st.Index.Status)
	code := http.StatusOK
	if st.Status == "red" {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, st)
}

func worst(a, b string) string {
	rank := map[string]int{"green": 0, "yellow": 1, "unknown": 1, "red": 2}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

func (s *Server) natsHealth(ctx context.Context) natsHealth {
	h := natsHealth{Status: "red", Replicas: []natsReplica{}}
	if s.JS == nil {
		h.Detail = "no JetStream connection"
		return h
	}
	if s.NATSConnected != nil {
		h.Connected = s.NATSConnected()
	}
	// Stream asks the server for the stream's info: no second request.
	st, err := s.JS.Stream(ctx, bus.RecordsStream)
	if err != nil {
		h.Detail = err.Error()
		return h
	}
	c := st.CachedInfo().Cluster
	if c == nil { // a single server without clustering
		h.Status, h.Detail = "green", "one server, no cluster"
		return h
	}
	h.Cluster, h.Leader = c.Name, c.Leader
	if c.Leader == "" {
		h.Detail = "the RECORDS stream has no leader"
		return h
	}
	h.Status = "green"
	for _, p := range c.Replicas {
		h.Replicas = append(h.Replicas, natsReplica{Name: p.Name, Current: p.Current, Offline: p.Offline, Lag: p.Lag, Active: p.Active})
		if !p.Current || p.Offline {
			h.Status = "yellow"
		}
	}
	return h
}

func (s *Server) indexHealth(ctx context.Context) index.Health {
	hs, ok := s.Index.(index.Healther)
	if !ok {
		return index.Health{Status: "unknown"}
	}
	h, err := hs.Health(ctx)
	if err != nil && h.Status == "" {
		h.Status, h.Detail = "red", err.Error()
	}
	return h
}
