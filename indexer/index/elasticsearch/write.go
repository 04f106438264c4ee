package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"unicode/utf8"

	"github.com/opendatafrance/moisson/indexer/index"
)

// maxIDBytes is the longest document id Elasticsearch accepts.
const maxIDBytes = 512

// maxSortKeyBytes bounds title_sort: Lucene refuses terms over 32 kB, and
// titles never differ that far in.
const maxSortKeyBytes = 1024

// TransientError is an item Elasticsearch did not write this time (too busy,
// shard unavailable, index missing) and that is worth retrying.
type TransientError struct {
	Status int
	Reason string
}

func (e *TransientError) Error() string {
	return fmt.Sprintf("elasticsearch: not written (status %d), retry: %s", e.Status, e.Reason)
}

type bulkAction struct {
	Index       string `json:"_index"`
	ID          string `json:"_id"`
	Version     int64  `json:"version"`
	VersionType string `json:"version_type"`
}

type bulkResponse struct {
	Errors bool                          `json:"errors"`
	Items  []map[string]bulkResponseItem `json:"items"`
}

type bulkResponseItem struct {
	ID     string   `json:"_id"`
	Status int      `json:"status"`
	Result string   `json:"result"`
	Error  *esError `json:"error"`
}

// Write applies ops in one _bulk request, in order. Each op carries its
// version as an external version (version_type=external_gte): an op older
// than the document in the index is a version conflict, reported as written
// (nil) since newer data is already there. Items Elasticsearch will never
// accept (mapping errors, invalid ops) are *index.PermanentError; items it
// could not write now (429, 5xx, missing index) are *TransientError. err is
// set when the request as a whole failed: then nothing may be taken as
// written.
func (x *Index) Write(ctx context.Context, ops []index.Op) ([]error, error) {
	items := make([]error, len(ops))
	if len(ops) == 0 {
		return items, nil
	}
	var buf bytes.Buffer
	sent := make([]int, 0, len(ops)) // position in ops of each bulk item
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for i, op := range ops {
		line, doc, err := x.bulkLines(op)
		if err != nil {
			items[i] = err
			continue
		}
		mark := buf.Len()
		if err := enc.Encode(line); err != nil {
			buf.Truncate(mark)
			items[i] = &index.PermanentError{Reason: err.Error()}
			continue
		}
		if doc != nil {
			if err := enc.Encode(doc); err != nil {
				buf.Truncate(mark)
				items[i] = &index.PermanentError{Reason: "encoding the document: " + err.Error()}
				continue
			}
		}
		sent = append(sent, i)
	}
	if len(sent) == 0 {
		return items, nil
	}
	// require_alias: were the alias deleted, the writes fail (transient)
	// instead of creating an index with dynamic mappings in its place.
	path := "/_bulk?require_alias=true&filter_path=errors,items.*._id,items.*.status,items.*.result,items.*.error"
	if w := x.cfg.WaitForActiveShards; w != "" {
		path += "&wait_for_active_shards=" + url.QueryEscape(w)
	}
	var resp bulkResponse
	if _, err := x.do(ctx, http.MethodPost, path, buf.Bytes(), &resp, 200); err != nil {
		return nil, err
	}
	if len(resp.Items) != len(sent) {
		return nil, fmt.Errorf("elasticsearch: bulk answered %d items for %d sent", len(resp.Items), len(sent))
	}
	for k, i := range sent {
		for action, it := range resp.Items[k] {
			items[i] = itemError(action, it)
		}
	}
	return items, nil
}

// bulkLines validates op and returns its action line and, for an upsert, the
// document. Invalid ops are permanent errors: Elasticsearch would otherwise
// refuse the whole request for them.
func (x *Index) bulkLines(op index.Op) (line map[string]bulkAction, doc *index.Document, err error) {
	switch {
	case op.ID == "":
		return nil, nil, &index.PermanentError{Reason: "empty id"}
	case len(op.ID) > maxIDBytes:
		return nil, nil, &index.PermanentError{Reason: fmt.Sprintf("id longer than %d bytes", maxIDBytes)}
	case op.Version < 0:
		return nil, nil, &index.PermanentError{Reason: fmt.Sprintf("negative version %d", op.Version)}
	case !op.Delete && op.Dataset == nil:
		return nil, nil, &index.PermanentError{Reason: "upsert without a dataset"}
	}
	action := bulkAction{Index: x.cfg.Alias, ID: op.ID, Version: op.Version, VersionType: "external_gte"}
	if op.Delete {
		return map[string]bulkAction{"delete": action}, nil, nil
	}
	doc, err = index.NewDocument(op.Dataset, op.Version)
	if err != nil {
		return nil, nil, &index.PermanentError{Reason: "flattening the dataset: " + err.Error()}
	}
	doc.ID = op.ID
	doc.TitleSort = truncateUTF8(doc.TitleSort, maxSortKeyBytes)
	return map[string]bulkAction{"index": action}, doc, nil
}

// itemError classifies one item of a bulk response.
func itemError(action string, it bulkResponseItem) error {
	switch {
	case it.Status >= 200 && it.Status < 300:
		return nil
	case it.Status == http.StatusConflict:
		// version_conflict_engine_exception: the index holds a newer
		// version (or a tombstone of a newer delete).
		return nil
	case it.Status == http.StatusNotFound && it.Error == nil:
		// Deleting a document that is not there: nothing to do (its
		// tombstone keeps the version).
		return nil
	case it.Status == http.StatusNotFound && it.Error != nil && it.Error.Type == "index_not_found_exception":
		return &TransientError{Status: it.Status, Reason: it.Error.String()}
	case it.Status == http.StatusTooManyRequests || it.Status >= 500:
		return &TransientError{Status: it.Status, Reason: it.Error.String()}
	case it.Status >= 400:
		return &index.PermanentError{Reason: fmt.Sprintf("%s: status %d: %s", action, it.Status, it.Error.String())}
	default:
		return &TransientError{Status: it.Status, Reason: "unexpected status"}
	}
}

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Count is the number of documents behind the alias.
func (x *Index) Count(ctx context.Context) (int64, error) {
	var resp struct {
		Count int64 `json:"count"`
	}
	if _, err := x.do(ctx, http.MethodGet, "/"+url.PathEscape(x.cfg.Alias)+"/_count", nil, &resp, 200); err != nil {
		return 0, err
	}
	return resp.Count, nil
}
