// Command netmon-agent meters network traffic with netfilter's own counters.
// This file only wires the command line to packages agent and store.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/netmon-agent/netmon-agent/agent"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	app := &cli.App{
		Name:    "netmon-agent",
		Usage:   "exact per-meter traffic accounting with iptables counters",
		Version: version,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Value: agent.DefaultConfigPath, EnvVars: []string{"NETMON_CONFIG"}, Usage: "UCI config `FILE`"},
		},
		Commands: []*cli.Command{
			{Name: "start", Aliases: []string{"init", "initiate", "initialise"}, Usage: "install our chains and take a first sample", Action: cmdStart},
			{Name: "stop", Aliases: []string{"clear", "flush"}, Usage: "take a last sample, then remove exactly the rules we added", Action: cmdStop},
			{Name: "run", Usage: "run the sampling daemon in the foreground (for procd or systemd)", Action: cmdRun},
			{Name: "sample", Usage: "sample once, commit and snapshot (for cron without a daemon)", Action: cmdSample},
			{Name: "report", Usage: "show each meter's total", Action: cmdReport, Flags: []cli.Flag{
				&cli.BoolFlag{Name: "json", Usage: "print JSON (fields documented in README)"},
			}},
			{Name: "hosts", Usage: "show every LAN host's download and upload, busiest first", Action: cmdHosts, Flags: []cli.Flag{
				&cli.BoolFlag{Name: "json", Usage: "print JSON (fields documented in README)"},
			}},
		},
		ExitErrHandler: func(c *cli.Context, err error) {},
	}
	if err := app.Run(os.Args); err != nil {
		fmt.Fprintf(os.Stderr, "netmon-agent: %v\n", err)
		os.Exit(1)
	}
}

func options(logger *log.Logger) agent.Options {
	return agent.Options{
		// NETMON_BOOT_ID_FILE stands in for the kernel's boot id where a
		// reboot has to be simulated (the lab) or the id is not readable.
		BootIDPath: os.Getenv("NETMON_BOOT_ID_FILE"),
		Logf:       logger.Printf,
	}
}

func stderrLogger(c *cli.Context, timestamps bool) *log.Logger {
	flags := 0
	if timestamps {
		flags = log.LstdFlags
	}
	return log.New(c.App.ErrWriter, "netmon-agent: ", flags)
}

func loadConfig(c *cli.Context) (*agent.Config, error) {
	return agent.LoadConfig(c.String("config"))
}

func cmdRun(c *cli.Context) error {
	return agent.Run(context.Background(), c.String("config"), options(stderrLogger(c, true)))
}

func sampleOnce(c *cli.Context, op string) (*agent.Report, error) {
	cfg, err := loadConfig(c)
	if err != nil {
		return nil, err
	}
	return agent.SampleOnce(cfg, options(stderrLogger(c, false)), op)
}

func cmdStart(c *cli.Context) error {
	r, err := sampleOnce(c, agent.OpStart)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "netmon-agent: chains in place, %d meters counting\n", len(r.Meters))
	return nil
}

func cmdSample(c *cli.Context) error {
	_, err := sampleOnce(c, agent.OpSample)
	return err
}

func cmdStop(c *cli.Context) error {
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	return agent.Stop(cfg, options(stderrLogger(c, false)))
}

func cmdReport(c *cli.Context) error {
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	r, err := agent.ReadReport(cfg, time.Now())
	if err != nil {
		return err
	}
	if c.Bool("json") {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	return r.WriteText(c.App.Writer, time.Local)
}

func cmdHosts(c *cli.Context) error {
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	r, err := agent.ReadHosts(cfg, time.Now())
	if err != nil {
		return err
	}
	if c.Bool("json") {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	return r.WriteText(c.App.Writer)
}
