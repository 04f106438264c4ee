package worker

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/internal/natstest"
	"github.com/opendatafrance/moisson/proto/bus"
)

// TestPublishConfig: the territories go to their bucket with their
// geography and overrides; one no longer configured goes away; the
// indexers' resolution stamps stay; an unchanged territory is not
// written again (a write makes the indexers re-resolve it).
func TestPublishConfig(t *testing.T) {
	srv := natstest.Start(t)
	_, js := srv.Connect()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	kv, err := bus.OpenTerritories(ctx, js, 1)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"gone": `{"id":"gone"}`, "resolved.bretagne": "stamp"} {
		if _, err := kv.PutString(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	cfg := config.Default()
	if err := PublishConfig(ctx, js, 1, cfg); err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(ctx, "paca")
	if err != nil {
		t.Fatal(err)
	}
	var info bus.TerritoryInfo
	if err := json.Unmarshal(e.Value(), &info); err != nil || len(info.Geography.Regions) != 1 || info.Geography.Regions[0] != "93" ||
		info.Publishers["Région Sud"] != "region:93" || len(info.Members) == 0 {
		t.Fatalf("paca: %+v %v", info, err)
	}
	if _, err := kv.Get(ctx, "gone"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("a territory no longer configured is still there: %v", err)
	}
	if s, err := kv.Get(ctx, "resolved.bretagne"); err != nil || string(s.Value()) != "stamp" {
		t.Errorf("the indexers' stamp was removed: %v", err)
	}
	rev := e.Revision()
	if err := PublishConfig(ctx, js, 1, cfg); err != nil {
		t.Fatal(err)
	}
	if e, _ := kv.Get(ctx, "paca"); e.Revision() != rev {
		t.Errorf("an unchanged territory was written again (revision %d → %d)", rev, e.Revision())
	}
}
