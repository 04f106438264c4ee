package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"go.uber.org/zap"

	"github.com/opendatafrance/moisson/indexer/index"
)

const reindexBatch = 1000

// Reindex moves the alias to a new versioned index, <alias>-v<toVersion>,
// created from the current template (new mappings or analysis):
//
//  1. create the new index;
//  2. copy every document of the current index, keeping its version;
//  3. swap the alias atomically: searches and writes go to the new index;
//  4. copy again, to catch the writes made during step 2. External versions
//     keep newer writes made to the new index since step 3, and deletes
//     made since are kept by their tombstones (index.gc_deletes, 60 s).
//
// A document deleted from the old index during step 2 may come back in the
// new one: run it while the indexer is paused, or harvest again after. The
// copy runs here rather than with _reindex, which minimal distributions lack.
// The old index is kept (for a rollback); delete it when satisfied.
func (x *Index) Reindex(ctx context.Context, toVersion int) error {
	indices, err := x.aliasIndices(ctx)
	if err != nil {
		return err
	}
	if len(indices) != 1 {
		return fmt.Errorf("elasticsearch: alias %s points to %d indices %v, want 1", x.cfg.Alias, len(indices), indices)
	}
	from := indices[0]
	if v := indexVersion(from); toVersion <= v {
		return fmt.Errorf("elasticsearch: alias %s is on %s: target version %d must be above %d", x.cfg.Alias, from, toVersion, v)
	}
	to := x.versionedName(toVersion)
	log := x.log.With(zap.String("from", from), zap.String("to", to))

	if _, err := x.do(ctx, http.MethodPut, "/_index_template/"+url.PathEscape(x.cfg.Alias), indexTemplate(x.cfg), nil, 200); err != nil {
		return fmt.Errorf("elasticsearch: updating the index template: %w", err)
	}
	if _, err := x.do(ctx, http.MethodPut, "/"+url.PathEscape(to), map[string]any{}, nil, 200); err != nil {
		return fmt.Errorf("elasticsearch: creating %s: %w", to, err)
	}
	n, err := x.copyIndex(ctx, from, to)
	if err != nil {
		return err
	}
	log.Info("copied", zap.Int("documents", n))
	swap := map[string]any{"actions": []any{
		map[string]any{"remove": map[string]any{"index": from, "alias": x.cfg.Alias}},
		map[string]any{"add": map[string]any{"index": to, "alias": x.cfg.Alias}},
	}}
	if _, err := x.do(ctx, http.MethodPost, "/_aliases", swap, nil, 200); err != nil {
		return fmt.Errorf("elasticsearch: moving alias %s to %s: %w", x.cfg.Alias, to, err)
	}
	log.Info("alias moved")
	n, err = x.copyIndex(ctx, from, to)
	if err != nil {
		return fmt.Errorf("elasticsearch: catching up after the alias moved to %s: %w", to, err)
	}
	log.Info("caught up; the old index is kept", zap.Int("documents", n))
	return nil
}

// copyIndex copies every document of from into to with its version, in
// batches; a document already newer in to is left alone.
func (x *Index) copyIndex(ctx context.Context, from, to string) (int, error) {
	if _, err := x.do(ctx, http.MethodPost, "/"+url.PathEscape(from)+"/_refresh", nil, nil, 200); err != nil {
		return 0, err
	}
	var after []json.RawMessage
	copied := 0
	for {
		body := map[string]any{
			"size":    reindexBatch,
			"version": true,
			"sort":    []any{map[string]any{"id": "asc"}},
			"query":   map[string]any{"match_all": map[string]any{}},
		}
		if after != nil {
			body["search_after"] = after
		}
		var resp struct {
			Hits struct {
				Hits []struct {
					ID      string            `json:"_id"`
					Version int64             `json:"_version"`
					Source  json.RawMessage   `json:"_source"`
					Sort    []json.RawMessage `json:"sort"`
				} `json:"hits"`
			} `json:"hits"`
		}
		if _, err := x.do(ctx, http.MethodPost, "/"+url.PathEscape(from)+"/_search", body, &resp, 200); err != nil {
			return copied, err
		}
		hits := resp.Hits.Hits
		if len(hits) == 0 {
			return copied, nil
		}
		var buf bytes.Buffer
		for _, h := range hits {
			line, _ := json.Marshal(map[string]bulkAction{"index": {Index: to, ID: h.ID, Version: h.Version, VersionType: "external_gte"}})
			buf.Write(line)
			buf.WriteByte('\n')
			buf.Write(x.reflatten(h.Source, h.Version))
			buf.WriteByte('\n')
		}
		var bresp bulkResponse
		if _, err := x.do(ctx, http.MethodPost, "/_bulk?filter_path=errors,items.*._id,items.*.status,items.*.error", buf.Bytes(), &bresp, 200); err != nil {
			return copied, err
		}
		for _, item := range bresp.Items {
			for action, it := range item {
				if err := itemError(action, it); err != nil {
					return copied, fmt.Errorf("elasticsearch: copying %s to %s: %s: %w", it.ID, to, action, err)
				}
			}
		}
		copied += len(hits)
		after = hits[len(hits)-1].Sort
	}
}

// reflatten rebuilds a copied document from the record it keeps, so the new
// index gets the fields the current index.Document has; a document whose
// record does not decode is copied as it is.
func (x *Index) reflatten(source json.RawMessage, version int64) []byte {
	var src rawSource
	if err := json.Unmarshal(source, &src); err == nil && src.Raw != "" {
		if d, err := index.DecodeRaw(src.Raw); err == nil {
			if _, doc, err := x.bulkLines(index.Op{ID: d.GetId(), Version: version, Dataset: d}); err == nil && doc != nil {
				if b, err := json.Marshal(doc); err == nil {
					return b
				}
			}
		}
	}
	return bytes.TrimSpace(source)
}
