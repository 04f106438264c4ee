package server

import (
	"context"

	"github.com/opendatafrance/moisson/api/observatory"
	"github.com/opendatafrance/moisson/api/web"
)

// webRoutes registers the web interface (package web) on the same router as
// the API, with the same instrumentation.
func (s *Server) webRoutes(route routeFunc) {
	ui, err := web.New(web.Deps{
		Index:      s.Index,
		Sources:    s.webSources,
		NotFound:   s.notFound,
		Log:        s.Log,
		SealCursor: s.sealCursor,
		OpenCursor: s.openCursor,
		Observatory: func(ctx context.Context) (*observatory.Report, error) {
			return s.observatory().Report(ctx)
		},
		Unresolved: s.unresolved,
		History: func(ctx context.Context) []observatory.Snapshot {
			if st := s.snapshots(ctx); st != nil {
				h, _ := st.List(ctx)
				return h
			}
			return nil
		},
	})
	if err != nil {
		// The templates are embedded and parsed by the tests: this cannot
		// happen in a build that passed them.
		panic("web: " + err.Error())
	}
	s.ui = ui
	ui.Register(route)
}

// webSources is sourceList in the form the web pages read.
func (s *Server) webSources(ctx context.Context) []web.Source {
	list := s.sourceList(ctx)
	out := make([]web.Source, 0, len(list))
	for _, sj := range list {
		ws := web.Source{SourceInfo: sj.SourceInfo, Status: sj.Status, Diagnosis: sj.Diagnosis, DiagnosisCode: sj.DiagCode, NeedsReview: sj.NeedsReview,
			ReviewReason: sj.ReviewReason, Running: sj.Running, NextRun: sj.NextRun, DeadLetters: sj.DeadLetters}
		if s.Runs != nil {
			if st, ok := s.Runs.Source(sj.SourceID); ok {
				ws.Runs, ws.LastSuccess = st.Runs, st.LastSuccess
			}
		}
		out = append(out, ws)
	}
	return out
}
