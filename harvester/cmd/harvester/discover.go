package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/opendatafrance/moisson/harvester/discover"
	"github.com/opendatafrance/moisson/harvester/fetch"
	"google.golang.org/protobuf/encoding/protojson"
)

// discoverCmd fetches a portal page, tells its software and endpoints, and
// prints the result as one JSON object.
func discoverCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("discover", flag.ContinueOnError)
	fs.SetOutput(stderr)
	noProbe := fs.Bool("no-probe", false, "only read the page, do not probe the API roots")
	private := fs.Bool("allow-private", false, "allow loopback and private addresses (simulator, tests)")
	timeout := fs.Duration("timeout", 20*time.Second, "timeout of each request")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: harvester discover [--no-probe] [--allow-private] [--timeout 20s] URL")
		fs.PrintDefaults()
	}
	if err := parseArgs(fs, args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	client := fetch.New(fetch.Options{AllowPrivate: *private, Retries: -1, ConnectTimeout: *timeout,
		HeaderTimeout: *timeout, RequestTimeout: *timeout, MaxBodyBytes: discover.MaxPageBytes})
	res, err := discover.Discover(context.Background(), fs.Arg(0), discover.Options{Client: client, NoProbe: *noProbe})
	if err != nil {
		fmt.Fprintln(stderr, "discover:", err)
		return 1
	}
	b, err := marshalDiscovery(res)
	if err != nil {
		fmt.Fprintln(stderr, "discover:", err)
		return 1
	}
	stdout.Write(append(b, '\n'))
	return 0
}

// marshalDiscovery renders a Result, its datasets as protojson.
func marshalDiscovery(res *discover.Result) ([]byte, error) {
	type out struct {
		*discover.Result
		Datasets []json.RawMessage `json:"datasets"`
	}
	o := out{Result: res, Datasets: []json.RawMessage{}}
	for _, d := range res.Datasets {
		b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(d)
		if err != nil {
			return nil, err
		}
		o.Datasets = append(o.Datasets, b)
	}
	return json.MarshalIndent(o, "", "  ")
}
