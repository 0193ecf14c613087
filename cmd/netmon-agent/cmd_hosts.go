package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/netmon-agent/netmon-agent/agent"
	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/control"
	"github.com/netmon-agent/netmon-agent/agent/report"
	"github.com/netmon-agent/netmon-agent/agent/units"
)

// hosts, top, block, unblock, throttle, unthrottle and blocks: the LAN's
// devices.

func cmdHosts(c *cli.Context, cfg *config.Config) error {
	if c.Bool("services") {
		return hostServices(c, cfg)
	}
	if c.NArg() > 0 {
		return fmt.Errorf("hosts takes a HOST only with --services, got %q", c.Args().First())
	}
	r, err := agent.ReadHosts(cfg, time.Now())
	if err != nil {
		return err
	}
	return output(c, r, func() error { return r.WriteText(c.App.Writer) })
}

func cmdTop(c *cli.Context, cfg *config.Config) error {
	every := c.Duration("interval")
	if !c.IsSet("interval") {
		every = cfg.Interval
	} else if every < 100*time.Millisecond || every > time.Hour {
		return fmt.Errorf("--interval %s: from 100ms to 1h0m0s", every)
	}
	restore, tty := rawKeys(int(os.Stdin.Fd()))
	defer restore()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return top(ctx, cfg, os.Stdin, c.App.Writer, every, tty)
}

// hostServices prints hosts --services [HOST]: every host's, or the one
// whose MAC or name HOST is.
func hostServices(c *cli.Context, cfg *config.Config) error {
	if c.NArg() > 1 {
		return fmt.Errorf("hosts --services takes at most one HOST (a MAC or a name)")
	}
	r, err := agent.ReadServices(cfg, time.Now())
	if err != nil {
		return err
	}
	if host := c.Args().First(); host != "" {
		var keep []report.HostServices
		for _, h := range r.Hosts {
			if strings.EqualFold(h.MAC, host) || strings.EqualFold(h.Name, host) {
				keep = append(keep, h)
			}
		}
		if len(keep) == 0 {
			return fmt.Errorf("unknown host %q: a MAC or a name from netmon-agent hosts", host)
		}
		r.Hosts = keep
	}
	return output(c, r, func() error { return r.WriteHosts(c.App.Writer) })
}

// hostArg is the one HOST of block, unblock and unthrottle.
func hostArg(c *cli.Context) (string, error) {
	if c.NArg() != 1 {
		return "", fmt.Errorf("%s takes one HOST: an address, a MAC or a name", c.Command.Name)
	}
	return c.Args().First(), nil
}

func cmdBlock(c *cli.Context, cfg *config.Config) error {
	host, err := hostArg(c)
	if err != nil {
		return err
	}
	d, err := forFlag(c)
	if err != nil {
		return err
	}
	r, err := restrict(c, cfg, control.Restriction{Kind: control.KindBlock, Host: host, For: d, Reason: c.String("reason")})
	if err != nil {
		return err
	}
	return printBlocks(c, r)
}

// cmdLift is unblock and unthrottle: one HOST, whose restrictions of
// kind it lifts.
func cmdLift(kind string) func(c *cli.Context, cfg *config.Config) error {
	return func(c *cli.Context, cfg *config.Config) error {
		host, err := hostArg(c)
		if err != nil {
			return err
		}
		r, err := restrict(c, cfg, control.Restriction{Kind: kind, Lift: true, Host: host})
		if err != nil {
			return err
		}
		return printBlocks(c, r)
	}
}

// cmdThrottle reads HOST RATE; the rates are checked before anything
// is opened.
func cmdThrottle(c *cli.Context, cfg *config.Config) error {
	if c.NArg() != 2 {
		return fmt.Errorf("throttle takes HOST RATE: an address, a MAC or a name, and a rate such as 2mbit")
	}
	host := c.Args().First()
	down, err := units.ParseThrottle(c.Args().Get(1))
	if err != nil {
		return err
	}
	up := down
	if s := c.String("up"); s != "" {
		if up, err = units.ParseThrottle(s); err != nil {
			return fmt.Errorf("--up: %w", err)
		}
	}
	d, err := forFlag(c)
	if err != nil {
		return err
	}
	r, err := restrict(c, cfg, control.Restriction{Kind: control.KindThrottle, Host: host, For: d, Reason: c.String("reason"), Rate: down, RateUp: up})
	if err != nil {
		return err
	}
	return printBlocks(c, r)
}

// restrict makes a block, a throttle or their lifting (agent.MakeChange) and
// returns the blocks and throttles in force.
func restrict(c *cli.Context, cfg *config.Config, r control.Restriction) (*report.BlocksReport, error) {
	return agent.MakeChange[report.BlocksReport](cfg, options(stderrLogger(c, false)), control.Request{Op: control.OpRestrict, Restriction: &r})
}

// forFlag is --for: 0 is until lifted by hand.
func forFlag(c *cli.Context) (time.Duration, error) {
	s := c.String("for")
	if s == "" {
		return 0, nil
	}
	d, err := units.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("--for: %w", err)
	}
	return d, nil
}

func cmdBlocks(c *cli.Context, cfg *config.Config) error {
	r, err := agent.ReadBlocks(cfg)
	if err != nil {
		return err
	}
	return printBlocks(c, r)
}

func printBlocks(c *cli.Context, r *report.BlocksReport) error {
	return output(c, r, func() error { return r.WriteText(c.App.Writer, time.Local) })
}
