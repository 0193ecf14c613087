package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/doctor"
	"github.com/netmon-agent/netmon-agent/agent/web"
)

// token and doctor.

func cmdToken(c *cli.Context) error {
	if c.Bool("new") {
		fmt.Fprintln(c.App.Writer, web.NewToken())
		return nil
	}
	cfg, err := config.Load(c.String("config"))
	if err != nil {
		return err
	}
	t, err := web.Token(cfg)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.App.Writer, t)
	return nil
}

// cmdDoctor loads the config itself: a config that does not load is one of
// its findings.
func cmdDoctor(c *cli.Context) error {
	sys := doctor.RealSystem()
	// NETMON_FIREWALL_CONFIG stands in for /etc/config/firewall (the lab
	// switches flow offloading on there).
	if p := os.Getenv("NETMON_FIREWALL_CONFIG"); p != "" {
		sys.FirewallConfig = p
	}
	r := doctor.Run(c.String("config"), sys)
	if err := output(c, r, func() error { return r.WriteText(c.App.Writer) }); err != nil {
		return err
	}
	if code := r.ExitCode(); code != 0 {
		return exitCode(code)
	}
	return nil
}

// cmdConfigCheck checks the config file, or the sections its arguments
// give, with the readers the daemon uses.
func cmdConfigCheck(c *cli.Context) error {
	if c.NArg() == 0 {
		if _, err := config.Load(c.String("config")); err != nil {
			return err
		}
		fmt.Fprintf(c.App.Writer, "ok %s\n", c.String("config"))
		return nil
	}
	secs, err := config.SectionsFromArgs(c.Args().Slice())
	if err != nil {
		return err
	}
	if _, err := config.FromSections(config.ArgsPath, secs); err != nil {
		return err
	}
	fmt.Fprintln(c.App.Writer, "ok")
	return nil
}
