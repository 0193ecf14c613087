package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The VM lab boots a Debian kernel from Debian's packages in qemu, for
// what this machine's kernel lacks (flowtables, the netdev egress hook):
// scripts/vm.sh makes the guest, with the agent built by TestMain and a
// scenario from testdata/vm, which prints its results on the console.

// vmKernels are the kernel series the VM lab boots: Debian 12's two.
var vmKernels = []string{"6.1", "6.12"}

// requireVM skips, or with CI set fails, when the VM lab cannot run.
func requireVM(t *testing.T) {
	t.Helper()
	requireLab(t)
	for _, bin := range []string{"qemu-system-x86_64", "cpio", "iperf3", "apt-get"} {
		if _, err := exec.LookPath(bin); err != nil {
			msg := "the VM lab needs " + bin + " (make test installs it)"
			if os.Getenv("CI") != "" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
}

// runVM boots kernel series with scenario (a file of testdata/vm) and
// returns the console's netmon-vm lines; a failed boot or a scenario that
// ends badly fails the test with the whole console.
func runVM(t *testing.T, series, scenario string) []string {
	t.Helper()
	vm := filepath.Join(repoRoot, "scripts", "vm.sh")
	out, err := exec.Command(vm, "kernel", series).Output()
	if err != nil {
		t.Fatalf("vm.sh kernel %s: %v\n%s", series, err, exitText(err))
	}
	kdir := strings.TrimSpace(string(out))
	files := t.TempDir()
	for _, f := range []string{agentBin, filepath.Join(repoRoot, "scripts", "lab.sh"), filepath.Join(repoRoot, "scripts", "lab-session.sh"),
		filepath.Join(repoRoot, "scripts", "lab.conf"), filepath.Join("testdata", "vm", scenario)} {
		if out, err := exec.Command("cp", f, files).CombinedOutput(); err != nil {
			t.Fatalf("cp %s: %v\n%s", f, err, out)
		}
	}
	initrd := filepath.Join(t.TempDir(), "initrd.gz")
	if out, err := exec.Command(vm, "initramfs", kdir, files, initrd).CombinedOutput(); err != nil {
		t.Fatalf("vm.sh initramfs: %v\n%s", err, out)
	}
	console, err := exec.Command(vm, "run", kdir, initrd, scenario).CombinedOutput()
	var lines []string
	for _, line := range strings.Split(string(console), "\n") {
		if _, rest, ok := strings.Cut(line, "netmon-vm: "); ok {
			lines = append(lines, strings.TrimSpace(rest))
		}
	}
	if err != nil || !contains(lines, "exit 0") {
		t.Fatalf("the VM (kernel %s, %s) did not end well: %v\n%s", series, scenario, err, console)
	}
	t.Logf("kernel %s: %s", series, strings.Join(lines, "\n"))
	return lines
}

func contains(lines []string, s string) bool {
	for _, l := range lines {
		if l == s {
			return true
		}
	}
	return false
}

func containsPart(lines []string, part string) bool {
	for _, l := range lines {
		if strings.Contains(l, part) {
			return true
		}
	}
	return false
}

func exitText(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// vmResult is one "result NAME {...}" line of a scenario: host a's
// download and upload by the agent and by its own counters, and a step's
// own figures (rates in bytes per second).
type vmResult struct {
	AgentDL     uint64 `json:"agent_dl"`
	AgentUL     uint64 `json:"agent_ul"`
	OracleDL    uint64 `json:"oracle_dl"`
	OracleUL    uint64 `json:"oracle_ul"`
	ServiceDL   uint64 `json:"service_dl"`
	ServiceUL   uint64 `json:"service_ul"`
	Free        uint64 `json:"free"`
	Blocked     uint64 `json:"blocked"`
	Unblocked   uint64 `json:"unblocked"`
	Throttled   uint64 `json:"throttled"`
	Unthrottled uint64 `json:"unthrottled"`
}

// vmResults reads the result lines by name; any other line that says
// something failed fails the test.
func vmResults(t *testing.T, lines []string) map[string]vmResult {
	t.Helper()
	out := map[string]vmResult{}
	for _, l := range lines {
		name, body, ok := strings.Cut(strings.TrimPrefix(l, "result "), " ")
		switch {
		case strings.HasPrefix(l, "result ") && ok:
			var r vmResult
			if err := json.Unmarshal([]byte(body), &r); err != nil {
				t.Fatalf("%s: %v", l, err)
			}
			out[name] = r
		case strings.Contains(l, "failed") && !strings.HasPrefix(l, "insmod crc32c-intel"):
			t.Errorf("in the VM: %s", l)
		}
	}
	return out
}

// Under firewall4's flow offloading, on Debian 12's two kernels, host a's
// download and upload (20 MB each way, IPv4 and IPv6) equal its own
// counters to the byte: with the software layout and the hardware
// layout's device list, with and without the flowtable's counter; across
// a SIGKILL of the daemon for 15 s in an offloaded download; across
// offloading switched off and on. A block stops an offloaded download
// within an interval, a throttle holds it to its rate, and lifting them
// gives the speed back. Usage by service adds up as without offloading.
func TestVM_Offload(t *testing.T) {
	requireVM(t)
	for _, series := range vmKernels {
		t.Run(series, func(t *testing.T) {
			lines := runVM(t, series, "offload.sh")
			results := vmResults(t, lines)
			if !containsPart(lines, "meters wan_in count in the forward hook, which offloaded flows skip") {
				t.Error("the daemon's log does not name FORWARD meter wan_in as missing offloaded flows")
			}
			for _, name := range []string{"sw", "sw-killed", "sw-switched", "hw", "hw-killed", "sw-nocounter"} {
				r, ok := results[name]
				if !ok {
					t.Errorf("%s: no result", name)
					continue
				}
				if r.AgentDL != r.OracleDL || r.AgentUL != r.OracleUL || r.OracleDL < 20<<20 {
					t.Errorf("%s: host a counted %d down %d up; its own counters say %d and %d", name, r.AgentDL, r.AgentUL, r.OracleDL, r.OracleUL)
				}
			}
			// Each layout's first step moves nothing but iperf's port.
			for _, name := range []string{"sw", "hw", "sw-nocounter"} {
				if r := results[name]; r.ServiceDL != r.AgentDL || r.ServiceUL != r.AgentUL {
					t.Errorf("%s: host a's usage of iperf's port %d down %d up; its totals %d and %d", name, r.ServiceDL, r.ServiceUL, r.AgentDL, r.AgentUL)
				}
			}
			checkRestricted(t, results["restricted"])
		})
	}
}

// checkRestricted judges the block and throttle of an offloaded download
// at 40 Mbit/s (5 MB/s).
func checkRestricted(t *testing.T, r vmResult) {
	t.Helper()
	const throttle = 4_000_000 / 8
	switch {
	case r.Free < 2*throttle*4:
		t.Errorf("the offloaded download ran at %d B/s before any block: the test measures nothing", r.Free)
	case r.Blocked != 0:
		t.Errorf("blocked, host a still received %d B/s", r.Blocked)
	case r.Unblocked < 4*throttle:
		t.Errorf("unblocked, a new download ran at %d B/s", r.Unblocked)
	case float64(r.Throttled) < 0.8*throttle || float64(r.Throttled) > 1.2*throttle:
		t.Errorf("throttled to 4 Mbit/s (%d B/s), host a received %d B/s", throttle, r.Throttled)
	case r.Unthrottled < 2*throttle:
		t.Errorf("unthrottled, host a received %d B/s", r.Unthrottled)
	}
	if r.AgentDL != r.OracleDL || r.AgentUL != r.OracleUL {
		t.Errorf("restricted: host a counted %d down %d up; its own counters say %d and %d", r.AgentDL, r.AgentUL, r.OracleDL, r.OracleUL)
	}
}
