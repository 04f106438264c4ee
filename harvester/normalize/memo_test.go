package normalize

import (
	"strings"
	"testing"
)

// The memo answers what the function would, and stays within its bounds
// whatever the values.
func TestMemoBounded(t *testing.T) {
	var m memo[int]
	calls := 0
	f := func(s string) int { calls++; return len(s) }
	if m.get("abc", f) != 3 || m.get("abc", f) != 3 || calls != 1 {
		t.Fatalf("calls %d", calls)
	}
	long := strings.Repeat("x", memoMaxKey+1)
	if m.get(long, f) != len(long) || len(m.m) != 1 {
		t.Fatalf("a long value was kept")
	}
	big := strings.Repeat("y", memoMaxKey-10)
	for i := range 3 * memoMaxBytes / memoMaxKey {
		m.get(big+strings.Repeat("z", i%10)+string(rune('a'+i/10%26))+string(rune('a'+i/260)), f)
		if m.bytes > memoMaxBytes || len(m.m) > memoMax {
			t.Fatalf("memo grew to %d bytes, %d values", m.bytes, len(m.m))
		}
	}
}
