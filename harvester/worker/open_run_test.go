package worker

import (
	"context"
	"testing"

	"github.com/opendatafrance/moisson/harvester/harvest"
	"github.com/opendatafrance/moisson/harvester/state"
	"go.uber.org/zap"
)

// A run left open in the schedule may have ended: its worker saved the
// harvest state (just before publishing the run's end) but could not clear
// the schedule, NATS being out of reach. The worker taking the source next
// must not close it as FAILED over its end (cluster test, NATS partition:
// three sources whose last runs had SUCCEEDED or ended PARTIAL shown
// FAILED). Only a run the state does not name is closed.
func TestOpenRunThatEnded(t *testing.T) {
	ctx := context.Background()
	store := state.NewMemory()
	st := state.New("src")
	st.LastRunID = "run-1"
	if err := store.Save(ctx, st); err != nil {
		t.Fatal(err)
	}
	w := &Worker{Name: "h2", Log: zap.NewNop()}
	runner := &harvest.Runner{State: store}
	if !w.runEnded(ctx, runner, "src", "run-1") {
		t.Error("run-1 ended (the state names it), said open")
	}
	if w.runEnded(ctx, runner, "src", "run-2") {
		t.Error("run-2 (not in the state) said ended")
	}
	if w.runEnded(ctx, runner, "other", "run-1") {
		t.Error("a source without state said to have ended its run")
	}
	if w.runEnded(ctx, &harvest.Runner{}, "src", "run-1") {
		t.Error("without a state store, a run is said ended")
	}
}
