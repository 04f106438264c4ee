package index

import (
	"errors"
	"sync"
	"testing"
)

func TestForEach(t *testing.T) {
	var mu sync.Mutex
	seen := map[int]bool{}
	running, most := 0, 0
	gate := make(chan struct{})
	go func() {
		for i := 0; i < 10; i++ {
			gate <- struct{}{}
		}
	}()
	err := forEach(10, 3, func(i int) error {
		mu.Lock()
		seen[i] = true
		running++
		most = max(most, running)
		mu.Unlock()
		<-gate
		mu.Lock()
		running--
		mu.Unlock()
		return nil
	})
	if err != nil || len(seen) != 10 || most > 3 {
		t.Errorf("err %v, %d calls, %d at once (limit 3)", err, len(seen), most)
	}
	boom := errors.New("boom")
	calls := 0
	err = forEach(100, 1, func(i int) error {
		calls++
		if i == 2 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || calls > 4 {
		t.Errorf("err %v after %d calls, want boom and the rest skipped", err, calls)
	}
}
