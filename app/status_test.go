package app

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opendatafrance/moisson/harvester/simulator"
	"github.com/opendatafrance/moisson/proto/bus"
)

func do(t *testing.T, method, u, token string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, u, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

type runsAnswer struct {
	Runs []struct {
		RunID      string  `json:"run_id"`
		Status     string  `json:"status"`
		Trigger    string  `json:"trigger"`
		Seen       int64   `json:"seen"` // counts are JSON numbers
		Deleted    int64   `json:"deleted"`
		ErrorCount int64   `json:"error_count"`
		Duration   float64 `json:"duration_seconds"`
	} `json:"runs"`
}

// waitRuns waits until the source has n finished runs.
func waitRuns(t *testing.T, a *App, id string, n int) runsAnswer {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var r runsAnswer
		resp := do(t, "GET", a.APIURL()+"/v1/sources/"+id+"/runs", "")
		if resp.StatusCode == http.StatusOK {
			_ = decode(resp, &r)
			finished := 0
			for _, run := range r.Runs {
				if run.Status != "RUNNING" {
					finished++
				}
			}
			if finished >= n {
				return r
			}
		} else {
			resp.Body.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("source %s: fewer than %d finished runs after a minute", id, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestSourceStatusAPI(t *testing.T) {
	const token = "s3cret"
	a := start(t, Options{DataDir: t.TempDir(), SimDatasets: 20, AdminToken: token, Concurrency: 8})
	defer a.Close()
	a.WaitHarvest()
	const id = "nice-ckan"
	runs := waitRuns(t, a, id, 1)
	if runs.Runs[0].Status != "SUCCEEDED" || runs.Runs[0].Seen != 20 || runs.Runs[0].Trigger != "startup" {
		t.Fatalf("first run: %+v", runs.Runs[0])
	}

	// The run history as CSV.
	resp := do(t, "GET", a.APIURL()+"/v1/sources/"+id+"/runs?format=csv", "")
	rows, err := csv.NewReader(resp.Body).ReadAll()
	resp.Body.Close()
	if err != nil || len(rows) != 2 || rows[0][0] != "run_id" || rows[1][1] != "SUCCEEDED" {
		t.Fatalf("runs CSV: %v %v", rows, err)
	}

	// What the first run changed: 20 created.
	changes := func(run, filter string) []string {
		u := a.APIURL() + "/v1/sources/" + id + "/runs/" + run + "/changes"
		if filter != "" {
			u += "?change=" + filter
		}
		resp := do(t, "GET", u, "")
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("changes: %d", resp.StatusCode)
		}
		var lines []string
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		return lines[1:] // header
	}
	if got := changes(runs.Runs[0].RunID, "created"); len(got) != 20 || !strings.HasPrefix(got[0], "created,nice-ckan-") {
		t.Errorf("created: %d lines %v", len(got), got[:min(2, len(got))])
	}

	// The same list as JSON, and as CSV for French Excel (BOM, ';').
	resp = do(t, "GET", a.APIURL()+"/v1/sources/"+id+"/runs/"+runs.Runs[0].RunID+"/changes?format=json&change=created", "")
	var ch struct {
		Changes []struct{ Change, ID string } `json:"changes"`
	}
	if err := decode(resp, &ch); err != nil || len(ch.Changes) != 20 || ch.Changes[0].Change != "created" {
		t.Errorf("changes as JSON: %+v %v", ch, err)
	}
	resp = do(t, "GET", a.APIURL()+"/v1/sources/"+id+"/runs?format=csv&dialect=excel-fr", "")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(string(body), "\ufeffrun_id;status;") || !strings.Contains(string(body), ";SUCCEEDED;") {
		t.Errorf("runs for French Excel: %.120q", body)
	}

	// On-demand harvests need the token, with its scheme.
	if r := do(t, "POST", a.APIURL()+"/v1/sources/"+id+"/harvest", ""); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("without token: %d", r.StatusCode)
	}
	req, _ := http.NewRequest("POST", a.APIURL()+"/v1/sources/"+id+"/harvest", nil)
	req.Header.Set("Authorization", token)
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != http.StatusUnauthorized {
		t.Errorf("the token without 'Bearer ': %v %v, want 401", r.StatusCode, err)
	}
	// A disabled source is not harvested on demand either: 409 with why.
	r := do(t, "POST", a.APIURL()+"/v1/sources/rennes-ods/harvest", token)
	var e struct {
		Error struct{ Code, Message string }
	}
	if err := decode(r, &e); r.StatusCode != http.StatusConflict || e.Error.Code != "source_disabled" || !strings.Contains(e.Error.Message, "alternative to") {
		t.Errorf("disabled source: %d %+v %v, want 409 with the reason", r.StatusCode, e, err)
	}
	if r := do(t, "POST", a.APIURL()+"/v1/sources/"+id+"/harvest", "wrong"); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong token: %d", r.StatusCode)
	}
	if r := do(t, "POST", a.APIURL()+"/v1/sources/nope/harvest", token); r.StatusCode != http.StatusNotFound {
		t.Errorf("unknown source: %d", r.StatusCode)
	}

	// The portal loses 3 datasets and fails on its second page for a while:
	// a manual harvest is PARTIAL with its errors downloadable.
	removed := a.Simulator().Remove(id, 3)
	a.Config().Source(id).Params = map[string]string{"page_size": "5"}
	a.Simulator().SetFault(id, simulator.Fault{Status: 500, FromPage: 2})
	if r := do(t, "POST", a.APIURL()+"/v1/sources/"+id+"/harvest", token); r.StatusCode != http.StatusAccepted {
		t.Fatalf("manual harvest: %d", r.StatusCode)
	}
	runs = waitRuns(t, a, id, 2)
	second := runs.Runs[0]
	if second.Status != "PARTIAL" || second.Trigger != "manual" || second.Deleted != 0 {
		t.Fatalf("second run: %+v", second)
	}
	var errs struct {
		Total  int `json:"total"`
		Errors []struct {
			Kind, URL, Message string
		} `json:"errors"`
	}
	resp = do(t, "GET", a.APIURL()+"/v1/sources/"+id+"/runs/"+second.RunID+"/errors", "")
	if err := decode(resp, &errs); err != nil || errs.Total < 1 || len(errs.Errors) != errs.Total || errs.Errors[0].Kind != "http" {
		t.Errorf("errors of the partial run: %+v %v", errs, err)
	}
	resp = do(t, "GET", a.APIURL()+"/v1/sources/"+id+"/runs/"+second.RunID+"/errors?format=csv", "")
	rows, _ = csv.NewReader(resp.Body).ReadAll()
	resp.Body.Close()
	if len(rows) != errs.Total+1 || rows[0][1] != "kind" {
		t.Errorf("errors CSV: %v", rows)
	}

	// The portal heals: the next harvest deletes exactly the 3 datasets.
	a.Simulator().ClearFaults()
	if err := a.RequestHarvest(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	runs = waitRuns(t, a, id, 3)
	third := runs.Runs[0]
	if third.Status != "SUCCEEDED" || third.Deleted != 3 {
		t.Fatalf("third run: %+v", third)
	}
	if got := changes(third.RunID, "deleted"); len(got) != len(removed) {
		t.Errorf("deleted: %v, want %d", got, len(removed))
	}

	// Bad parameters.
	for _, u := range []string{"/v1/sources?colour=1", "/v1/sources/" + id + "/runs?format=xml", "/v1/sources/" + id + "/runs/x/changes?change=eaten"} {
		if r := do(t, "GET", a.APIURL()+u, ""); r.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d", u, r.StatusCode)
		}
	}
}

func TestHarvestTriggerDisabledWithoutToken(t *testing.T) {
	a := start(t, Options{DataDir: t.TempDir(), SimDatasets: 5, NoHarvest: true})
	defer a.Close()
	// A configured source never harvested has an empty history, not a 404.
	var runs runsAnswer
	if r := do(t, "GET", a.APIURL()+"/v1/sources/nice-ckan/runs", ""); r.StatusCode != http.StatusOK || decode(r, &runs) != nil || len(runs.Runs) != 0 {
		t.Errorf("runs of a source never harvested: %d %+v, want 200 and none", r.StatusCode, runs)
	}
	if r := do(t, "GET", a.APIURL()+"/v1/sources/nope/runs", ""); r.StatusCode != http.StatusNotFound {
		t.Errorf("runs of an unknown source: %d, want 404", r.StatusCode)
	}
	if r := do(t, "POST", a.APIURL()+"/v1/sources/nice-ckan/harvest", "anything"); r.StatusCode != http.StatusForbidden {
		t.Errorf("without an admin token configured: %d, want 403", r.StatusCode)
	}
}

// TestLeaseOfFinishedRun: a lease that outlives its run (its release lost
// while NATS elected a leader, or read from a replica still catching up)
// does not make /v1/sources say RUNNING once the run is known finished;
// a lease for a run not known yet (just started) does.
func TestLeaseOfFinishedRun(t *testing.T) {
	a := start(t, Options{DataDir: t.TempDir(), SimDatasets: 5, Concurrency: 8})
	defer a.Close()
	a.WaitHarvest()
	const id = "nice-ckan"
	done := waitRuns(t, a, id, 1).Runs[0]
	ctx := context.Background()
	leases, err := a.js.KeyValue(ctx, bus.LeaseBucket)
	if err != nil {
		t.Fatal(err)
	}
	status := func(l bus.Lease) (string, *bus.Lease) {
		t.Helper()
		v, _ := json.Marshal(l)
		if _, err := leases.Put(ctx, id, v); err != nil {
			t.Fatal(err)
		}
		var st struct {
			Sources []struct {
				SourceID string     `json:"source_id"`
				Status   string     `json:"status"`
				Running  *bus.Lease `json:"running"`
			} `json:"sources"`
		}
		getJSON(t, a.APIURL()+"/v1/sources", http.StatusOK, &st)
		for _, s := range st.Sources {
			if s.SourceID == id {
				return s.Status, s.Running
			}
		}
		t.Fatalf("%s not in /v1/sources", id)
		return "", nil
	}
	now := time.Now().UTC()
	if st, running := status(bus.Lease{Worker: "w-gone", RunID: done.RunID, Since: now, Heartbeat: now}); st != "SUCCEEDED" || running != nil {
		t.Errorf("lease of the finished run %s: status %s, running %+v; want SUCCEEDED, not running", done.RunID, st, running)
	}
	if st, running := status(bus.Lease{Worker: "w1", RunID: "29991231T000000000Z-00000000", Since: now, Heartbeat: now}); st != "RUNNING" || running == nil {
		t.Errorf("lease of a run just started: status %s, running %+v; want RUNNING", st, running)
	}
}
