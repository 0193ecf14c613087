package store

import (
	"encoding/json"
	"sort"
	"time"
)

// Counts is a pair of packet and byte counts.
type Counts struct {
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

// Add returns c + d.
func (c Counts) Add(d Counts) Counts {
	return Counts{Packets: c.Packets + d.Packets, Bytes: c.Bytes + d.Bytes}
}

// Since returns c - start, what was counted after start; a start beyond c
// (never, as totals only grow) gives zero.
func (c Counts) Since(start Counts) Counts {
	if start.Packets > c.Packets || start.Bytes > c.Bytes {
		return Counts{}
	}
	return Counts{Packets: c.Packets - start.Packets, Bytes: c.Bytes - start.Bytes}
}

// A Baseline is the last kernel reading a total was brought up to, with what
// tells whether a later reading comes from the same counter: the generation
// of the rule (from its comment) and the kernel's boot id.
type Baseline struct {
	Generation string `json:"generation"`
	Boot       string `json:"boot"`
	Counts
}

// A Counter is the running total of one meter in one family, and the baseline
// that produced it. They are stored together, in one transaction, which is
// what makes a crash cost nothing: the next reading minus this baseline is
// exactly what the total is missing.
type Counter struct {
	Meter    string    `json:"meter"`
	Family   string    `json:"family"`
	Total    Counts    `json:"total"`
	Since    time.Time `json:"since"`
	Baseline Baseline  `json:"baseline"`
}

// CounterKey names the counter of meter m in family f ("ipv4", "ipv6").
func CounterKey(m, family string) string { return m + "/" + family }

// A Canary tracks the never-reached rule we install with a count of one at the
// end of each of our chains. Zeroing the chain (iptables -Z) sets it to zero,
// which nothing else can: that is how a zeroing followed by more traffic than
// the old totals is still seen.
type Canary struct {
	Generation string `json:"generation"`
	// Armed means this generation was seen at one packet, so a later zero is
	// a zeroing. It is cleared once a zeroing is accounted.
	Armed bool `json:"armed"`
}

// CanaryKey names the canary of chain in family ("ipv4", "ipv6").
func CanaryKey(family, chain string) string { return family + "/" + chain }

// Reset causes, as recorded in events.
const (
	CauseReboot      = "reboot"      // the kernel's boot id changed
	CauseZeroed      = "zeroed"      // someone zeroed our counters
	CauseReinstalled = "reinstalled" // our rules vanished and were put back
	CauseBogus       = "bogus"       // a delta beyond max_rate, dropped
	CauseDatabase    = "database"    // the database was damaged and started afresh
)

// An Event is a reset of a meter's counter: the kernel's count restarted, and
// counting went on from zero.
type Event struct {
	Time   time.Time `json:"time"`
	Cause  string    `json:"cause"`
	Meter  string    `json:"meter,omitempty"`
	Family string    `json:"family,omitempty"`
}

// MaxEvents bounds the events kept.
const MaxEvents = 256

// An Element is the baseline of one address in one of our ipsets: the
// counters the set held for it at the last sample, and the host it was
// credited to.
type Element struct {
	Counts
	Boot    string    `json:"boot"`
	MAC     string    `json:"mac,omitempty"`
	Changed time.Time `json:"changed"` // when its counters last grew
}

// Unattributed is the host key of traffic of addresses with no known MAC.
const Unattributed = "unattributed"

// A Host is one LAN device, keyed by MAC, with its totals. Download is what
// the router forwarded to it from outside the LAN, upload the reverse.
type Host struct {
	MAC       string    `json:"mac"`
	Name      string    `json:"name,omitempty"`
	Addresses []string  `json:"addresses"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	Usage
}

// Usage is what went each way: in all, and the totals as the day Day and
// the month Month began ("2026-11-25", "2026-11", local time): what moved
// today is the difference (Today). Kept as starts rather than as the day's
// own totals, a busy host's sample changes two counts of its row, not six,
// and the journal on flash holds only what changed.
type Usage struct {
	Download   Counts     `json:"download"`
	Upload     Counts     `json:"upload"`
	Day        string     `json:"day"`
	DayStart   Directions `json:"day_start"`
	Month      string     `json:"month"`
	MonthStart Directions `json:"month_start"`
}

// Directions are counts each way.
type Directions struct {
	Download Counts `json:"download"`
	Upload   Counts `json:"upload"`
}

// Add adds d in direction dir (DirDownload or DirUpload) on day, in
// month; a new day or month starts from the totals as they were.
func (u *Usage) Add(dir string, d Counts, day, month string) {
	if u.Day != day {
		u.Day, u.DayStart = day, Directions{u.Download, u.Upload}
	}
	if u.Month != month {
		u.Month, u.MonthStart = month, Directions{u.Download, u.Upload}
	}
	if dir == DirDownload {
		u.Download = u.Download.Add(d)
	} else {
		u.Upload = u.Upload.Add(d)
	}
}

// Today is what moved on the day Day.
func (u Usage) Today() Directions {
	return Directions{u.Download.Since(u.DayStart.Download), u.Upload.Since(u.DayStart.Upload)}
}

// ThisMonth is what moved in the month Month.
func (u Usage) ThisMonth() Directions {
	return Directions{u.Download.Since(u.MonthStart.Download), u.Upload.Since(u.MonthStart.Upload)}
}

// oldUsage is how Usage was written before the journal: the day's and the
// month's own totals.
type oldUsage struct {
	DayDownload   *Counts `json:"day_download"`
	DayUpload     *Counts `json:"day_upload"`
	MonthDownload *Counts `json:"month_download"`
	MonthUpload   *Counts `json:"month_upload"`
}

// readOld turns the day's and month's totals of a row written before the
// journal into starts. A row with none is left as it is.
func (u *Usage) readOld(raw []byte) error {
	var old oldUsage
	if err := json.Unmarshal(raw, &old); err != nil || old.DayDownload == nil {
		return err
	}
	c := func(p *Counts) Counts {
		if p == nil {
			return Counts{}
		}
		return *p
	}
	u.DayStart = Directions{u.Download.Since(c(old.DayDownload)), u.Upload.Since(c(old.DayUpload))}
	u.MonthStart = Directions{u.Download.Since(c(old.MonthDownload)), u.Upload.Since(c(old.MonthUpload))}
	return nil
}

// A ServiceUse is what one host moved on one service's ports (Service
// "other" is never stored: it is the host's total minus its services).
type ServiceUse struct {
	MAC     string `json:"mac"`
	Service string `json:"service"`
	Usage
}

// ServiceKey keys a host's use of a service.
func ServiceKey(mac, service string) string { return mac + "/" + service }

// A Block drops a host's forwarded traffic: Target is a MAC (all the host's
// addresses) or an address. A zero Until never expires.
//
// A block with a Rate is a throttle: only what the host downloads above
// Rate and uploads above RateUp (bits per second) is dropped. Both are
// set, or neither.
type Block struct {
	Target  string    `json:"target"`
	Quota   string    `json:"quota,omitempty"` // set when a quota put it there
	Created time.Time `json:"created"`
	Until   time.Time `json:"until,omitempty"`
	Reason  string    `json:"reason,omitempty"`
	Rate    uint64    `json:"rate,omitempty"`
	RateUp  uint64    `json:"rate_up,omitempty"`
}

// Throttles reports whether b slows its host instead of cutting it off.
func (b *Block) Throttles() bool { return b.Rate > 0 }

// A QuotaUse is what one host used of one quota in the period that began
// at Period.
type QuotaUse struct {
	Quota    string    `json:"quota"`
	MAC      string    `json:"mac"`
	Period   time.Time `json:"period"`
	Bytes    uint64    `json:"bytes"`
	Exceeded time.Time `json:"exceeded,omitempty"` // when it crossed the limit, this period
	Waived   bool      `json:"waived,omitempty"`   // unblocked by hand this period
	// Warned are the warn_at percents crossed this period: each is mailed
	// once.
	Warned []int `json:"warned,omitempty"`
}

// A Checkpoint is the totals at the end of the last since-last report: the
// next one shows what grew since. Totals are by series name (MeterSeries,
// HostSeries); ours only ever grow, so the difference is exact whatever
// resets happened in between.
type Checkpoint struct {
	Time   time.Time         `json:"time"`
	Totals map[string]Counts `json:"totals"`
}

// State is everything the agent keeps: totals with their baselines, canaries
// and reset events. The daemon holds it in memory and commits it as one batch.
type State struct {
	Boot string
	// BaselinesBehind says the element baselines were restored from a
	// journal record that left them out (Deferred): behind the totals
	// within the boot Boot names.
	BaselinesBehind bool
	Created         time.Time
	LastSample      time.Time
	Counters        map[string]*Counter
	Canaries        map[string]*Canary
	Events          []Event             // oldest first, at most MaxEvents
	Elements        map[string]*Element // "dl/ADDR" or "ul/ADDR"
	// ServiceElements are the service sets' elements, "dl/ADDR/tcp/443".
	ServiceElements map[string]*Element
	Services        map[string]*ServiceUse // ServiceKey(MAC, service)
	Hosts           map[string]*Host       // by MAC, and Unattributed
	Blocks          map[string]*Block      // by Target
	Quotas          map[string]*QuotaUse   // "QUOTA/MAC"
	// Imports are the periods of other tools' history filed into ours, by
	// ImportKey; never deleted.
	Imports map[string]*Import
	// Checkpoint is where the last `report --since-last` (or mail) ended;
	// nil before the first.
	Checkpoint *Checkpoint
	// Pending holds events not yet committed.
	Pending []Event
	// Deltas holds history not yet committed (history.go). A failed commit
	// keeps them for the next one.
	Deltas map[DeltaKey]Counts
	// ResetsSeen counts the events added since the state was loaded, by
	// cause (not stored: /metrics' counter of this process).
	ResetsSeen map[string]uint64
	// dirty marks a change since the last commit.
	dirty bool
}

// Touch marks the state changed.
func (s *State) Touch() { s.dirty = true }

// NewState returns an empty state.
func NewState() *State {
	return &State{Counters: map[string]*Counter{}, Canaries: map[string]*Canary{},
		Elements: map[string]*Element{}, Hosts: map[string]*Host{}, Blocks: map[string]*Block{},
		Quotas: map[string]*QuotaUse{}, ServiceElements: map[string]*Element{}, Services: map[string]*ServiceUse{},
		Imports: map[string]*Import{}}
}

// Dirty reports whether the state changed since MarkCommitted.
func (s *State) Dirty() bool { return s.dirty || len(s.Pending) > 0 || len(s.Deltas) > 0 }

// MarkCommitted records that the store now holds the state.
func (s *State) MarkCommitted() {
	s.dirty = false
	s.Pending = nil
	s.Deltas = nil
}

// AddEvent records e, keeping at most MaxEvents.
func (s *State) AddEvent(e Event) {
	if s.ResetsSeen == nil {
		s.ResetsSeen = map[string]uint64{}
	}
	s.ResetsSeen[e.Cause]++
	s.Events = append(s.Events, e)
	if len(s.Events) > MaxEvents {
		s.Events = s.Events[len(s.Events)-MaxEvents:]
	}
	s.Pending = append(s.Pending, e)
	if len(s.Pending) > MaxEvents { // commits failing: the store keeps no more either
		s.Pending = s.Pending[len(s.Pending)-MaxEvents:]
	}
	s.dirty = true
}

// LastReset returns the newest event for meter, or nil.
func (s *State) LastReset(meter string) *Event {
	for i := len(s.Events) - 1; i >= 0; i-- {
		if s.Events[i].Meter == meter {
			e := s.Events[i]
			return &e
		}
	}
	return nil
}

// MeterTotal sums a meter's counters over families; since is the earliest
// start, zero when the meter has no counter yet.
func (s *State) MeterTotal(meter string) (total Counts, since time.Time, perFamily map[string]Counts) {
	perFamily = map[string]Counts{}
	for _, c := range s.Counters {
		if c.Meter != meter {
			continue
		}
		total = total.Add(c.Total)
		perFamily[c.Family] = c.Total
		if since.IsZero() || c.Since.Before(since) {
			since = c.Since
		}
	}
	return total, since, perFamily
}

// SortedEvents returns events sorted by time, oldest first.
func SortedEvents(ev []Event) []Event {
	out := append([]Event(nil), ev...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}
