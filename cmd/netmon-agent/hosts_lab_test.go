package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

type hostJSON struct {
	MAC             string   `json:"mac"`
	Name            string   `json:"name"`
	Addresses       []string `json:"addresses"`
	DownloadBytes   uint64   `json:"download_bytes"`
	UploadBytes     uint64   `json:"upload_bytes"`
	DownloadPackets uint64   `json:"download_packets"`
	UploadPackets   uint64   `json:"upload_packets"`
	DownloadRate    float64  `json:"download_rate"`
	FirstSeen       string   `json:"first_seen"`
	LastSeen        string   `json:"last_seen"`
	Blocked         bool     `json:"blocked"`
	Throttled       bool     `json:"throttled"`
	ThrottleRate    uint64   `json:"throttle_rate"`
	ThrottleRateUp  uint64   `json:"throttle_rate_up"`
}

// historyJSON is report --days --json and friends, as README documents it.
type historyJSON struct {
	Resolution string `json:"resolution"`
	Rows       []struct {
		Start         time.Time         `json:"start"`
		DownloadBytes uint64            `json:"download_bytes"`
		UploadBytes   uint64            `json:"upload_bytes"`
		Meters        map[string]uint64 `json:"meters"`
	} `json:"rows"`
}

func (h historyJSON) sums() (dl, ul uint64) {
	for _, r := range h.Rows {
		dl, ul = dl+r.DownloadBytes, ul+r.UploadBytes
	}
	return dl, ul
}

func (l *lab) agentJSON(v any, args ...string) {
	l.t.Helper()
	out := l.agent(args...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		l.t.Fatalf("%v: %v\n%s", args, err, out)
	}
}

func (l *lab) hosts() map[string]hostJSON {
	l.t.Helper()
	var r struct {
		Hosts []hostJSON `json:"hosts"`
	}
	out := l.agent("hosts", "--json")
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		l.t.Fatalf("hosts --json: %v\n%s", err, out)
	}
	m := map[string]hostJSON{}
	for _, h := range r.Hosts {
		m[h.MAC] = h
	}
	return m
}

const (
	macA = "02:00:00:00:01:02"
	macB = "02:00:00:00:01:03"
)

// Two LAN hosts pull and push TCP, UDP and ICMP, IPv4 and IPv6, through
// the router while the daemon runs; each host's download and upload equal
// its own counters of non-LAN traffic, exactly.
func TestLab_HostsMatchTheirOwnCounters(t *testing.T) {
	forEachHostSets(t, func(t *testing.T, l *lab) {
		leases := filepath.Join(l.dir, "dhcp.leases")
		os.WriteFile(leases, []byte("2000000000 "+macA+" 198.18.1.2 laptop *\n2000000000 "+macB+" 198.18.1.3 * *\n"), 0o600)
		os.WriteFile(filepath.Join(l.dir, "ethers"), []byte(macB+" phone\n"), 0o600)
		l.writeConfig(labMeters)
		cfg, _ := os.ReadFile(l.config)
		cfg = []byte(strings.Replace(string(cfg), "config agent 'main'\n", "config agent 'main'\n\toption leases '"+leases+"'\n\toption ethers '"+l.dir+"/ethers'\n", 1))
		// The mail goes to a stand-in sendmail that keeps the message.
		sendmail := filepath.Join(l.dir, "sendmail")
		os.WriteFile(sendmail, []byte("#!/bin/sh\ncat > \""+l.dir+"/mailed\"\n"), 0o755)
		cfg = append(cfg, "\nconfig mail\n\tlist to 'owner@example.org'\n\toption from 'router@example.org'\n\toption sendmail '"+sendmail+"'\n"...)
		os.WriteFile(l.config, cfg, 0o600)
		l.hostOracle("a")
		l.hostOracle("b")
		l.startSink("b")
		l.startDaemon()

		// a: both ways, both families.
		l.helper("a", "tcp", "198.19.0.2:7000", "200000")
		l.helper("i", "tcp", "198.18.1.2:7000", "150000")
		l.helper("a", "udp", "198.19.0.2:9000", "20", "1200")
		l.helper("i", "udp", "[2001:db8:1::2]:9000", "10", "900")
		l.helper("a", "tcp", "[2001:db8:ff::2]:7000", "50000")
		l.must("a", "ping", "-q", "-c", "3", "-i", "0.01", "-s", "500", "198.19.0.2")
		l.must("a", "ping", "-q", "-6", "-c", "3", "-i", "0.01", "2001:db8:ff::2")
		l.agent("sample")
		want := "ipset"
		if l.backend != "legacy" && l.sets == "" {
			want = "nft"
		}
		if got := l.hostSetsKind(); got != want {
			t.Errorf("per-host sets are %s, want %s", got, want)
		}
		// b appears after a, on IPv6 first.
		l.helper("b", "udp", "[2001:db8:ff::2]:9000", "7", "333")
		l.helper("i", "tcp", "[2001:db8:1::3]:7000", "80000")
		l.helper("b", "tcp", "198.19.0.2:7000", "30000")
		// Traffic inside the LAN is no host's download or upload.
		l.must("a", "ping", "-q", "-c", "3", "-i", "0.01", "198.18.1.3")
		settle()
		l.agent("sample")
		got := l.hosts()
		l.hostsMatchOracles(got)
		l.historyMatchesHosts(got)
		l.sinceLastAndMail(got)
		// A restart loses nothing, and stop takes the sets with the chains.
		l.stopDaemon(syscall.SIGTERM)
		l.helper("i", "udp", "198.18.1.2:9000", "4", "100")
		l.agent("stop")
		dl, _ := l.hostOracleCounts("a")
		if h := l.hosts()[macA]; h.DownloadBytes != dl[1] {
			t.Errorf("after stop host a download %d, it received %d", h.DownloadBytes, dl[1])
		}
		if out := l.must("r", "ipset", "list", "-n"); strings.TrimSpace(out) != "" {
			t.Errorf("ipsets left after stop: %s", out)
		}
		if out := l.must("r", "nft", "list", "tables"); strings.Contains(out, "netmon") {
			t.Errorf("nftables table left after stop: %s", out)
		}
		text := l.agent("hosts")
		if !strings.Contains(text, "laptop") || !strings.Contains(text, macB) {
			t.Errorf("hosts table:\n%s", text)
		}
	})
}

// hostsMatchOracles checks hosts a and b in got (the agent's host table)
// against their own counters, to the byte and packet, with their names and
// both addresses; and that no traffic went unattributed.
func (l *lab) hostsMatchOracles(got map[string]hostJSON) {
	t := l.t
	t.Helper()
	for _, x := range []struct{ ns, mac, name string }{{"a", macA, "laptop"}, {"b", macB, "phone"}} {
		dl, ul := l.hostOracleCounts(x.ns)
		h, ok := got[x.mac]
		if !ok {
			t.Errorf("host %s (%s) missing: %+v", x.ns, x.mac, got)
			continue
		}
		if h.DownloadBytes != dl[1] || h.DownloadPackets != dl[0] {
			t.Errorf("host %s download %d bytes in %d packets; it received %d bytes in %d packets", x.ns, h.DownloadBytes, h.DownloadPackets, dl[1], dl[0])
		}
		if h.UploadBytes != ul[1] || h.UploadPackets != ul[0] {
			t.Errorf("host %s upload %d bytes in %d packets; it sent %d bytes in %d packets", x.ns, h.UploadBytes, h.UploadPackets, ul[1], ul[0])
		}
		if h.Name != x.name {
			t.Errorf("host %s named %q, want %q", x.ns, h.Name, x.name)
		}
		if len(h.Addresses) != 2 {
			t.Errorf("host %s addresses %v, want its IPv4 and IPv6 ones", x.ns, h.Addresses)
		}
	}
	if u, ok := got["unattributed"]; ok {
		t.Errorf("unattributed traffic in a lab where every neighbour is known: %+v", u)
	}
}

// historyMatchesHosts checks that history holds the bytes of got (the
// host table), by host and all together, from the daemon (committed or
// not) in every resolution, and that the export a graph reads has host a's
// download in its column, by name.
func (l *lab) historyMatchesHosts(got map[string]hostJSON) {
	t := l.t
	t.Helper()
	var dl, ul uint64
	for _, h := range got {
		dl, ul = dl+h.DownloadBytes, ul+h.UploadBytes
	}
	for _, view := range []string{"--5min", "--hours", "--days", "--months", "--years"} {
		var all, hostA historyJSON
		l.agentJSON(&all, "report", view, "--limit", "1000", "--json")
		l.agentJSON(&hostA, "report", view, "--host", macA, "--limit", "1000", "--json")
		if d, u := all.sums(); d != dl || u != ul {
			t.Errorf("report %s: all hosts %d down %d up; hosts total %d and %d", view, d, u, dl, ul)
		}
		if d, u := hostA.sums(); d != got[macA].DownloadBytes || u != got[macA].UploadBytes {
			t.Errorf("report %s --host %s: %d down %d up; host total %d and %d", view, macA, d, u, got[macA].DownloadBytes, got[macA].UploadBytes)
		}
	}
	var exp struct {
		Rows []map[string]any `json:"rows"`
	}
	l.agentJSON(&exp, "export", "--by", "month", "--hosts", "--format", "json")
	var laptop float64
	for _, row := range exp.Rows {
		v, _ := row["laptop download"].(float64)
		laptop += v
	}
	if uint64(laptop) != got[macA].DownloadBytes {
		t.Errorf("export: laptop download %v, host total %d", laptop, got[macA].DownloadBytes)
	}
}

// sinceLastJSON is report --since-last --json, as README documents it.
type sinceLastJSON struct {
	From          time.Time `json:"from"`
	To            time.Time `json:"to"`
	First         bool      `json:"first"`
	ResetDetected bool      `json:"reset_detected"`
	Meters        []struct {
		Name       string `json:"name"`
		Bytes      uint64 `json:"bytes"`
		TotalBytes uint64 `json:"total_bytes"`
	} `json:"meters"`
	Hosts []struct {
		MAC           string `json:"mac"`
		DownloadBytes uint64 `json:"download_bytes"`
		UploadBytes   uint64 `json:"upload_bytes"`
	} `json:"hosts"`
}

func (s sinceLastJSON) meter(name string) (period, total uint64) {
	for _, m := range s.Meters {
		if m.Name == name {
			return m.Bytes, m.TotalBytes
		}
	}
	return 0, 0
}

func (s sinceLastJSON) host(mac string) (dl, ul uint64) {
	for _, h := range s.Hosts {
		if h.MAC == mac {
			return h.DownloadBytes, h.UploadBytes
		}
	}
	return 0, 0
}

// sinceLastAndMail checks the since-last report against host a's own
// counters over a period of real traffic, the mail that carries it, the
// page and the top days; got is the host table before.
func (l *lab) sinceLastAndMail(got map[string]hostJSON) {
	t := l.t
	t.Helper()
	var first sinceLastJSON
	l.agentJSON(&first, "report", "--since-last", "--json")
	if dl, ul := first.host(macA); !first.First || dl != got[macA].DownloadBytes || ul != got[macA].UploadBytes {
		t.Errorf("first since-last: laptop %d down %d up (first %v); host totals %d and %d", dl, ul, first.First, got[macA].DownloadBytes, got[macA].UploadBytes)
	}
	before, beforeUL := l.hostOracleCounts("a")
	l.helper("i", "tcp", "198.18.1.2:7000", "120000")
	l.helper("a", "udp", "[2001:db8:ff::2]:9000", "5", "700")
	settle()
	after, afterUL := l.hostOracleCounts("a")
	var next sinceLastJSON
	l.agentJSON(&next, "report", "--since-last", "--keep", "--json")
	dl, ul := next.host(macA)
	if next.First || !next.From.Equal(first.To) || next.ResetDetected {
		t.Errorf("second since-last from %v (first %v, reset %v), want from %v", next.From, next.First, next.ResetDetected, first.To)
	}
	if dl != after[1]-before[1] || ul != afterUL[1]-beforeUL[1] {
		t.Errorf("since-last: laptop %d down %d up; it received %d and sent %d in the period", dl, ul, after[1]-before[1], afterUL[1]-beforeUL[1])
	}
	// The mail carries the same period and moves the checkpoint.
	l.agent("mail")
	mailed, err := os.ReadFile(filepath.Join(l.dir, "mailed"))
	if err != nil || !strings.Contains(string(mailed), "Subject: Network Usage Report - ") || !strings.Contains(string(mailed), "text/html") {
		t.Errorf("mail: %v\n%.400s", err, mailed)
	}
	var third sinceLastJSON
	l.agentJSON(&third, "report", "--since-last", "--keep", "--json")
	if third.First || third.From.Before(next.To) {
		t.Errorf("after mail the report is from %v, want after %v", third.From, next.To)
	}
	page := l.agent("report", "--html")
	if !strings.Contains(page, "<svg") || !strings.Contains(page, "laptop") {
		t.Errorf("report --html has no chart or no laptop:\n%.600s", page)
	}
	var top historyJSON
	l.agentJSON(&top, "report", "--top", "--json")
	var all historyJSON
	l.agentJSON(&all, "report", "--days", "--json")
	if d, u := top.sums(); len(top.Rows) != len(all.Rows) || d+u == 0 {
		t.Errorf("report --top: %d rows with %d bytes, --days has %d rows", len(top.Rows), d+u, len(all.Rows))
	}
}

// tcpWorks reports whether host h can open a TCP connection to addr.
func (l *lab) tcpWorks(h, addr string) bool {
	self := selfPath()
	cmd := exec.Command("ip", "netns", "exec", l.ns(h), self, "tcp", addr, "1000")
	cmd.Env = append(os.Environ(), "NETMON_LAB_HELPER=tcp", "NETMON_LAB_TIMEOUT=1s")
	return cmd.Run() == nil
}

// block makes a host's next TCP connection fail, both families, while its
// usage is still counted; unblock restores it; a timed block lifts by
// itself; blocks survive a daemon restart and a firewall flush.
func TestLab_BlockAndUnblock(t *testing.T) {
	forEachHostSets(t, func(t *testing.T, l *lab) {
		l.startDaemon()
		l.helper("a", "udp", "198.19.0.2:9000", "3", "100") // a is seen
		l.helper("a", "udp", "[2001:db8:ff::2]:9000", "3", "100")
		l.agent("sample")
		for _, addr := range []string{"198.19.0.2:7000", "[2001:db8:ff::2]:7000"} {
			if !l.tcpWorks("a", addr) {
				t.Fatalf("a cannot reach %s before any block", addr)
			}
		}
		out := l.agent("block", "198.18.1.2", "--reason", "big download")
		if !strings.Contains(out, macA) || !strings.Contains(out, "big download") {
			t.Errorf("block printed:\n%s", out)
		}
		for _, addr := range []string{"198.19.0.2:7000", "[2001:db8:ff::2]:7000"} {
			if l.tcpWorks("a", addr) {
				t.Errorf("blocked a still reaches %s", addr)
			}
		}
		if !l.tcpWorks("b", "198.19.0.2:7000") {
			t.Error("blocking a blocked b")
		}
		if h := l.hosts()[macA]; !h.Blocked {
			t.Errorf("hosts does not show a blocked: %+v", h)
		}
		// Survives a restart and a firewall flush.
		l.stopDaemon(syscall.SIGTERM)
		l.deleteOurs()
		if l.backend != "legacy" {
			l.flushRuleset() // what OpenWrt's firewall restart does
		}
		l.startDaemon()
		if l.tcpWorks("a", "198.19.0.2:7000") {
			t.Error("block lost across a restart and a flush")
		}
		l.agent("unblock", macA)
		if !l.tcpWorks("a", "198.19.0.2:7000") {
			t.Error("a still blocked after unblock")
		}
		// A timed block, by name? a has none here: by MAC.
		l.agent("block", macA, "--for", "1s")
		if l.tcpWorks("a", "198.19.0.2:7000") {
			t.Error("timed block not in force")
		}
		l.waitFor(func() bool { return l.tcpWorks("a", "198.19.0.2:7000") }, "timed block to lift")
		if out := l.agent("blocks"); !strings.Contains(out, "No blocks") {
			t.Errorf("blocks after expiry:\n%s", out)
		}
		out2, err := l.exec("r", l.agentArgs("block", "nobody")...)
		if err == nil || !strings.Contains(out2, `unknown host "nobody"`) {
			t.Errorf("block of an unknown host: %v\n%s", err, out2)
		}
	})
}

// A quota of a few hundred kilobytes blocks the host once crossed.
func TestLab_QuotaBlocks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *lab) {
		leases := filepath.Join(l.dir, "dhcp.leases")
		os.WriteFile(leases, []byte("2000000000 "+macA+" 198.18.1.2 laptop *\n"), 0o600)
		l.writeConfig(labMeters + `
config quota 'laptop'
	option host 'laptop'
	option limit '300K'
	option period 'day'
`)
		cfg, _ := os.ReadFile(l.config)
		os.WriteFile(l.config, []byte(strings.Replace(string(cfg), "config agent 'main'\n", "config agent 'main'\n\toption leases '"+leases+"'\n", 1)), 0o600)
		l.startDaemon()
		l.helper("i", "tcp", "198.18.1.2:7000", "200000")
		l.agent("sample")
		if !l.tcpWorks("a", "198.19.0.2:7000") {
			t.Fatal("blocked below its quota")
		}
		l.helper("i", "tcp", "198.18.1.2:7000", "200000")
		l.agent("sample")
		if l.tcpWorks("a", "198.19.0.2:7000") {
			t.Error("still connects after crossing its quota")
		}
		if !strings.Contains(l.agent("blocks"), "quota laptop") {
			t.Errorf("blocks:\n%s", l.agent("blocks"))
		}
		if !strings.Contains(l.log.String(), "crossed quota laptop") {
			t.Errorf("crossing not logged:\n%s", l.log.String())
		}
		if h := l.hosts()[macA]; !h.Blocked {
			t.Errorf("host a not shown blocked: %+v", h)
		}
	})
}

// powerCut does what pulling the plug does to the router: the daemon dies
// without a word, the kernel forgets every rule, set and counter, tmpfs is
// emptied, and the next boot has another id.
func (l *lab) powerCut(boot string) {
	l.t.Helper()
	l.stopDaemon(syscall.SIGKILL)
	l.deleteOurs()
	l.flushRuleset()
	l.exec("r", "ipset", "destroy") // none may be there
	l.must("r", "rm", "-rf", l.dir+"/run")
	l.setBoot(boot)
}

// A block or an unblock is on flash before the command returns: a power
// cut right after it (well within persist_interval) undoes neither. A
// block made by address stays liftable by that address once its MAC is
// known, and by the MAC.
func TestLab_BlocksSurvivePowerCut(t *testing.T) {
	forEachBackend(t, func(t *testing.T, l *lab) {
		l.startDaemon()
		l.helper("a", "udp", "198.19.0.2:9000", "3", "100") // a is seen, with its MAC
		l.agent("sample")
		l.agent("block", "198.18.1.2", "--reason", "power cut")
		l.agent("block", "198.18.1.50") // nobody yet: a block by address
		l.powerCut("33333333-3333-3333-3333-333333333333")
		l.startDaemon()
		out := l.agent("blocks")
		if !strings.Contains(out, macA) || !strings.Contains(out, "198.18.1.50") {
			t.Errorf("blocks after a power cut:\n%s", out)
		}
		if l.tcpWorks("a", "198.19.0.2:7000") {
			t.Error("a power cut lifted a's block")
		}
		l.agent("unblock", "198.18.1.2") // made by address, filed under the MAC
		l.agent("unblock", "198.18.1.50")
		l.powerCut("44444444-4444-4444-4444-444444444444")
		l.startDaemon()
		if out := l.agent("blocks"); !strings.Contains(out, "No blocks") {
			t.Errorf("blocks after unblock and a power cut:\n%s", out)
		}
		if !l.tcpWorks("a", "198.19.0.2:7000") {
			t.Error("a power cut brought a's block back")
		}
	})
}
