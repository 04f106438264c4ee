//go:build tools

// Package tools pins the protoc-gen-go version used by scripts/genproto.
package tools

import _ "google.golang.org/protobuf/cmd/protoc-gen-go"
