// Package open opens the index a service is configured for: Elasticsearch
// when a URL is given, else the embedded bleve index in a directory.
package open

import (
	"context"

	"github.com/opendatafrance/moisson/indexer/index"
	"github.com/opendatafrance/moisson/indexer/index/bleve"
	"github.com/opendatafrance/moisson/indexer/index/elasticsearch"
	"go.uber.org/zap"
)

// Spec says which index.
type Spec struct {
	ESURL   string // Elasticsearch URL(s); wins over Path
	ESAlias string // default moisson-datasets
	Path    string // bleve directory
	Log     *zap.Logger
	// Replicas and WaitForActiveShards of the Elasticsearch index (see
	// elasticsearch.Config): 1 and "all"... on a cluster.
	Replicas            int
	WaitForActiveShards string
}

// Open opens the index.
func Open(ctx context.Context, s Spec) (index.Index, error) {
	if s.ESURL != "" {
		return elasticsearch.New(ctx, elasticsearch.Config{URL: s.ESURL, Alias: s.ESAlias, Logger: s.Log,
			Replicas: s.Replicas, WaitForActiveShards: s.WaitForActiveShards})
	}
	if err := checkFree(s.Path); err != nil {
		return nil, err
	}
	return bleve.Open(s.Path)
}
