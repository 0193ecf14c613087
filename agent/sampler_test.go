package agent

import (
	"strings"
	"testing"
	"time"

	"github.com/netmon-agent/netmon-agent/store"
)

func TestSample_CountsOnlyGrowth(t *testing.T) {
	r := newFakeRig(t, twoMeters)
	r.sample() // installs
	r.fw4.count("proxy", 2, 1000)
	r.sample()
	r.fw4.count("proxy", 1, 500)
	r.sample()
	r.sample()
	wantTotal(t, r, "proxy", 1500)
	if got := r.total("proxy").Packets; got != 3 {
		t.Errorf("packets %d, want 3", got)
	}
	if c := lastCause(r, "proxy"); c != "" {
		t.Errorf("reset %q recorded for plain growth", c)
	}
}

func TestSample_MeterWithoutAddressCountsBothFamilies(t *testing.T) {
	r := newFakeRig(t, twoMeters)
	r.sample()
	r.fw4.count("all", 1, 100)
	r.fw6.count("all", 1, 60)
	r.sample()
	wantTotal(t, r, "all", 160)
	_, _, fams := r.sampler.State.MeterTotal("all")
	if fams["ipv4"].Bytes != 100 || fams["ipv6"].Bytes != 60 {
		t.Errorf("per family %+v, want ipv4 100 and ipv6 60", fams)
	}
}

// Case 1: the daemon stops cleanly and starts again; the kernel counted on.
func TestSample_RestartLosesNothing(t *testing.T) {
	r := newFakeRig(t, twoMeters)
	r.sample()
	r.fw4.count("proxy", 1, 1000)
	r.sample()
	r.commit()
	r.fw4.count("proxy", 1, 700) // while no daemon runs
	r.restart()
	r.sample()
	wantTotal(t, r, "proxy", 1700)
}

// Case 2: SIGKILL after uncommitted samples: the committed baseline and the
// kernel's counters make up the difference, nothing doubled.
func TestSample_CrashLosesNothingAndDoublesNothing(t *testing.T) {
	r := newFakeRig(t, twoMeters)
	r.sample()
	r.fw4.count("proxy", 1, 1000)
	r.sample()
	r.commit()
	r.fw4.count("proxy", 1, 300)
	r.sample() // counted in memory, never committed
	r.fw4.count("proxy", 1, 200)
	r.restart() // killed: memory gone
	r.sample()
	wantTotal(t, r, "proxy", 1500)
}

// Case 3: our chain is deleted under a running daemon: reinstalled at the
// next sample, a reset recorded, and the new rule counted from zero.
func TestSample_DeletedChainIsReinstalled(t *testing.T) {
	r := newFakeRig(t, twoMeters)
	r.sample()
	r.fw4.count("proxy", 1, 1000)
	r.sample()
	before := r.fw4.rendered()
	r.fw4.Delete("INPUT", "1")
	r.fw4.ClearChain("netmon-INPUT")
	r.fw4.DeleteChain("netmon-INPUT")
	r.sample()
	if got := r.fw4.rendered(); got != before {
		t.Errorf("after healing:\n%s\nwant:\n%s", got, before)
	}
	if c := lastCause(r, "proxy"); c != store.CauseReinstalled {
		t.Errorf("last reset %q, want %q", c, store.CauseReinstalled)
	}
	r.fw4.count("proxy", 1, 400)
	r.sample()
	wantTotal(t, r, "proxy", 1400)
	if !logged(r, "installed meter proxy") {
		t.Errorf("reinstall not logged: %q", r.logs)
	}
}

// Case 3b: only the jump is deleted: the chain and its counters stay, so the
// jump comes back and nothing is reset.
func TestSample_DeletedJumpIsReinstalled(t *testing.T) {
	r := newFakeRig(t, twoMeters)
	r.sample()
	r.fw4.count("proxy", 1, 1000)
	r.sample()
	before := r.fw4.rendered()
	r.fw4.Delete("INPUT", "1")
	r.sample()
	if got := r.fw4.rendered(); got != before {
		t.Errorf("after healing:\n%s\nwant:\n%s", got, before)
	}
	r.fw4.count("proxy", 1, 10)
	r.sample()
	wantTotal(t, r, "proxy", 1010)
	if c := lastCause(r, "proxy"); c != "" {
		t.Errorf("reset %q recorded for a moved jump", c)
	}
}

// Case 4: the chains vanish while the daemon is stopped and are recreated
// (another generation) with counts already above the stored baseline. The
// classic script adds new-old; the whole new count is right.
func TestSample_RecreatedRuleLargerThanBaselineCountsFromZero(t *testing.T) {
	r := newFakeRig(t, twoMeters)
	r.sample()
	r.fw4.count("proxy", 1, 1000)
	r.sample()
	r.commit()
	// Someone else recreates our chains (another agent process, say).
	r.fw4.reboot()
	other := &Sampler{Config: r.cfg, Firewalls: []Firewall{r.fw4}, State: store.NewState(), Clock: r.clock,
		Boot: func() (string, error) { return r.boot, nil }, NewGen: func() string { return "other" }, Logf: func(string, ...any) {}}
	if err := other.Sample(); err != nil {
		t.Fatal(err)
	}
	r.fw4.count("proxy", 3, 5000)
	r.restart()
	r.sample()
	wantTotal(t, r, "proxy", 6000)
	if c := lastCause(r, "proxy"); c != store.CauseReinstalled {
		t.Errorf("last reset %q, want %q", c, store.CauseReinstalled)
	}
}

// Case 5a: iptables -Z, then more traffic than the old count before the
// next sample: only the canary can tell, and it does.
func TestSample_ZeroingSeenByCanaryEvenWhenCountsGrewPastBaseline(t *testing.T) {
	r := newFakeRig(t, twoMeters)
	r.sample()
	r.sample() // the canary is seen at one and armed
	r.fw4.count("proxy", 1, 1000)
	r.sample()
	r.fw4.zero()
	r.fw4.count("proxy", 2, 3000)
	r.sample()
	wantTotal(t, r, "proxy", 4000)
	if c := lastCause(r, "proxy"); c != store.CauseZeroed {
		t.Errorf("last reset %q, want %q", c, store.CauseZeroed)
	}
	// The canary is replaced, so the next sample sees no second zeroing.
	r.fw4.count("proxy", 1, 100)
	r.sample()
	wantTotal(t, r, "proxy", 4100)
	if n := len(r.sampler.State.Events); n != 2 { // proxy and all were zeroed
		t.Errorf("%d events, want 2: %+v", n, r.sampler.State.Events)
	}
}

// Case 5a, crash edition: killed after the zeroing was committed but before
// the canary was replaced; the restarted daemon must not count it again.
func TestSample_ZeroingAccountedOnceAcrossCrash(t *testing.T) {
	r := newFakeRig(t, twoMeters)
	r.sample()
	r.sample()
	r.fw4.count("proxy", 1, 1000)
	r.sample()
	r.fw4.zero()
	r.fw4.count("proxy", 2, 3000)
	r.fw4.failOn = "delete" // the canary's replacement fails, as if killed
	r.sampler.Sample()
	r.fw4.failOn = ""
	r.restart()
	r.sample()
	wantTotal(t, r, "proxy", 4000)
}

// Case 5b: a reboot: new boot id, empty tables. Counting starts from zero
// and a reset is recorded.
func TestSample_RebootStartsFromZero(t *testing.T) {
	r := newFakeRig(t, twoMeters)
	r.sample()
	r.fw4.count("proxy", 1, 1000)
	r.sample()
	r.commit()
	r.fw4.reboot()
	r.fw6.reboot()
	r.boot = "boot-2"
	r.restart()
	r.sample()
	if c := lastCause(r, "proxy"); c != store.CauseReboot {
		t.Errorf("last reset %q, want %q", c, store.CauseReboot)
	}
	r.fw4.count("proxy", 1, 250)
	r.sample()
	wantTotal(t, r, "proxy", 1250)
}

// A reboot where something restored our rules, with the old generation,
// before the daemon started: the boot id alone says the counts are new.
func TestSample_RebootWithRestoredRules(t *testing.T) {
	r := newFakeRig(t, twoMeters)
	r.sample()
	r.fw4.count("proxy", 1, 1000)
	r.sample()
	r.commit()
	r.fw4.zero()
	r.fw4.count("proxy", 1, 2000)
	r.boot = "boot-2"
	r.restart()
	r.sample()
	wantTotal(t, r, "proxy", 3000)
	if c := lastCause(r, "proxy"); c != store.CauseReboot {
		t.Errorf("last reset %q, want %q", c, store.CauseReboot)
	}
}

// A zeroing seen only because the reading went down (the canary was zeroed
// rule by rule, or this iptables ignored -c).
func TestSample_ReadingBelowBaselineIsAZeroing(t *testing.T) {
	r := newFakeRig(t, twoMeters)
	r.sample()
	r.fw4.count("proxy", 5, 5000)
	r.sample()
	for i, rule := range r.fw4.chains["netmon-INPUT"] {
		if parseComment(commentOf(rule.args)).name == "proxy" {
			r.fw4.chains["netmon-INPUT"][i].packets = 1
			r.fw4.chains["netmon-INPUT"][i].bytes = 100
		}
	}
	r.sample()
	wantTotal(t, r, "proxy", 5100)
	if c := lastCause(r, "proxy"); c != store.CauseZeroed {
		t.Errorf("last reset %q, want %q", c, store.CauseZeroed)
	}
}

// A canary that never reads one (an iptables that ignores -c) must not be
// taken for a zeroing at every sample.
func TestSample_CanaryNotSetIsNotAZeroing(t *testing.T) {
	r := newFakeRig(t, twoMeters)
	r.sample()
	for i, rule := range r.fw4.chains["netmon-INPUT"] {
		if parseComment(commentOf(rule.args)).kind == kindCanary {
			r.fw4.chains["netmon-INPUT"][i].packets = 0
		}
	}
	r.fw4.count("proxy", 1, 100)
	r.sample()
	r.fw4.count("proxy", 1, 100)
	r.sample()
	wantTotal(t, r, "proxy", 200)
	if c := lastCause(r, "proxy"); c != "" {
		t.Errorf("reset %q recorded", c)
	}
}

func TestSample_ReloadKeepsTotalsOfKeptMeters(t *testing.T) {
	r := newFakeRig(t, twoMeters)
	r.sample()
	r.fw4.count("proxy", 1, 1000)
	r.sample()
	// Redefine proxy, drop all, add new.
	r.cfg = mustConfig(t, `
config meter 'proxy'
	option chain 'INPUT'
	option src '192.0.2.11'
config meter 'new'
	option chain 'OUTPUT'
`)
	r.sampler.Config = r.cfg
	r.sample()
	r.fw4.count("proxy", 1, 10)
	r.fw4.count("new", 1, 20)
	r.sample()
	wantTotal(t, r, "proxy", 1010)
	wantTotal(t, r, "new", 20)
	got := r.fw4.rendered()
	if strings.Contains(got, "netmon-FORWARD") || strings.Contains(got, "192.0.2.10") {
		t.Errorf("stale rules left:\n%s", got)
	}
	if c := lastCause(r, "proxy"); c != "" {
		t.Errorf("redefining a meter recorded a reset %q", c)
	}
}

func TestSample_OneReadPerFamily(t *testing.T) {
	r := newFakeRig(t, `
config meter 'proxy'
	option chain 'INPUT'
	option src '192.0.2.10'
config meter 'v6'
	option chain 'FORWARD'
	option src '2001:db8::/32'
`)
	r.sample() // installs: changes cost processes
	for i := 0; i < 20; i++ {
		r.fw4.calls, r.fw6.calls = 0, 0
		r.sample()
		if r.fw4.calls != 1 || r.fw6.calls != 1 {
			t.Fatalf("sample %d ran %d+%d iptables processes, want 1+1", i, r.fw4.calls, r.fw6.calls)
		}
	}
}

func TestSample_FamilyWithoutMetersIsNotRead(t *testing.T) {
	r := newFakeRig(t, `
config meter 'proxy'
	option chain 'INPUT'
	option src '192.0.2.10'
`)
	r.sample()
	r.fw6.calls = 0
	r.sample()
	r.sample()
	if r.fw6.calls != 0 {
		t.Errorf("ip6tables ran %d times for a family with no meters", r.fw6.calls)
	}
}

func logged(r *fakeRig, s string) bool {
	for _, l := range r.logs {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

func TestSample_UnreadableFamilyWithoutMetersIsLeftAlone(t *testing.T) {
	r := newFakeRig(t, `
config meter 'proxy'
	option chain 'INPUT'
	option src '192.0.2.10'
`)
	r.fw6.failOn = "rules"
	r.sample()
	r.sample()
	if r.fw6.calls != 1 {
		t.Errorf("ip6tables-save ran %d times, want once", r.fw6.calls)
	}
	r.fw4.failOn = "rules"
	r.clock.advance(time.Second)
	if err := r.sampler.Sample(); err == nil || !strings.Contains(err.Error(), "read ipv4 counters") {
		t.Errorf("a metered family's read error: %v", err)
	}
}
