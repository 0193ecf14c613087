package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"runtime/debug"

	"github.com/urfave/cli/v2"

	"github.com/netmon-agent/netmon-agent/agent"
	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/control"
	"github.com/netmon-agent/netmon-agent/agent/daemon"
)

// start, stop, run and sample: the daemon and its one-shot stand-ins.

func options(logger *log.Logger) agent.Options {
	return agent.Options{
		// NETMON_BOOT_ID_FILE stands in for the kernel's boot id where a
		// reboot has to be simulated (the lab) or the id is not readable.
		BootIDPath: os.Getenv("NETMON_BOOT_ID_FILE"),
		Logf:       logger.Printf,
	}
}

// stderrLogger logs to the app's standard error; the daemon's lines carry
// timestamps, a command's do not.
func stderrLogger(c *cli.Context, timestamps bool) *log.Logger {
	flags := 0
	if timestamps {
		flags = log.LstdFlags
	}
	return log.New(c.App.ErrWriter, "netmon-agent: ", flags)
}

// daemonGCPercent is the daemon's GOGC unless the environment sets one:
// the heap grows by half of what is live rather than all of it. Measured
// with scripts/bench.sh (router build, amd64, 3 runs each): resident
// memory 10.2-10.5 MiB instead of 12.5-12.6, agent CPU per sample 8.4-9.9
// ms against 7.5-9.4. A soft memory limit (GOMEMLIMIT=8MiB) saved 0.7 MiB
// more but cost 2-5 ms per sample in collections, so it is left to the
// owner (GOMEMLIMIT in the environment).
const daemonGCPercent = 50

// tuneGC sets the daemon's GOGC unless the environment set one.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(daemonGCPercent)
	}
}

func cmdRun(c *cli.Context) error {
	tuneGC()
	return daemon.Run(context.Background(), c.String("config"), options(stderrLogger(c, true)))
}

func cmdStart(c *cli.Context, cfg *config.Config) error {
	r, err := agent.SampleOnce(cfg, options(stderrLogger(c, false)), control.OpStart)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "netmon-agent: chains in place, %d meters counting\n", len(r.Meters))
	return nil
}

func cmdSample(c *cli.Context, cfg *config.Config) error {
	_, err := agent.SampleOnce(cfg, options(stderrLogger(c, false)), control.OpSample)
	return err
}

func cmdStop(c *cli.Context, cfg *config.Config) error {
	return agent.Stop(cfg, options(stderrLogger(c, false)))
}
