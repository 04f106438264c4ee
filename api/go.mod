module github.com/opendatafrance/moisson/api

go 1.26.0

require github.com/opendatafrance/moisson/proto v0.0.0

require (
	github.com/klauspost/compress v1.20.1 // indirect
	github.com/nats-io/nats.go v1.55.0 // indirect
	github.com/nats-io/nkeys v0.4.16 // indirect
	github.com/nats-io/nuid v1.0.1 // indirect
	github.com/opendatafrance/moisson/indexer v0.0.0
	github.com/prometheus/client_golang v1.25.0 // indirect
	go.uber.org/multierr v1.10.0 // indirect
	go.uber.org/zap v1.28.0 // indirect
	golang.org/x/crypto v0.57.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

replace github.com/opendatafrance/moisson/proto => ../proto

replace github.com/opendatafrance/moisson/indexer => ../indexer
