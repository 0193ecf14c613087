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

// A ServicesReport is every host's usage by service (hosts --services) and
// all hosts' together (report --services). Each host's services, "other"
// included, add up to its totals exactly: other is what is left.
type ServicesReport struct {
	Generated time.Time      `json:"generated"`
	Source    string         `json:"source"`
	All       []ServiceUsage `json:"all"`
	Hosts     []HostServices `json:"hosts"`
}

// HostServices is one host's services, busiest first, other last.
type HostServices struct {
	MAC      string         `json:"mac"`
	Name     string         `json:"name"`
	Services []ServiceUsage `json:"services"`
}

// A ServiceUsage is what a service carried: all time, today and this month.
type ServiceUsage struct {
	Name            string `json:"name"`
	DownloadBytes   uint64 `json:"download_bytes"`
	UploadBytes     uint64 `json:"upload_bytes"`
	DownloadPackets uint64 `json:"download_packets"`
	UploadPackets   uint64 `json:"upload_packets"`
	TodayDownload   uint64 `json:"today_download_bytes"`
	TodayUpload     uint64 `json:"today_upload_bytes"`
	MonthDownload   uint64 `json:"month_download_bytes"`
	MonthUpload     uint64 `json:"month_upload_bytes"`
}

func (u *ServiceUsage) add(o ServiceUsage) {
	u.DownloadBytes += o.DownloadBytes
	u.UploadBytes += o.UploadBytes
	u.DownloadPackets += o.DownloadPackets
	u.UploadPackets += o.UploadPackets
	u.TodayDownload += o.TodayDownload
	u.TodayUpload += o.TodayUpload
	u.MonthDownload += o.MonthDownload
	u.MonthUpload += o.MonthUpload
}

// sub takes o from u, never below zero: the services of a host never
// carry more than the host.
func (u *ServiceUsage) sub(o ServiceUsage) {
	s := func(a, b uint64) uint64 { return a - min(a, b) }
	u.DownloadBytes, u.UploadBytes = s(u.DownloadBytes, o.DownloadBytes), s(u.UploadBytes, o.UploadBytes)
	u.DownloadPackets, u.UploadPackets = s(u.DownloadPackets, o.DownloadPackets), s(u.UploadPackets, o.UploadPackets)
	u.TodayDownload, u.TodayUpload = s(u.TodayDownload, o.TodayDownload), s(u.TodayUpload, o.TodayUpload)
	u.MonthDownload, u.MonthUpload = s(u.MonthDownload, o.MonthDownload), s(u.MonthUpload, o.MonthUpload)
}

func (u ServiceUsage) total() uint64 { return u.DownloadBytes + u.UploadBytes }

// BuildServices builds the report from st; host, when not "", keeps only
// that MAC.
func BuildServices(st *store.State, now time.Time, source, host string) *ServicesReport {
	r := &ServicesReport{Generated: now.UTC(), Source: source, All: []ServiceUsage{}, Hosts: []HostServices{}}
	day, month := now.Format("2006-01-02"), now.Format("2006-01")
	byHost := map[string][]ServiceUsage{}
	for _, u := range st.Services {
		byHost[u.MAC] = append(byHost[u.MAC], usageOf(u.Service, u.Usage, day, month))
	}
	all := map[string]*ServiceUsage{}
	for mac, h := range st.Hosts {
		if host != "" && mac != host {
			continue
		}
		other := usageOf(config.OtherService, h.Usage, day, month)
		svcs := byHost[mac]
		for _, x := range svcs {
			other.sub(x)
		}
		sort.Slice(svcs, func(i, j int) bool {
			if a, b := svcs[i].total(), svcs[j].total(); a != b {
				return a > b
			}
			return svcs[i].Name < svcs[j].Name
		})
		svcs = append(svcs, other)
		for _, x := range svcs {
			if all[x.Name] == nil {
				all[x.Name] = &ServiceUsage{Name: x.Name}
			}
			all[x.Name].add(x)
		}
		r.Hosts = append(r.Hosts, HostServices{MAC: mac, Name: h.Name, Services: svcs})
	}
	sort.Slice(r.Hosts, func(i, j int) bool {
		a, b := st.Hosts[r.Hosts[i].MAC], st.Hosts[r.Hosts[j].MAC]
		if ta, tb := a.Download.Bytes+a.Upload.Bytes, b.Download.Bytes+b.Upload.Bytes; ta != tb {
			return ta > tb
		}
		return r.Hosts[i].MAC < r.Hosts[j].MAC
	})
	for _, x := range all {
		r.All = append(r.All, *x)
	}
	sort.Slice(r.All, func(i, j int) bool {
		if (r.All[i].Name == config.OtherService) != (r.All[j].Name == config.OtherService) {
			return r.All[j].Name == config.OtherService
		}
		if a, b := r.All[i].total(), r.All[j].total(); a != b {
			return a > b
		}
		return r.All[i].Name < r.All[j].Name
	})
	return r
}

// usageOf is u as the report shows it: today and this month only if u's
// day and month are now's.
func usageOf(name string, u store.Usage, day, month string) ServiceUsage {
	x := ServiceUsage{Name: name, DownloadBytes: u.Download.Bytes, UploadBytes: u.Upload.Bytes,
		DownloadPackets: u.Download.Packets, UploadPackets: u.Upload.Packets}
	if u.Day == day {
		today := u.Today()
		x.TodayDownload, x.TodayUpload = today.Download.Bytes, today.Upload.Bytes
	}
	if u.Month == month {
		m := u.ThisMonth()
		x.MonthDownload, x.MonthUpload = m.Download.Bytes, m.Upload.Bytes
	}
	return x
}

// WriteHosts prints each host's services.
func (r *ServicesReport) WriteHosts(w io.Writer) error {
	var b strings.Builder
	for i, h := range r.Hosts {
		if i > 0 {
			b.WriteString("\n")
		}
		name := h.Name
		if name == "" {
			name = "-"
		}
		fmt.Fprintf(&b, "%s (%s)\n", name, h.MAC)
		writeServiceRows(&b, h.Services)
	}
	if len(r.Hosts) == 0 {
		b.WriteString("No hosts seen yet.\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteAll prints all hosts' services together.
func (r *ServicesReport) WriteAll(w io.Writer) error {
	var b strings.Builder
	b.WriteString("All hosts by service\n")
	writeServiceRows(&b, r.All)
	_, err := io.WriteString(w, b.String())
	return err
}

func writeServiceRows(b *strings.Builder, rows []ServiceUsage) {
	fmt.Fprintf(b, "  %-16s %11s %11s %11s %11s\n", "SERVICE", "DOWN", "UP", "TODAY", "MONTH")
	for _, x := range rows {
		fmt.Fprintf(b, "  %-16.16s %11s %11s %11s %11s\n", x.Name, units.FormatBytes(x.DownloadBytes), units.FormatBytes(x.UploadBytes),
			units.FormatBytes(x.TodayDownload+x.TodayUpload), units.FormatBytes(x.MonthDownload+x.MonthUpload))
	}
}
