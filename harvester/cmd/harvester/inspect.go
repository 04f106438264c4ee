package main

import (
	"bufio"
	"context"
	"runtime/pprof"
	"sort"
	"sync/atomic"

	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/opendatafrance/moisson/harvester/config"
	"github.com/opendatafrance/moisson/harvester/fetch"
	"github.com/opendatafrance/moisson/harvester/harvest"
	"github.com/opendatafrance/moisson/harvester/source"
	"github.com/opendatafrance/moisson/harvester/source/all"
	"github.com/opendatafrance/moisson/proto/bus"
	"github.com/opendatafrance/moisson/referential"
	"go.uber.org/zap"
	"google.golang.org/protobuf/encoding/protojson"
)

// sniffOrder is the order formats are tried in with --format auto: the
// specific JSON APIs first, DCAT (which also accepts generic JSON-LD) last.
var sniffOrder = []string{"ckan", "ods", "d4c", "datafair", "udata", "csw", "dcat"}

// inspectCmd reads one document (a file, standard input with "-", or a URL)
// and prints one JSON object per normalised dataset on stdout, a summary on
// stderr. With --follow, a URL is harvested through all its pages.
func inspectCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "auto", "auto|"+strings.Join(all.Names(), "|"))
	follow := fs.Bool("follow", false, "for a URL: walk every page as a harvest would")
	quiet := fs.Bool("quiet", false, "print only the summary")
	territory := fs.String("territory", "", "resolve each record's publisher to the collectivité of this territory (its \"collectivite\" in the JSON, a summary at the end)")
	configPath := fs.String("config", "", "territories configuration for --territory (default: the embedded one)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the read to this file (go tool pprof)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: harvester inspect [--format auto|"+strings.Join(all.Names(), "|")+"] [--follow] [--territory ID] PATH-or-URL")
		fs.PrintDefaults()
	}
	if err := parseArgs(fs, args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	target := fs.Arg(0)
	ctx := context.Background()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(stderr, "inspect:", err)
			return 1
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	sink := &inspectSink{out: out, errw: stderr, quiet: *quiet, src: &config.Source{ID: "inspect", Protocol: *format}}
	if *territory != "" {
		cfg, err := loadConfig(*configPath)
		if err != nil {
			fmt.Fprintln(stderr, "inspect:", err)
			return 2
		}
		t := cfg.Territory(*territory)
		if t == nil {
			fmt.Fprintf(stderr, "inspect: no territory %q (one of %s)\n", *territory, strings.Join(cfg.TerritoryIDs(), ", "))
			return 2
		}
		sink.src.Territory = t
		sink.resolver = referential.France().Resolver(t.Spec())
		sink.how = map[string]int{}
		sink.unresolved = map[string]int{}
	}
	isURL := strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://")
	client := fetch.New(fetch.Options{AllowPrivate: true, Retries: -1})

	var err error
	switch {
	case isURL && *follow:
		if *format == "auto" {
			fmt.Fprintln(stderr, "inspect: --follow needs --format")
			return 2
		}
		p, ok := all.Protocols[*format]
		if !ok {
			fmt.Fprintf(stderr, "inspect: unknown format %q\n", *format)
			return 2
		}
		var s source.Source
		s, err = p.New(&config.Source{ID: "inspect", Protocol: *format, Endpoint: target}, source.Env{Client: client, Log: zap.NewNop()})
		if err == nil {
			err = s.Harvest(ctx, sink)
		}
	default:
		var r io.ReadCloser
		base := ""
		switch {
		case isURL:
			resp, gerr := client.Get(ctx, fetch.Request{URL: target, Accept: "application/json, application/rdf+xml, text/turtle, application/ld+json, application/xml"})
			if gerr != nil {
				fmt.Fprintln(stderr, "inspect:", gerr)
				return 1
			}
			defer resp.Close()
			r, base = io.NopCloser(resp.Body), resp.URL
		case target == "-":
			r = io.NopCloser(stdin)
		default:
			f, oerr := os.Open(target)
			if oerr != nil {
				fmt.Fprintln(stderr, "inspect:", oerr)
				return 1
			}
			r, base = f, target
		}
		defer r.Close()
		br := bufio.NewReaderSize(r, 64<<10)
		name := *format
		if name == "auto" {
			head, _ := br.Peek(8192)
			name = detect(head)
			if name == "" {
				fmt.Fprintln(stderr, "inspect: cannot tell the format of", target, "; give --format")
				return 1
			}
			fmt.Fprintln(stderr, "format:", name)
		}
		p, ok := all.Protocols[name]
		if !ok {
			fmt.Fprintf(stderr, "inspect: unknown format %q (one of %s)\n", name, strings.Join(all.Names(), ", "))
			return 2
		}
		sink.src.Protocol = name
		err = p.Read(ctx, br, base, sink)
	}
	if ferr := sink.close(); err == nil {
		err = ferr
	}
	out.Flush()
	fmt.Fprintf(stderr, "datasets: %d, warnings: %d\n", sink.n, sink.warnings)
	if sink.resolver != nil {
		sink.summary(stderr)
	}
	if err != nil {
		fmt.Fprintln(stderr, "inspect: error:", err)
		return 1
	}
	return 0
}

func detect(head []byte) string {
	for _, name := range sniffOrder {
		if p, ok := all.Protocols[name]; ok && p.Sniff != nil && p.Sniff(head) {
			return name
		}
	}
	return ""
}

// inspectSink finishes and prints the records on a goroutine of its own, in
// the order they come, while the source reads on: Finish (SCDL, quality,
// content hash) is a third of reading a DCAT export.
type inspectSink struct {
	queue    chan source.Record
	done     chan struct{}
	failed   atomic.Bool
	err      error // the first failure to print a record, once failed
	out      *bufio.Writer
	errw     io.Writer
	quiet    bool
	src      *config.Source
	n        int
	warnings int
	// With --territory: the resolver, records by how they resolved, and
	// the publishers left unresolved.
	resolver   *referential.Resolver
	how        map[string]int
	unresolved map[string]int
}

// summary says how the publishers resolved, and which did not (the names an
// override may map).
func (s *inspectSink) summary(w io.Writer) {
	var hows []string
	for h := range s.how {
		hows = append(hows, h)
	}
	sort.Strings(hows)
	fmt.Fprint(w, "collectivités:")
	for _, h := range hows {
		fmt.Fprintf(w, " %s %d", h, s.how[h])
	}
	fmt.Fprintln(w)
	var names []string
	for n := range s.unresolved {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if s.unresolved[names[i]] != s.unresolved[names[j]] {
			return s.unresolved[names[i]] > s.unresolved[names[j]]
		}
		return names[i] < names[j]
	})
	for i, n := range names {
		if i == 20 {
			fmt.Fprintf(w, "  … %d more\n", len(names)-20)
			break
		}
		fmt.Fprintf(w, "  unresolved: %q (%d records)\n", n, s.unresolved[n])
	}
}

func (s *inspectSink) Page(u string, declared int64) {}

func (s *inspectSink) Record(ctx context.Context, rec source.Record) error {
	if s.queue == nil {
		s.queue, s.done = make(chan source.Record, 256), make(chan struct{})
		go func() {
			defer close(s.done)
			for rec := range s.queue {
				if s.err == nil {
					if s.err = s.print(rec); s.err != nil {
						s.failed.Store(true)
					}
				}
			}
		}()
	}
	if s.failed.Load() {
		return s.err
	}
	select {
	case s.queue <- rec:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close waits for the records queued to be printed.
func (s *inspectSink) close() error {
	if s.queue == nil {
		return nil
	}
	close(s.queue)
	<-s.done
	return s.err
}

func (s *inspectSink) print(rec source.Record) error {
	d := harvest.Finish(s.src, rec, "inspect", time.Now())
	d.HarvestedAt, d.RunId = nil, ""
	s.n++
	if s.resolver != nil {
		bus.Attribute(d, s.resolver)
		c := d.GetCollectivite()
		s.how[c.GetHow()]++
		if c.GetKey() == "" {
			s.unresolved[c.GetHow()+": "+c.GetPublisher()]++
		}
	}
	if s.quiet {
		return nil
	}
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(d)
	if err != nil {
		return err
	}
	s.out.Write(b)
	return s.out.WriteByte('\n')
}

func (s *inspectSink) Problem(p source.Problem) {
	s.warnings++
	msg := fmt.Sprintf("warning: %s: %s", p.Kind, p.Message)
	if p.DatasetID != "" {
		msg += " (dataset " + p.DatasetID + ")"
	}
	fmt.Fprintln(s.errw, msg)
}
