package report

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// /metrics, in Prometheus' text exposition format (version 0.0.4). The
// byte and packet counters are our totals, not the kernel's counters, so
// they only ever grow: across firewall reloads, zeroings, reboots and
// restarts of the daemon alike.

// Metrics is what /metrics shows: the totals, the hosts, the blocks and
// the daemon's own figures (nil where there are none).
type Metrics struct {
	Report *Report       `json:"report"`
	Hosts  *HostsReport  `json:"hosts"`
	Blocks *BlocksReport `json:"blocks"`
	Daemon *DaemonStats  `json:"daemon"`
}

// DaemonStats are the daemon's own figures.
type DaemonStats struct {
	Started time.Time `json:"started"`
	Samples int       `json:"samples"`
	// SampleSeconds is how long the last sample took.
	SampleSeconds float64 `json:"sample_seconds"`
	// Resets counts the reset events this daemon accounted, by cause.
	Resets map[string]uint64 `json:"resets"`
	// FlashBytes counts the bytes this daemon wrote to flash, by kind:
	// "snapshot" (full) and "journal" (records).
	FlashBytes map[string]uint64 `json:"flash_bytes,omitempty"`
}

// WriteMetrics writes the exposition of resp.
func WriteMetrics(w io.Writer, resp *Metrics) error {
	b := bufio.NewWriter(w)
	m := metricWriter{w: b}
	if r := resp.Report; r != nil {
		m.meters(r)
	}
	if h := resp.Hosts; h != nil && len(h.Hosts) > 0 {
		m.hosts(h.Hosts)
	}
	if bl := resp.Blocks; bl != nil {
		m.family("netmon_blocks", "gauge", "Blocks and throttles in force.")
		m.sample("netmon_blocks", nil, float64(len(bl.Blocks)))
	}
	if d := resp.Daemon; d != nil {
		m.daemon(d)
	}
	return b.Flush()
}

// meters writes each meter's totals and the last sample's time.
func (m metricWriter) meters(r *Report) {
	m.family("netmon_meter_bytes_total", "counter", "Bytes a meter counted since it began.")
	for _, mt := range r.Meters {
		m.sample("netmon_meter_bytes_total", labels{"meter", mt.Name}, float64(mt.Bytes))
	}
	m.family("netmon_meter_packets_total", "counter", "Packets a meter counted since it began.")
	for _, mt := range r.Meters {
		m.sample("netmon_meter_packets_total", labels{"meter", mt.Name}, float64(mt.Packets))
	}
	if r.LastSample != nil {
		m.family("netmon_last_sample_timestamp_seconds", "gauge", "When the counters were last read, in Unix seconds.")
		m.sample("netmon_last_sample_timestamp_seconds", nil, float64(r.LastSample.UnixNano())/1e9)
	}
}

// hosts writes each host's totals, rates, block, throttle and quota use,
// in MAC order.
func (m metricWriter) hosts(all []HostReport) {
	hosts := append([]HostReport(nil), all...)
	sort.Slice(hosts, func(i, j int) bool { return hosts[i].MAC < hosts[j].MAC })
	hostLabels := func(x HostReport, dir string) labels {
		l := labels{"host", hostName(x), "mac", x.MAC}
		if dir != "" {
			l = append(l, "direction", dir)
		}
		return l
	}
	m.family("netmon_host_bytes_total", "counter", "Bytes the router forwarded to (download) or from (upload) a LAN host since it was first seen.")
	for _, x := range hosts {
		m.sample("netmon_host_bytes_total", hostLabels(x, "download"), float64(x.DownloadBytes))
		m.sample("netmon_host_bytes_total", hostLabels(x, "upload"), float64(x.UploadBytes))
	}
	m.family("netmon_host_packets_total", "counter", "Packets the router forwarded to or from a LAN host since it was first seen.")
	for _, x := range hosts {
		m.sample("netmon_host_packets_total", hostLabels(x, "download"), float64(x.DownloadPackets))
		m.sample("netmon_host_packets_total", hostLabels(x, "upload"), float64(x.UploadPackets))
	}
	m.family("netmon_host_rate_bytes_per_second", "gauge", "A host's rate over the last two samples.")
	for _, x := range hosts {
		m.sample("netmon_host_rate_bytes_per_second", hostLabels(x, "download"), x.DownloadRate)
		m.sample("netmon_host_rate_bytes_per_second", hostLabels(x, "upload"), x.UploadRate)
	}
	m.family("netmon_host_blocked", "gauge", "1 while a block drops the host's forwarded traffic.")
	for _, x := range hosts {
		m.sample("netmon_host_blocked", hostLabels(x, ""), boolValue(x.Blocked))
	}
	m.family("netmon_host_throttle_bits_per_second", "gauge", "A throttled host's rate, bits per second; hosts not throttled have none.")
	for _, x := range hosts {
		if x.Throttled {
			m.sample("netmon_host_throttle_bits_per_second", hostLabels(x, "download"), float64(x.ThrottleRate))
			m.sample("netmon_host_throttle_bits_per_second", hostLabels(x, "upload"), float64(x.ThrottleRateUp))
		}
	}
	m.family("netmon_host_quota_use_ratio", "gauge", "The highest share of its quotas a host used this period (1 is the limit).")
	for _, x := range hosts {
		if x.QuotaPercent != nil {
			m.sample("netmon_host_quota_use_ratio", hostLabels(x, ""), *x.QuotaPercent/100)
		}
	}
}

// daemon writes the daemon's own figures.
func (m metricWriter) daemon(d *DaemonStats) {
	m.family("netmon_samples_total", "counter", "Samples this daemon took.")
	m.sample("netmon_samples_total", nil, float64(d.Samples))
	m.family("netmon_sample_duration_seconds", "gauge", "How long the last sample took, iptables and nft included.")
	m.sample("netmon_sample_duration_seconds", nil, d.SampleSeconds)
	m.family("netmon_resets_total", "counter", "Counter resets this daemon accounted (reboot, zeroed, reinstalled, bogus, database), by cause.")
	m.byLabel("netmon_resets_total", "cause", d.Resets)
	m.family("netmon_flash_written_bytes_total", "counter", "Bytes this daemon wrote to flash: full snapshots and journal records.")
	m.byLabel("netmon_flash_written_bytes_total", "kind", map[string]uint64{"snapshot": d.FlashBytes["snapshot"], "journal": d.FlashBytes["journal"]})
	m.family("netmon_daemon_start_timestamp_seconds", "gauge", "When this daemon started, in Unix seconds.")
	m.sample("netmon_daemon_start_timestamp_seconds", nil, float64(d.Started.Unix()))
}

// byLabel writes a sample of name per key of values, in key order.
func (m metricWriter) byLabel(name, label string, values map[string]uint64) {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		m.sample(name, labels{label, k}, float64(values[k]))
	}
}

func hostName(h HostReport) string {
	if h.Name != "" {
		return h.Name
	}
	return h.MAC
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// labels are name, value pairs.
type labels []string

type metricWriter struct{ w *bufio.Writer }

func (m metricWriter) family(name, typ, help string) {
	fmt.Fprintf(m.w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
}

func (m metricWriter) sample(name string, l labels, v float64) {
	m.w.WriteString(name)
	if len(l) > 0 {
		m.w.WriteByte('{')
		for i := 0; i+1 < len(l); i += 2 {
			if i > 0 {
				m.w.WriteByte(',')
			}
			m.w.WriteString(l[i])
			m.w.WriteString(`="`)
			m.w.WriteString(labelEscaper.Replace(l[i+1]))
			m.w.WriteByte('"')
		}
		m.w.WriteByte('}')
	}
	m.w.WriteByte(' ')
	m.w.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
	m.w.WriteByte('\n')
}

// labelEscaper escapes a label value as the format asks: a host names
// itself, so its name may hold anything.
var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
