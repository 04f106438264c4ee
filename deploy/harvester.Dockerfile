# syntax=docker/dockerfile:1
# Moisson the harvester: 'harvester run' workers, and 'harvester simulate' (the portal simulator).
#
# Build context: the repository root (a go.work workspace of six modules):
#   docker build -f deploy/harvester.Dockerfile -t moisson/harvester .
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
    CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags="-s -w" -o /out/harvester ./harvester/cmd/harvester
# /shared: the volume where the simulator writes the configuration the
# workers read; made here so that a new named volume belongs to nonroot.
RUN mkdir -p /out/shared

# A static busybox, only for the health checks (wget) of docker-compose.yml:
# distroless has no shell and no HTTP client.
FROM busybox:1.37-musl AS tools

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=tools /bin/busybox /bin/busybox
COPY --from=build /out/harvester /usr/local/bin/harvester
COPY --from=build --chown=65532:65532 /out/shared /shared
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/harvester"]
