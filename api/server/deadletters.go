package server

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/opendatafrance/moisson/proto/bus"
	"go.uber.org/zap"
)

// Dead letters: records the index rejected for good (a mapping conflict, a
// document too large), kept in the DEADLETTER stream with the reason in the
// Moisson-Reason header, one subject per source (moisson.dead.<source>).

func (s *Server) deadLetterRoutes(route routeFunc) {
	route("GET /v1/sources/{id}/dead-letters", s.deadLetters)
}

// deadLetterCounts is the number of dead letters per subject
// (bus.DeadSubjectFor(source)), from one stream info request; nil when
// JetStream cannot tell.
func (s *Server) deadLetterCounts(ctx context.Context) map[string]uint64 {
	if s.JS == nil {
		return nil
	}
	stream, err := s.JS.Stream(ctx, bus.DeadStream)
	if err != nil {
		return nil
	}
	info, err := stream.Info(ctx, jetstream.WithSubjectFilter(bus.DeadSubject+".>"))
	if err != nil {
		if s.Log != nil {
			s.Log.Warn("dead letters: stream info", zap.Error(err))
		}
		return nil
	}
	return info.State.Subjects
}

// deadLetterJSON is one dead letter.
type deadLetterJSON struct {
	Seq      uint64    `json:"seq"`
	At       time.Time `json:"at"`
	RecordID string    `json:"record_id"`
	Reason   string    `json:"reason"`
	Subject  string    `json:"subject"` // where the record was on RECORDS
}

// deadLetters streams the dead letters of a source, oldest first, in
// constant memory, as a JSON object or CSV (?format=csv).
func (s *Server) deadLetters(w http.ResponseWriter, r *http.Request) {
	if !onlyParams(w, r, listParams...) {
		return
	}
	f, _, err := parseListFormat(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_parameter", err.Error())
		return
	}
	if s.JS == nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "no JetStream connection")
		return
	}
	id := r.PathValue("id")
	ctx := r.Context()
	stream, err := s.JS.Stream(ctx, bus.DeadStream)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	subject := bus.DeadSubjectFor(id)
	info, err := stream.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	total := info.State.Subjects[subject]
	if total == 0 && !s.sourceKnown(ctx, id) {
		writeError(w, http.StatusNotFound, "not_found", "no source "+strconv.Quote(id))
		return
	}
	var add func(dl deadLetterJSON) error
	var end func() error
	if f.csv {
		c := newCSV(w, f, id+"-dead-letters", []string{"seq", "at", "record_id", "reason", "subject"}, "seq")
		add = func(dl deadLetterJSON) error {
			return c.row(strconv.FormatUint(dl.Seq, 10), dl.At.Format(time.RFC3339Nano), dl.RecordID, dl.Reason, dl.Subject)
		}
		end = c.close
	} else {
		l := newJSONList(w, "dead_letters", "source_id", id, "total", total)
		add = func(dl deadLetterJSON) error { return l.item(dl) }
		end = l.close
	}
	err = eachMessage(ctx, stream, subject, total, func(m jetstream.Msg) error {
		dl := deadLetterJSON{Reason: m.Headers().Get(bus.HeaderReason), Subject: m.Headers().Get("Moisson-Subject")}
		if md, err := m.Metadata(); err == nil {
			dl.Seq, dl.At = md.Sequence.Stream, md.Timestamp.UTC()
		}
		if env, err := bus.DecodeRecord(m.Data()); err == nil {
			dl.RecordID = env.GetDataset().GetId()
		}
		return add(dl)
	})
	if err != nil && s.Log != nil {
		s.Log.Warn("dead letters: interrupted", zap.Error(err))
	}
	_ = end()
}

// sourceKnown tells whether the API knows the source (configured or run).
func (s *Server) sourceKnown(ctx context.Context, id string) bool {
	for _, src := range s.sourceList(ctx) {
		if src.SourceID == id {
			return true
		}
	}
	return false
}
