package state

import (
	"context"
	"fmt"
	"testing"

	"github.com/opendatafrance/moisson/harvester/internal/natstest"
)

// BenchmarkLoad reads a 100k-record state from JetStream whole (Load) and
// its header alone (LoadHeader, what a worker taking a source over reads).
// No timed assertion.
func BenchmarkLoad(b *testing.B) {
	srv := natstest.Start(b)
	_, js := srv.Connect()
	ctx := context.Background()
	st, err := OpenJetStream(ctx, js, 1)
	if err != nil {
		b.Fatal(err)
	}
	s := New("src")
	s.LastRunID = "run-1"
	for i := 0; i < 100000; i++ {
		s.Hashes[fmt.Sprintf("src-%016x", i)] = fmt.Sprintf("%032x", i)
	}
	if err := st.Save(ctx, s); err != nil {
		b.Fatal(err)
	}
	b.Run("Load", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if got, err := st.Load(ctx, "src"); err != nil || len(got.Hashes) != 100000 {
				b.Fatal(err)
			}
		}
	})
	b.Run("LoadHeader", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if got, err := st.LoadHeader(ctx, "src"); err != nil || got.LastRunID != "run-1" {
				b.Fatal(err)
			}
		}
	})
}
