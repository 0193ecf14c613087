package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/account"
	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/netfilter"
	"github.com/netmon-agent/netmon-agent/agent/units"
	"github.com/netmon-agent/netmon-agent/store"
)

// A Report is what `netmon-agent report` shows. Its JSON field names are a
// contract (README, "JSON output").
type Report struct {
	Generated  time.Time     `json:"generated"`
	LastSample *time.Time    `json:"last_sample"`
	Source     string        `json:"source"` // daemon, database or snapshot
	Meters     []MeterReport `json:"meters"`
	// Hosts is all hosts together since the first was seen; null while
	// per-host accounting has seen none.
	Hosts  *HostsTotal   `json:"hosts"`
	Resets []store.Event `json:"resets"` // the latest reset events, oldest first
	// Usage is today, yesterday, this and last billing month per meter and
	// for all hosts, from the history (usage.go).
	Usage []Usage `json:"usage"`
	// Flood is the daemon's flood of addresses that are no host's, in
	// progress or the last one it saw; omitted when none was.
	Flood *account.Flood `json:"flood,omitempty"`
}

// A MeterReport is one meter's totals since it first counted.
type MeterReport struct {
	Name      string        `json:"name"`
	Chain     string        `json:"chain"`
	Bytes     uint64        `json:"bytes"`
	Packets   uint64        `json:"packets"`
	Since     *time.Time    `json:"since"` // null until the meter first counted
	IPv4      *store.Counts `json:"ipv4,omitempty"`
	IPv6      *store.Counts `json:"ipv6,omitempty"`
	LastReset *store.Event  `json:"last_reset"`
}

// A HostsTotal is every host's traffic together.
type HostsTotal struct {
	DownloadBytes uint64    `json:"download_bytes"`
	UploadBytes   uint64    `json:"upload_bytes"`
	Since         time.Time `json:"since"` // when the first host was seen
}

// reportResets is how many of the latest reset events a report lists.
const reportResets = 10

// BuildReport builds the report of the configured meters from st.
func BuildReport(cfg *config.Config, st *store.State, now time.Time, source string) *Report {
	r := &Report{Generated: now.UTC(), Source: source, Meters: []MeterReport{}, Resets: []store.Event{}, Usage: []Usage{}}
	if !st.LastSample.IsZero() {
		t := st.LastSample.UTC()
		r.LastSample = &t
	}
	for _, m := range cfg.Meters {
		total, since, fams := st.MeterTotal(m.Name)
		mr := MeterReport{Name: m.Name, Chain: m.Chain, Bytes: total.Bytes, Packets: total.Packets, LastReset: st.LastReset(m.Name)}
		if !since.IsZero() {
			t := since.UTC()
			mr.Since = &t
		}
		if c, ok := fams[netfilter.IPv4.String()]; ok {
			mr.IPv4 = &c
		}
		if c, ok := fams[netfilter.IPv6.String()]; ok {
			mr.IPv6 = &c
		}
		r.Meters = append(r.Meters, mr)
	}
	for _, h := range st.Hosts {
		if r.Hosts == nil {
			r.Hosts = &HostsTotal{Since: h.FirstSeen.UTC()}
		}
		r.Hosts.DownloadBytes += h.Download.Bytes
		r.Hosts.UploadBytes += h.Upload.Bytes
		if h.FirstSeen.Before(r.Hosts.Since) {
			r.Hosts.Since = h.FirstSeen.UTC()
		}
	}
	ev := store.SortedEvents(st.Events)
	if len(ev) > reportResets {
		ev = ev[len(ev)-reportResets:]
	}
	r.Resets = append(r.Resets, ev...)
	return r
}

// recentReset is how long after a reset the report shows the banner.
const recentReset = 24 * time.Hour

// WriteText prints the report for a terminal, within 80 columns.
func (r *Report) WriteText(w io.Writer, loc *time.Location) error {
	var b strings.Builder
	stamp := func(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04") }
	last := "never"
	if r.LastSample != nil {
		last = r.LastSample.In(loc).Format("2006-01-02 15:04:05")
	}
	fmt.Fprintf(&b, "netmon-agent report, last sample %s (%s)\n\n", last, r.Source)
	if len(r.Meters) == 0 && r.Hosts == nil {
		b.WriteString("No meters configured.\n")
	} else {
		// Packets are left to --json: the line stays within 80 columns.
		fmt.Fprintf(&b, "%-16s %12s  %-16s  %s\n", "METER", "TOTAL", "SINCE", "LAST RESET")
		for _, m := range r.Meters {
			since, reset := "-", "-"
			if m.Since != nil {
				since = stamp(*m.Since)
			}
			if m.LastReset != nil {
				reset = stamp(m.LastReset.Time) + " " + m.LastReset.Cause
			}
			fmt.Fprintf(&b, "%-16s %12s  %-16s  %s\n", m.Name, units.FormatBytes(m.Bytes), since, reset)
		}
	}
	if h := r.Hosts; h != nil {
		fmt.Fprintf(&b, "%-16s %12s  %-16s\n", "all hosts", units.FormatBytes(h.DownloadBytes+h.UploadBytes), stamp(h.Since))
	}
	writeUsage(&b, r.Usage, loc)
	if n := len(r.Resets); n > 0 {
		e := r.Resets[n-1]
		if r.Generated.Sub(e.Time) < recentReset {
			fmt.Fprintf(&b, "\nRESET DETECTED %s: %s", stamp(e.Time), describeCause(e.Cause))
			if e.Meter != "" {
				fmt.Fprintf(&b, " (meter %s, %s)", e.Meter, e.Family)
			}
			b.WriteString("; counting went on from zero.\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func describeCause(c string) string {
	switch c {
	case store.CauseReboot:
		return "the router rebooted"
	case store.CauseZeroed:
		return "counters were zeroed by someone else"
	case store.CauseReinstalled:
		return "our rules had vanished and were reinstalled"
	case store.CauseBogus:
		return "a delta beyond max_rate was dropped"
	case store.CauseDatabase:
		return "the database was damaged and started afresh (the damaged file is kept beside it)"
	}
	return c
}
