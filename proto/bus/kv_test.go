package bus

import (
	"context"
	"errors"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// TestGetLatestJSONKeys: a key that is not a plain key-value key (a
// wildcard would read the last value of other keys) is refused before
// anything is asked of NATS.
func TestGetLatestJSONKeys(t *testing.T) {
	for _, k := range []string{"", "*", ">", "a.*", "a b", ".a", "a.", "é"} {
		var v any
		if _, err := GetLatestJSON(context.Background(), nil, LeaseBucket, k, &v); !errors.Is(err, jetstream.ErrInvalidKey) {
			t.Errorf("key %q: %v, want ErrInvalidKey", k, err)
		}
	}
	for _, k := range []string{"nice-ckan", "a/b_c=d.e", "X9"} {
		if !validKey(k) {
			t.Errorf("key %q refused", k)
		}
	}
}
