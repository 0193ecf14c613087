package main

import (
	"fmt"
	"strings"
	"testing"
)

// serviceOracles count, in the router, what LAN host h receives from and
// sends to the lab's internet by remote port, as the router's service sets
// should: "svc-NAME-dl|ul-H".
var serviceOracles = []struct {
	name, proto, port string
}{
	{"https", "tcp", "443"},
	{"quic", "udp", "443"},
	{"alt", "tcp", "8080"},
}

func (l *lab) serviceOracle(h string) {
	l.t.Helper()
	port := "lan" + h
	for _, n := range labNets {
		for _, o := range serviceOracles {
			l.addOracle("bridge out", fmt.Sprintf("oifname %q %s saddr != %s %s saddr %s %s sport %s", port, n.ip, n.lan, n.ip, n.lab, o.proto, o.port), "svc-"+o.name+"-dl-"+h)
			l.addOracle("bridge in", fmt.Sprintf("iifname %q %s daddr != %s %s daddr %s %s dport %s", port, n.ip, n.lan, n.ip, n.lab, o.proto, o.port), "svc-"+o.name+"-ul-"+h)
		}
	}
}

type servicesJSON struct {
	Hosts []struct {
		MAC      string `json:"mac"`
		Services []struct {
			Name            string `json:"name"`
			DownloadBytes   uint64 `json:"download_bytes"`
			UploadBytes     uint64 `json:"upload_bytes"`
			DownloadPackets uint64 `json:"download_packets"`
			UploadPackets   uint64 `json:"upload_packets"`
		} `json:"services"`
	} `json:"hosts"`
}

// Host a pulls over TCP 443 (both families), UDP 443 and TCP 8080 (a
// configured service), and moves other traffic; each service's bytes and
// packets, both ways, equal a's own counters for that port, other equals
// the rest of what a's counters saw, and all of them add up to a's total.
func TestLab_ServicesMatchTheHostsOwnCounters(t *testing.T) {
	forEachHostSets(t, func(t *testing.T, l *lab) {
		l.writeConfig(labMeters + "\nconfig service 'alt'\n\tlist port 'tcp/8080'\n")
		l.hostOracle("a")
		l.serviceOracle("a")
		l.startServer("i", "source", "443")
		l.startServer("i", "source", "8080")
		l.startDaemon()
		l.goodput("a", "198.19.0.2:443", "0s", "50ms")
		l.goodput("a", "[2001:db8:ff::2]:443", "0s", "50ms")
		l.goodput("a", "198.19.0.2:8080", "0s", "50ms")
		l.helper("i", "udpfrom", "198.19.0.2:443", "198.18.1.2:5000", "700", "20") // quic down; a answers port unreachable: other
		l.helper("a", "udp", "198.19.0.2:443", "5", "300")                         // quic up; i answers port unreachable: other
		l.helper("a", "tcp", "198.19.0.2:7000", "50000")                           // other
		l.must("a", "ping", "-q", "-c", "2", "-i", "0.01", "2001:db8:ff::2")       // other
		settle()
		l.agent("sample")

		oracle := l.oracleReadings()
		var got servicesJSON
		l.agentJSON(&got, "hosts", "--services", "--json", macA)
		if len(got.Hosts) != 1 {
			t.Fatalf("hosts --services %s: %+v", macA, got)
		}
		sum := map[string]uint64{}
		seen := map[string]bool{}
		for _, s := range got.Hosts[0].Services {
			seen[s.Name] = true
			sum["dl"] += s.DownloadBytes
			sum["ul"] += s.UploadBytes
			sum["dlp"] += s.DownloadPackets
			sum["ulp"] += s.UploadPackets
			want := [4]uint64{}
			if s.Name == "other" {
				dl, ul := oracle["hostdl-a"], oracle["hostul-a"]
				want = [4]uint64{dl[1], ul[1], dl[0], ul[0]}
				for _, o := range serviceOracles {
					d, u := oracle["svc-"+o.name+"-dl-a"], oracle["svc-"+o.name+"-ul-a"]
					want[0], want[1], want[2], want[3] = want[0]-d[1], want[1]-u[1], want[2]-d[0], want[3]-u[0]
				}
			} else {
				d, u := oracle["svc-"+s.Name+"-dl-a"], oracle["svc-"+s.Name+"-ul-a"]
				want = [4]uint64{d[1], u[1], d[0], u[0]}
			}
			if g := [4]uint64{s.DownloadBytes, s.UploadBytes, s.DownloadPackets, s.UploadPackets}; g != want {
				t.Errorf("service %s: down/up bytes, down/up packets %v; a's own counters %v", s.Name, g, want)
			}
		}
		for _, name := range []string{"https", "quic", "alt", "other"} {
			if !seen[name] {
				t.Errorf("no service %s for a: %+v", name, got.Hosts[0].Services)
			}
		}
		h := l.hosts()[macA]
		if sum["dl"] != h.DownloadBytes || sum["ul"] != h.UploadBytes || sum["dlp"] != h.DownloadPackets || sum["ulp"] != h.UploadPackets {
			t.Errorf("a's services add up to %v; a's totals %d/%d bytes, %d/%d packets", sum, h.DownloadBytes, h.UploadBytes, h.DownloadPackets, h.UploadPackets)
		}
		if out := l.agent("report", "--services"); !strings.Contains(out, "https") || !strings.Contains(out, "alt") || !strings.Contains(out, "other") {
			t.Errorf("report --services:\n%s", out)
		}
	})
}
