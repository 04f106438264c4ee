package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/opendatafrance/moisson/indexer/index/elasticsearch"
	"go.uber.org/zap"
)

// reindexCmd moves the Elasticsearch alias to the next versioned index
// (<alias>-v<N+1>), created from the current index template, copying every
// document with its version (elasticsearch.Index.Reindex). The old index is
// kept for a rollback.
func reindexCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("reindex", flag.ContinueOnError)
	fs.SetOutput(stderr)
	esURL := fs.String("es-url", env("MOISSON_ES_URL", ""), "Elasticsearch URL (env MOISSON_ES_URL)")
	esAlias := fs.String("es-alias", env("MOISSON_ES_ALIAS", ""), "Elasticsearch alias (default "+elasticsearch.DefaultAlias+")")
	to := fs.Int("to", 0, "target version N of <alias>-vN (default: the current version + 1)")
	timeout := fs.Duration("timeout", time.Hour, "give up after this long")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: indexer reindex [flags]\n\nMoves the alias to a new versioned index made from the current template,\ncopying every document with its version; the old index is kept.\nBest run while the indexers are stopped (see elasticsearch.Index.Reindex).\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *esURL == "" {
		return errors.New("no Elasticsearch: give --es-url or MOISSON_ES_URL")
	}
	alias := *esAlias
	if alias == "" {
		alias = elasticsearch.DefaultAlias
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	from, cur, err := aliasVersion(ctx, *esURL, alias)
	if err != nil {
		return err
	}
	target := *to
	if target == 0 {
		target = cur + 1
	}
	log, _ := zap.NewProduction()
	defer log.Sync()
	x, err := elasticsearch.New(ctx, elasticsearch.Config{URL: *esURL, Alias: alias, Logger: log})
	if err != nil {
		return err
	}
	defer x.Close()
	start := time.Now()
	if err := x.Reindex(ctx, target); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "alias %s moved from %s to %s-v%d in %s; %s is kept (delete it when satisfied)\n",
		alias, from, alias, target, time.Since(start).Round(time.Millisecond), from)
	return nil
}

var versionSuffix = regexp.MustCompile(`-v([0-9]+)$`)

// aliasVersion tells which index the alias points to and its version N
// (<alias>-vN).
func aliasVersion(ctx context.Context, esURL, alias string) (string, int, error) {
	base := strings.TrimRight(strings.TrimSpace(strings.Split(esURL, ",")[0]), "/")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/_alias/"+url.PathEscape(alias), nil)
	if err != nil {
		return "", 0, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("elasticsearch: %w", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode == http.StatusNotFound {
		return "", 0, fmt.Errorf("alias %s does not exist: nothing to reindex", alias)
	}
	if res.StatusCode != http.StatusOK {
		return "", 0, fmt.Errorf("elasticsearch: GET /_alias/%s: status %d: %s", alias, res.StatusCode, body)
	}
	var indices map[string]json.RawMessage
	if err := json.Unmarshal(body, &indices); err != nil {
		return "", 0, fmt.Errorf("elasticsearch: GET /_alias/%s: %w", alias, err)
	}
	if len(indices) != 1 {
		names := make([]string, 0, len(indices))
		for n := range indices {
			names = append(names, n)
		}
		return "", 0, fmt.Errorf("alias %s points to %d indices %v, want 1", alias, len(indices), names)
	}
	for name := range indices {
		m := versionSuffix.FindStringSubmatch(name)
		if m == nil || strings.TrimSuffix(name, m[0]) != alias {
			return "", 0, fmt.Errorf("alias %s points to %s, which is not %s-v<N>", alias, name, alias)
		}
		v, _ := strconv.Atoi(m[1])
		return name, v, nil
	}
	panic("unreachable")
}
