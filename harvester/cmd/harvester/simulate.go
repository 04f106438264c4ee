package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/opendatafrance/moisson/harvester/simulator"
	"go.yaml.in/yaml/v3"
)

func simulateCmd(args []string) error {
	fs := flag.NewFlagSet("simulate", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:8090", "listen address")
	cfgPath := fs.String("config", "", "territories file (default: the embedded nine territories)")
	datasets := fs.Int("datasets", 200, "datasets per source")
	seed := fs.Int64("seed", 1, "generator seed")
	writeConfig := fs.String("write-config", "", "write the configuration pointed at the simulator to this file (for 'harvester run --config')")
	delay := fs.Duration("delay", 0, "every answer waits this long first (a slow portal; POST /_control/latency?d= changes it)")
	advertise := fs.String("advertise-url", "", "base URL written in -write-config (default: the listen address), e.g. http://simulator:8090 when the harvesters run in other containers")
	_ = parseArgs(fs, args)
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	sim := simulator.New(cfg, simulator.Options{Seed: *seed, DatasetsPerSource: *datasets})
	sim.SetLatency(*delay)
	base, err := sim.Start(*addr)
	if err != nil {
		return err
	}
	defer sim.Close()
	if *writeConfig != "" {
		pointed := base
		if *advertise != "" {
			pointed = *advertise
		}
		b, err := yaml.Marshal(sim.Rewrite(cfg, pointed))
		if err != nil {
			return err
		}
		if err := os.WriteFile(*writeConfig, b, 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "simulator serving %d datasets on %s\n%s", sim.Total(), base, sim.Describe())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return nil
}
