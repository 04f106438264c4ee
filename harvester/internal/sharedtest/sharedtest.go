// Package sharedtest finds the project's test material, ../shared beside
// the repository (the W3C suites, the real payloads): read in place, never
// copied into the repository.
package sharedtest

import (
	"os"
	"path/filepath"
	"testing"
)

// Path returns <repo root>/../shared/<parts…>, the repo root being the
// nearest directory above the working directory that holds go.work; "" when
// it does not exist.
func Path(parts ...string) string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			p := filepath.Join(append([]string{dir, "..", "shared"}, parts...)...)
			if _, err := os.Stat(p); err == nil {
				return p
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// Require returns Path(parts…); when it is missing the test is skipped, or
// fails under CI=true (CI has ../shared beside its clone).
func Require(tb testing.TB, parts ...string) string {
	tb.Helper()
	if p := Path(parts...); p != "" {
		return p
	}
	where := filepath.Join(append([]string{"<repo root>", "..", "shared"}, parts...)...)
	if os.Getenv("CI") == "true" {
		tb.Fatalf("test material not found at %s", where)
	}
	tb.Skipf("test material not found at %s (the directory beside the repository that holds go.work): skipped", where)
	return ""
}

// Fixtures is Require("fixtures", "real", parts…): the real payloads.
func Fixtures(tb testing.TB, parts ...string) string {
	tb.Helper()
	return Require(tb, append([]string{"fixtures", "real"}, parts...)...)
}
