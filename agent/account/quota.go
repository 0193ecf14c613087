package account

import (
	"fmt"
	"math/bits"
	"slices"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/units"
	"github.com/netmon-agent/netmon-agent/store"
)

// accountQuotas adds what each host moved this sample to its quotas, and
// acts on those crossed: a block or a throttle until the next period, or a
// warning, once per period. A block or throttle lifted by hand stays lifted
// for the period.
func (s *Sampler) accountQuotas(moved map[string]uint64, now time.Time) {
	st := s.State
	for _, q := range s.Config.Quotas {
		for mac, h := range st.Hosts {
			if !q.AppliesTo(mac, h) {
				continue
			}
			key := store.QuotaKey(q.Name, mac)
			u := st.Quotas[key]
			period := config.PeriodStart(now, q.Period, q.Start)
			if u == nil || !u.Period.Equal(period) {
				u = s.newQuotaUse(q.Name, mac, period, moved[mac])
				st.Quotas[key] = u
			} else {
				u.Bytes += moved[mac]
			}
			s.warnQuota(q, u, mac, h, now)
			if u.Bytes < q.Limit {
				continue
			}
			if u.Exceeded.IsZero() {
				u.Exceeded = now
				s.Logf("host %s (%s) crossed quota %s: %s of %s this %s; action %s", mac, h.Name, q.Name,
					units.FormatBytes(u.Bytes), units.FormatBytes(q.Limit), q.Period, q.Action)
			}
			if (q.Action == "block" || q.Action == "throttle") && !u.Waived {
				if b, ok := st.Blocks[mac]; !ok || b.Quota != "" && b.Until.Before(config.NextPeriod(now, q.Period, q.Start)) {
					st.Blocks[mac] = &store.Block{Target: mac, Created: now, Until: config.NextPeriod(now, q.Period, q.Start), Quota: q.Name,
						Reason: fmt.Sprintf("quota %s: %s of %s", q.Name, units.FormatBytes(u.Bytes), units.FormatBytes(q.Limit)),
						Rate:   q.Rate, RateUp: q.RateUp}
				}
			}
		}
	}
	// Uses of quotas no longer configured go.
	for key, u := range st.Quotas {
		if !s.Config.HasQuota(u.Quota) {
			delete(st.Quotas, key)
		}
	}
}

// newQuotaUse starts the use of quota by host mac in the period that
// began at period: what the host moved since then by history (a quota
// configured mid-period counts what came before it), or this sample's
// bytes where there is no history to ask.
func (s *Sampler) newQuotaUse(quota, mac string, period time.Time, moved uint64) *store.QuotaUse {
	u := &store.QuotaUse{Quota: quota, MAC: mac, Period: period, Bytes: moved}
	if s.Used == nil {
		return u
	}
	used, err := s.Used(mac, period)
	if err != nil {
		s.Logf("quota %s of %s: history unreadable, counting from now: %v", quota, mac, err)
		return u
	}
	u.Bytes = used
	return u
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

// A QuotaWarning is a host crossing one of a quota's warn_at thresholds.
type QuotaWarning struct {
	Quota   string
	MAC     string
	Name    string // the host's name, if it has one
	Percent int    // the threshold crossed
	Bytes   uint64 // used this period
	Limit   uint64
	Period  string // "day" or "month"
	Time    time.Time
}

// warnQuota records each warn_at threshold u has newly crossed this period
// and hands it to Warn, once: the record goes to the database with the
// use, so neither a restart nor a reload warns again.
func (s *Sampler) warnQuota(q config.Quota, u *store.QuotaUse, mac string, h *store.Host, now time.Time) {
	for _, pct := range q.WarnAt {
		if !crossed(u.Bytes, q.Limit, pct) || slices.Contains(u.Warned, pct) {
			continue
		}
		u.Warned = append(u.Warned, pct)
		w := QuotaWarning{Quota: q.Name, MAC: mac, Percent: pct, Bytes: u.Bytes, Limit: q.Limit, Period: q.Period, Time: now}
		if h != nil {
			w.Name = h.Name
		}
		s.Logf("host %s (%s) reached %d%% of quota %s: %s of %s this %s", mac, w.Name, pct, q.Name,
			units.FormatBytes(u.Bytes), units.FormatBytes(q.Limit), q.Period)
		if s.Warn != nil {
			s.Warn(w)
		}
	}
}

// crossed reports whether used is at least pct percent of limit, exactly:
// in 128 bits, so no limit overflows.
func crossed(used, limit uint64, pct int) bool {
	uh, ul := bits.Mul64(used, 100)
	lh, ll := bits.Mul64(limit, uint64(pct))
	return uh > lh || uh == lh && ul >= ll
}
