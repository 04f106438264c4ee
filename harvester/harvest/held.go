package harvest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/state"
)

// ErrNothingHeld is returned when a source has no held deletions.
var ErrNothingHeld = errors.New("no deletions are held for this source")

// ResolveHeld releases (deletes for real) or discards the deletions a run
// held for review. The caller must hold the source's lease. It returns how
// many records were deleted (0 when discarding).
func ResolveHeld(ctx context.Context, store state.Store, pub Publisher, src *config.Source, discard bool, by string, now time.Time) (int, error) {
	st, err := store.Load(ctx, src.ID)
	if err != nil {
		return 0, err
	}
	if st.Held == nil || len(st.Held.IDs) == 0 {
		return 0, ErrNothingHeld
	}
	held := st.Held
	n := 0
	if !discard {
		var ids []string
		for _, id := range held.IDs {
			if _, ok := st.Hashes[id]; ok { // not seen again since
				ids = append(ids, id)
			}
		}
		reason := fmt.Sprintf("deletion held by run %s (%s), released by %s", held.RunID, held.Reason, by)
		if err := deleteRecords(ctx, pub, src, held.RunID, ids, reason, now); err != nil {
			return 0, err
		}
		for _, id := range ids {
			delete(st.Hashes, id)
		}
		n = len(ids)
	}
	st.Held = nil
	return n, store.Save(ctx, st)
}
