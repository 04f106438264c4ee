package normalize

import (
	"reflect"
	"testing"
)

func TestFirstUnique(t *testing.T) {
	if got := First("", "  ", " b ", "c"); got != "b" {
		t.Errorf("First = %q", got)
	}
	if got := First(); got != "" {
		t.Errorf("First() = %q", got)
	}
	if got := Unique([]string{"a", "", "b", "a", "c", "b"}); !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Errorf("Unique = %v", got)
	}
}
