package open

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A second process opening the same embedded index fails at once, naming
// the directory and the process holding it (it used to wait for ever).
func TestEmbeddedIndexInUse(t *testing.T) {
	dir := t.TempDir() + "/index"
	first, err := Open(context.Background(), Spec{Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		idx, err := Open(context.Background(), Spec{Path: dir})
		if err == nil {
			idx.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
			t.Errorf("second open: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the second open still waits after 5 s")
	}
	first.Close()
	again, err := Open(context.Background(), Spec{Path: dir})
	if err != nil {
		t.Fatalf("open once the first closed it: %v", err)
	}
	again.Close()
}
