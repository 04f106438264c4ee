package normalize

import "sync"

// memo remembers the results of a function of a string that portals call
// with the same few values over and over (tags, licence labels), safe for
// concurrent harvests. Bounded against catalogues made of distinct values:
// past memoMax values or memoMaxBytes of them it starts again, and a value
// longer than memoMaxKey is not kept.
type memo[V any] struct {
	mu    sync.Mutex
	m     map[string]V
	bytes int
}

const (
	memoMax      = 50000
	memoMaxBytes = 8 << 20
	memoMaxKey   = 4 << 10
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
	if m.m == nil || len(m.m) >= memoMax || m.bytes+len(k) > memoMaxBytes {
		m.m, m.bytes = map[string]V{}, 0
	}
	m.m[k] = v
	m.bytes += len(k)
	m.mu.Unlock()
	return v
}
