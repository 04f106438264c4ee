package server

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
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
	if !onlyParams(w, r, "format") {
		return
	}
	asCSV, ok := wantsCSV(w, r)
	if !ok {
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
	var cons jetstream.Consumer
	if total > 0 {
		cons, err = stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
		if err != nil {
			s.fail(w, r, err)
			return
		}
	}
	bw := bufio.NewWriterSize(w, 32<<10)
	defer bw.Flush()
	var cw *csv.Writer
	if asCSV {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		cw = csv.NewWriter(bw)
		_ = cw.Write([]string{"seq", "at", "record_id", "reason", "subject"})
	} else {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		head, _ := json.Marshal(id)
		bw.WriteString(`{"source_id":`)
		bw.Write(head)
		bw.WriteString(`,"total":` + strconv.FormatUint(total, 10) + `,"dead_letters":[`)
	}
	for n := uint64(0); n < total; {
		batch, err := cons.Fetch(500, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			if s.Log != nil {
				s.Log.Warn("dead letters: fetch", zap.Error(err))
			}
			break
		}
		got := 0
		for m := range batch.Messages() {
			if n >= total {
				break // newer than the total announced
			}
			got++
			n++
			dl := deadLetterJSON{Reason: m.Headers().Get(bus.HeaderReason), Subject: m.Headers().Get("Moisson-Subject")}
			if md, err := m.Metadata(); err == nil {
				dl.Seq, dl.At = md.Sequence.Stream, md.Timestamp.UTC()
			}
			if env, err := bus.DecodeRecord(m.Data()); err == nil {
				dl.RecordID = env.GetDataset().GetId()
			}
			if asCSV {
				_ = cw.Write([]string{strconv.FormatUint(dl.Seq, 10), dl.At.Format(time.RFC3339Nano), dl.RecordID, dl.Reason, dl.Subject})
				continue
			}
			if n > 1 {
				bw.WriteByte(',')
			}
			b, _ := json.Marshal(dl)
			bw.Write(b)
		}
		if got == 0 {
			break
		}
	}
	if asCSV {
		cw.Flush()
	} else {
		bw.WriteString("]}\n")
	}
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
