package worker

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/harvest"
	"github.com/opendatafrance/moisson/harvester/internal/natstest"
	"github.com/opendatafrance/moisson/harvester/state"
	"github.com/opendatafrance/moisson/proto/bus"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"go.uber.org/zap"
)

// A run left open in the schedule is closed by the worker taking the
// source next, from what the run history (RUNS) and the harvest state say:
//   - its end is published (its worker could not clear the schedule, NATS
//     being out of reach: cluster test, NATS partition, where three runs
//     that had SUCCEEDED or ended PARTIAL were shown FAILED): left as it is;
//   - it reached its end but its worker died between saving the state and
//     publishing the end: it gets the end its state tells (it stayed
//     RUNNING in the history for ever before);
//   - it died mid-run: FAILED;
//   - the history cannot be read: a run the state names is left alone.
func TestCloseOpenRun(t *testing.T) {
	srv := natstest.Start(t)
	_, js := srv.Connect()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := bus.EnsureStreams(ctx, js, bus.Options{}); err != nil {
		t.Fatal(err)
	}
	pub := harvest.NewJetStreamPublisher(js)
	store := state.NewMemory()
	w := &Worker{Name: "h2", Log: zap.NewNop()}
	started := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	src := &config.Source{ID: "src", Protocol: "ckan", Endpoint: "https://example.fr/api/3/action"}

	// setup publishes the open run's events and saves the state naming
	// stateRun (none if ""), then the worker closes the open run; it
	// returns the source's last run event.
	setup := func(id string, events []moissonv1.HarvestRun_Status, stateRun string, success bool, runner *harvest.Runner) *moissonv1.HarvestRun {
		t.Helper()
		src.ID = id
		// Run ids unique across cases: RUNS deduplicates events by run id
		// and status.
		run := id + "/run-1"
		if stateRun != "" {
			stateRun = id + "/" + stateRun
		}
		for _, s := range events {
			if err := pub.Run(ctx, &moissonv1.HarvestRun{RunId: run, SourceId: id, Status: s, StartedAt: timestamppb.New(started), Seen: 7}); err != nil {
				t.Fatal(err)
			}
		}
		if stateRun != "" {
			st := state.New(id)
			st.LastRunID, st.LastStarted, st.LastSuccessSeen = stateRun, started, 7
			if success {
				st.LastSuccessStarted, st.LastFull = started, started
			}
			if err := store.Save(ctx, st); err != nil {
				t.Fatal(err)
			}
		}
		w.closeOpenRun(ctx, runner, src, Schedule{OpenRun: run, OpenWorker: "h1", OpenStarted: started}, "run-2", zap.NewNop())
		last, err := bus.LastRun(ctx, js, id)
		if err != nil {
			t.Fatal(err)
		}
		return last
	}
	runner := &harvest.Runner{State: store, Publisher: pub}

	// Ended and published: nothing written over its end.
	last := setup("published", []moissonv1.HarvestRun_Status{moissonv1.HarvestRun_RUNNING, moissonv1.HarvestRun_PARTIAL}, "run-1", false, runner)
	if last.GetStatus() != moissonv1.HarvestRun_PARTIAL || last.GetErrorCount() != 0 {
		t.Errorf("published end: last event %v with %d errors, want the PARTIAL end left as it was", last.GetStatus(), last.GetErrorCount())
	}

	// Ended (state saved), end not published: SUCCEEDED, as the state says.
	last = setup("unpublished", []moissonv1.HarvestRun_Status{moissonv1.HarvestRun_RUNNING}, "run-1", true, runner)
	if !strings.HasSuffix(last.GetRunId(), "/run-1") || last.GetStatus() != moissonv1.HarvestRun_SUCCEEDED || !last.GetComplete() || last.GetSeen() != 7 ||
		last.GetFinishedAt() == nil || len(last.GetErrors()) != 1 {
		t.Errorf("unpublished end: last event %v (run %s, complete %v, seen %d, finished %v, %d errors), want run-1 SUCCEEDED, complete, 7 seen, with the takeover said",
			last.GetStatus(), last.GetRunId(), last.GetComplete(), last.GetSeen(), last.GetFinishedAt(), len(last.GetErrors()))
	}
	last = setup("unpublished-failed", []moissonv1.HarvestRun_Status{moissonv1.HarvestRun_RUNNING}, "run-1", false, runner)
	if last.GetStatus() != moissonv1.HarvestRun_FAILED {
		t.Errorf("unpublished end of a run that did not succeed: %v, want FAILED", last.GetStatus())
	}

	// Died mid-run (the state names the run before): FAILED.
	last = setup("died", []moissonv1.HarvestRun_Status{moissonv1.HarvestRun_RUNNING}, "run-0", true, runner)
	if !strings.HasSuffix(last.GetRunId(), "/run-1") || last.GetStatus() != moissonv1.HarvestRun_FAILED || last.GetErrorCount() != 1 {
		t.Errorf("died mid-run: last event %v of %s, want run-1 FAILED with one error", last.GetStatus(), last.GetRunId())
	}

	// Without a readable history (here: none to read), the state decides.
	blind := &harvest.Runner{State: store, Publisher: noHistory{pub}}
	last = setup("blind-ended", []moissonv1.HarvestRun_Status{moissonv1.HarvestRun_RUNNING}, "run-1", true, blind)
	if last.GetStatus() != moissonv1.HarvestRun_RUNNING {
		t.Errorf("history unreadable, state naming the run: %v written, want nothing", last.GetStatus())
	}
	last = setup("blind-died", []moissonv1.HarvestRun_Status{moissonv1.HarvestRun_RUNNING}, "", false, blind)
	if last.GetStatus() != moissonv1.HarvestRun_FAILED {
		t.Errorf("history unreadable, no state: %v, want FAILED", last.GetStatus())
	}
}

// noHistory is a publisher that cannot read the run history.
type noHistory struct{ harvest.Publisher }
