// Command netmon-agent meters network traffic with netfilter's own counters.
// This file only wires the command line to packages agent and store.
package main

import (
	"context"
	"encoding/json"
	"errors"
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
			{Name: "report", Usage: "show each meter's total, or a table of history", Action: cmdReport, Flags: []cli.Flag{
				&cli.BoolFlag{Name: "json", Usage: "print JSON (fields documented in README)"},
				&cli.BoolFlag{Name: "5min", Usage: "history in five-minute buckets"},
				&cli.BoolFlag{Name: "hours", Usage: "hourly history, with a bar chart"},
				&cli.BoolFlag{Name: "days", Usage: "daily history"},
				&cli.BoolFlag{Name: "months", Usage: "monthly history"},
				&cli.BoolFlag{Name: "years", Usage: "yearly history"},
				&cli.BoolFlag{Name: "top", Usage: "the busiest days, busiest first (default 10)"},
				&cli.BoolFlag{Name: "since-last", Usage: "usage since the previous --since-last (or mail), then remember now"},
				&cli.BoolFlag{Name: "keep", Usage: "with --since-last: do not move the checkpoint"},
				&cli.BoolFlag{Name: "html", Usage: "one self-contained HTML page: summary, last 30 days, the month's top hosts"},
				&cli.IntFlag{Name: "limit", Usage: "the newest `N` rows (default 24 hours, 30 days, 12 months, all years)"},
				&cli.StringFlag{Name: "begin", Usage: "from `DATE` (YYYY-MM-DD[ HH:MM], local time)"},
				&cli.StringFlag{Name: "end", Usage: "before `DATE` (YYYY-MM-DD[ HH:MM], local time)"},
				&cli.StringFlag{Name: "meter", Usage: "only meter `NAME`"},
				&cli.StringFlag{Name: "host", Usage: "only `HOST` (a name, an address or a MAC)"},
			}},
			{Name: "export", Usage: "history for graphs and spreadsheets: one row per bucket, one column per meter (and host)", Action: cmdExport, Flags: []cli.Flag{
				&cli.StringFlag{Name: "by", Value: "day", Usage: "bucket `WIDTH`: hour, day or month"},
				&cli.StringFlag{Name: "format", Value: "csv", Usage: "`FORMAT`: csv, tsv or json"},
				&cli.StringFlag{Name: "unit", Value: "B", Usage: "`UNIT`: B, KiB, MiB or GiB"},
				&cli.BoolFlag{Name: "hosts", Usage: "a download and an upload column per host"},
				&cli.StringFlag{Name: "begin", Usage: "from `DATE` (YYYY-MM-DD[ HH:MM], local time)"},
				&cli.StringFlag{Name: "end", Usage: "before `DATE` (YYYY-MM-DD[ HH:MM], local time)"},
			}},
			{Name: "mail", Usage: "mail the since-last report (text and HTML) to config mail's recipients", Action: cmdMail, Flags: []cli.Flag{
				&cli.BoolFlag{Name: "print", Usage: "print the message instead of sending it; the checkpoint stays"},
			}},
			{Name: "db", Usage: "database upkeep", Subcommands: []*cli.Command{
				{Name: "check", Usage: "verify database files (default: the live one and the snapshot)", ArgsUsage: "[FILE...]", Action: cmdDBCheck},
				{Name: "backup", Usage: "write a consistent copy of the database to FILE, also while the daemon runs", ArgsUsage: "FILE", Action: cmdDBBackup},
				{Name: "restore", Usage: "replace the database with a verified backup (stop the daemon first)", ArgsUsage: "FILE", Action: cmdDBRestore},
				{Name: "compact", Usage: "shrink the live database to what it holds, and snapshot it", Action: cmdDBCompact},
			}},
			{Name: "token", Usage: "print the web token (option token) that the page, the API and /metrics need", Action: cmdToken, Flags: []cli.Flag{
				&cli.BoolFlag{Name: "new", Usage: "print a fresh random token instead (it is not written anywhere)"},
			}},
			{Name: "doctor", Usage: "explain why numbers could be wrong or missing: each check OK, WARN or FAIL with the fix (exit 0, 1, 2)", Action: cmdDoctor, Flags: []cli.Flag{
				&cli.BoolFlag{Name: "json", Usage: "print JSON (for LuCI)"},
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
	// OpenWrt keeps its zone in /etc/TZ, which Go does not read.
	if loc, changed, err := agent.LocalZone(agent.OpenWrtTZ, "/etc/localtime"); err != nil {
		fmt.Fprintf(os.Stderr, "netmon-agent: %v; days are cut in %s\n", err, time.Local)
	} else if changed {
		time.Local = loc
	}
	if err := app.Run(os.Args); err != nil {
		var code exitCode
		if errors.As(err, &code) {
			os.Exit(int(code))
		}
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
	if c.Bool("html") && c.Bool("json") {
		return fmt.Errorf("--html and --json: choose one")
	}
	if q, ok, err := historyQuery(c); err != nil {
		return err
	} else if ok {
		if c.Bool("html") {
			return fmt.Errorf("--html is the summary page: leave out the history view")
		}
		h, err := agent.ReadHistory(cfg, q, time.Now())
		if err != nil {
			return err
		}
		return output(c, h, func() error { return h.WriteText(c.App.Writer) })
	}
	if c.Bool("since-last") {
		return reportSinceLast(c, cfg)
	}
	if c.Bool("keep") {
		return fmt.Errorf("--keep goes with --since-last")
	}
	if c.Bool("html") {
		return writePage(c, cfg, nil)
	}
	r, err := agent.ReadReport(cfg, time.Now())
	if err != nil {
		return err
	}
	return output(c, r, func() error { return r.WriteText(c.App.Writer, time.Local) })
}

// writePage prints the HTML page, with sl on top when given.
func writePage(c *cli.Context, cfg *agent.Config, sl *agent.SinceLastReport) error {
	router := routerName()
	title := "Network usage on " + router
	if sl != nil {
		title = agent.MailSubject(time.Now())
	}
	p, err := agent.ReadHTMLReport(cfg, title, router, sl, time.Now())
	if err != nil {
		return err
	}
	return p.WriteHTML(c.App.Writer)
}

// reportSinceLast prints the since-last report (as text, JSON or the
// mail's page) and, unless --keep, moves its checkpoint to its end.
func reportSinceLast(c *cli.Context, cfg *agent.Config) error {
	r, err := agent.ReadSinceLast(cfg, time.Now())
	if err != nil {
		return err
	}
	if c.Bool("html") {
		err = writePage(c, cfg, r)
	} else {
		err = output(c, r, func() error { return r.WriteText(c.App.Writer, time.Local) })
	}
	if err != nil || c.Bool("keep") {
		return err
	}
	return agent.MoveCheckpoint(cfg, options(stderrLogger(c, false)), r.Checkpoint)
}

func cmdMail(c *cli.Context) error {
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	if c.Bool("print") {
		msg, _, err := agent.BuildMailReport(cfg, routerName(), time.Now())
		if err != nil {
			return err
		}
		_, err = c.App.Writer.Write(msg)
		return err
	}
	sl, err := agent.MailReport(cfg, options(stderrLogger(c, false)), routerName(), time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "netmon-agent: report of %s to %s mailed to %s\n",
		sl.From.Local().Format("2006-01-02 15:04"), sl.To.Local().Format("2006-01-02 15:04"), strings.Join(cfg.Mail.To, ", "))
	return nil
}

func cmdDBCheck(c *cli.Context) error {
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	checks := agent.CheckDatabases(cfg, c.Args().Slice())
	if len(checks) == 0 {
		return fmt.Errorf("no database yet at %s or %s", cfg.LiveDatabase(), cfg.Database)
	}
	bad := 0
	for _, ck := range checks {
		if ck.Error == "" {
			fmt.Fprintf(c.App.Writer, "ok       %s\n", ck.Path)
			continue
		}
		bad++
		fmt.Fprintf(c.App.Writer, "damaged  %s\n", ck.Error)
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d database files damaged; the daemon sets a damaged file aside at its next start", bad, len(checks))
	}
	return nil
}

func fileArg(c *cli.Context) (string, error) {
	if c.NArg() != 1 {
		return "", fmt.Errorf("db %s takes one FILE", c.Command.Name)
	}
	return c.Args().First(), nil
}

func cmdDBBackup(c *cli.Context) error {
	dest, err := fileArg(c)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	r, err := agent.BackupDatabase(cfg, dest)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "backup written to %s (%d bytes)\n", r.Path, r.Bytes)
	return nil
}

func cmdDBRestore(c *cli.Context) error {
	src, err := fileArg(c)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	r, err := agent.RestoreDatabase(cfg, src)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "restored %s from %s; snapshot written to %s (%d bytes)\n", r.Path, src, cfg.Database, r.Snapshot)
	for _, k := range r.Kept {
		fmt.Fprintf(c.App.Writer, "kept the replaced file as %s\n", k)
	}
	return nil
}

func cmdDBCompact(c *cli.Context) error {
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	r, err := agent.CompactDatabase(cfg, options(stderrLogger(c, false)))
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "compacted %s from %d to %d bytes; snapshot written to %s (%d bytes)\n", r.Path, r.Before, r.Bytes, cfg.Database, r.Snapshot)
	return nil
}

func cmdToken(c *cli.Context) error {
	if c.Bool("new") {
		fmt.Fprintln(c.App.Writer, agent.NewToken())
		return nil
	}
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	t, err := agent.Token(cfg)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.App.Writer, t)
	return nil
}

// exitCode ends the program with that status and no message: what went
// wrong was printed already.
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit status %d", int(c)) }

func cmdDoctor(c *cli.Context) error {
	sys := agent.RealSystem()
	// NETMON_FIREWALL_CONFIG stands in for /etc/config/firewall (the lab
	// switches flow offloading on there).
	if p := os.Getenv("NETMON_FIREWALL_CONFIG"); p != "" {
		sys.FirewallConfig = p
	}
	r := agent.Doctor(c.String("config"), sys)
	if err := output(c, r, func() error { return r.WriteText(c.App.Writer) }); err != nil {
		return err
	}
	if code := r.ExitCode(); code != 0 {
		return exitCode(code)
	}
	return nil
}

// routerName is this machine's name, for a page's title.
func routerName() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "this router"
}

// historyQuery reads report's history flags; ok is false when no view was
// asked for.
func historyQuery(c *cli.Context) (q agent.HistoryQuery, ok bool, err error) {
	for _, v := range []string{"5min", "hours", "days", "months", "years", "top"} {
		if c.Bool(v) {
			if ok {
				return q, false, fmt.Errorf("report takes one of --5min, --hours, --days, --months, --years, --top")
			}
			q.Resolution, ok = map[string]string{"5min": "5min", "hours": "hour", "days": "day", "months": "month", "years": "year", "top": "day"}[v], true
			q.Top = v == "top"
		}
	}
	if !ok {
		for _, f := range []string{"limit", "begin", "end", "meter", "host"} {
			if c.IsSet(f) {
				return q, false, fmt.Errorf("--%s needs a history view: --5min, --hours, --days, --months, --years or --top", f)
			}
		}
		return q, false, nil
	}
	if c.Bool("since-last") {
		return q, false, fmt.Errorf("--since-last is a report of its own: leave out --%s", map[string]string{"5min": "5min", "hour": "hours", "day": "days", "month": "months", "year": "years"}[q.Resolution])
	}
	if q.Limit = c.Int("limit"); q.Limit < 0 {
		return q, false, fmt.Errorf("--limit %d: must be at least 1", q.Limit)
	}
	if err := dateRange(c, &q); err != nil {
		return q, false, err
	}
	q.Meter, q.Host = c.String("meter"), c.String("host")
	return q, true, nil
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

func cmdExport(c *cli.Context) error {
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	q := agent.HistoryQuery{Limit: 1 << 30, PerHost: c.Bool("hosts")}
	switch by := c.String("by"); by {
	case "hour", "day", "month":
		q.Resolution = by
	default:
		return fmt.Errorf("--by %q: hour, day or month", by)
	}
	if _, ok := agent.ExportUnits[c.String("unit")]; !ok {
		return fmt.Errorf("--unit %q: B, KiB, MiB or GiB", c.String("unit"))
	}
	if f := c.String("format"); f != "csv" && f != "tsv" && f != "json" {
		return fmt.Errorf("--format %q: csv, tsv or json", f)
	}
	if err := dateRange(c, &q); err != nil {
		return err
	}
	h, err := agent.ReadHistory(cfg, q, time.Now())
	if err != nil {
		return err
	}
	return agent.WriteExport(c.App.Writer, h, c.String("format"), c.String("unit"))
}

// dateRange reads --begin and --end into q.
func dateRange(c *cli.Context, q *agent.HistoryQuery) error {
	for _, b := range []struct {
		flag string
		t    *time.Time
	}{{"begin", &q.Begin}, {"end", &q.End}} {
		if v := c.String(b.flag); v != "" {
			t, err := agent.ParseDate(v, time.Local)
			if err != nil {
				return fmt.Errorf("--%s: %w", b.flag, err)
			}
			*b.t = t
		}
	}
	return nil
}
