package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/netmon-agent/netmon-agent/agent"
	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/mail"
	"github.com/netmon-agent/netmon-agent/agent/report"
	"github.com/netmon-agent/netmon-agent/agent/units"
)

// report, export and mail: what was counted, for people and for graphs.

func cmdReport(c *cli.Context, cfg *config.Config) error {
	if c.Bool("html") && c.Bool("json") {
		return fmt.Errorf("--html and --json: choose one")
	}
	if c.Bool("services") {
		return reportServices(c, cfg)
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
func writePage(c *cli.Context, cfg *config.Config, sl *report.SinceLastReport) error {
	router := routerName()
	title := "Network usage on " + router
	if sl != nil {
		title = mail.Subject(time.Now())
	}
	p, err := agent.ReadHTMLReport(cfg, title, router, sl, time.Now())
	if err != nil {
		return err
	}
	return p.WriteHTML(c.App.Writer)
}

// reportSinceLast prints the since-last report (as text, JSON or the
// mail's page) and, unless --keep, moves its checkpoint to its end.
func reportSinceLast(c *cli.Context, cfg *config.Config) error {
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

func cmdMail(c *cli.Context, cfg *config.Config) error {
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

// routerName is this machine's name, for a page's title.
func routerName() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "this router"
}

// historyViews are report's history flags and the resolution each asks for.
var historyViews = []struct{ flag, resolution string }{
	{"5min", "5min"}, {"hours", "hour"}, {"days", "day"}, {"months", "month"}, {"years", "year"}, {"top", "day"},
}

// historyQuery reads report's history flags; ok is false when no view was
// asked for.
func historyQuery(c *cli.Context) (q report.HistoryQuery, ok bool, err error) {
	view := ""
	for _, v := range historyViews {
		if c.Bool(v.flag) {
			if ok {
				return q, false, fmt.Errorf("report takes one of --5min, --hours, --days, --months, --years, --top")
			}
			q.Resolution, q.Top, view, ok = v.resolution, v.flag == "top", v.flag, true
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
		return q, false, fmt.Errorf("--since-last is a report of its own: leave out --%s", view)
	}
	if q.Limit = c.Int("limit"); c.IsSet("limit") && (q.Limit < 1 || q.Limit > report.MaxLimit) {
		return q, false, fmt.Errorf("--limit %d: a number of rows from 1 to %d", q.Limit, report.MaxLimit)
	}
	if err := dateRange(c, &q); err != nil {
		return q, false, err
	}
	q.Meter, q.Host = c.String("meter"), c.String("host")
	return q, true, checkQuery(q)
}

// checkQuery is report.HistoryQuery.Check with the command line's names
// for its options.
func checkQuery(q report.HistoryQuery) error {
	if err := q.Check(); err != nil {
		return fmt.Errorf("--%w", err)
	}
	return nil
}

func cmdExport(c *cli.Context, cfg *config.Config) error {
	q := report.HistoryQuery{Limit: report.AllRows, PerHost: c.Bool("hosts")}
	switch by := c.String("by"); by {
	case "hour", "day", "month":
		q.Resolution = by
	default:
		return fmt.Errorf("--by %q: hour, day or month", by)
	}
	if _, ok := report.ExportUnits[c.String("unit")]; !ok {
		return fmt.Errorf("--unit %q: B, KiB, MiB or GiB", c.String("unit"))
	}
	if f := c.String("format"); f != "csv" && f != "tsv" && f != "json" {
		return fmt.Errorf("--format %q: csv, tsv or json", f)
	}
	if err := dateRange(c, &q); err != nil {
		return err
	}
	if err := checkQuery(q); err != nil {
		return err
	}
	h, err := agent.ReadHistory(cfg, q, time.Now())
	if err != nil {
		return err
	}
	return report.WriteExport(c.App.Writer, h, c.String("format"), c.String("unit"))
}

// dateRange reads --begin and --end into q.
func dateRange(c *cli.Context, q *report.HistoryQuery) error {
	for _, b := range []struct {
		flag string
		t    *time.Time
	}{{"begin", &q.Begin}, {"end", &q.End}} {
		if v := c.String(b.flag); v != "" {
			t, err := units.ParseDate(v, time.Local)
			if err != nil {
				return fmt.Errorf("--%s: %w", b.flag, err)
			}
			*b.t = t
		}
	}
	return nil
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

// cmdMetrics prints the exposition /metrics serves, with no web server: the
// prometheus-node-exporter-lua collector runs it at every scrape.
func cmdMetrics(c *cli.Context, cfg *config.Config) error {
	m, err := agent.ReadMetrics(cfg, time.Now())
	if err != nil {
		return err
	}
	return report.WriteMetrics(c.App.Writer, m)
}

// reportServices prints all hosts' usage by service: today, this month
// and total, a table of its own.
func reportServices(c *cli.Context, cfg *config.Config) error {
	for _, f := range []string{"html", "since-last", "5min", "hours", "days", "months", "years", "top", "host", "meter"} {
		if c.IsSet(f) {
			return fmt.Errorf("--services shows today, this month and total for all hosts: leave out --%s (hosts --services HOST shows one host)", f)
		}
	}
	r, err := agent.ReadServices(cfg, time.Now())
	if err != nil {
		return err
	}
	return output(c, r, func() error { return r.WriteAll(c.App.Writer) })
}
