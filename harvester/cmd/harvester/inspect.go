package main

import (
	"bufio"
	"context"

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
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: harvester inspect [--format auto|"+strings.Join(all.Names(), "|")+"] [--follow] PATH-or-URL")
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
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	sink := &inspectSink{out: out, errw: stderr, quiet: *quiet, src: &config.Source{ID: "inspect", Protocol: *format}}
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
	out.Flush()
	fmt.Fprintf(stderr, "datasets: %d, warnings: %d\n", sink.n, sink.warnings)
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

type inspectSink struct {
	out      *bufio.Writer
	errw     io.Writer
	quiet    bool
	src      *config.Source
	n        int
	warnings int
}

func (s *inspectSink) Page(u string, declared int64) {}

func (s *inspectSink) Record(ctx context.Context, rec source.Record) error {
	d := harvest.Finish(s.src, rec, "inspect", time.Now())
	d.HarvestedAt, d.RunId = nil, ""
	s.n++
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
