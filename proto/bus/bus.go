// Package bus holds the JetStream side of the contract between Moisson's
// services: stream names, subjects, message ids, and how records and harvest
// runs are encoded on the wire (protobuf).
package bus

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// Streams and subjects (contract).
const (
	RecordsStream  = "RECORDS"
	RecordsSubject = "moisson.record" // moisson.record.<territory>.<source>
	RunsStream     = "RUNS"
	RunsSubject    = "moisson.run" // moisson.run.<source>
	DeadStream     = "DEADLETTER"
	DeadSubject    = "moisson.dead" // moisson.dead.<source>
	ErrorsStream   = "RUNERRORS"
	ErrorsSubject  = "moisson.runerror" // moisson.runerror.<source>.<run>: every error of every run

	// IndexerDurable is the durable consumer the indexers share on RECORDS.
	IndexerDurable = "indexer"

	// HeaderReason carries why a record went to the dead letters.
	HeaderReason = "Moisson-Reason"

	// DuplicateWindow is how long JetStream remembers message ids.
	DuplicateWindow = 10 * time.Minute
	// RunHistory is how many runs per source RUNS keeps.
	RunHistory = 100
)

// Options tune stream creation: Replicas > 1 on a cluster.
type Options struct {
	Replicas int
}

// EnsureStreams creates or updates the streams Moisson uses.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, opt Options) error {
	if opt.Replicas < 1 {
		opt.Replicas = 1
	}
	cfgs := []jetstream.StreamConfig{
		{
			Name:        RecordsStream,
			Description: "normalised dataset records (RecordEnvelope, protobuf)",
			Subjects:    []string{RecordsSubject + ".>"},
			Storage:     jetstream.FileStorage,
			Retention:   jetstream.LimitsPolicy,
			Duplicates:  DuplicateWindow,
			MaxAge:      30 * 24 * time.Hour,
			Replicas:    opt.Replicas,
		},
		{
			Name:              RunsStream,
			Description:       "harvest run events (HarvestRun, protobuf); last per subject is the current status",
			Subjects:          []string{RunsSubject + ".>"},
			Storage:           jetstream.FileStorage,
			Retention:         jetstream.LimitsPolicy,
			MaxMsgsPerSubject: RunHistory * 2, // a RUNNING and a final event per run
			Replicas:          opt.Replicas,
		},
		{
			Name:        ErrorsStream,
			Description: "every error of every harvest run (HarvestError, protobuf), one message each",
			Subjects:    []string{ErrorsSubject + ".>"},
			Storage:     jetstream.FileStorage,
			Retention:   jetstream.LimitsPolicy,
			MaxAge:      30 * 24 * time.Hour,
			Replicas:    opt.Replicas,
		},
		{
			Name:        DeadStream,
			Description: "records the index rejected, with the reason in the " + HeaderReason + " header",
			Subjects:    []string{DeadSubject + ".>"},
			Storage:     jetstream.FileStorage,
			Retention:   jetstream.LimitsPolicy,
			MaxAge:      90 * 24 * time.Hour,
			Replicas:    opt.Replicas,
		},
	}
	for _, c := range cfgs {
		if err := ensureStream(ctx, js, c); err != nil {
			return err
		}
	}
	return nil
}

// token makes an id safe as one subject token.
func token(s string) string {
	if s == "" {
		return "_"
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '.', '*', '>', ' ', '\t', '\r', '\n':
			return '_'
		}
		return r
	}, s)
}

// RecordSubject is the subject of a record of a source.
func RecordSubject(territory, source string) string {
	return RecordsSubject + "." + token(territory) + "." + token(source)
}

// RunSubject is the subject of the runs of a source.
func RunSubject(source string) string { return RunsSubject + "." + token(source) }

// ErrorSubject is the subject of the errors of one run.
func ErrorSubject(source, run string) string {
	return ErrorsSubject + "." + token(source) + "." + token(run)
}

// ErrorMsg builds the message of one run error.
func ErrorMsg(source, run string, e *moissonv1.HarvestError) (*nats.Msg, error) {
	data, err := proto.Marshal(e)
	if err != nil {
		return nil, err
	}
	m := nats.NewMsg(ErrorSubject(source, run))
	m.Data = data
	return m, nil
}

// DecodeError reads one run error.
func DecodeError(data []byte) (*moissonv1.HarvestError, error) {
	var e moissonv1.HarvestError
	if err := proto.Unmarshal(data, &e); err != nil {
		return nil, fmt.Errorf("harvest error: %w", err)
	}
	return &e, nil
}

// DeadSubjectFor is the dead-letter subject of a source.
func DeadSubjectFor(source string) string { return DeadSubject + "." + token(source) }

// MsgID is the Nats-Msg-Id of an envelope: JetStream drops a second copy of
// the same content inside its duplicate window.
func MsgID(env *moissonv1.RecordEnvelope) string {
	id := env.GetDataset().GetId()
	if env.GetOp() == moissonv1.RecordEnvelope_DELETE {
		return id + ":deleted:" + env.GetRunId()
	}
	return id + ":" + env.GetContentHash()
}

// RecordMsg builds the message of an envelope.
func RecordMsg(env *moissonv1.RecordEnvelope) (*nats.Msg, error) {
	data, err := proto.Marshal(env)
	if err != nil {
		return nil, err
	}
	return recordMsg(env, data), nil
}

// recordMsg is the message of an envelope encoded as data: its subject
// and message id.
func recordMsg(env *moissonv1.RecordEnvelope, data []byte) *nats.Msg {
	m := nats.NewMsg(RecordSubject(env.GetDataset().GetTerritoryId(), env.GetSourceId()))
	m.Data = data
	m.Header.Set(jetstream.MsgIDHeader, MsgID(env))
	return m
}

// RecordMsgEncoded builds the same message as RecordMsg, from the encoding
// of the envelope's dataset made before its provenance was set: datasetWire
// encodes the dataset with harvested_at, run_id, content_hash and
// first_seen empty (as harvest.ContentHash marshals it to hash it), the
// dataset holding those four besides. The dataset is then not marshalled a
// second time: its encoding is datasetWire followed by the four fields,
// which a decoder merges (protobuf's concatenation rule; they are absent
// from datasetWire).
func RecordMsgEncoded(env *moissonv1.RecordEnvelope, datasetWire []byte) (*nats.Msg, error) {
	d := env.GetDataset()
	prov := &moissonv1.Dataset{HarvestedAt: d.GetHarvestedAt(), RunId: d.GetRunId(), ContentHash: d.GetContentHash(), FirstSeen: d.GetFirstSeen()}
	n := len(datasetWire) + proto.Size(prov)
	env.Dataset = nil
	data, err := proto.MarshalOptions{}.MarshalAppend(make([]byte, 0, len(datasetWire)+256), env)
	env.Dataset = d
	if err != nil {
		return nil, err
	}
	data = protowire.AppendTag(data, envelopeDataset, protowire.BytesType)
	data = protowire.AppendVarint(data, uint64(n))
	data = append(data, datasetWire...)
	if data, err = (proto.MarshalOptions{UseCachedSize: true}).MarshalAppend(data, prov); err != nil {
		return nil, err
	}
	return recordMsg(env, data), nil
}

// envelopeDataset is the field number of RecordEnvelope.dataset.
var envelopeDataset = (&moissonv1.RecordEnvelope{}).ProtoReflect().Descriptor().Fields().ByName("dataset").Number()

// IndexBacklog is how many records wait for the indexers: not yet
// delivered to the indexers' consumer on RECORDS, or delivered and not yet
// acked (being written).
func IndexBacklog(ctx context.Context, js jetstream.JetStream) (uint64, error) {
	c, err := js.Consumer(ctx, RecordsStream, IndexerDurable)
	if err != nil {
		return 0, err
	}
	info, err := c.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.NumPending + uint64(info.NumAckPending), nil
}

// DecodeRecord reads an envelope.
func DecodeRecord(data []byte) (*moissonv1.RecordEnvelope, error) {
	var env moissonv1.RecordEnvelope
	if err := proto.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("record envelope: %w", err)
	}
	return &env, nil
}

// PublishRun publishes a harvest run event and waits for JetStream's ack.
func PublishRun(ctx context.Context, js jetstream.JetStream, run *moissonv1.HarvestRun) error {
	data, err := proto.Marshal(run)
	if err != nil {
		return err
	}
	m := nats.NewMsg(RunSubject(run.GetSourceId()))
	m.Data = data
	m.Header.Set(jetstream.MsgIDHeader, run.GetRunId()+":"+run.GetStatus().String())
	_, err = js.PublishMsg(ctx, m)
	return err
}

// LastRun reads a source's last harvest run event (its current status)
// from the RUNS stream's leader; nil when the source has none.
func LastRun(ctx context.Context, js jetstream.JetStream, source string) (*moissonv1.HarvestRun, error) {
	_, data, found, err := lastBySubject(ctx, js, RunsStream, RunSubject(source))
	if !found || err != nil {
		return nil, err
	}
	return DecodeRun(data)
}

// DecodeRun reads a harvest run event.
func DecodeRun(data []byte) (*moissonv1.HarvestRun, error) {
	var run moissonv1.HarvestRun
	if err := proto.Unmarshal(data, &run); err != nil {
		return nil, fmt.Errorf("harvest run: %w", err)
	}
	return &run, nil
}

// Connect connects to NATS (several URLs separated by commas) and never
// gives up reconnecting: a NATS restart pauses the services, it does not
// stop them.
func Connect(urls, name string) (*nats.Conn, jetstream.JetStream, error) {
	nc, err := nats.Connect(urls,
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500*time.Millisecond),
		nats.RetryOnFailedConnect(true),
		nats.Timeout(10*time.Second),
		// A server that froze (a stopped process, a partition) keeps its
		// TCP connection open: pings find it out in about 15 s (the
		// default, 2 min × 2, kept a client on it for minutes) and the
		// client moves to another server of the cluster.
		nats.PingInterval(5*time.Second),
		nats.MaxPingsOutstanding(3),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("nats %s: %w", urls, err)
	}
	// An async publish whose ack was lost with a stream leader fails after
	// a while instead of being pending forever.
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(20*time.Second))
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

// WaitStreams creates the streams, retrying every 2 s while NATS is not
// reachable yet (services may start before NATS).
func WaitStreams(ctx context.Context, js jetstream.JetStream, opt Options, onRetry func(error)) error {
	for {
		err := EnsureStreams(ctx, js, opt)
		if err == nil || ctx.Err() != nil {
			return err
		}
		if onRetry != nil {
			onRetry(err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}
