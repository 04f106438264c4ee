// Package elasticsearch is the Elasticsearch backend of index.Index, for
// deployments that scale out.
//
// Documents live in a versioned index (<alias>-v1, <alias>-v2…) behind an
// alias (moisson-datasets by default); an index template gives every versioned
// index the French analysis and the mappings. Reindex copies the documents to
// the next version and swaps the alias atomically.
//
// Writes use external versioning (version_type=external_gte): a write that
// carries a smaller version than the document in the index is a version
// conflict, which means "superseded" and counts as written. Deletes leave a
// tombstone with their version for index.gc_deletes (60 s by default), during
// which a late redelivery of an older upsert cannot resurrect the document.
package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	es "github.com/elastic/go-elasticsearch/v8"
	"go.uber.org/zap"

	"github.com/opendatafrance/moisson/indexer/index"
)

// DefaultAlias is the alias searches and writes go through.
const DefaultAlias = "moisson-datasets"

// Config configures the backend.
type Config struct {
	// URL of Elasticsearch, e.g. http://127.0.0.1:9200; several nodes may be
	// given separated by commas.
	URL string
	// Alias searched and written; the versioned indices are named
	// <Alias>-v<N>. Default DefaultAlias. Two aliases where one is
	// "<other>-v…" would share index names: avoid that.
	Alias  string
	Logger *zap.Logger

	Username, Password string // basic authentication, if any
	APIKey             string // API key authentication, if any

	// Shards and Replicas of indices created from now on. Defaults: 1
	// shard, 0 replicas (a single node stays green); set Replicas to 1 or
	// more on a cluster (an existing index gets the number too). A
	// negative Replicas means 0 for a new index and leaves an existing
	// one as it is.
	Shards   int
	Replicas int
	// WaitForActiveShards is how many copies of a shard must be up before
	// a bulk write is taken ("1", "all", a number; "" is Elasticsearch's
	// default, 1): more makes a write wait for the replicas, surviving
	// the loss of the primary right after.
	WaitForActiveShards string
	// RefreshInterval is how soon writes become searchable. Default "1s".
	RefreshInterval string
	// MaxRetries of a request on 502/503/504 and connection errors. Default
	// 3; negative disables retries.
	MaxRetries int
	// Transport, if set, carries the HTTP requests.
	Transport http.RoundTripper
}

// Index is an index.Index backed by Elasticsearch. It is safe for concurrent
// use.
type Index struct {
	cfg    Config
	client *es.Client
	log    *zap.Logger
	gen    generation // Generation (search.go)
	// keepReplicas: no replica count was configured, an existing index
	// keeps its own.
	keepReplicas bool
}

var _ index.Index = (*Index)(nil)

// New connects to Elasticsearch, installs (or updates) the index template and
// creates the first versioned index and the alias when the alias does not exist.
func New(ctx context.Context, cfg Config) (*Index, error) {
	if cfg.URL == "" {
		return nil, errors.New("elasticsearch: no URL")
	}
	if cfg.Alias == "" {
		cfg.Alias = DefaultAlias
	}
	if cfg.Alias != strings.ToLower(cfg.Alias) || strings.ContainsAny(cfg.Alias, `\/*?"<>| ,#:`) {
		return nil, fmt.Errorf("elasticsearch: invalid alias %q", cfg.Alias)
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Shards <= 0 {
		cfg.Shards = 1
	}
	keepReplicas := cfg.Replicas < 0
	if cfg.Replicas < 0 {
		cfg.Replicas = 0
	}
	if cfg.RefreshInterval == "" {
		cfg.RefreshInterval = "1s"
	}
	ecfg := es.Config{
		Addresses: strings.Split(cfg.URL, ","),
		Username:  cfg.Username,
		Password:  cfg.Password,
		APIKey:    cfg.APIKey,
		Transport: cfg.Transport,
		RetryBackoff: func(attempt int) time.Duration {
			return time.Duration(attempt) * 100 * time.Millisecond
		},
	}
	switch {
	case cfg.MaxRetries < 0:
		ecfg.DisableRetry = true
	case cfg.MaxRetries > 0:
		ecfg.MaxRetries = cfg.MaxRetries
	}
	client, err := es.NewClient(ecfg)
	if err != nil {
		return nil, fmt.Errorf("elasticsearch: %w", err)
	}
	x := &Index{cfg: cfg, client: client, log: cfg.Logger.With(zap.String("alias", cfg.Alias)), keepReplicas: keepReplicas}
	if err := x.setup(ctx); err != nil {
		client.Close(context.Background()) //nolint:errcheck // the setup error matters more
		return nil, err
	}
	return x, nil
}

// Alias is the alias this index reads and writes.
func (x *Index) Alias() string { return x.cfg.Alias }

func (x *Index) versionedName(v int) string { return fmt.Sprintf("%s-v%d", x.cfg.Alias, v) }

func (x *Index) setup(ctx context.Context) error {
	if _, err := x.do(ctx, http.MethodPut, "/_index_template/"+x.cfg.Alias, indexTemplate(x.cfg), nil, 200); err != nil {
		return fmt.Errorf("elasticsearch: installing the index template: %w", err)
	}
	indices, err := x.aliasIndices(ctx)
	if err != nil {
		return err
	}
	if len(indices) > 0 {
		x.log.Debug("alias exists", zap.Strings("indices", indices))
		if err := x.addMissingFields(ctx); err != nil {
			return err
		}
		return x.setReplicas(ctx)
	}
	name := x.versionedName(1)
	body := map[string]any{"aliases": map[string]any{x.cfg.Alias: map[string]any{}}}
	var eresp errorResponse
	status, err := x.do(ctx, http.MethodPut, "/"+url.PathEscape(name), body, &eresp, 200, 400)
	if err != nil {
		return fmt.Errorf("elasticsearch: creating %s: %w", name, err)
	}
	if status == 400 {
		if eresp.Error.Type != "resource_already_exists_exception" {
			return fmt.Errorf("elasticsearch: creating %s: %s", name, eresp.Error)
		}
		// Another indexer created it at the same time, or the index
		// exists without the alias: make sure the alias is there.
		actions := map[string]any{"actions": []any{
			map[string]any{"add": map[string]any{"index": name, "alias": x.cfg.Alias}},
		}}
		if _, err := x.do(ctx, http.MethodPost, "/_aliases", actions, nil, 200); err != nil {
			return fmt.Errorf("elasticsearch: adding alias %s to %s: %w", x.cfg.Alias, name, err)
		}
		// Whoever created it (an API keeping the replicas as they are),
		// the configured replica count applies.
		return x.setReplicas(ctx)
	}
	x.log.Info("created index", zap.String("index", name))
	return nil
}

// addMissingFields adds to the indices behind the alias the fields of the
// mapping added since they were made (the observatory's, for one): their
// documents get them when written again. A field an index cannot take is
// left out with a warning; indexer reindex moves to a new index.
func (x *Index) addMissingFields(ctx context.Context) error {
	var resp map[string]struct {
		Mappings struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"mappings"`
	}
	if _, err := x.do(ctx, http.MethodGet, "/"+url.PathEscape(x.cfg.Alias)+"/_mapping", nil, &resp, 200); err != nil {
		return fmt.Errorf("elasticsearch: reading the mapping of %s: %w", x.cfg.Alias, err)
	}
	want, _ := indexMappings()["properties"].(map[string]any)
	missing := map[string]any{}
	for _, ix := range resp {
		for f, m := range want {
			if _, ok := ix.Mappings.Properties[f]; !ok {
				missing[f] = m
			}
		}
	}
	// One by one: a field the index cannot take leaves the others.
	var added, refused []string
	for f, m := range missing {
		body := map[string]any{"properties": map[string]any{f: m}}
		if _, err := x.do(ctx, http.MethodPut, "/"+url.PathEscape(x.cfg.Alias)+"/_mapping", body, nil, 200); err != nil {
			refused = append(refused, f)
			x.log.Debug("field not added", zap.String("field", f), zap.Error(err))
			continue
		}
		added = append(added, f)
	}
	if len(added) > 0 {
		x.log.Info("fields added to the index", zap.Strings("fields", added))
	}
	if len(refused) > 0 {
		x.log.Warn("fields the index cannot take (indexer reindex moves to a new index)", zap.Strings("fields", refused))
	}
	return nil
}

// setReplicas gives the indices behind the alias the configured number of
// replicas, whatever they were made with (a dynamic setting), unless none
// was configured.
func (x *Index) setReplicas(ctx context.Context) error {
	if x.keepReplicas {
		return nil
	}
	body := map[string]any{"index": map[string]any{"number_of_replicas": x.cfg.Replicas}}
	if _, err := x.do(ctx, http.MethodPut, "/"+url.PathEscape(x.cfg.Alias)+"/_settings", body, nil, 200); err != nil {
		return fmt.Errorf("elasticsearch: setting the replicas of %s: %w", x.cfg.Alias, err)
	}
	return nil
}

// aliasIndices lists the indices behind the alias (none when it does not exist).
func (x *Index) aliasIndices(ctx context.Context) ([]string, error) {
	var resp map[string]json.RawMessage
	status, err := x.do(ctx, http.MethodGet, "/_alias/"+url.PathEscape(x.cfg.Alias), nil, &resp, 200, 404)
	if err != nil {
		return nil, fmt.Errorf("elasticsearch: reading alias %s: %w", x.cfg.Alias, err)
	}
	if status == 404 {
		return nil, nil
	}
	var names []string
	for name := range resp {
		names = append(names, name)
	}
	return names, nil
}

// Health is the cluster's health as Elasticsearch reports it.
func (x *Index) Health(ctx context.Context) (index.Health, error) {
	var h struct {
		Cluster string  `json:"cluster_name"`
		Status  string  `json:"status"`
		Nodes   int     `json:"number_of_nodes"`
		Active  float64 `json:"active_shards_percent_as_number"`
		Unassig int     `json:"unassigned_shards"`
	}
	if _, err := x.do(ctx, http.MethodGet, "/_cluster/health", nil, &h, 200); err != nil {
		return index.Health{Backend: "elasticsearch", Status: "red", Detail: err.Error()}, err
	}
	out := index.Health{Backend: "elasticsearch", Cluster: h.Cluster, Status: h.Status, Nodes: h.Nodes, Replicas: x.cfg.Replicas,
		Detail: fmt.Sprintf("%.0f %% of the shards active, %d unassigned", h.Active, h.Unassig)}
	// The replicas the index has (another process may have set them).
	var settings map[string]struct {
		Settings struct {
			Index struct {
				Replicas string `json:"number_of_replicas"`
			} `json:"index"`
		} `json:"settings"`
	}
	if _, err := x.do(ctx, http.MethodGet, "/"+url.PathEscape(x.cfg.Alias)+"/_settings/index.number_of_replicas", nil, &settings, 200); err == nil {
		for _, v := range settings {
			if n, err := strconv.Atoi(v.Settings.Index.Replicas); err == nil {
				out.Replicas = n
			}
		}
	}
	return out, nil
}

// Close releases the connections.
func (x *Index) Close() error {
	return x.client.Close(context.Background())
}

// Refresh makes every write so far visible to searches (tests; production
// relies on the refresh interval).
func (x *Index) Refresh(ctx context.Context) error {
	_, err := x.do(ctx, http.MethodPost, "/"+url.PathEscape(x.cfg.Alias)+"/_refresh", nil, nil, 200)
	return err
}

// Drop deletes the indices behind the alias (and so the alias), every
// versioned index of the alias left by Reindex, and the index template.
func (x *Index) Drop(ctx context.Context) error {
	// Named one by one: clusters refuse wildcard deletions by default
	// (action.destructive_requires_name).
	var found map[string]json.RawMessage
	pattern := url.PathEscape(x.cfg.Alias + "-v*")
	if _, err := x.do(ctx, http.MethodGet, "/"+pattern+"/_alias?expand_wildcards=all", nil, &found, 200, 404); err != nil {
		return err
	}
	var names []string
	for name := range found {
		if indexVersion(name) > 0 && strings.TrimSuffix(name, versionSuffix.FindString(name)) == x.cfg.Alias {
			names = append(names, url.PathEscape(name))
		}
	}
	if len(names) > 0 {
		if _, err := x.do(ctx, http.MethodDelete, "/"+strings.Join(names, ","), nil, nil, 200, 404); err != nil {
			return err
		}
	}
	_, err := x.do(ctx, http.MethodDelete, "/_index_template/"+url.PathEscape(x.cfg.Alias), nil, nil, 200, 404)
	return err
}

// esError is the "error" object of an Elasticsearch response.
type esError struct {
	Type     string   `json:"type"`
	Reason   string   `json:"reason"`
	CausedBy *esError `json:"caused_by,omitempty"`
}

func (e *esError) String() string {
	if e == nil {
		return "unknown error"
	}
	s := e.Type + ": " + e.Reason
	if e.CausedBy != nil {
		s += " (caused by " + e.CausedBy.String() + ")"
	}
	return s
}

// UnmarshalJSON accepts the plain string errors some endpoints return.
func (e *esError) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &e.Reason)
	}
	type plain esError
	return json.Unmarshal(b, (*plain)(e))
}

type errorResponse struct {
	Error  *esError `json:"error"`
	Status int      `json:"status"`
}

// StatusError is a request that Elasticsearch answered with an unexpected
// status.
type StatusError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("elasticsearch: %s %s: status %d: %s", e.Method, e.Path, e.Status, e.Body)
}

// do sends a request with a JSON body (nil, a []byte of NDJSON, or a value to
// encode), decodes the response into out when its status is one of ok, and
// returns the status. Any other status is a *StatusError.
func (x *Index) do(ctx context.Context, method, path string, body any, out any, ok ...int) (int, error) {
	var rd io.Reader
	contentType := "application/json"
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
		contentType = "application/x-ndjson"
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(ctx, method, path, rd)
	if err != nil {
		return 0, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	res, err := x.client.Perform(req)
	if err != nil {
		return 0, fmt.Errorf("elasticsearch: %s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, fmt.Errorf("elasticsearch: %s %s: reading the response: %w", method, path, err)
	}
	accepted := false
	for _, s := range ok {
		if res.StatusCode == s {
			accepted = true
			break
		}
	}
	if !accepted {
		msg := string(data)
		if len(msg) > 2000 {
			msg = msg[:2000] + "…"
		}
		return res.StatusCode, &StatusError{Method: method, Path: path, Status: res.StatusCode, Body: msg}
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return res.StatusCode, fmt.Errorf("elasticsearch: %s %s: decoding the response: %w", method, path, err)
		}
	}
	return res.StatusCode, nil
}

var versionSuffix = regexp.MustCompile(`-v([0-9]+)$`)

// indexVersion is N in <alias>-vN, 0 when the name has no such suffix.
func indexVersion(name string) int {
	m := versionSuffix.FindStringSubmatch(name)
	if m == nil {
		return 0
	}
	v, _ := strconv.Atoi(m[1])
	return v
}
