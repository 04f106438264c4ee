package main

import (
	"flag"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// The README's options table lists exactly the flags of the all-in-one,
// with the environment variable each reads.
func TestREADMEOptions(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	sec := string(readme)
	start := strings.Index(sec, "### Options of the all-in-one")
	if start < 0 {
		t.Fatal("README: no options section")
	}
	sec = sec[start:]
	if end := strings.Index(sec[4:], "\n#"); end >= 0 {
		sec = sec[:end+4]
	}
	row := regexp.MustCompile("(?m)^\\| `-([a-z-]+)` \\| (?:`([A-Z_]+)`)? *\\|")
	documented := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(sec, -1) {
		documented[m[1]] = m[2]
	}
	fs := flag.NewFlagSet("moisson", flag.ContinueOnError)
	defineFlags(fs)
	var missing []string
	fs.VisitAll(func(f *flag.Flag) {
		env, ok := documented[f.Name]
		if !ok {
			missing = append(missing, f.Name)
			return
		}
		delete(documented, f.Name)
		if usesEnv := regexp.MustCompile(`env (MOISSON_[A-Z_]+)`).FindStringSubmatch(f.Usage); usesEnv != nil && usesEnv[1] != env || usesEnv == nil && env != "" {
			t.Errorf("-%s: the README says env %q, the flag's usage %q", f.Name, env, f.Usage)
		}
	})
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("flags missing from the README's table: %v", missing)
	}
	for name := range documented {
		t.Errorf("the README's table lists -%s, which the all-in-one does not have", name)
	}
}
