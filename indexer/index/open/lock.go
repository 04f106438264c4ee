package open

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/opendatafrance/moisson/service"
)

// ErrInUse is an embedded index already open in another process.
var ErrInUse = errors.New("the embedded index is open in another process")

// checkFree fails at once when another process holds the embedded index in
// dir (bleve's store would wait for it for ever), naming that process when
// this machine tells.
func checkFree(dir string) error {
	f, err := os.OpenFile(filepath.Join(dir, "store", "root.bolt"), os.O_RDWR, 0)
	if err != nil {
		return nil // a new index, or not the scorch layout: nothing to wait for
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			holder := service.LockHolder(f.Name())
			if holder != "" {
				holder = " (" + holder + ")"
			}
			return fmt.Errorf("%w: %s is held by another process%s; one process only opens an embedded index: stop the other, give each its own -index-path, or share an Elasticsearch (-es-url)", ErrInUse, dir, holder)
		}
		return nil
	}
	return syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}
