package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Flags may follow the positional arguments, as people type them.
func TestFlagsAfterArguments(t *testing.T) {
	f := filepath.Join(t.TempDir(), "cat.ttl")
	os.WriteFile(f, []byte(`@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
<http://x/a> a dcat:Dataset ; dct:title "A" .`), 0o644)
	for _, args := range [][]string{
		{f, "--format", "dcat", "-quiet"},
		{"--format", "dcat", f, "-quiet"},
		{"-quiet", f, "--format=dcat"},
	} {
		var out, errw bytes.Buffer
		if code := inspectCmd(args, nil, &out, &errw); code != 0 || !strings.Contains(errw.String(), "datasets: 1") || out.Len() != 0 {
			t.Errorf("inspect %q: exit %d, %s%s", args, code, out.String(), errw.String())
		}
	}
}

// A one-shot command does not wait for ever on a NATS that is not there,
// and a disabled source is not triggered.
func TestTriggerFailsFast(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	start := time.Now()
	err := triggerCmd([]string{"nice-ckan", "--nats-url", "nats://" + addr, "--timeout", "500ms"})
	if err == nil || !strings.Contains(err.Error(), "did not answer within 500ms") {
		t.Errorf("NATS not there: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("gave up after %s", d)
	}
	err = triggerCmd([]string{"rennes-ods", "--nats-url", "nats://" + addr, "--timeout", "500ms"})
	if err == nil || !strings.Contains(err.Error(), "is disabled") || !strings.Contains(err.Error(), "alternative to rennes-dcat") {
		t.Errorf("disabled source: %v", err)
	}
}
