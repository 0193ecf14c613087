package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/units"
	"github.com/netmon-agent/netmon-agent/store"
)

// The one-screen summary's usage lines: for each meter and for all hosts
// together, today, yesterday, this billing month with a straight-line
// estimate for the whole of it, and last billing month, from the daily
// history (period_start sets the billing day).

// A Usage is one line of the summary, in bytes.
type Usage struct {
	Name        string    `json:"name"` // a meter, or "hosts" for all hosts together
	Today       uint64    `json:"today"`
	Yesterday   uint64    `json:"yesterday"`
	Month       uint64    `json:"month"`
	MonthStart  time.Time `json:"month_start"`
	Estimate    uint64    `json:"month_estimate"` // Month over the part of the period gone, times the whole
	LastMonth   uint64    `json:"last_month"`
	LastMonthOf time.Time `json:"last_month_start"`
}

// UsageSince is the first day the summary needs: the last billing month's.
func UsageSince(cfg *config.Config, now time.Time) time.Time {
	this := config.PeriodStart(now, "month", cfg.PeriodStart)
	return config.PeriodStart(this.Add(-time.Hour), "month", cfg.PeriodStart)
}

// BuildUsage sums the daily rows of h (from UsageSince) into the summary.
func BuildUsage(cfg *config.Config, h *HistoryReport, now time.Time) []Usage {
	today := store.Day.Start(now)
	yesterday := today.AddDate(0, 0, -1)
	this := config.PeriodStart(now, "month", cfg.PeriodStart)
	next := config.NextPeriod(now, "month", cfg.PeriodStart)
	last := UsageSince(cfg, now)
	lines := []Usage{}
	names := []string{}
	for _, m := range cfg.Meters {
		names = append(names, m.Name)
	}
	if cfg.Hosts {
		names = append(names, "hosts")
	}
	for _, name := range names {
		u := Usage{Name: name, MonthStart: this, LastMonthOf: last}
		for _, row := range h.Rows {
			b := row.Meters[name]
			if name == "hosts" {
				b = row.DownloadBytes + row.UploadBytes
			}
			switch {
			case !row.Start.Before(today):
				u.Today += b
			case !row.Start.Before(yesterday):
				u.Yesterday += b
			}
			switch {
			case !row.Start.Before(this):
				u.Month += b
			case !row.Start.Before(last):
				u.LastMonth += b
			}
		}
		if gone := now.Sub(this); gone > time.Hour {
			u.Estimate = uint64(float64(u.Month) * next.Sub(this).Seconds() / gone.Seconds())
		} else {
			u.Estimate = u.Month
		}
		lines = append(lines, u)
	}
	return lines
}

// writeUsage prints the summary's usage table.
func writeUsage(b *strings.Builder, us []Usage, loc *time.Location) {
	if len(us) == 0 {
		return
	}
	m := us[0].MonthStart.In(loc).Format("Jan 2")
	fmt.Fprintf(b, "\n%-16s %11s %11s %11s %11s %11s\n", "USAGE", "TODAY", "YESTERDAY", "SINCE "+m, "ESTIMATE", "LAST MONTH")
	for _, u := range us {
		name := u.Name
		if name == "hosts" {
			name = "all hosts"
		}
		fmt.Fprintf(b, "%-16s %11s %11s %11s %11s %11s\n", name, units.FormatBytes(u.Today), units.FormatBytes(u.Yesterday),
			units.FormatBytes(u.Month), units.FormatBytes(u.Estimate), units.FormatBytes(u.LastMonth))
	}
}
