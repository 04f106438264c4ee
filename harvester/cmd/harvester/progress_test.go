package main

import (
	"strings"
	"testing"
	"time"

	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestProgressLine(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 10, 0, time.UTC)
	run := &moissonv1.HarvestRun{SourceId: "nice-ckan", StartedAt: timestamppb.New(now.Add(-10 * time.Second)),
		Pages: 5, Seen: 500, DeclaredTotal: 2000}
	line := progressLine(run, now)
	for _, want := range []string{"nice-ckan", "pages    5", "500/2000", "25 %", "50/s", "ETA 30s"} {
		if !strings.Contains(line, want) {
			t.Errorf("%q lacks %q", line, want)
		}
	}
	run.DeclaredTotal = -1
	if line := progressLine(run, now); strings.Contains(line, "ETA") || strings.Contains(line, "%") {
		t.Errorf("no total, yet %q", line)
	}
}
