package bus

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Key-value buckets and object stores shared by the harvester workers and
// the API (contract).
const (
	LeaseBucket    = "moisson-leases"   // source id → Lease (TTL = lease time)
	ScheduleBucket = "moisson-schedule" // source id → Schedule
	TriggerBucket  = "moisson-triggers" // source id → Trigger (a harvest asked for now)
	StateBucket    = "moisson-state"    // object store: source state, run diffs ("diff/<source>/<run>")
	APIBucket      = "moisson-api"      // the API processes' state: the key of their cursors
)

// Lease is the value of a lease key: who harvests the source, and how far.
type Lease struct {
	Worker    string    `json:"worker"`
	RunID     string    `json:"run_id"`
	Since     time.Time `json:"since"`
	Heartbeat time.Time `json:"heartbeat"`
	Pages     int64     `json:"pages"`
	Seen      int64     `json:"seen"`
}

// Schedule is what workers agree on about a source's runs.
type Schedule struct {
	LastStarted time.Time `json:"last_started"`
	LastRunID   string    `json:"last_run_id"`
	LastStatus  string    `json:"last_status"`
	OpenRun     string    `json:"open_run,omitempty"` // started and not finished (its worker may have died)
	OpenWorker  string    `json:"open_worker,omitempty"`
	OpenStarted time.Time `json:"open_started"`
	Next        time.Time `json:"next"`
	Schedule    string    `json:"schedule"` // "every 24h0m0s", "cron 0 3 * * * (UTC)"
}

// Trigger asks for a harvest now.
type Trigger struct {
	At  time.Time `json:"at"`
	By  string    `json:"by"`
	Rev uint64    `json:"-"`
}

// Buckets are the worker key-value buckets.
type Buckets struct {
	Leases, Schedules, Triggers jetstream.KeyValue
}

// OpenBuckets opens (creating) the buckets; leaseTTL is how long a lease
// lives without renewal.
func OpenBuckets(ctx context.Context, js jetstream.JetStream, leaseTTL time.Duration, replicas int) (*Buckets, error) {
	if replicas < 1 {
		replicas = 1
	}
	var b Buckets
	var err error
	if b.Leases, err = EnsureKeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket: LeaseBucket, Description: "who harvests which source (TTL = lease time)", TTL: leaseTTL, Replicas: replicas, Storage: jetstream.FileStorage,
	}); err != nil {
		return nil, fmt.Errorf("lease bucket: %w", err)
	}
	if b.Schedules, err = EnsureKeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket: ScheduleBucket, Description: "last and open run of each source", Replicas: replicas, Storage: jetstream.FileStorage,
	}); err != nil {
		return nil, fmt.Errorf("schedule bucket: %w", err)
	}
	if b.Triggers, err = EnsureKeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket: TriggerBucket, Description: "harvests asked for now", Replicas: replicas, Storage: jetstream.FileStorage,
	}); err != nil {
		return nil, fmt.Errorf("trigger bucket: %w", err)
	}
	return &b, nil
}

// RequestHarvest asks the workers to harvest a source now.
func RequestHarvest(ctx context.Context, b *Buckets, sourceID, by string) error {
	v, _ := json.Marshal(Trigger{At: time.Now().UTC(), By: by})
	_, err := b.Triggers.Put(ctx, sourceID, v)
	return err
}

// GetJSON reads a JSON value from a bucket; found is false for a missing key.
func GetJSON(ctx context.Context, kv jetstream.KeyValue, key string, v any) (found bool, rev uint64, err error) {
	e, err := kv.Get(ctx, key)
	if err == jetstream.ErrKeyNotFound {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, err
	}
	return true, e.Revision(), json.Unmarshal(e.Value(), v)
}

// GetLatestJSON reads a JSON value of a bucket from its stream's leader.
// A bucket's ordinary reads (GetJSON) are direct gets, which any replica
// answers, one still catching up after a partition or a restart included:
// such a replica may hold a key already deleted, or an older value. What
// must be current (who harvests a source now) is read here; found is
// false for a missing, deleted or purged key.
func GetLatestJSON(ctx context.Context, js jetstream.JetStream, bucket, key string, v any) (found bool, err error) {
	if !validKey(key) {
		return false, jetstream.ErrInvalidKey // a wildcard would match other keys
	}
	hdr, data, found, err := lastBySubject(ctx, js, "KV_"+bucket, "$KV."+bucket+"."+key)
	if !found || err != nil {
		return false, err
	}
	if op := hdr.Get("KV-Operation"); op == "DEL" || op == "PURGE" {
		return false, nil
	}
	return true, json.Unmarshal(data, v)
}

// lastBySubject reads the last message of a stream on a subject (no
// wildcard) from the stream's leader: found is false when there is none.
func lastBySubject(ctx context.Context, js jetstream.JetStream, stream, subject string) (hdr nats.Header, data []byte, found bool, err error) {
	req, _ := json.Marshal(map[string]string{"last_by_subj": subject})
	msg, err := js.Conn().RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET."+stream, req)
	if err != nil {
		return nil, nil, false, err
	}
	var resp struct {
		Message *struct {
			Header []byte `json:"hdrs"`
			Data   []byte `json:"data"`
		} `json:"message"`
		Error *struct {
			ErrCode     int    `json:"err_code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return nil, nil, false, fmt.Errorf("%s %s: %w", stream, subject, err)
	}
	switch {
	case resp.Error != nil && resp.Error.ErrCode == msgNotFound:
		return nil, nil, false, nil
	case resp.Error != nil:
		return nil, nil, false, fmt.Errorf("%s %s: %s (%d)", stream, subject, resp.Error.Description, resp.Error.ErrCode)
	case resp.Message == nil:
		return nil, nil, false, fmt.Errorf("%s %s: empty answer", stream, subject)
	}
	if len(resp.Message.Header) > 0 {
		if hdr, err = nats.DecodeHeadersMsg(resp.Message.Header); err != nil {
			return nil, nil, false, fmt.Errorf("%s %s: %w", stream, subject, err)
		}
	}
	return hdr, resp.Message.Data, true, nil
}

// msgNotFound is JetStream's error code for "no message found".
const msgNotFound = 10037

// validKey is a key-value key as NATS allows it: letters, digits and
// -/_=. , not starting or ending with a dot.
func validKey(k string) bool {
	if k == "" || k[0] == '.' || k[len(k)-1] == '.' {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-/_=.", c) >= 0) {
			return false
		}
	}
	return true
}

// SourcesBucket lists the configured sources (source id → SourceInfo), as
// the harvester workers run them, so the API can show sources never
// harvested yet and their schedules.
const SourcesBucket = "moisson-sources"

// SourceInfo is a configured source, as the API shows it.
type SourceInfo struct {
	SourceID    string `json:"source_id"`
	TerritoryID string `json:"territory_id"`
	Territory   string `json:"territory"`
	MemberID    string `json:"member_id"`
	Member      string `json:"member"`
	PortalID    string `json:"portal_id"`
	Portal      string `json:"portal"`
	PortalURL   string `json:"portal_url"`
	Software    string `json:"software"`
	Protocol    string `json:"protocol"`
	Endpoint    string `json:"endpoint"`
	Schedule    string `json:"schedule"`
	Disabled    string `json:"disabled,omitempty"`
}

// OpenSources opens (creating) the sources bucket.
func OpenSources(ctx context.Context, js jetstream.JetStream, replicas int) (jetstream.KeyValue, error) {
	if replicas < 1 {
		replicas = 1
	}
	return EnsureKeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket: SourcesBucket, Description: "configured sources, as the harvester workers run them", Replicas: replicas, Storage: jetstream.FileStorage,
	})
}
