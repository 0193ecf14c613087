package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/control"
)

// run parses args and runs the command they name, writing to stdout and
// stderr; it returns the exit status: 0, 1 for an error (printed in one
// line), or the status a command chose (doctor's 1 and 2).
func run(args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	err := app.Run(flagsFirst(app, args))
	var code exitCode
	switch {
	case err == nil:
		return 0
	case errors.As(err, &code):
		return int(code)
	}
	fmt.Fprintf(stderr, "netmon-agent: %v\n", err)
	return 1
}

// exitCode ends the program with that status and no message: what went
// wrong was printed already.
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit status %d", int(c)) }

// newApp is the command line: every command, alias and flag.
func newApp(stdout, stderr io.Writer) *cli.App {
	app := commands(stdout, stderr)
	// A bare netmon-agent prints the report, as vnStat does: the question
	// asked most. help and --help print the help.
	report := withConfig(cmdReport)
	app.Action = func(c *cli.Context) error {
		if c.NArg() > 0 {
			return fmt.Errorf("unknown command %q (netmon-agent help lists them)", c.Args().First())
		}
		return report(c)
	}
	app.OnUsageError = usageError
	for _, cmd := range app.Commands {
		cmd.OnUsageError = usageError
		for _, sub := range cmd.Subcommands {
			sub.OnUsageError = usageError
		}
	}
	return app
}

// usageError turns urfave/cli's "Incorrect Usage" and the whole help that
// follows it into one line that names the command.
func usageError(c *cli.Context, err error, _ bool) error {
	name := "netmon-agent"
	if c.Command != nil && c.Command.Name != "" {
		name = c.Command.Name
	}
	return fmt.Errorf("%s: %v (netmon-agent %s --help shows the options)", name, err, name)
}

func commands(stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:      "netmon-agent",
		Usage:     "exact per-meter traffic accounting with iptables counters",
		Version:   version,
		Writer:    stdout,
		ErrWriter: stderr,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Value: config.DefaultPath, EnvVars: []string{"NETMON_CONFIG"}, Usage: "UCI config `FILE`"},
		},
		Commands: []*cli.Command{
			{Name: "start", Aliases: []string{"init", "initiate", "initialise"}, Usage: "install our chains and take a first sample", Action: withConfig(cmdStart)},
			{Name: "stop", Aliases: []string{"clear", "flush"}, Usage: "take a last sample, then remove exactly the rules we added", Action: withConfig(cmdStop)},
			{Name: "run", Usage: "run the sampling daemon in the foreground (for procd or systemd)", Action: noArgs(cmdRun)},
			{Name: "sample", Usage: "sample once, commit and snapshot (for cron without a daemon)", Action: withConfig(cmdSample)},
			{Name: "report", Usage: "show each meter's total, or a table of history", Action: withConfig(cmdReport), Flags: reportFlags()},
			{Name: "export", Usage: "history for graphs and spreadsheets: one row per bucket, one column per meter (and host)", Action: withConfig(cmdExport), Flags: exportFlags()},
			{Name: "mail", Usage: "mail the since-last report (text and HTML) to config mail's recipients", Action: withConfig(cmdMail), Flags: []cli.Flag{
				&cli.BoolFlag{Name: "print", Usage: "print the message instead of sending it; the checkpoint stays"},
			}},
			{Name: "db", Usage: "database upkeep", Subcommands: []*cli.Command{
				{Name: "check", Usage: "verify database files (default: the live one and the snapshot)", ArgsUsage: "[FILE...]", Action: withConfig(cmdDBCheck)},
				{Name: "backup", Usage: "write a consistent copy of the database to FILE (- for standard output), also while the daemon runs", ArgsUsage: "FILE", Action: withConfig(cmdDBBackup), Flags: []cli.Flag{
					&cli.BoolFlag{Name: "portable", Usage: "write a backup any router restores, whatever its byte order (moving to a new router); the default snapshot restores only on one of the same kind"},
				}},
				{Name: "restore", Usage: "replace the database with a verified backup (through the daemon when it runs)", ArgsUsage: "FILE", Action: withConfig(cmdDBRestore), Flags: []cli.Flag{
					&cli.BoolFlag{Name: "remove", Usage: "remove FILE once it is restored (an upload in /tmp)"},
				}},
				{Name: "compact", Usage: "shrink the live database to what it holds, and snapshot it", Action: withConfig(cmdDBCompact)},
			}},
			{Name: "import", Usage: "file another tool's history into ours", Subcommands: []*cli.Command{
				{Name: "nlbwmon", Usage: "nlbwmon's periods (default: its database_directory, /var/lib/nlbwmon): per host by MAC, HTTPS and the like into usage by service; periods we counted are skipped, one that runs past our first sample is split there; twice changes nothing", ArgsUsage: "[DIR|FILE...]", Action: withConfig(cmdImportNlbwmon), Flags: []cli.Flag{
					&cli.BoolFlag{Name: "list", Usage: "only read and check the periods found, importing nothing"},
					&cli.BoolFlag{Name: "json", Usage: "print JSON"},
				}},
			}},
			{Name: "config", Usage: "about the config file", Subcommands: []*cli.Command{
				{Name: "check", Usage: "check the config file as the daemon reads it, or the sections given as @TYPE[=NAME] NAME=VALUE NAME+=VALUE... (what LuCI is about to save); prints ok or the first problem", ArgsUsage: "[SECTIONS...]", SkipFlagParsing: true, Action: cmdConfigCheck},
			}},
			{Name: "token", Usage: "print the web token (option token) that the page, the API and /metrics need", Action: noArgs(cmdToken), Flags: []cli.Flag{
				&cli.BoolFlag{Name: "new", Usage: "print a fresh random token instead (it is not written anywhere)"},
			}},
			{Name: "doctor", Usage: "explain why numbers could be wrong or missing: each check OK, WARN or FAIL with the fix (exit 0, 1, 2)", Action: noArgs(cmdDoctor), Flags: []cli.Flag{
				&cli.BoolFlag{Name: "json", Usage: "print JSON (for LuCI)"},
			}},
			{Name: "block", Usage: "drop a host's forwarded traffic: HOST is an address, a MAC or a name", ArgsUsage: "HOST", Action: withConfig(cmdBlock), Flags: []cli.Flag{
				&cli.StringFlag{Name: "for", Usage: "lift the block after `DURATION` (30m, 2h, 7d)"},
				&cli.StringFlag{Name: "reason", Usage: "why, for the block list"},
			}},
			{Name: "unblock", Usage: "lift a host's block", ArgsUsage: "HOST", Action: withConfig(cmdLift(control.KindBlock))},
			{Name: "throttle", Usage: "slow a host: drop what it moves above RATE (2mbit, 500kbit; 8kbit to 1gbit), both ways unless --up", ArgsUsage: "HOST RATE", Action: withConfig(cmdThrottle), Flags: []cli.Flag{
				&cli.StringFlag{Name: "up", Usage: "upload `RATE`, if not RATE"},
				&cli.StringFlag{Name: "for", Usage: "lift the throttle after `DURATION` (30m, 2h, 7d)"},
				&cli.StringFlag{Name: "reason", Usage: "why, for the block list"},
			}},
			{Name: "unthrottle", Usage: "lift a host's throttle", ArgsUsage: "HOST", Action: withConfig(cmdLift(control.KindThrottle))},
			{Name: "blocks", Usage: "list the blocks and throttles in force", Action: withConfig(cmdBlocks), Flags: []cli.Flag{
				&cli.BoolFlag{Name: "json", Usage: "print JSON"},
			}},
			{Name: "top", Usage: "live host table, redrawn every interval; q quits", Action: withConfig(cmdTop), Flags: []cli.Flag{
				&cli.DurationFlag{Name: "interval", Usage: "redraw every `DURATION` (default: the sampling interval)"},
			}},
			{Name: "metrics", Usage: "print what /metrics serves (Prometheus' text format), for node-exporter collectors and textfile exporters", Action: withConfig(cmdMetrics)},
			{Name: "hosts", Usage: "show every LAN host's download and upload, busiest first; --services: by service (of HOST, a MAC or a name)", ArgsUsage: "[HOST]", Action: withConfig(cmdHosts), Flags: []cli.Flag{
				&cli.BoolFlag{Name: "services", Usage: "each host's usage by service (https, quic, dns, ..., other)"},
				&cli.BoolFlag{Name: "json", Usage: "print JSON (fields documented in README)"},
			}},
		},
		// Errors are printed once, by run.
		ExitErrHandler: func(*cli.Context, error) {},
	}
}

func reportFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "json", Usage: "print JSON (fields documented in README)"},
		&cli.BoolFlag{Name: "5min", Usage: "history in five-minute buckets"},
		&cli.BoolFlag{Name: "hours", Usage: "hourly history, with a bar chart"},
		&cli.BoolFlag{Name: "days", Usage: "daily history"},
		&cli.BoolFlag{Name: "months", Usage: "monthly history"},
		&cli.BoolFlag{Name: "years", Usage: "yearly history"},
		&cli.BoolFlag{Name: "top", Usage: "the busiest days, busiest first (default 10)"},
		&cli.BoolFlag{Name: "services", Usage: "all hosts' usage by service: today, this month and total"},
		&cli.BoolFlag{Name: "since-last", Usage: "usage since the previous --since-last (or mail), then remember now"},
		&cli.BoolFlag{Name: "keep", Usage: "with --since-last: do not move the checkpoint"},
		&cli.BoolFlag{Name: "html", Usage: "one self-contained HTML page: summary, last 30 days, the month's top hosts"},
		&cli.IntFlag{Name: "limit", Usage: "the newest `N` rows (default 24 hours, 30 days, 12 months, all years)"},
		&cli.StringFlag{Name: "begin", Usage: "from `DATE` (YYYY-MM-DD[ HH:MM], local time)"},
		&cli.StringFlag{Name: "end", Usage: "before `DATE` (YYYY-MM-DD[ HH:MM], local time)"},
		&cli.StringFlag{Name: "meter", Usage: "only meter `NAME`"},
		&cli.StringFlag{Name: "host", Usage: "only `HOST` (a name, an address or a MAC)"},
	}
}

func exportFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "by", Value: "day", Usage: "bucket `WIDTH`: hour, day or month"},
		&cli.StringFlag{Name: "format", Value: "csv", Usage: "`FORMAT`: csv, tsv or json"},
		&cli.StringFlag{Name: "unit", Value: "B", Usage: "`UNIT`: B, KiB, MiB or GiB"},
		&cli.BoolFlag{Name: "hosts", Usage: "a download and an upload column per host"},
		&cli.StringFlag{Name: "begin", Usage: "from `DATE` (YYYY-MM-DD[ HH:MM], local time)"},
		&cli.StringFlag{Name: "end", Usage: "before `DATE` (YYYY-MM-DD[ HH:MM], local time)"},
	}
}

// withConfig loads the config the global --config names and hands it to
// the command, after checking its arguments: a command without ArgsUsage
// takes none.
func withConfig(f func(c *cli.Context, cfg *config.Config) error) cli.ActionFunc {
	return noArgs(func(c *cli.Context) error {
		cfg, err := config.Load(c.String("config"))
		if err != nil {
			return err
		}
		return f(c, cfg)
	})
}

// noArgs refuses arguments a command does not take (ArgsUsage empty), so
// `report extra` says so instead of ignoring it.
func noArgs(f cli.ActionFunc) cli.ActionFunc {
	return func(c *cli.Context) error {
		if c.Command.ArgsUsage == "" && c.NArg() > 0 {
			return fmt.Errorf("%s takes no arguments, got %q (options start with --)", c.Command.Name, c.Args().First())
		}
		return f(c)
	}
}
