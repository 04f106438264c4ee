package normalize

import "sync"

// memo remembers the results of a function of a string that portals call
// with the same few values over and over (tags, licence labels), safe for
// concurrent harvests. Bounded: past memoMax values it starts again, and
// values longer than memoMaxKey are not kept.
type memo[V any] struct {
	mu sync.Mutex
	m  map[string]V
}

const (
	memoMax    = 50000
	memoMaxKey = 1024
)

func (m *memo[V]) get(k string, f func(string) V) V {
	if len(k) > memoMaxKey {
		return f(k)
	}
	m.mu.Lock()
	v, ok := m.m[k]
	m.mu.Unlock()
	if ok {
		return v
	}
	v = f(k)
	m.mu.Lock()
	if m.m == nil || len(m.m) >= memoMax {
		m.m = map[string]V{}
	}
	m.m[k] = v
	m.mu.Unlock()
	return v
}
