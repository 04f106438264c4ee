// Package collectivite attributes every record the indexer writes to the
// collectivité that published it (proto field Dataset.collectivite), with
// the resolver of the record's territory (package referential: SIREN, then
// name, then the territory's overrides).
//
// The territories come from the bucket the harvester workers publish their
// configuration to (bus.TerritoriesBucket). When a territory changes there
// (its geography, its publishers overrides, its members) or the embedded
// referential is another version, the Keeper re-resolves that territory's
// records already in the index, in place: a change of the overrides takes
// effect without harvesting again. Each territory's last resolution is
// stamped in the bucket ("resolved.<territory>"), so a restart does not
// redo it. Two indexers may both redo a territory after a change; the
// writes are the same.
package collectivite

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/opendatafrance/moisson/indexer/index"
	"github.com/opendatafrance/moisson/proto/bus"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"github.com/opendatafrance/moisson/referential"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
)

var (
	metricAttributed = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "moisson_indexer_attributions_total", Help: "Records attributed to a collectivité, by how (siren, name, override, identifier, member) or why not.",
	}, []string{"how"})
	metricReresolved = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "moisson_indexer_reresolved_records_total", Help: "Records of the index whose collectivité changed when their territory or the referential did, by territory.",
	}, []string{"territory"})
)

// Resolvers holds a resolver per configured territory.
type Resolvers struct {
	ref  *referential.Referential
	mu   sync.RWMutex
	byID map[string]*territory
}

type territory struct {
	info  bus.TerritoryInfo
	rs    *referential.Resolver
	stamp string
}

// NewResolvers is an empty set on the embedded referential.
func NewResolvers() *Resolvers {
	return &Resolvers{ref: referential.France(), byID: map[string]*territory{}}
}

// Set installs a territory's resolver; it tells whether anything changed.
func (r *Resolvers) Set(info bus.TerritoryInfo) bool {
	stamp := r.stampOf(info)
	r.mu.Lock()
	defer r.mu.Unlock()
	if t := r.byID[info.ID]; t != nil && t.stamp == stamp {
		return false
	}
	r.byID[info.ID] = &territory{info: info, rs: r.ref.Resolver(info.Territory), stamp: stamp}
	return true
}

// Remove forgets a territory.
func (r *Resolvers) Remove(id string) {
	r.mu.Lock()
	delete(r.byID, id)
	r.mu.Unlock()
}

// Stamp identifies what a territory's records are resolved with: its
// configuration and the referential's version ("" for an unknown one).
func (r *Resolvers) Stamp(id string) string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if t := r.byID[id]; t != nil {
		return t.stamp
	}
	return ""
}

func (r *Resolvers) stampOf(info bus.TerritoryInfo) string {
	b, _ := json.Marshal(info.Territory)
	h := sha256.Sum256(append(append(b, 0), r.ref.Source...))
	return hex.EncodeToString(h[:12])
}

// IDs lists the territories known.
func (r *Resolvers) IDs() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.byID))
	for id := range r.byID {
		out = append(out, id)
	}
	return out
}

// Attribute sets a record's collectivité.
func (r *Resolvers) Attribute(d *moissonv1.Dataset) {
	r.mu.RLock()
	var rs *referential.Resolver
	if t := r.byID[d.GetTerritoryId()]; t != nil {
		rs = t.rs
	}
	r.mu.RUnlock()
	bus.Attribute(d, rs)
	metricAttributed.WithLabelValues(d.GetCollectivite().GetHow()).Inc()
}

// Keeper keeps the resolvers current from the territories bucket and
// re-resolves the index's records of a territory that changed.
type Keeper struct {
	JS        jetstream.JetStream
	Index     index.Index
	Resolvers *Resolvers
	Replicas  int
	Log       *zap.Logger

	ready     chan struct{}
	readyOnce sync.Once
	redo      chan string
}

// Ready is closed once the territories were read (or found absent): the
// indexer writes nothing before, lest records be attributed without them.
func (k *Keeper) Ready() <-chan struct{} {
	k.init()
	return k.ready
}

func (k *Keeper) init() {
	k.readyOnce.Do(func() {
		k.ready = make(chan struct{})
		k.redo = make(chan string, 64)
		if k.Log == nil {
			k.Log = zap.NewNop()
		}
	})
}

// Run watches the bucket until ctx is done.
func (k *Keeper) Run(ctx context.Context) error {
	k.init()
	var kv jetstream.KeyValue
	for {
		var err error
		if kv, err = bus.OpenTerritories(ctx, k.JS, k.Replicas); err == nil {
			break
		}
		k.Log.Warn("territories bucket not ready, retrying", zap.Error(err))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
	watch, err := kv.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("watching the territories: %w", err)
	}
	defer watch.Stop()
	go k.redoLoop(ctx, kv)
	stamps := map[string]string{}
	initial := true
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e, ok := <-watch.Updates():
			if !ok {
				return errors.New("the territories watch ended")
			}
			if e == nil {
				// The initial values are all read.
				initial = false
				for _, id := range k.Resolvers.IDs() {
					if stamps[id] != k.Resolvers.Stamp(id) {
						k.redo <- id
					}
				}
				close(k.ready)
				continue
			}
			key := e.Key()
			if id, ok := strings.CutPrefix(key, bus.StampPrefix); ok {
				stamps[id] = string(e.Value())
				continue
			}
			if e.Operation() != jetstream.KeyValuePut {
				k.Resolvers.Remove(key)
				continue
			}
			var info bus.TerritoryInfo
			if err := json.Unmarshal(e.Value(), &info); err != nil || info.ID != key {
				k.Log.Warn("territory unreadable", zap.String("territory", key), zap.Error(err))
				continue
			}
			if k.Resolvers.Set(info) && !initial {
				k.Log.Info("territory changed: its records are resolved again", zap.String("territory", key))
				k.redo <- key
			}
		}
	}
}

// redoLoop re-resolves the territories asked for, one at a time.
func (k *Keeper) redoLoop(ctx context.Context, kv jetstream.KeyValue) {
	for {
		select {
		case <-ctx.Done():
			return
		case id := <-k.redo:
			stamp := k.Resolvers.Stamp(id)
			if stamp == "" {
				continue
			}
			start := time.Now()
			seen, changed, err := Reresolve(ctx, k.Index, k.Resolvers, id)
			log := k.Log.With(zap.String("territory", id), zap.Int("records", seen), zap.Int("changed", changed),
				zap.Duration("took", time.Since(start)))
			if err != nil {
				log.Warn("records not all resolved again; retried at the next start or change", zap.Error(err))
				continue
			}
			log.Info("records resolved again")
			if _, err := kv.PutString(ctx, bus.StampPrefix+id, stamp); err != nil {
				log.Warn("resolution stamp not saved", zap.Error(err))
			}
		}
	}
}

// Reresolve attributes again the records of a territory in the index and
// writes those whose collectivité changed, at their own version (a newer
// record written meanwhile wins).
func Reresolve(ctx context.Context, x index.Index, r *Resolvers, territoryID string) (seen, changed int, err error) {
	q := index.Query{Filters: map[string][]string{index.FieldTerritory: {territoryID}}, Sort: index.SortTitle, Size: 500}
	for {
		res, err := x.Search(ctx, q)
		if err != nil {
			return seen, changed, err
		}
		var ops []index.Op
		for _, d := range res.Items {
			seen++
			before := d.GetCollectivite()
			r.Attribute(d)
			if proto.Equal(before, d.GetCollectivite()) {
				continue
			}
			ops = append(ops, index.Op{ID: d.GetId(), Version: d.GetHarvestedAt().AsTime().UnixNano(), Dataset: d})
		}
		if len(ops) > 0 {
			items, err := x.Write(ctx, ops)
			if err != nil {
				return seen, changed, err
			}
			for _, e := range items {
				if e == nil {
					changed++
				}
			}
			metricReresolved.WithLabelValues(territoryID).Add(float64(len(ops)))
		}
		if res.NextCursor == "" {
			return seen, changed, nil
		}
		q.Cursor = res.NextCursor
	}
}

// Attribute sets a record's collectivité (the consumer's Attributor).
func (k *Keeper) Attribute(d *moissonv1.Dataset) { k.Resolvers.Attribute(d) }
