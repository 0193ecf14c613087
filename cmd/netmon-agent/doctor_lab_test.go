package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

type doctorJSON struct {
	Status   string `json:"status"`
	Findings []struct {
		Check  string `json:"check"`
		Status string `json:"status"`
		Detail string `json:"detail"`
		Fix    string `json:"fix"`
	} `json:"findings"`
}

// doctor runs doctor --json in the router and returns its findings by
// check, and its exit code.
func (l *lab) doctor() (map[string]string, doctorJSON, int) {
	l.t.Helper()
	out, err := l.exec("r", l.agentArgs("doctor", "--json")...)
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		l.t.Fatal(err)
	}
	var r doctorJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		l.t.Fatalf("doctor --json: %v\n%s", err, out)
	}
	m := map[string]string{}
	for _, f := range r.Findings {
		m[f.Check] = f.Status + " " + f.Detail
	}
	return m, r, code
}

// doctor on the real lab router: what it finds healthy, then each fault
// put in for real: our jump deleted, a flowtable (flow offloading), the
// router no longer forwarding; and the exit code of each.
// On iptables-legacy the host rules share our FORWARD chain with the
// meters: they are ours too, not missing meter rules.
func TestLab_DoctorLegacyWithIpsets(t *testing.T) {
	requireLab(t)
	l := newLab(t, "legacy")
	l.startDaemon()
	l.traffic(1)
	got, _, _ := l.doctor()
	for _, c := range []string{"iptables rules", "ip6tables rules", "host sets", "daemon"} {
		if !strings.HasPrefix(got[c], "OK ") {
			t.Errorf("%s is %q", c, got[c])
		}
	}
	if !strings.Contains(got["host sets"], "ipsets") {
		t.Errorf("host sets: %q", got["host sets"])
	}
}

func TestLab_Doctor(t *testing.T) {
	requireLab(t)
	l := newLab(t, "nft")
	got, _, code := l.doctor()
	if !strings.HasPrefix(got["iptables rules"], "FAIL") || code != 2 {
		t.Errorf("before start: exit %d, rules %q", code, got["iptables rules"])
	}
	l.startDaemon()
	l.traffic(1)
	got, r, _ := l.doctor()
	for _, c := range []string{"config", "iptables", "iptables rules", "ip6tables", "ip6tables rules", "host sets", "daemon", "database", "offload", "routing", "snapshot"} {
		if !strings.HasPrefix(got[c], "OK ") {
			t.Errorf("healthy lab: %s is %q", c, got[c])
		}
	}
	if !strings.Contains(got["host sets"], "nftables sets") {
		t.Errorf("host sets: %q", got["host sets"])
	}
	for _, f := range r.Findings {
		if f.Status != "OK" && f.Fix == "" {
			t.Errorf("%s is %s with no fix", f.Check, f.Status)
		}
	}

	l.stopDaemon(syscall.SIGTERM)
	l.must("r", "iptables-nft", "-D", "INPUT", "1")
	got, _, code = l.doctor()
	if !strings.HasPrefix(got["iptables rules"], "FAIL") || !strings.Contains(got["iptables rules"], "no jump to netmon-INPUT") || code != 2 {
		t.Errorf("jump deleted: exit %d, %q", code, got["iptables rules"])
	}
	if !strings.HasPrefix(got["daemon"], "WARN") {
		t.Errorf("daemon stopped: %q", got["daemon"])
	}
	l.startDaemon()
	l.waitFor(func() bool {
		got, _, _ := l.doctor()
		return strings.HasPrefix(got["iptables rules"], "OK")
	}, "the daemon to put our jump back")

	// Flow offloading as OpenWrt's firewall config switches it on.
	fwcfg := filepath.Join(l.dir, "firewall")
	os.WriteFile(fwcfg, []byte("config defaults\n\toption syn_flood '1'\n\toption flow_offloading '1'\n"), 0o600)
	out, _ := l.exec("r", append([]string{"env", "NETMON_FIREWALL_CONFIG=" + fwcfg}, l.agentArgs("doctor")...)...)
	if !strings.Contains(out, "FAIL  offload") || !strings.Contains(out, "flow_offloading") {
		t.Errorf("flow_offloading '1':\n%s", out)
	}
	// And as nftables has it, where the kernel can offload at all.
	l.must("r", "nft", "add table inet lab-offload")
	if out, err := l.exec("r", "nft", "add flowtable inet lab-offload ft { hook ingress priority 0; devices = { wan }; }"); err != nil {
		t.Logf("this kernel has no flowtables, so only the config's offloading is tried: %s", strings.TrimSpace(out))
	} else {
		got, _, code = l.doctor()
		if !strings.HasPrefix(got["offload"], "FAIL") || !strings.Contains(got["offload"], "flowtable ft") || code != 2 {
			t.Errorf("flowtable: exit %d, %q", code, got["offload"])
		}
	}
	l.must("r", "nft", "delete table inet lab-offload")

	l.must("r", "sysctl", "-qw", "net.ipv4.ip_forward=0")
	got, _, _ = l.doctor()
	if !strings.HasPrefix(got["routing"], "WARN") || !strings.Contains(got["routing"], "ip_forward is 0") {
		t.Errorf("not forwarding: %q", got["routing"])
	}
	l.must("r", "sysctl", "-qw", "net.ipv4.ip_forward=1")
	l.must("r", "ip", "route", "add", "default", "via", "198.18.1.3", "dev", "br-lan")
	got, _, _ = l.doctor()
	if !strings.HasPrefix(got["routing"], "WARN") || !strings.Contains(got["routing"], "bridged access point") {
		t.Errorf("default route through the LAN: %q", got["routing"])
	}
	l.must("r", "ip", "route", "del", "default")
	text, _ := l.exec("r", l.agentArgs("doctor")...)
	if !strings.Contains(text, "OK    routing") || !strings.Contains(text, "OK    offload") {
		t.Errorf("doctor text:\n%s", text)
	}
}

// doctor on native nftables: it names the backend and why, checks our
// tables read over netlink, finds a deleted jump, and warns of chains of
// ours left in iptables by an earlier backend, which stop removes.
func TestLab_DoctorNftables(t *testing.T) {
	requireLab(t)
	l := newLab(t, "nftables")
	l.startDaemon()
	l.traffic(1)
	got, r, code := l.doctor()
	for _, c := range []string{"backend", "nftables", "nftables rules", "nftables ipv6", "nftables ipv6 rules", "host sets"} {
		if !strings.HasPrefix(got[c], "OK ") {
			t.Errorf("healthy lab: %s is %q", c, got[c])
		}
	}
	if !strings.Contains(got["backend"], "nftables: option backend 'nftables'") || !strings.Contains(got["nftables"], "read by netlink") {
		t.Errorf("backend %q, nftables %q", got["backend"], got["nftables"])
	}
	if _, ok := got["iptables"]; ok || code == 2 {
		t.Errorf("exit %d; iptables checked on nftables: %q; all: %+v", code, got["iptables"], r.Findings)
	}

	l.stopDaemon(syscall.SIGTERM)
	l.deleteJump("INPUT")
	got, _, code = l.doctor()
	if !strings.HasPrefix(got["nftables rules"], "FAIL") || !strings.Contains(got["nftables rules"], "no jump to netmon-INPUT") || code != 2 {
		t.Errorf("jump deleted: exit %d, %q", code, got["nftables rules"])
	}

	// A chain of ours left in iptables by an earlier backend 'iptables'.
	l.must("r", "iptables", "-N", "netmon-FORWARD")
	l.must("r", "iptables", "-I", "FORWARD", "-j", "netmon-FORWARD")
	got, _, _ = l.doctor()
	if !strings.HasPrefix(got["leftovers"], "WARN") || !strings.Contains(got["leftovers"], "netmon-FORWARD (ipv4)") {
		t.Errorf("leftovers: %q", got["leftovers"])
	}
	l.agent("stop")
	if ours := l.oursInIptables(); ours != "" {
		t.Errorf("stop left in iptables:\n%s", ours)
	}
	if out := l.must("r", "nft", "list", "tables"); strings.Contains(out, "netmon") {
		t.Errorf("stop left:\n%s", out)
	}
	got, _, _ = l.doctor()
	if _, ok := got["leftovers"]; ok {
		t.Errorf("leftovers after stop: %q", got["leftovers"])
	}
}
