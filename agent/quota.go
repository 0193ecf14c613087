package agent

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/netmon-agent/netmon-agent/store"
)

// A Quota is a `config quota` section: how much a host (a MAC, a name, or
// "*" for each host) may download and upload together per period before
// Action: "block" (until the next period) or "warn" (a log line).
type Quota struct {
	Name   string
	Host   string
	Limit  uint64
	Period string // "day" or "month"
	Start  int    // billing day of month, 1-31; a short month clamps it
	Action string
}

// parseLimit reads "500K", "50G", "1.5T"-style sizes in binary units (K is
// 1024), or a plain byte count.
func parseLimit(s string) (uint64, error) {
	t := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSpace(s), "B"), "i")
	mult := 1.0
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'K', 'k':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult != 1 {
			t = t[:n-1]
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v <= 0 || v*mult >= 1<<63 {
		return 0, fmt.Errorf("malformed limit %q: use bytes or K, M, G, T (binary), such as 50G", s)
	}
	return uint64(v * mult), nil
}

// PeriodStart is when the period holding t began: local midnight for a
// day; for a month, midnight of billing day start, clamped to the month's
// last day (day 31 in February is the 28th or 29th).
func PeriodStart(t time.Time, period string, start int) time.Time {
	y, m, d := t.Date()
	if period == "day" {
		return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
	}
	this := billingDay(y, m, start, t.Location())
	if !t.Before(this) {
		return this
	}
	return billingDay(y, m-1, start, t.Location())
}

// NextPeriod is when the period after the one holding t begins.
func NextPeriod(t time.Time, period string, start int) time.Time {
	p := PeriodStart(t, period, start)
	if period == "day" {
		y, m, d := p.Date()
		return time.Date(y, m, d+1, 0, 0, 0, 0, p.Location())
	}
	y, m, _ := p.Date()
	return billingDay(y, m+1, start, p.Location())
}

func billingDay(y int, m time.Month, day int, loc *time.Location) time.Time {
	first := time.Date(y, m, 1, 0, 0, 0, 0, loc) // normalises m out of 1..12
	last := first.AddDate(0, 1, -1).Day()
	if day > last {
		day = last
	}
	return time.Date(first.Year(), first.Month(), day, 0, 0, 0, 0, loc)
}

// appliesTo reports whether q covers host h.
func (q Quota) appliesTo(mac string, h *store.Host) bool {
	switch {
	case mac == store.Unattributed:
		return false
	case q.Host == "*":
		return true
	case normalMAC(q.Host) != "":
		return normalMAC(q.Host) == mac
	}
	return h != nil && strings.EqualFold(h.Name, q.Host)
}

// accountQuotas adds what each host moved this sample to its quotas, and
// acts on those crossed: a block until the next period, or a warning, once
// per period. A block lifted by hand stays lifted for the period.
func (s *Sampler) accountQuotas(moved map[string]uint64, now time.Time) {
	st := s.State
	for _, q := range s.Config.Quotas {
		for mac, h := range st.Hosts {
			if !q.appliesTo(mac, h) {
				continue
			}
			key := store.QuotaKey(q.Name, mac)
			u := st.Quotas[key]
			period := PeriodStart(now, q.Period, q.Start)
			if u == nil || !u.Period.Equal(period) {
				u = &store.QuotaUse{Quota: q.Name, MAC: mac, Period: period}
				st.Quotas[key] = u
			}
			u.Bytes += moved[mac]
			if u.Bytes < q.Limit {
				continue
			}
			if u.Exceeded.IsZero() {
				u.Exceeded = now
				s.Logf("host %s (%s) crossed quota %s: %s of %s this %s; action %s", mac, h.Name, q.Name,
					HumanBytes(u.Bytes), HumanBytes(q.Limit), q.Period, q.Action)
			}
			if q.Action == "block" && !u.Waived {
				if b, ok := st.Blocks[mac]; !ok || b.Quota != "" && b.Until.Before(NextPeriod(now, q.Period, q.Start)) {
					st.Blocks[mac] = &store.Block{Target: mac, Created: now, Until: NextPeriod(now, q.Period, q.Start), Quota: q.Name,
						Reason: fmt.Sprintf("quota %s: %s of %s", q.Name, HumanBytes(u.Bytes), HumanBytes(q.Limit))}
				}
			}
		}
	}
	// Uses of quotas no longer configured go.
	for key, u := range st.Quotas {
		if !s.Config.hasQuota(u.Quota) {
			delete(st.Quotas, key)
		}
	}
}

// waiveQuota records that the quota block of mac was lifted by hand.
func (s *Sampler) waiveQuota(b *store.Block) {
	if b.Quota == "" {
		return
	}
	if u := s.State.Quotas[store.QuotaKey(b.Quota, b.Target)]; u != nil {
		u.Waived = true
	}
}

// quotaPercent is the highest use, in percent of its limit, of the quotas
// covering mac in their current period.
func quotaPercent(cfg *Config, st *store.State, mac string, now time.Time) *float64 {
	var best *float64
	for _, q := range cfg.Quotas {
		u := st.Quotas[store.QuotaKey(q.Name, mac)]
		if u == nil || !u.Period.Equal(PeriodStart(now, q.Period, q.Start)) {
			continue
		}
		p := float64(u.Bytes) * 100 / float64(q.Limit)
		if best == nil || p > *best {
			best = &p
		}
	}
	return best
}
