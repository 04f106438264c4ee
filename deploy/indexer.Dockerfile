# syntax=docker/dockerfile:1
# Moisson the indexer: consumes RECORDS into Elasticsearch ('indexer reindex' moves the alias).
#
# Build context: the repository root (a go.work workspace of six modules):
#   docker build -f deploy/indexer.Dockerfile -t moisson/indexer .
# docker-compose.yml builds it so.

FROM golang:1.26-bookworm AS build
WORKDIR /src
# The workspace and module files first: the download layer stays cached
# until a go.mod or go.sum changes.
COPY go.work go.work.sum go.mod go.sum ./
COPY proto/go.mod proto/go.sum proto/
COPY service/go.mod service/go.sum service/
COPY referential/go.mod referential/go.sum referential/
COPY harvester/go.mod harvester/go.sum harvester/
COPY indexer/go.mod indexer/go.sum indexer/
COPY api/go.mod api/go.sum api/
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags="-s -w" -o /out/indexer ./indexer/cmd/indexer

# A static busybox, only for the health checks (wget) of docker-compose.yml:
# distroless has no shell and no HTTP client.
FROM busybox:1.37-musl AS tools

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=tools /bin/busybox /bin/busybox
COPY --from=build /out/indexer /usr/local/bin/indexer
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/indexer"]
