// Command harvester harvests the territories' portals into the RECORDS
// stream, serves the portal simulator, and helps people debug their
// catalogue.
//
//	harvester run       a worker: harvest the sources on their schedules (--once: once)
//	harvester simulate  serve the simulated portals of the nine territories
//	harvester inspect   normalise one document or URL and print the records
//	harvester discover  tell a portal's software and machine endpoints from its page
//	harvester trigger   ask the workers to harvest a source now
//	harvester deletions release or discard held deletions
//	harvester config    print the default territories configuration
package main

import (
	"flag"
	"fmt"
	"os"
	"slices"

	"github.com/opendatafrance/moisson/service"
	"go.uber.org/zap"
)

const usage = `usage: harvester <command> [flags]

commands:
  run        harvest every configured source into NATS JetStream
  simulate   serve the portal simulator (the nine territories, offline)
  inspect    read one catalogue document (file or URL) and print its records as JSON lines
  discover   tell which software a portal runs and which machine endpoints it offers (JSON)
  trigger    ask the workers to harvest a source now
  deletions  release or discard the deletions a run held for review
  config     print the default territories configuration (YAML)

'harvester <command> -h' tells the flags of a command.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	args := os.Args[2:]
	var err error
	switch os.Args[1] {
	case "run":
		err = runCmd(args)
	case "simulate":
		err = simulateCmd(args)
	case "inspect":
		// A one-off read, where time counts more than memory: a 10k-dataset
		// RDF/XML export in 0.50-0.57 s rather than 0.59-0.64 s (and no
		// more RSS). A worker (run) keeps Go's default: its memory is what
		// running many of them multiplies, and GOGC=200 took its peak on
		// the 100k RDF/XML export from 126 to 179 MB.
		service.TuneGC(zap.NewNop())
		os.Exit(inspectCmd(args, os.Stdin, os.Stdout, os.Stderr))
	case "trigger":
		err = triggerCmd(args)
	case "deletions":
		err = deletionsCmd(args)
	case "discover":
		os.Exit(discoverCmd(args, os.Stdout, os.Stderr))
	case "config":
		_, err = os.Stdout.Write(defaultConfig())
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "harvester: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "harvester:", err)
		os.Exit(1)
	}
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// parseArgs parses fs's flags wherever they stand among the positional
// arguments ("harvester inspect file.rdf --format dcat" as well as
// "harvester inspect --format dcat file.rdf"); after "--" everything is
// positional.
func parseArgs(fs *flag.FlagSet, args []string) error {
	var tail []string
	if i := slices.Index(args, "--"); i >= 0 {
		args, tail = args[:i], args[i+1:]
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos, args = append(pos, args[0]), args[1:]
	}
	return fs.Parse(append(append([]string{"--"}, pos...), tail...))
}
