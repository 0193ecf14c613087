package account_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/account"
	"github.com/netmon-agent/netmon-agent/agent/account/accounttest"
	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/report"
	"github.com/netmon-agent/netmon-agent/agent/units"
	"github.com/netmon-agent/netmon-agent/store"
)

func TestPeriodStart(t *testing.T) {
	d := func(s string) time.Time {
		x, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	cases := []struct {
		now, period string
		start       int
		want, next  string
	}{
		{"2026-03-15 10:00", "day", 1, "2026-03-15 00:00", "2026-03-16 00:00"},
		{"2026-12-31 23:59", "day", 1, "2026-12-31 00:00", "2027-01-01 00:00"},
		{"2026-03-15 10:00", "month", 1, "2026-03-01 00:00", "2026-04-01 00:00"},
		{"2026-03-15 10:00", "month", 20, "2026-02-20 00:00", "2026-03-20 00:00"},
		{"2026-03-20 00:00", "month", 20, "2026-03-20 00:00", "2026-04-20 00:00"},
		// Billing day 31: February clamps to its last day, then back to 31.
		{"2026-02-27 12:00", "month", 31, "2026-01-31 00:00", "2026-02-28 00:00"},
		{"2026-02-28 00:00", "month", 31, "2026-02-28 00:00", "2026-03-31 00:00"},
		{"2028-02-29 08:00", "month", 31, "2028-02-29 00:00", "2028-03-31 00:00"},
		{"2026-04-30 08:00", "month", 31, "2026-04-30 00:00", "2026-05-31 00:00"},
		{"2026-01-05 00:00", "month", 10, "2025-12-10 00:00", "2026-01-10 00:00"},
	}
	for _, c := range cases {
		now := d(c.now)
		if got := config.PeriodStart(now, c.period, c.start); !got.Equal(d(c.want)) {
			t.Errorf("PeriodStart(%s, %s, %d) = %s, want %s", c.now, c.period, c.start, got, c.want)
		}
		if got := config.NextPeriod(now, c.period, c.start); !got.Equal(d(c.next)) {
			t.Errorf("NextPeriod(%s, %s, %d) = %s, want %s", c.now, c.period, c.start, got, c.next)
		}
	}
}

func TestParseLimit(t *testing.T) {
	for in, want := range map[string]uint64{"300K": 300 << 10, "50G": 50 << 30, "1.5T": 3 << 39, "2GiB": 2 << 30, "10MB": 10 << 20, "4096": 4096} {
		if got, err := units.ParseLimit(in); err != nil || got != want {
			t.Errorf("parseLimit(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "lots", "-5G", "0", "9999999999T"} {
		if _, err := units.ParseLimit(bad); err == nil {
			t.Errorf("parseLimit(%q) succeeded", bad)
		}
	}
}

const quotaConfig = `
config agent 'main'
	option lan 'br-lan'
	option period_start '31'

config quota 'laptop_month'
	option host 'laptop'
	option limit '10K'
	option action 'block'

config quota 'everyone_day'
	option host '*'
	option limit '1M'
	option period 'day'
	option action 'warn'
`

func TestQuota_BlocksUntilTheNextPeriodAndWarns(t *testing.T) {
	r := newHostRig(t)
	r.Config = accounttest.MustConfig(t, quotaConfig)
	r.Sampler.Config = r.Config
	r.Clock.T = time.Date(2026, 2, 27, 12, 0, 0, 0, time.UTC) // billing day 31: period Jan 31 .. Feb 28
	r.Sets.Traffic(store.DirDownload, "192.0.2.2", 5, 6000)
	r.Sample()
	if len(r.Sampler.State.Blocks) != 0 {
		t.Fatalf("blocked below the limit: %+v", r.Sampler.State.Blocks)
	}
	hr := report.BuildHosts(r.Config, r.Sampler.State, nil, r.Clock.Now(), "daemon")
	for _, h := range hr.Hosts {
		if h.MAC == "02:00:00:00:00:0a" && (h.QuotaPercent == nil || int(*h.QuotaPercent) != 58) {
			t.Errorf("quota use %v, want 58%%", h.QuotaPercent)
		}
	}
	r.Sets.Traffic(store.DirUpload, "192.0.2.2", 5, 5000) // 11000 bytes > 10 KiB
	r.Sample()
	b := r.Sampler.State.Blocks["02:00:00:00:00:0a"]
	if b == nil || b.Quota != "laptop_month" || !b.Until.Equal(time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("quota block %+v, want one until Feb 28", b)
	}
	if !logged(r, "crossed quota laptop_month") {
		t.Errorf("crossing not logged: %q", r.Logs)
	}
	// Lifted by hand: stays lifted this period.
	r.Sampler.Unblock("02:00:00:00:00:0a")
	r.Sets.Traffic(store.DirUpload, "192.0.2.2", 1, 100)
	r.Sample()
	if _, ok := r.Sampler.State.Blocks["02:00:00:00:00:0a"]; ok {
		t.Error("re-blocked after a manual unblock in the same period")
	}
	// The next period starts afresh.
	r.Clock.T = time.Date(2026, 2, 28, 0, 0, 1, 0, time.UTC)
	r.Sets.Traffic(store.DirUpload, "192.0.2.2", 1, 100)
	r.Sample()
	if u := r.Sampler.State.Quotas["laptop_month/02:00:00:00:00:0a"]; u == nil || u.Bytes != 100 || u.Waived {
		t.Errorf("use in the new period %+v", u)
	}
	// The warn quota never blocks.
	r.Sets.Traffic(store.DirDownload, "192.0.2.3", 1, 2<<20)
	r.Sample()
	if _, ok := r.Sampler.State.Blocks["02:00:00:00:00:0b"]; ok || !logged(r, "crossed quota everyone_day") {
		t.Errorf("warn quota: blocks %v, logs %q", r.Sampler.State.Blocks, r.Logs)
	}
}

func TestQuota_BlockExpiresAtThePeriodsEnd(t *testing.T) {
	r := newHostRig(t)
	r.Config = accounttest.MustConfig(t, strings.Replace(quotaConfig, "option period_start '31'", "option period_start '1'", 1))
	r.Sampler.Config = r.Config
	r.Clock.T = time.Date(2026, 3, 31, 23, 59, 0, 0, time.UTC)
	r.Sets.Traffic(store.DirDownload, "192.0.2.2", 20, 20000)
	r.Sample()
	if _, ok := r.Sampler.State.Blocks["02:00:00:00:00:0a"]; !ok {
		t.Fatal("not blocked over the limit")
	}
	r.Sample() // 2026-04-01 00:00:29
	if _, ok := r.Sampler.State.Blocks["02:00:00:00:00:0a"]; ok {
		t.Error("quota block did not lift with the new month")
	}
}

// Each warn_at threshold is told once per period, in order, however many a
// sample crosses; a new period warns afresh; the thresholds are exact to
// the byte.
func TestQuota_WarnsOncePerThresholdPerPeriod(t *testing.T) {
	r := newHostRig(t)
	r.Config = accounttest.MustConfig(t, `
config agent 'main'
	option lan 'br-lan'

config quota 'kid'
	option host '02:00:00:00:00:0a'
	option limit '1000'
	option period 'day'
	option action 'warn'
	list warn_at '90%'
	list warn_at '50'
	list warn_at '80'
	list warn_at '50'
`)
	r.Sampler.Config = r.Config
	var told []string
	r.Sampler.Warn = func(w account.QuotaWarning) {
		told = append(told, fmt.Sprintf("%s %s %d%% %d/%d %s", w.Quota, w.MAC, w.Percent, w.Bytes, w.Limit, w.Period))
	}
	r.Clock.T = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	step := func(bytes uint64, want ...string) {
		t.Helper()
		told = nil
		r.Sets.Traffic(store.DirDownload, "192.0.2.2", 1, bytes)
		r.Sample()
		if strings.Join(told, "; ") != strings.Join(want, "; ") {
			t.Errorf("after %d more bytes: told %q, want %q", bytes, told, want)
		}
	}
	step(499)
	step(1, "kid 02:00:00:00:00:0a 50% 500/1000 day") // exactly 50%
	step(300, "kid 02:00:00:00:00:0a 80% 800/1000 day")
	step(99)
	step(500, "kid 02:00:00:00:00:0a 90% 1399/1000 day")
	step(500)
	if u := r.Sampler.State.Quotas["kid/02:00:00:00:00:0a"]; u == nil || fmt.Sprint(u.Warned) != "[50 80 90]" {
		t.Errorf("recorded %+v", u)
	}
	r.Clock.T = r.Clock.T.Add(24 * time.Hour)
	step(950, "kid 02:00:00:00:00:0a 50% 950/1000 day", "kid 02:00:00:00:00:0a 80% 950/1000 day", "kid 02:00:00:00:00:0a 90% 950/1000 day")
}
