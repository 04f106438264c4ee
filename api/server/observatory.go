package server

// The observatory of obliged collectivités (package observatory):
// GET /v1/observatory and GET /v1/observatory/unresolved, JSON or CSV.

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/opendatafrance/moisson/api/observatory"
	"github.com/opendatafrance/moisson/proto/bus"
	"go.uber.org/zap"
)

func (s *Server) observatoryRoutes(route routeFunc) {
	route("GET /v1/observatory", s.observatoryList)
	route("GET /v1/observatory/unresolved", s.unresolvedList)
}

// observatory is the server's observatory, made on first use.
func (s *Server) observatory() *observatory.Observatory {
	s.obsOnce.Do(func() {
		s.obs = &observatory.Observatory{Index: s.Index, Territories: s.territories}
	})
	return s.obs
}

// territories reads the configured territories from the bucket the
// harvester workers publish them to (none before they ever ran).
func (s *Server) territories(ctx context.Context) ([]bus.TerritoryInfo, error) {
	if s.JS == nil {
		return nil, nil
	}
	kv, err := s.JS.KeyValue(ctx, bus.TerritoriesBucket)
	if err == jetstream.ErrBucketNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		return nil, err
	}
	var out []bus.TerritoryInfo
	for k := range keys.Keys() {
		if bus.IsStamp(k) {
			continue
		}
		e, err := kv.Get(ctx, k)
		if err != nil {
			continue
		}
		var t bus.TerritoryInfo
		if json.Unmarshal(e.Value(), &t) == nil {
			out = append(out, t)
		}
	}
	return out, nil
}

// snapshots is the store of the observatory's daily snapshots (nil
// without NATS).
func (s *Server) snapshots(ctx context.Context) observatory.Store {
	if s.JS == nil {
		return nil
	}
	kv, err := s.JS.KeyValue(ctx, bus.APIBucket)
	if err != nil {
		return nil
	}
	return observatory.KVStore{KV: kv}
}

// Background runs what the API does on its own: the observatory's daily
// snapshot. It returns when ctx is done.
func (s *Server) Background(ctx context.Context) {
	st := s.snapshots(ctx)
	if st == nil {
		return
	}
	log := s.Log
	if log == nil {
		log = zap.NewNop()
	}
	s.observatory().KeepSnapshots(ctx, st, log)
}

// observatoryList: the collectivités (obliged, publishing, or both) with
// the summaries per territory and in total, the timelines and the daily
// snapshots; CSV: one row per collectivité.
func (s *Server) observatoryList(w http.ResponseWriter, r *http.Request) {
	if !onlyParams(w, r, append(slices.Clone(observatory.FilterParams), listParams...)...) {
		return
	}
	f, err := observatory.ParseFilter(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_parameter", err.Error())
		return
	}
	lf, _, err := parseListFormat(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_parameter", err.Error())
		return
	}
	rep, err := s.observatory().Report(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rows, sums, tls := rep.Select(f)
	if !lf.csv {
		var history []observatory.Snapshot
		if st := s.snapshots(r.Context()); st != nil {
			history, _ = st.List(r.Context())
		}
		if history == nil {
			history = []observatory.Snapshot{}
		}
		if rows == nil {
			rows = []observatory.Row{}
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"generated_at": rep.GeneratedAt, "note": rep.Note, "referential": rep.Referential,
			"total": rep.Total, "summaries": sums, "collectivites": rows, "timelines": tls, "history": history,
		})
		return
	}
	c := newCSV(w, lf, "moisson-observatoire", []string{"territory", "siren", "code", "name", "kind", "population", "obliged", "obliged_why",
		"publishes", "datasets", "records", "portals", "scdl", "last_modified", "freshness", "quality"}, "population", "datasets", "records", "freshness", "quality")
	for _, row := range rows {
		var scdl []string
		for _, it := range row.SCDL {
			scdl = append(scdl, it.Item+":"+strings.Join(it.Evidence, "+"))
		}
		_ = c.row(row.Territory, row.Siren, row.Code, row.Name, row.Kind, strconv.Itoa(row.Population), strconv.FormatBool(row.Obliged), row.ObligedWhy,
			strconv.FormatBool(row.Publishes), strconv.FormatInt(row.Datasets, 10), strconv.FormatInt(row.Records, 10), strings.Join(row.Portals, " "),
			strings.Join(scdl, " "), row.LastModified, strconv.FormatFloat(row.Freshness, 'f', 4, 64), strconv.FormatFloat(row.Quality, 'f', 1, 64))
	}
	_ = c.close()
}

// unresolvedList: the publishers not resolved to a collectivité, with
// their record counts and the source they came from (what an override in
// the configuration maps), most records first.
func (s *Server) unresolvedList(w http.ResponseWriter, r *http.Request) {
	if !onlyParams(w, r, append([]string{"territory"}, listParams...)...) {
		return
	}
	lf, _, err := parseListFormat(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_parameter", err.Error())
		return
	}
	list, err := s.unresolved(r.Context(), r.URL.Query()["territory"])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !lf.csv {
		writeJSON(w, http.StatusOK, map[string]any{"unresolved": list})
		return
	}
	c := newCSV(w, lf, "moisson-unresolved", []string{"territory", "source", "publisher", "why", "records"}, "records")
	for _, u := range list {
		_ = c.row(u.Territory, u.Source, u.Publisher, u.Why, strconv.FormatInt(u.Records, 10))
	}
	_ = c.close()
}

// unresolved lists the unresolved publishers of the territories (all: nil).
func (s *Server) unresolved(ctx context.Context, territories []string) ([]observatory.Unresolved, error) {
	territoryOf := map[string]string{}
	for _, src := range s.sourceList(ctx) {
		territoryOf[src.SourceID] = src.TerritoryID
	}
	return observatory.UnresolvedPublishers(ctx, s.Index, territories, territoryOf)
}
