// Command netmon-agent meters network traffic with netfilter's own counters.
// This file only wires the command line to packages agent and store.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"
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
			{Name: "block", Usage: "drop a host's forwarded traffic: HOST is an address, a MAC or a name", ArgsUsage: "HOST", Action: cmdBlock, Flags: []cli.Flag{
				&cli.StringFlag{Name: "for", Usage: "lift the block after `DURATION` (30m, 2h, 7d)"},
				&cli.StringFlag{Name: "reason", Usage: "why, for the block list"},
			}},
			{Name: "unblock", Usage: "lift a host's block", ArgsUsage: "HOST", Action: cmdUnblock},
			{Name: "blocks", Usage: "list the blocks in force", Action: cmdBlocks, Flags: []cli.Flag{
				&cli.BoolFlag{Name: "json", Usage: "print JSON"},
			}},
			{Name: "top", Usage: "live host table, redrawn every interval; q quits", Action: cmdTop, Flags: []cli.Flag{
				&cli.DurationFlag{Name: "interval", Usage: "redraw every `DURATION` (default: the sampling interval)"},
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
	return output(c, r, func() error { return r.WriteText(c.App.Writer, time.Local) })
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
	return output(c, r, func() error { return r.WriteText(c.App.Writer) })
}

func hostArg(c *cli.Context) (string, error) {
	if c.NArg() != 1 {
		return "", fmt.Errorf("%s takes one HOST: an address, a MAC or a name", c.Command.Name)
	}
	return c.Args().First(), nil
}

func printBlocks(c *cli.Context, r *agent.BlocksReport) error {
	return output(c, r, func() error { return r.WriteText(c.App.Writer, time.Local) })
}

// output writes v as indented JSON with --json, else as text.
func output(c *cli.Context, v any, text func() error) error {
	if c.Bool("json") {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	return text()
}

// blockArgs reads `block HOST [--for D] [--reason TEXT]`: urfave/cli stops
// parsing flags at the first argument, so flags after HOST are read here.
func blockArgs(c *cli.Context) (host, forText, reason string, err error) {
	forText, reason = c.String("for"), c.String("reason")
	args := c.Args().Slice()
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, value, inline := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch {
		case strings.HasPrefix(a, "-") && (name == "for" || name == "reason"):
			if !inline {
				if i+1 >= len(args) {
					return "", "", "", fmt.Errorf("block: --%s needs a value", name)
				}
				i++
				value = args[i]
			}
			if name == "for" {
				forText = value
			} else {
				reason = value
			}
		case host == "" && !strings.HasPrefix(a, "-"):
			host = a
		default:
			return "", "", "", fmt.Errorf("block: unexpected %q (usage: block HOST [--for DURATION] [--reason TEXT])", a)
		}
	}
	if host == "" {
		return "", "", "", fmt.Errorf("block takes one HOST: an address, a MAC or a name")
	}
	return host, forText, reason, nil
}

func cmdBlock(c *cli.Context) error {
	host, forText, reason, err := blockArgs(c)
	if err != nil {
		return err
	}
	var d time.Duration
	if s := forText; s != "" {
		if d, err = agent.ParseDuration(s); err != nil {
			return err
		}
	}
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	r, err := agent.BlockHost(cfg, options(stderrLogger(c, false)), host, d, reason)
	if err != nil {
		return err
	}
	return printBlocks(c, r)
}

func cmdUnblock(c *cli.Context) error {
	host, err := hostArg(c)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	r, err := agent.UnblockHost(cfg, options(stderrLogger(c, false)), host)
	if err != nil {
		return err
	}
	return printBlocks(c, r)
}

func cmdBlocks(c *cli.Context) error {
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	r, err := agent.ReadBlocks(cfg)
	if err != nil {
		return err
	}
	return printBlocks(c, r)
}

func cmdTop(c *cli.Context) error {
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	every := c.Duration("interval")
	if every <= 0 {
		every = cfg.Interval
	}
	restore, tty := agent.RawKeys(int(os.Stdin.Fd()))
	defer restore()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return agent.Top(ctx, cfg, os.Stdin, c.App.Writer, every, tty)
}
