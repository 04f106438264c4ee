package elasticsearch

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"

	"github.com/opendatafrance/moisson/indexer/index"
)

// These run without Elasticsearch: the classification of bulk item outcomes
// that a single node cannot be made to produce on demand (429, 5xx), and the
// cursor codec.

func TestItemError(t *testing.T) {
	cases := []struct {
		name      string
		action    string
		item      string
		nil, perm bool
	}{
		{"created", "index", `{"status":201,"result":"created"}`, true, false},
		{"updated", "index", `{"status":200,"result":"updated"}`, true, false},
		{"superseded", "index", `{"status":409,"error":{"type":"version_conflict_engine_exception","reason":"current version [3] is higher than [2]"}}`, true, false},
		{"delete of a missing doc", "delete", `{"status":404,"result":"not_found"}`, true, false},
		{"mapping", "index", `{"status":400,"error":{"type":"document_parsing_exception","reason":"failed to parse field [territory]"}}`, false, true},
		{"too many requests", "index", `{"status":429,"error":{"type":"es_rejected_execution_exception","reason":"rejected"}}`, false, false},
		{"shard down", "index", `{"status":503,"error":{"type":"unavailable_shards_exception","reason":"primary shard is not active"}}`, false, false},
		{"no index", "index", `{"status":404,"error":{"type":"index_not_found_exception","reason":"no such index"}}`, false, false},
	}
	for _, c := range cases {
		var it bulkResponseItem
		if err := json.Unmarshal([]byte(c.item), &it); err != nil {
			t.Fatal(err)
		}
		err := itemError(c.action, it)
		var te *TransientError
		switch {
		case c.nil && err != nil:
			t.Errorf("%s: %v, want nil", c.name, err)
		case c.perm && !index.IsPermanent(err):
			t.Errorf("%s: %v, want a PermanentError", c.name, err)
		case !c.nil && !c.perm && !errors.As(err, &te):
			t.Errorf("%s: %v, want a TransientError", c.name, err)
		}
	}
}

func TestCursor(t *testing.T) {
	after := []json.RawMessage{json.RawMessage(`1700000000000`), json.RawMessage(`"ds-01"`)}
	c := encodeCursor(index.SortModified, after)
	got, err := decodeCursor(c, index.SortModified)
	if err != nil || len(got) != 2 || string(got[0]) != "1700000000000" || string(got[1]) != `"ds-01"` {
		t.Fatalf("round trip: %s, %v", got, err)
	}
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, bad := range []struct{ cursor, sort string }{
		{c, index.SortTitle},        // another sort's
		{c, index.SortRelevance},    // same kinds, another sort
		{"***", index.SortModified}, // not base64
		{enc(`{"s":"-modified","a":[1]}`), index.SortModified},
		{enc(`{"s":"-modified","a":["x","y"]}`), index.SortModified},
		{enc(`{"s":"-modified","a":[{},"y"]}`), index.SortModified},
		{enc(`{"s":"-modified","a":[1,"y"],"z":1}`), index.SortModified},
		{enc(`{"s":"-modified","a":[1,"y"]} {}`), index.SortModified},
		{enc(`[]`), index.SortModified},
	} {
		if _, err := decodeCursor(bad.cursor, bad.sort); !errors.Is(err, index.ErrBadCursor) {
			t.Errorf("decodeCursor(%q, %s) = %v, want ErrBadCursor", bad.cursor, bad.sort, err)
		}
	}
}
