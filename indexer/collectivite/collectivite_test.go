package collectivite

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/opendatafrance/moisson/indexer/index"
	"github.com/opendatafrance/moisson/indexer/index/bleve"
	"github.com/opendatafrance/moisson/proto/bus"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"github.com/opendatafrance/moisson/referential"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TestOverrideWithoutHarvest: records written with a territory's
// resolvers; the territory's publishers overrides change in the bucket
// (a worker restarted with a new configuration); the Keeper attributes
// the records already in the index again, without a harvest.
func TestOverrideWithoutHarvest(t *testing.T) {
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats not ready")
	}
	nc, js, err := bus.Connect(ns.ClientURL(), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	x, err := bleve.Open(filepath.Join(t.TempDir(), "index"))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()

	kv, err := bus.OpenTerritories(ctx, js, 1)
	if err != nil {
		t.Fatal(err)
	}
	put := func(overrides map[string]string) {
		info := bus.TerritoryInfo{ID: "bretagne", Name: "Bretagne", Territory: referential.Territory{
			Geography: referential.Geography{Regions: []string{"53"}}, Publishers: overrides}}
		b, _ := json.Marshal(info)
		if _, err := kv.Put(ctx, "bretagne", b); err != nil {
			t.Fatal(err)
		}
	}
	put(nil)
	k := &Keeper{JS: js, Index: x, Resolvers: NewResolvers(), Replicas: 1}
	go k.Run(ctx)
	select {
	case <-k.Ready():
	case <-ctx.Done():
		t.Fatal("the keeper never got ready")
	}

	// What the consumer writes: records attributed as they come.
	now := time.Now()
	var ops []index.Op
	for i, pub := range []string{"Ville de Rennes", "Service SIG de la Ville", "Service SIG de la Ville", "DREAL Bretagne"} {
		d := &moissonv1.Dataset{Id: "r" + string(rune('0'+i)), TerritoryId: "bretagne", SourceId: "s", Title: "Jeu " + pub,
			Publisher: &moissonv1.Publisher{Name: pub}, HarvestedAt: timestamppb.New(now)}
		k.Attribute(d)
		ops = append(ops, index.Op{ID: d.Id, Version: now.UnixNano(), Dataset: d})
	}
	if _, err := x.Write(ctx, ops); err != nil {
		t.Fatal(err)
	}
	got := func(id string) *moissonv1.CollectiviteRef {
		d, err := x.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return d.GetCollectivite()
	}
	if c := got("r0"); c.GetKey() != "213502388" || c.GetHow() != referential.ByName {
		t.Fatalf("Ville de Rennes: %v", c)
	}
	if c := got("r1"); c.GetKey() != "" || c.GetHow() != referential.NotFound {
		t.Fatalf("before the override: %v", c)
	}

	put(map[string]string{"Service SIG de la Ville": "213502388"})
	deadline := time.Now().Add(20 * time.Second)
	for got("r1").GetKey() == "" || got("r2").GetKey() == "" {
		if time.Now().After(deadline) {
			t.Fatalf("the override did not reach the index: %v", got("r1"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if c := got("r2"); c.GetHow() != referential.ByOverride {
		t.Errorf("after the override: %v", c)
	}
	if c := got("r3"); c.GetKey() != "" || c.GetHow() != referential.NotCollectivite {
		t.Errorf("a State service: %v", c)
	}
	// The facets follow: Rennes has three records now.
	res, err := x.Search(ctx, index.Query{Size: 1, Facets: []string{index.FieldCollectivite}})
	if err != nil {
		t.Fatal(err)
	}
	if fc := res.Facets[index.FieldCollectivite]; len(fc) != 1 || fc[0].Count != 3 {
		t.Errorf("collectivite facet: %v", fc)
	}
	// The stamp says it is done: a restarted keeper does not redo it.
	deadline = time.Now().Add(10 * time.Second)
	for {
		e, err := kv.Get(ctx, bus.StampPrefix+"bretagne")
		if err == nil && string(e.Value()) == k.Resolvers.Stamp("bretagne") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no resolution stamp: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
