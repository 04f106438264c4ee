package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/opendatafrance/moisson/indexer/index"
	"github.com/opendatafrance/moisson/indexer/index/elasticsearch"
	moissonv1 "github.com/opendatafrance/moisson/proto/moisson/v1"
)

func esURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("MOISSON_ES_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("MOISSON_ES_URL is not set: start scripts/elasticsearch start and export MOISSON_ES_URL=<the URL it prints>")
		}
		t.Skip("Elasticsearch tests skipped: run scripts/elasticsearch start, then set MOISSON_ES_URL=http://127.0.0.1:9200")
	}
	return strings.TrimRight(u, "/")
}

// TestReindexCommand: `indexer reindex` moves the alias to the next version,
// twice, keeping every document and its version.
func TestReindexCommand(t *testing.T) {
	u := esURL(t)
	b := make([]byte, 5)
	rand.Read(b)
	alias := "moisson-test-reindex-" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	x, err := elasticsearch.New(ctx, elasticsearch.Config{URL: u, Alias: alias})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := x.Drop(context.Background()); err != nil {
			t.Errorf("Drop: %v", err)
		}
		x.Close()
	})
	const n = 1234 // more than one copy batch
	ops := make([]index.Op, n)
	for i := range ops {
		id := fmt.Sprintf("ds-%04d", i)
		ops[i] = index.Op{ID: id, Version: int64(1000 + i), Dataset: &moissonv1.Dataset{Id: id, Title: "Délibérations du conseil " + id, TerritoryId: "bretagne"}}
	}
	items, err := x.Write(ctx, ops)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range items {
		if e != nil {
			t.Fatalf("item %d: %v", i, e)
		}
	}

	for want := 2; want <= 3; want++ {
		var out, errOut bytes.Buffer
		if err := reindexCmd([]string{"--es-url", u, "--es-alias", alias}, &out, &errOut); err != nil {
			t.Fatalf("reindex to v%d: %v\n%s", want, err, errOut.String())
		}
		wantMsg := fmt.Sprintf("alias %s moved from %s-v%d to %s-v%d", alias, alias, want-1, alias, want)
		if !strings.Contains(out.String(), wantMsg) {
			t.Errorf("output %q, want it to say %q", out.String(), wantMsg)
		}
		name, v, err := aliasVersion(ctx, u, alias)
		if err != nil || v != want || name != fmt.Sprintf("%s-v%d", alias, want) {
			t.Fatalf("after reindex: alias on %s (v%d), %v; want v%d", name, v, err, want)
		}
		if err := x.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if c, err := x.Count(ctx); err != nil || c != n {
			t.Fatalf("count on v%d = %d, %v; want %d", want, c, err, n)
		}
	}
	// Versions came along: an older write is superseded, a newer one wins.
	older := index.Op{ID: "ds-0000", Version: 999, Dataset: &moissonv1.Dataset{Id: "ds-0000", Title: "Ancien"}}
	newer := index.Op{ID: "ds-0001", Version: 5000, Dataset: &moissonv1.Dataset{Id: "ds-0001", Title: "Nouveau"}}
	if items, err := x.Write(ctx, []index.Op{older, newer}); err != nil || items[0] != nil || items[1] != nil {
		t.Fatalf("writes after reindex: %v, %v", items, err)
	}
	if d, err := x.Get(ctx, "ds-0000"); err != nil || d.GetTitle() == "Ancien" {
		t.Errorf("ds-0000 after an older write: %q, %v", d.GetTitle(), err)
	}
	if d, err := x.Get(ctx, "ds-0001"); err != nil || d.GetTitle() != "Nouveau" {
		t.Errorf("ds-0001 after a newer write: %q, %v", d.GetTitle(), err)
	}

	// Explicit target below the current version, unknown alias, no URL.
	var out, errOut bytes.Buffer
	if err := reindexCmd([]string{"--es-url", u, "--es-alias", alias, "--to", "2"}, &out, &errOut); err == nil {
		t.Error("reindex to v2 while on v3: no error")
	}
	if err := reindexCmd([]string{"--es-url", u, "--es-alias", alias + "-none"}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("reindex of an unknown alias: %v", err)
	}
	t.Setenv("MOISSON_ES_URL", "")
	if err := reindexCmd([]string{"--es-alias", alias}, &out, &errOut); err == nil {
		t.Error("reindex without a URL: no error")
	}
}
