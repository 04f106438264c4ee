package web

import (
	"net/http"
	"net/url"
	"sort"
	"time"

	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
)

type runView struct {
	Run                  *moissonv1.HarvestRun
	Status               string
	Started, Finished    time.Time
	Duration             time.Duration
	HasDuration          bool
	Trigger              string
	ErrorsURL, ErrorsCSV string
	ChangesURL           string
}

func newRunView(sourceID string, r *moissonv1.HarvestRun) runView {
	v := runView{Run: r, Status: r.GetStatus().String(), Trigger: triggerLabels[r.GetTrigger()]}
	if v.Trigger == "" {
		v.Trigger = r.GetTrigger()
	}
	if r.GetStartedAt() != nil {
		v.Started = r.GetStartedAt().AsTime()
	}
	if r.GetFinishedAt() != nil {
		v.Finished = r.GetFinishedAt().AsTime()
		v.Duration = v.Finished.Sub(v.Started)
		v.HasDuration = true
	}
	base := "/v1/sources/" + url.PathEscape(sourceID) + "/runs/" + url.PathEscape(r.GetRunId())
	v.ErrorsURL = base + "/errors"
	v.ErrorsCSV = base + "/errors?format=csv"
	v.ChangesURL = base + "/changes"
	return v
}

type sourceRow struct {
	S         Source
	Territory string
	URL       string
	Last      *runView
}

type statusView struct {
	Unindexed int64 // records harvested, not yet in the index
	Rows      []sourceRow
	Counts    []struct {
		Status, Label string
		N             int
	}
	Errored int
}

func newSourceRow(s Source) sourceRow {
	row := sourceRow{S: s, Territory: s.Territory, URL: "/moissons/" + url.PathEscape(s.SourceID)}
	if row.Territory == "" {
		row.Territory = valueLabel("territory", s.TerritoryID)
	}
	if last := s.Last(); last != nil {
		rv := newRunView(s.SourceID, last)
		row.Last = &rv
	}
	return row
}

func (u *UI) status(w http.ResponseWriter, r *http.Request) {
	var v statusView
	if u.d.Unindexed != nil {
		v.Unindexed = u.d.Unindexed(r.Context())
	}
	count := map[string]int{}
	for _, s := range u.d.Sources(r.Context()) {
		v.Rows = append(v.Rows, newSourceRow(s))
		count[s.Status]++
	}
	sort.SliceStable(v.Rows, func(i, j int) bool {
		if v.Rows[i].S.TerritoryID != v.Rows[j].S.TerritoryID {
			return v.Rows[i].S.TerritoryID < v.Rows[j].S.TerritoryID
		}
		return v.Rows[i].S.SourceID < v.Rows[j].S.SourceID
	})
	for _, st := range []string{"FAILED", "PARTIAL", "RUNNING", "SUCCEEDED", "NEVER", "DISABLED"} {
		if n := count[st]; n > 0 {
			v.Counts = append(v.Counts, struct {
				Status, Label string
				N             int
			}{st, statusLabels[st].Label, n})
		}
	}
	u.render(w, r, http.StatusOK, "status", page{Title: "État des moissons", Nav: "status", Data: v})
}

type sourceView struct {
	Row        sourceRow
	Runs       []runView
	Errors     []*moissonv1.HarvestError
	MoreErrors int64
	RunsCSV    string
	RunsJSON   string
	SearchURL  string
	APIURL     string
	DeadURL    string
}

func (u *UI) source(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	for _, s := range u.d.Sources(r.Context()) {
		if s.SourceID != id {
			continue
		}
		esc := url.PathEscape(id)
		v := sourceView{Row: newSourceRow(s), RunsCSV: "/v1/sources/" + esc + "/runs?format=csv",
			RunsJSON: "/v1/sources/" + esc + "/runs", APIURL: "/v1/sources/" + esc,
			DeadURL:   "/v1/sources/" + esc + "/dead-letters?format=csv",
			SearchURL: searchURL(url.Values{"source": {id}})}
		for _, run := range s.Runs {
			v.Runs = append(v.Runs, newRunView(id, run))
		}
		if last := s.Last(); last != nil {
			errs := last.GetErrors()
			if len(errs) > 20 {
				errs = errs[:20]
			}
			v.Errors = errs
			total := last.GetErrorCount()
			if total < int64(len(last.GetErrors())) {
				total = int64(len(last.GetErrors()))
			}
			v.MoreErrors = total - int64(len(errs))
		}
		u.render(w, r, http.StatusOK, "source", page{Title: "Source " + id, Nav: "status", Data: v})
		return
	}
	u.errorPage(w, r, http.StatusNotFound, "Source introuvable",
		"Aucune source moissonnée n'a l'identifiant « "+id+" ». La liste des sources est sur la page « État des moissons ».")
}
