package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/units"
	"github.com/netmon-agent/netmon-agent/store"
)

// The since-last report is the classic periodic report (and the mail's
// body): what each meter and each host used between the previous one and
// now, the totals with the date they count from, and "== RESET DETECTED! =="
// when a counter reset in between. Its checkpoint, the totals it ended at,
// lives in the database; `report --since-last` moves it at once, `mail`
// only once the message is sent.

// A SinceLastReport is one since-last report. Its JSON field names are a
// contract (README, "JSON output").
type SinceLastReport struct {
	Generated time.Time `json:"generated"`
	// From is the previous report's end, or when counting began for the
	// first report.
	From          time.Time         `json:"from"`
	To            time.Time         `json:"to"`
	First         bool              `json:"first"` // no earlier report: From is when counting began
	Source        string            `json:"source"`
	Meters        []SinceLastMeter  `json:"meters"`
	HostsDownload uint64            `json:"hosts_download_bytes"`
	HostsUpload   uint64            `json:"hosts_upload_bytes"`
	Hosts         []SinceLastHost   `json:"hosts"`          // hosts that moved, busiest first
	ResetDetected bool              `json:"reset_detected"` // a counter restarted between From and To
	Events        []store.Event     `json:"events"`         // resets and dropped bogus deltas in the period
	Checkpoint    *store.Checkpoint `json:"checkpoint"`     // what moving the checkpoint stores
	HostsSince    *time.Time        `json:"hosts_since"`    // when the first host was seen
	HostsTotal    uint64            `json:"hosts_total_bytes"`
}

// A SinceLastMeter is one meter's line: bytes in the period, and its total
// since it first counted.
type SinceLastMeter struct {
	Name         string     `json:"name"`
	Bytes        uint64     `json:"bytes"`
	Packets      uint64     `json:"packets"`
	TotalBytes   uint64     `json:"total_bytes"`
	TotalPackets uint64     `json:"total_packets"`
	Since        *time.Time `json:"since"`
}

// A SinceLastHost is one host's line.
type SinceLastHost struct {
	MAC           string `json:"mac"`
	Name          string `json:"name"`
	DownloadBytes uint64 `json:"download_bytes"`
	UploadBytes   uint64 `json:"upload_bytes"`
}

// Totals returns every series' total in st, by series name: the
// checkpoint a since-last report taken now would store.
func Totals(cfg *config.Config, st *store.State) map[string]store.Counts {
	t := map[string]store.Counts{}
	for _, m := range cfg.Meters {
		total, _, _ := st.MeterTotal(m.Name)
		t[store.MeterSeries(m.Name)] = total
	}
	for mac, h := range st.Hosts {
		t[store.HostSeries(mac, store.DirDownload)] = h.Download
		t[store.HostSeries(mac, store.DirUpload)] = h.Upload
	}
	return t
}

// Grown is now minus then; a total below the checkpoint (a database that
// was started afresh) counts from zero.
func Grown(now, then store.Counts) store.Counts {
	if now.Bytes < then.Bytes || now.Packets < then.Packets {
		return now
	}
	return store.Counts{Packets: now.Packets - then.Packets, Bytes: now.Bytes - then.Bytes}
}

// BuildSinceLast builds the since-last report of st at now.
func BuildSinceLast(cfg *config.Config, st *store.State, now time.Time, source string) *SinceLastReport {
	totals := Totals(cfg, st)
	r := &SinceLastReport{Generated: now.UTC(), To: now.UTC(), Source: source, Meters: []SinceLastMeter{},
		Hosts: []SinceLastHost{}, Events: []store.Event{},
		Checkpoint: &store.Checkpoint{Time: now.UTC(), Totals: totals}}
	then := map[string]store.Counts{}
	if cp := st.Checkpoint; cp != nil {
		r.From, then = cp.Time.UTC(), cp.Totals
	} else {
		r.First = true
		r.From = st.Created.UTC()
	}
	for _, m := range cfg.Meters {
		total, since, _ := st.MeterTotal(m.Name)
		d := Grown(total, then[store.MeterSeries(m.Name)])
		line := SinceLastMeter{Name: m.Name, Bytes: d.Bytes, Packets: d.Packets, TotalBytes: total.Bytes, TotalPackets: total.Packets}
		if !since.IsZero() {
			t := since.UTC()
			line.Since = &t
			if r.First && (r.From.IsZero() || t.Before(r.From)) {
				r.From = t
			}
		}
		r.Meters = append(r.Meters, line)
	}
	for mac, h := range st.Hosts {
		dl := Grown(h.Download, then[store.HostSeries(mac, store.DirDownload)])
		ul := Grown(h.Upload, then[store.HostSeries(mac, store.DirUpload)])
		r.HostsTotal += h.Download.Bytes + h.Upload.Bytes
		if !h.FirstSeen.IsZero() && (r.HostsSince == nil || h.FirstSeen.Before(*r.HostsSince)) {
			t := h.FirstSeen.UTC()
			r.HostsSince = &t
		}
		if dl.Bytes+ul.Bytes == 0 {
			continue
		}
		r.HostsDownload += dl.Bytes
		r.HostsUpload += ul.Bytes
		r.Hosts = append(r.Hosts, SinceLastHost{MAC: mac, Name: h.Name, DownloadBytes: dl.Bytes, UploadBytes: ul.Bytes})
	}
	sort.Slice(r.Hosts, func(i, j int) bool {
		a, b := r.Hosts[i], r.Hosts[j]
		if ta, tb := a.DownloadBytes+a.UploadBytes, b.DownloadBytes+b.UploadBytes; ta != tb {
			return ta > tb
		}
		return a.MAC < b.MAC
	})
	for _, e := range store.SortedEvents(st.Events) {
		if e.Time.After(r.From) && !e.Time.After(now) {
			r.Events = append(r.Events, e)
			if e.Cause != store.CauseBogus {
				r.ResetDetected = true
			}
		}
	}
	return r
}

// sinceLastHosts is how many hosts the text report lists.
const sinceLastHosts = 10

// WriteText prints the report for a terminal or a mail's text part.
func (r *SinceLastReport) WriteText(w io.Writer, loc *time.Location) error {
	var b strings.Builder
	stamp := func(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04") }
	from := stamp(r.From)
	if r.From.IsZero() {
		from = "the start"
	}
	fmt.Fprintf(&b, "Network usage from %s to %s", from, stamp(r.To))
	if r.First {
		b.WriteString(" (first report: since counting began)")
	}
	b.WriteString("\n")
	if r.ResetDetected {
		b.WriteString("\n== RESET DETECTED! ==\n")
	}
	for _, e := range r.Events {
		fmt.Fprintf(&b, "%s  %s", stamp(e.Time), describeCause(e.Cause))
		if e.Meter != "" {
			fmt.Fprintf(&b, " (meter %s, %s)", e.Meter, e.Family)
		}
		b.WriteString("\n")
	}
	if r.ResetDetected {
		b.WriteString("Counting went on from zero; the figures below include the traffic on both sides.\n")
	}
	fmt.Fprintf(&b, "\n%-16s %12s %12s  %s\n", "METER", "THIS PERIOD", "TOTAL", "COUNTING SINCE")
	for _, m := range r.Meters {
		since := "-"
		if m.Since != nil {
			since = stamp(*m.Since)
		}
		fmt.Fprintf(&b, "%-16s %12s %12s  %s\n", m.Name, units.FormatBytes(m.Bytes), units.FormatBytes(m.TotalBytes), since)
	}
	if r.HostsSince != nil {
		fmt.Fprintf(&b, "%-16s %12s %12s  %s\n", "all hosts", units.FormatBytes(r.HostsDownload+r.HostsUpload),
			units.FormatBytes(r.HostsTotal), stamp(*r.HostsSince))
	}
	if len(r.Hosts) > 0 {
		fmt.Fprintf(&b, "\n%-24s %12s %12s %12s\n", "HOST", "DOWNLOAD", "UPLOAD", "TOTAL")
		for i, h := range r.Hosts {
			if i == sinceLastHosts {
				fmt.Fprintf(&b, "... and %d more\n", len(r.Hosts)-i)
				break
			}
			fmt.Fprintf(&b, "%-24s %12s %12s %12s\n", hostLabel(h.Name, h.MAC, 24), units.FormatBytes(h.DownloadBytes),
				units.FormatBytes(h.UploadBytes), units.FormatBytes(h.DownloadBytes+h.UploadBytes))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// hostLabel is a host's name for a column of width: the name, else the MAC.
func hostLabel(name, mac string, width int) string {
	if name == "" {
		name = mac
	}
	if r := []rune(name); len(r) > width {
		name = string(r[:width-1]) + "~"
	}
	return name
}
