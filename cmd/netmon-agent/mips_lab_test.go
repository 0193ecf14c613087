package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// The big-endian MIPS build, as a router runs it, under qemu-user: the
// binary that ships is exact too. (It runs this machine's iptables.)
func TestLab_MipsBinaryUnderQemu(t *testing.T) {
	requireLab(t)
	qemu, err := exec.LookPath("qemu-mips-static")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("qemu-mips-static missing (make test installs qemu-user-static)")
		}
		t.Skip("qemu-mips-static missing")
	}
	mips := filepath.Join(t.TempDir(), "netmon-agent-mips")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", mips, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=mips", "GOMIPS=softfloat")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build for mips: %v\n%s", err, out)
	}
	l := newLab(t, "nft")
	l.agentCmd = []string{qemu, mips}
	l.interval = "1"
	l.writeConfig(labMeters)
	l.agent("start")
	l.startDaemon()
	l.traffic(1)
	l.stopDaemon(syscall.SIGTERM)
	l.traffic(1)
	l.startDaemon()
	l.expectExact("mips binary under qemu")
	l.stopDaemon(syscall.SIGTERM)
	portableToThisMachine(t, l)
	before := l.saveStripped("iptables")
	l.agent("stop")
	if after := l.saveStripped("iptables"); strings.Contains(after, "netmon") || after == before {
		t.Errorf("stop left:\n%s", after)
	}
}

// portableToThisMachine: a portable backup the big-endian mips build
// writes restores with this machine's build into a router of its own,
// with every host total and every hourly history row equal (moving to a
// new router, in another boot, which the restore names); the mips build's
// own snapshot does not restore here.
func portableToThisMachine(t *testing.T, l *lab) {
	t.Helper()
	portable, native := filepath.Join(l.dir, "mips.portable"), filepath.Join(l.dir, "mips.snapshot")
	l.agent("db", "backup", "--portable", portable)
	l.agent("db", "backup", native)
	// What the views compute from the clock: when they were made, and the
	// month's projection from the time elapsed.
	clock := regexp.MustCompile(`"(generated|month_estimate)": [^,\n]*`)
	views := func() string {
		return clock.ReplaceAllString(l.agent("hosts", "--json")+l.agent("export", "--by", "hour", "--hosts")+l.agent("report", "--json"), "")
	}
	want := views()
	mipsCmd, mipsConfig := l.agentCmd, l.config
	defer func() { l.agentCmd, l.config = mipsCmd, mipsConfig }()
	l.agentCmd = []string{agentBin}
	l.config = filepath.Join(l.dir, "new-router.conf")
	l.writeConfigData(filepath.Join(l.dir, "new-router"), labMeters)
	if out, err := l.exec("r", l.agentArgs("db", "restore", native)...); err == nil {
		t.Errorf("the mips snapshot restored on this machine:\n%s", out)
	}
	// A new router: another boot. The restore says the kernel's counters
	// start afresh.
	l.setBoot("22222222-2222-2222-2222-222222222222")
	defer l.setBoot("11111111-1111-1111-1111-111111111111")
	if out := l.agent("db", "restore", portable); !strings.Contains(out, "counters start afresh") {
		t.Errorf("restored on a new router, the restore does not say the counters start afresh:\n%s", out)
	}
	if got := views(); got != want {
		t.Errorf("restored from the mips build's portable backup:\n%s\nwant (the mips build on its own database):\n%s", got, want)
	}
}
