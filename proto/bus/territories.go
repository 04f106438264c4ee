package bus

import (
	"context"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"github.com/opendatafrance/moisson/referential"
)

// TerritoriesBucket holds the configured territories (territory id →
// TerritoryInfo) as the harvester workers run them: the indexer resolves
// publishers with them, the API computes the observatory from them.
const TerritoriesBucket = "moisson-territories"

// StampPrefix starts the keys the indexers add to the territories bucket:
// what each territory's records were last resolved with
// ("resolved.<territory>"; territory ids have no dot).
const StampPrefix = "resolved."

// IsStamp tells a resolution stamp's key from a territory's.
func IsStamp(key string) bool { return strings.HasPrefix(key, StampPrefix) }

// TerritoryInfo is a configured territory: its geography, obligation
// threshold, publishers overrides and members' collectivités.
type TerritoryInfo struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	referential.Territory
}

// OpenTerritories opens (creating) the territories bucket.
func OpenTerritories(ctx context.Context, js jetstream.JetStream, replicas int) (jetstream.KeyValue, error) {
	return EnsureKeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket: TerritoriesBucket, Description: "configured territories (geography, publishers overrides), as the harvester workers run them",
		Replicas: max(replicas, 1), Storage: jetstream.FileStorage,
	})
}

// Attribute resolves the publisher of a record with its territory's
// resolver and sets its collectivité (rs nil: the territory is unknown).
func Attribute(d *moissonv1.Dataset, rs *referential.Resolver) {
	if rs == nil {
		d.Collectivite = &moissonv1.CollectiviteRef{How: "no-territory", Publisher: d.GetPublisher().GetName()}
		return
	}
	p := d.GetPublisher()
	res := rs.Record(referential.Record{Publisher: p.GetName(), PublisherSiren: p.GetSiren(), PublisherURI: p.GetUri(),
		OriginalID: d.GetOriginalId(), MemberID: d.GetMemberId()})
	ref := &moissonv1.CollectiviteRef{How: res.How, Publisher: p.GetName()}
	if c := res.Collectivite; c != nil {
		ref.Key, ref.Kind, ref.Code, ref.Siren, ref.Name = c.Key(), string(c.Kind), c.Code, c.Siren, c.Name
	}
	d.Collectivite = ref
}
