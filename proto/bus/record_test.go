package bus

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TestRecordMsgEncoded: a message built from the dataset's encoding made
// before its provenance was set decodes to the same envelope as RecordMsg's,
// provenance included (timestamps with and without nanoseconds), and
// carries the same subject and message id.
func TestRecordMsgEncoded(t *testing.T) {
	at := time.Date(2026, 12, 4, 20, 30, 0, 123456789, time.UTC)
	for _, first := range []*timestamppb.Timestamp{nil, timestamppb.New(at.Add(-48 * time.Hour).Truncate(time.Second)), timestamppb.New(at.Add(-time.Hour))} {
		d := &moissonv1.Dataset{
			Id: "d1", SourceId: "rennes-ods", TerritoryId: "rennes", OriginalId: "arbres", Title: "Arbres d'alignement",
			Keywords: []string{"arbres", "voirie"}, RawDates: map[string]string{"modified": "2024-01-02", "issued": "2020"},
			Publisher:     &moissonv1.Publisher{Name: "Rennes Métropole"},
			Modified:      timestamppb.New(at.Add(-time.Hour * 24 * 30)),
			Distributions: []*moissonv1.Distribution{{Url: "https://data.rennes-metropole.fr/a.csv", Format: "CSV"}, {Url: "https://x/b.json"}},
		}
		wire, err := proto.MarshalOptions{Deterministic: true}.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		d.HarvestedAt, d.RunId, d.ContentHash, d.FirstSeen = timestamppb.New(at), "run-1", "0123abcd", first
		env := &moissonv1.RecordEnvelope{Op: moissonv1.RecordEnvelope_UPSERT, Dataset: d, SourceId: "rennes-ods",
			RunId: "run-1", Seq: 7, ContentHash: d.ContentHash, Version: at.UnixNano()}
		want, err := RecordMsg(env)
		if err != nil {
			t.Fatal(err)
		}
		got, err := RecordMsgEncoded(env, wire)
		if err != nil {
			t.Fatal(err)
		}
		if env.Dataset != d {
			t.Fatal("the envelope's dataset was not put back")
		}
		ge, err := DecodeRecord(got.Data)
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(ge, env) {
			t.Errorf("decoded %v\nwant %v", ge, env)
		}
		if got.Subject != want.Subject || got.Header.Get(jetstream.MsgIDHeader) != want.Header.Get(jetstream.MsgIDHeader) {
			t.Errorf("subject %q id %q, want %q %q", got.Subject, got.Header.Get(jetstream.MsgIDHeader), want.Subject, want.Header.Get(jetstream.MsgIDHeader))
		}
		if len(got.Data) != len(want.Data) {
			t.Errorf("%d bytes, RecordMsg's %d", len(got.Data), len(want.Data))
		}
	}
}

// BenchmarkRecordMsg: a record's message marshalled whole (RecordMsg),
// against built from the dataset's encoding kept from its content hash
// (RecordMsgEncoded, what the harvester publishes).
func BenchmarkRecordMsg(b *testing.B) {
	at := time.Date(2026, 12, 4, 20, 30, 0, 123456789, time.UTC)
	d := &moissonv1.Dataset{Id: "d1", SourceId: "rennes-ods", TerritoryId: "rennes", OriginalId: "arbres",
		Title: "Arbres d'alignement de Rennes Métropole", Description: strings.Repeat("Inventaire des arbres d'alignement. ", 20),
		Keywords: []string{"arbres", "voirie", "environnement", "patrimoine arboré"}, Publisher: &moissonv1.Publisher{Name: "Rennes Métropole"},
		Modified: timestamppb.New(at.Add(-time.Hour * 24 * 30)), Issued: timestamppb.New(at.Add(-time.Hour * 24 * 900))}
	for i := range 4 {
		d.Distributions = append(d.Distributions, &moissonv1.Distribution{Url: fmt.Sprintf("https://data.rennes-metropole.fr/explore/arbres/%d.csv", i), Format: "CSV", Title: "Export"})
	}
	wire, _ := proto.MarshalOptions{Deterministic: true}.Marshal(d)
	d.HarvestedAt, d.RunId, d.ContentHash = timestamppb.New(at), "run-1", "0123456789abcdef0123456789abcdef"
	env := &moissonv1.RecordEnvelope{Op: moissonv1.RecordEnvelope_UPSERT, Dataset: d, SourceId: "rennes-ods", RunId: "run-1", Seq: 7, ContentHash: d.ContentHash, Version: at.UnixNano()}
	b.Run("marshal", func(b *testing.B) {
		for b.Loop() {
			if _, err := RecordMsg(env); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoded", func(b *testing.B) {
		for b.Loop() {
			if _, err := RecordMsgEncoded(env, wire); err != nil {
				b.Fatal(err)
			}
		}
	})
}
