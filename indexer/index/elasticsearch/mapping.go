package elasticsearch

import "github.com/opendatafrance/moisson/indexer/index"

// templateVersion is bumped whenever the settings or mappings below change, so
// operators can see which definition an index was created with. A change that
// existing indices cannot take (a new analyser, a changed field type) needs
// Reindex to a new index version.
const templateVersion = 4

// frenchArticles are the elided articles and pronouns (l', d', qu'…) that the
// elision filter strips, as Lucene's French analyser does.
var frenchArticles = []string{"l", "m", "t", "qu", "n", "s", "j", "d", "c", "jusqu", "quoiqu", "lorsqu", "puisqu"}

// analyzerName is the analyser of the full-text fields.
const analyzerName = "moisson_french"

// facetKeyword is the mapping of a facet field. ignore_above keeps a huge value
// (a publisher name of 40 kB) from failing the whole document: such a value is
// kept in the source but not faceted.
func facetKeyword() map[string]any {
	return map[string]any{"type": "keyword", "ignore_above": 1024}
}

func frenchText() map[string]any {
	return map[string]any{"type": "text", "analyzer": analyzerName}
}

// indexSettings are the settings of every versioned index.
func indexSettings(cfg Config) map[string]any {
	return map[string]any{
		"number_of_shards":   cfg.Shards,
		"number_of_replicas": cfg.Replicas,
		// Writes are never refreshed one by one: searches see them within
		// this interval. Set explicitly, so an idle shard still refreshes.
		"refresh_interval": cfg.RefreshInterval,
		"analysis": map[string]any{
			"filter": map[string]any{
				"french_elision": map[string]any{
					"type":          "elision",
					"articles_case": true,
					"articles":      frenchArticles,
				},
				"french_stop": map[string]any{
					"type":      "stop",
					"stopwords": "_french_",
				},
				"french_stemmer": map[string]any{
					"type":     "stemmer",
					"language": "light_french",
				},
			},
			"analyzer": map[string]any{
				// Stop words are removed before folding: the French list has
				// accented words (à, été, où).
				analyzerName: map[string]any{
					"type":      "custom",
					"tokenizer": "standard",
					"filter":    []string{"french_elision", "lowercase", "french_stop", "asciifolding", "french_stemmer"},
				},
			},
		},
	}
}

// indexMappings maps index.Document.
func indexMappings() map[string]any {
	props := map[string]any{
		"id":         map[string]any{"type": "keyword"},
		"title":      frenchText(),
		"title_sort": map[string]any{"type": "keyword"},
		// Offsets make highlighting cheap on long descriptions.
		"description": map[string]any{"type": "text", "analyzer": analyzerName, "index_options": "offsets"},
		"keywords":    frenchText(),
		"portal":      map[string]any{"type": "keyword", "ignore_above": 1024},
		"modified":    map[string]any{"type": "date", "format": "strict_date_optional_time||epoch_millis"},
		"version":     map[string]any{"type": "long"},
		// The quality score, for sort=-quality (quality_score is its
		// keyword form, faceted for averages).
		"quality_score_n": map[string]any{"type": "integer"},
		// The whole record, returned as it is: stored in _source, not indexed.
		"raw": map[string]any{"type": "text", "index": false},
	}
	for _, f := range index.FacetFields {
		m := facetKeyword()
		// Every search page counts these: their global ordinals are built
		// when a refresh makes writes visible, not by the first search
		// after it (which then waited for them). Not for the duplicate
		// keys: hundreds of thousands of values, counted only for
		// distinct=true.
		if f != index.FieldDupKey {
			m["eager_global_ordinals"] = true
		}
		props[f] = m
	}
	return map[string]any{
		// A field added to index.Document before the mapping knows it is kept
		// in _source, not indexed, instead of failing every write.
		"dynamic":    false,
		"_meta":      map[string]any{"moisson_template_version": templateVersion},
		"properties": props,
	}
}

// indexTemplate is the composable template every versioned index of the alias
// is created from.
func indexTemplate(cfg Config) map[string]any {
	return map[string]any{
		"index_patterns": []string{cfg.Alias + "-v*"},
		"priority":       200,
		"version":        templateVersion,
		"_meta":          map[string]any{"description": "Moisson datasets (French analysis), managed by the indexer"},
		"template": map[string]any{
			"settings": indexSettings(cfg),
			"mappings": indexMappings(),
		},
	}
}
