package account

import (
	"time"

	"github.com/netmon-agent/netmon-agent/store"
)

// History as the sampler files it. Every delta a sample adds to a total is
// also filed by time (store/history.go), unless:
//
//   - the clock is not believable yet: a router without a real-time clock
//     boots in 1970 or at its last shutdown, then jumps when NTP syncs.
//     Deltas wait in memory and are filed at the first believable sample,
//     never under 1970 or a stale date. Totals go on counting meanwhile.
//   - the delta is bogus: more than max_rate could have carried since the
//     previous reading. It is logged and dropped; the baseline moves on, so
//     counting resumes from the new reading.
//
// A clock that jumps forward files the sample's delta (real bytes) in the
// bucket of the new time: no enormous bucket appears, because buckets hold
// bytes, not time. A clock that steps back files into an earlier bucket and
// counts nothing twice: deltas come from counters, not from time.

// EarliestBelievable is the earliest time a clock may show and be believed:
// the date of this code. Tests and builds may move it.
var EarliestBelievable = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// believable reports whether now can be filed under.
func believable(now time.Time) bool { return !now.Before(EarliestBelievable) }

// fileDelta files d of series at now, or holds it while the clock is not
// believable.
func (s *Sampler) fileDelta(series string, now time.Time, d store.Counts) {
	if d.Packets == 0 && d.Bytes == 0 {
		return
	}
	if !believable(now) {
		if s.held == nil {
			s.held = map[string]store.Counts{}
		}
		s.held[series] = s.held[series].Add(d)
		return
	}
	s.State.AddDelta(series, now, d)
}

// fileHeld files what waited for a believable clock, at now.
func (s *Sampler) fileHeld(now time.Time) {
	if len(s.held) == 0 || !believable(now) {
		return
	}
	s.Logf("clock believable at %s: filing history held since start", now.Format(time.RFC3339))
	for series, d := range s.held {
		s.State.AddDelta(series, now, d)
	}
	s.held = nil
}

// bogus reports whether d is more than max_rate can carry in span (the time
// since the counter's previous reading; 0: unknown, nothing is bogus). A
// second of slack covers sampling jitter.
func (s *Sampler) bogus(d store.Counts, span time.Duration) bool {
	if span <= 0 || s.Config.MaxRate <= 0 {
		return false
	}
	return float64(d.Bytes)*8 > s.Config.MaxRate*(span+time.Second).Seconds()
}

// span is the time since the previous sample: by the monotonic clock within
// this process, else since the last sample stored (0 when unknown or the
// clock went back).
func (s *Sampler) span(now time.Time) time.Duration {
	var d time.Duration
	if !s.last.IsZero() {
		d = now.Sub(s.last)
	} else if !s.State.LastSample.IsZero() {
		d = now.Sub(s.State.LastSample)
	}
	if d < 0 {
		return 0
	}
	return d
}
