package observatory

import (
	"context"
	"sort"
	"strings"

	"github.com/opendatafrance/moisson/indexer/index"
)

// Unresolved is a publisher name left unresolved in a source.
type Unresolved struct {
	Territory string `json:"territory"`
	Source    string `json:"source"`
	Publisher string `json:"publisher"`
	// Why: no-publisher, not-collectivite, not-found, ambiguous (package
	// referential), no-territory (its territory has no configuration).
	Why     string `json:"why"`
	Records int64  `json:"records"`
}

// UnresolvedPublishers lists the publishers of the territories (all: nil)
// no collectivité was resolved from, most records first; territoryOf maps
// a source id to its territory.
func UnresolvedPublishers(ctx context.Context, x index.Searcher, territories []string, territoryOf map[string]string) ([]Unresolved, error) {
	q := index.Query{Size: 1, Facets: []string{index.FieldUnresolved}, FacetSize: index.MaxLargeFacetSize}
	if len(territories) > 0 {
		q.Filters = map[string][]string{index.FieldTerritory: territories}
	}
	res, err := x.Search(ctx, q)
	if err != nil {
		return nil, err
	}
	out := []Unresolved{}
	for _, fc := range res.Facets[index.FieldUnresolved] {
		parts := strings.SplitN(fc.Key, index.Sep, 3)
		if len(parts) != 3 {
			continue
		}
		out = append(out, Unresolved{Territory: territoryOf[parts[0]], Source: parts[0], Why: parts[1], Publisher: parts[2], Records: fc.Count})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Records != out[j].Records {
			return out[i].Records > out[j].Records
		}
		return out[i].Source+out[i].Publisher < out[j].Source+out[j].Publisher
	})
	return out, nil
}
