// Package scaleout holds the tests of Moisson's scale-out deployment on one
// machine: nats-server (built from the nats-server module), the provisioned
// Elasticsearch, the portal simulator, two harvester workers, an indexer and
// the API, each a separate process on 127.0.0.1, exactly as README.md's
// "Scale out on one machine" section runs them; and the faults that
// deployment must survive (Elasticsearch unreachable for 30 s, an indexer
// killed mid-stream, documents the index rejects).
//
// They need Elasticsearch at MOISSON_ES_URL: without it they skip with one
// line, or fail under CI=true.
package scaleout
