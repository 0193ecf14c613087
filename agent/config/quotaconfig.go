package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/netmon-agent/netmon-agent/agent/hosts"
	"github.com/netmon-agent/netmon-agent/agent/netfilter"
	"github.com/netmon-agent/netmon-agent/agent/uci"
	"github.com/netmon-agent/netmon-agent/agent/units"
	"github.com/netmon-agent/netmon-agent/store"
)

// A Quota is a `config quota` section: how much a host (a MAC, a name, or
// "*" for each host) may download and upload together per period before
// Action: "block" or "throttle" (until the next period), or "warn" (a log
// line).
type Quota struct {
	Name   string
	Host   string
	Limit  uint64
	Period string // "day" or "month"
	Start  int    // billing day of month, 1-31; a short month clamps it
	Action string
	// Rate and RateUp are a throttle's download and upload rates, bits per
	// second; RateUp is Rate unless given.
	Rate, RateUp uint64
	// WarnAt are the percents of Limit (1-100, ascending, each once) at
	// which a host's crossing is mailed, once per threshold per period.
	WarnAt []int
}

// MaxWarnAt bounds a quota's warn_at thresholds.
const MaxWarnAt = 10

// AppliesTo reports whether q covers host h.
func (q Quota) AppliesTo(mac string, h *store.Host) bool {
	switch {
	case mac == store.Unattributed:
		return false
	case q.Host == "*":
		return true
	case hosts.NormalMAC(q.Host) != "":
		return hosts.NormalMAC(q.Host) == mac
	}
	return h != nil && strings.EqualFold(h.Name, q.Host)
}

func (c *Config) HasQuota(name string) bool {
	for _, q := range c.Quotas {
		if q.Name == name {
			return true
		}
	}
	return false
}

func quotaFromSection(s uci.Section, bad func(int, string, ...any) error) (Quota, error) {
	q := Quota{Name: s.Name, Period: "month", Action: "block"}
	if !netfilter.ValidName(q.Name) {
		return q, bad(s.Line, "a quota section needs a name (config quota 'NAME')")
	}
	for _, o := range s.Options {
		if o.List && o.Name != "warn_at" {
			return q, bad(o.Line, "quota %s: option %s takes one value, not a list", q.Name, o.Name)
		}
		v := strings.TrimSpace(o.Value)
		var err error
		switch o.Name {
		case "warn_at":
			q.WarnAt, err = addWarnAt(q.WarnAt, v)
		case "host":
			q.Host = v
			if v == "" {
				err = fmt.Errorf("empty host")
			}
		case "limit":
			q.Limit, err = units.ParseLimit(v)
		case "period":
			q.Period = v
			if v != "day" && v != "month" {
				err = fmt.Errorf("period %q is not day or month", v)
			}
		case "period_start":
			q.Start, err = strconv.Atoi(v)
			if err != nil || q.Start < 1 || q.Start > 31 {
				err = fmt.Errorf("period_start %q is not a day of month (1-31)", v)
			}
		case "action":
			q.Action = v
			if v != "block" && v != "throttle" && v != "warn" {
				err = fmt.Errorf("action %q is not block, throttle or warn", v)
			}
		case "rate":
			q.Rate, err = units.ParseThrottle(v)
		case "rate_up":
			q.RateUp, err = units.ParseThrottle(v)
		default:
			err = fmt.Errorf("unknown option %q", o.Name)
		}
		if err != nil {
			return q, bad(o.Line, "quota %s: %v", q.Name, err)
		}
	}
	if q.Host == "" || q.Limit == 0 {
		return q, bad(s.Line, "quota %s needs option host (a MAC, a name or '*') and option limit", q.Name)
	}
	return q, throttleRates(&q, s.Line, bad)
}

// throttleRates checks that a quota has a rate exactly when it throttles.
func throttleRates(q *Quota, line int, bad func(int, string, ...any) error) error {
	switch {
	case q.Action == "throttle" && q.Rate == 0:
		return bad(line, "quota %s: action 'throttle' needs option rate (such as '2mbit'; option rate_up for a different upload rate)", q.Name)
	case q.Action != "throttle" && (q.Rate != 0 || q.RateUp != 0):
		return bad(line, "quota %s: options rate and rate_up are for action 'throttle', not %q", q.Name, q.Action)
	case q.RateUp == 0:
		q.RateUp = q.Rate
	}
	return nil
}

// addWarnAt adds the threshold v (a percent, "80" or "80%") to warn,
// keeping it ascending and free of repeats.
func addWarnAt(warn []int, v string) ([]int, error) {
	pct, err := strconv.Atoi(strings.TrimSuffix(v, "%"))
	if err != nil || pct < 1 || pct > 100 {
		return warn, fmt.Errorf("warn_at %q is not a percent of the limit (1-100)", v)
	}
	if slices.Contains(warn, pct) {
		return warn, nil
	}
	if len(warn) == MaxWarnAt {
		return warn, fmt.Errorf("warn_at: at most %d thresholds", MaxWarnAt)
	}
	warn = append(warn, pct)
	slices.Sort(warn)
	return warn, nil
}
