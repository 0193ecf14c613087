package report

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/account"
	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/units"
	"github.com/netmon-agent/netmon-agent/store"
)

// A HostsReport is what `netmon-agent hosts` shows. Its JSON field names are
// a contract (README, "JSON output").
type HostsReport struct {
	Generated  time.Time    `json:"generated"`
	LastSample *time.Time   `json:"last_sample"`
	Source     string       `json:"source"`
	Hosts      []HostReport `json:"hosts"`
}

// A HostReport is one host's row. Bytes are totals since first seen;
// rates are bytes per second over the last two samples (0 without a daemon).
type HostReport struct {
	MAC             string    `json:"mac"` // or "unattributed"
	Name            string    `json:"name"`
	Addresses       []string  `json:"addresses"`
	DownloadBytes   uint64    `json:"download_bytes"`
	UploadBytes     uint64    `json:"upload_bytes"`
	DownloadPackets uint64    `json:"download_packets"`
	UploadPackets   uint64    `json:"upload_packets"`
	DownloadRate    float64   `json:"download_rate"`
	UploadRate      float64   `json:"upload_rate"`
	TodayDownload   uint64    `json:"today_download_bytes"`
	TodayUpload     uint64    `json:"today_upload_bytes"`
	MonthDownload   uint64    `json:"month_download_bytes"`
	MonthUpload     uint64    `json:"month_upload_bytes"`
	FirstSeen       time.Time `json:"first_seen"`
	LastSeen        time.Time `json:"last_seen"`
	Blocked         bool      `json:"blocked"`
	// Throttled says a throttle slows the host, to ThrottleRate down and
	// ThrottleRateUp up (bits per second; 0 when not throttled).
	Throttled      bool   `json:"throttled"`
	ThrottleRate   uint64 `json:"throttle_rate"`
	ThrottleRateUp uint64 `json:"throttle_rate_up"`
	// QuotaPercent is the highest use of the host's quotas this period,
	// in percent of the limit; null without a quota.
	QuotaPercent *float64 `json:"quota_percent"`
	// QuotaWarned are the warn_at percents the host crossed this period,
	// ascending, over all its quotas.
	QuotaWarned []int `json:"quota_warned,omitempty"`
}

// BuildHosts builds the host table from st, busiest first.
func BuildHosts(cfg *config.Config, st *store.State, rates map[string]account.Rate, now time.Time, source string) *HostsReport {
	r := &HostsReport{Generated: now.UTC(), Source: source, Hosts: []HostReport{}}
	if !st.LastSample.IsZero() {
		t := st.LastSample.UTC()
		r.LastSample = &t
	}
	day, month := now.Format("2006-01-02"), now.Format("2006-01")
	for key, h := range st.Hosts {
		hr := HostReport{
			MAC: key, Name: h.Name, Addresses: append([]string{}, h.Addresses...),
			DownloadBytes: h.Download.Bytes, UploadBytes: h.Upload.Bytes,
			DownloadPackets: h.Download.Packets, UploadPackets: h.Upload.Packets,
			DownloadRate: rates[key].Download, UploadRate: rates[key].Upload,
			FirstSeen: h.FirstSeen.UTC(), LastSeen: h.LastSeen.UTC(),
			QuotaPercent: quotaPercent(cfg, st, key, now),
			QuotaWarned:  quotaWarned(cfg, st, key, now),
		}
		hr.restrictions(st, key, h.Addresses)
		u := usageOf("", h.Usage, day, month)
		hr.TodayDownload, hr.TodayUpload, hr.MonthDownload, hr.MonthUpload = u.TodayDownload, u.TodayUpload, u.MonthDownload, u.MonthUpload
		r.Hosts = append(r.Hosts, hr)
	}
	sort.Slice(r.Hosts, func(i, j int) bool {
		a, b := r.Hosts[i], r.Hosts[j]
		if ra, rb := a.DownloadRate+a.UploadRate, b.DownloadRate+b.UploadRate; ra != rb {
			return ra > rb
		}
		if ta, tb := a.DownloadBytes+a.UploadBytes, b.DownloadBytes+b.UploadBytes; ta != tb {
			return ta > tb
		}
		return a.MAC < b.MAC
	})
	return r
}

// WriteText prints the host table within 100 columns.
func (r *HostsReport) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%-15s %-17s %-15s %9s %9s %11s %11s %5s\n", "HOST", "MAC", "ADDRESS", "DOWN", "UP", "TODAY", "TOTAL", "QUOTA")
	for _, h := range r.Hosts {
		name := h.Name
		if name == "" {
			name = "-"
		}
		if len(name) > 15 {
			name = name[:14] + "~"
		}
		if h.Blocked || h.Throttled {
			name = map[bool]string{true: "!", false: "*"}[h.Blocked] + name
			if len(name) > 15 {
				name = name[:14] + "~"
			}
		}
		addr := "-"
		if len(h.Addresses) > 0 {
			addr = shortestFirst(h.Addresses)
			if len(addr) > 15 {
				addr = addr[:14] + "~"
			}
		}
		quota := "-"
		if h.QuotaPercent != nil {
			quota = fmt.Sprintf("%.0f%%", *h.QuotaPercent)
		}
		fmt.Fprintf(&b, "%-15s %-17s %-15s %9s %9s %11s %11s %5s\n", name, h.MAC, addr,
			units.FormatRate(h.DownloadRate), units.FormatRate(h.UploadRate),
			units.FormatBytes(h.TodayDownload+h.TodayUpload), units.FormatBytes(h.DownloadBytes+h.UploadBytes), quota)
	}
	if len(r.Hosts) == 0 {
		b.WriteString("No hosts seen yet.\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// shortestFirst picks the address to show: an IPv4 one if any.
func shortestFirst(addrs []string) string {
	best := addrs[0]
	for _, a := range addrs {
		if len(a) < len(best) {
			best = a
		}
	}
	return best
}

// restrictions marks h blocked or throttled when its MAC or one of its
// addresses is; a block wins over a throttle.
func (h *HostReport) restrictions(st *store.State, mac string, addrs []string) {
	for _, t := range append([]string{mac}, addrs...) {
		b, ok := st.Blocks[t]
		switch {
		case !ok:
		case !b.Throttles():
			h.Blocked = true
		case !h.Throttled:
			h.Throttled, h.ThrottleRate, h.ThrottleRateUp = true, b.Rate, b.RateUp
		}
	}
	if h.Blocked {
		h.Throttled, h.ThrottleRate, h.ThrottleRateUp = false, 0, 0
	}
}

// currentUses calls f with each quota covering mac and its use in the
// quota's current period; a use left from an earlier period is no use.
func currentUses(cfg *config.Config, st *store.State, mac string, now time.Time, f func(config.Quota, *store.QuotaUse)) {
	for _, q := range cfg.Quotas {
		u := st.Quotas[store.QuotaKey(q.Name, mac)]
		if u != nil && u.Period.Equal(config.PeriodStart(now, q.Period, q.Start)) {
			f(q, u)
		}
	}
}

// quotaPercent is the highest use, in percent of its limit, of the quotas
// covering mac in their current period.
func quotaPercent(cfg *config.Config, st *store.State, mac string, now time.Time) *float64 {
	var best *float64
	currentUses(cfg, st, mac, now, func(q config.Quota, u *store.QuotaUse) {
		p := float64(u.Bytes) * 100 / float64(q.Limit)
		if best == nil || p > *best {
			best = &p
		}
	})
	return best
}

// quotaWarned is the warn_at percents mac crossed in the current period of
// its quotas, ascending, each once.
func quotaWarned(cfg *config.Config, st *store.State, mac string, now time.Time) []int {
	var out []int
	currentUses(cfg, st, mac, now, func(_ config.Quota, u *store.QuotaUse) {
		for _, p := range u.Warned {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	})
	slices.Sort(out)
	return out
}
