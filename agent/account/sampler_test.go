package account_test

import (
	"strings"
	"testing"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/account"
	"github.com/netmon-agent/netmon-agent/agent/account/accounttest"
	"github.com/netmon-agent/netmon-agent/agent/netfilter"
	"github.com/netmon-agent/netmon-agent/agent/netfilter/netfiltertest"
	"github.com/netmon-agent/netmon-agent/store"
)

func TestSample_CountsOnlyGrowth(t *testing.T) {
	r := accounttest.NewRig(t, accounttest.TwoMeters)
	r.Sample() // installs
	r.Fw4.Count("proxy", 2, 1000)
	r.Sample()
	r.Fw4.Count("proxy", 1, 500)
	r.Sample()
	r.Sample()
	accounttest.WantTotal(t, r, "proxy", 1500)
	if got := r.Total("proxy").Packets; got != 3 {
		t.Errorf("packets %d, want 3", got)
	}
	if c := accounttest.LastCause(r, "proxy"); c != "" {
		t.Errorf("reset %q recorded for plain growth", c)
	}
}

func TestSample_MeterWithoutAddressCountsBothFamilies(t *testing.T) {
	r := accounttest.NewRig(t, accounttest.TwoMeters)
	r.Sample()
	r.Fw4.Count("all", 1, 100)
	r.Fw6.Count("all", 1, 60)
	r.Sample()
	accounttest.WantTotal(t, r, "all", 160)
	_, _, fams := r.Sampler.State.MeterTotal("all")
	if fams["ipv4"].Bytes != 100 || fams["ipv6"].Bytes != 60 {
		t.Errorf("per family %+v, want ipv4 100 and ipv6 60", fams)
	}
}

// Case 1: the daemon stops cleanly and starts again; the kernel counted on.
func TestSample_RestartLosesNothing(t *testing.T) {
	r := accounttest.NewRig(t, accounttest.TwoMeters)
	r.Sample()
	r.Fw4.Count("proxy", 1, 1000)
	r.Sample()
	r.Commit()
	r.Fw4.Count("proxy", 1, 700) // while no daemon runs
	r.Restart()
	r.Sample()
	accounttest.WantTotal(t, r, "proxy", 1700)
}

// Case 2: SIGKILL after uncommitted samples: the committed baseline and the
// kernel's counters make up the difference, nothing doubled.
func TestSample_CrashLosesNothingAndDoublesNothing(t *testing.T) {
	r := accounttest.NewRig(t, accounttest.TwoMeters)
	r.Sample()
	r.Fw4.Count("proxy", 1, 1000)
	r.Sample()
	r.Commit()
	r.Fw4.Count("proxy", 1, 300)
	r.Sample() // counted in memory, never committed
	r.Fw4.Count("proxy", 1, 200)
	r.Restart() // killed: memory gone
	r.Sample()
	accounttest.WantTotal(t, r, "proxy", 1500)
}

// Case 3: our chain is deleted under a running daemon: reinstalled at the
// next sample, a reset recorded, and the new rule counted from zero.
func TestSample_DeletedChainIsReinstalled(t *testing.T) {
	r := accounttest.NewRig(t, accounttest.TwoMeters)
	r.Sample()
	r.Fw4.Count("proxy", 1, 1000)
	r.Sample()
	before := r.Fw4.Rendered()
	r.Fw4.Delete("INPUT", "1")
	r.Fw4.ClearChain("netmon-INPUT")
	r.Fw4.DeleteChain("netmon-INPUT")
	r.Sample()
	if got := r.Fw4.Rendered(); got != before {
		t.Errorf("after healing:\n%s\nwant:\n%s", got, before)
	}
	if c := accounttest.LastCause(r, "proxy"); c != store.CauseReinstalled {
		t.Errorf("last reset %q, want %q", c, store.CauseReinstalled)
	}
	r.Fw4.Count("proxy", 1, 400)
	r.Sample()
	accounttest.WantTotal(t, r, "proxy", 1400)
	if !logged(r, "installed meter proxy") {
		t.Errorf("reinstall not logged: %q", r.Logs)
	}
}

// Case 3b: only the jump is deleted: the chain and its counters stay, so the
// jump comes back and nothing is reset.
func TestSample_DeletedJumpIsReinstalled(t *testing.T) {
	r := accounttest.NewRig(t, accounttest.TwoMeters)
	r.Sample()
	r.Fw4.Count("proxy", 1, 1000)
	r.Sample()
	before := r.Fw4.Rendered()
	r.Fw4.Delete("INPUT", "1")
	r.Sample()
	if got := r.Fw4.Rendered(); got != before {
		t.Errorf("after healing:\n%s\nwant:\n%s", got, before)
	}
	r.Fw4.Count("proxy", 1, 10)
	r.Sample()
	accounttest.WantTotal(t, r, "proxy", 1010)
	if c := accounttest.LastCause(r, "proxy"); c != "" {
		t.Errorf("reset %q recorded for a moved jump", c)
	}
}

// Case 4: the chains vanish while the daemon is stopped and are recreated
// (another generation) with counts already above the stored baseline. The
// classic script adds new-old; the whole new count is right.
func TestSample_RecreatedRuleLargerThanBaselineCountsFromZero(t *testing.T) {
	r := accounttest.NewRig(t, accounttest.TwoMeters)
	r.Sample()
	r.Fw4.Count("proxy", 1, 1000)
	r.Sample()
	r.Commit()
	// Someone else recreates our chains (another agent process, say).
	r.Fw4.Reboot()
	other := &account.Sampler{Config: r.Config, Firewalls: []netfilter.Firewall{r.Fw4}, State: store.NewState(), Clock: r.Clock,
		Boot: func() (string, error) { return r.Boot, nil }, NewGen: func() string { return "other" }, Logf: func(string, ...any) {}}
	if err := other.Sample(); err != nil {
		t.Fatal(err)
	}
	r.Fw4.Count("proxy", 3, 5000)
	r.Restart()
	r.Sample()
	accounttest.WantTotal(t, r, "proxy", 6000)
	if c := accounttest.LastCause(r, "proxy"); c != store.CauseReinstalled {
		t.Errorf("last reset %q, want %q", c, store.CauseReinstalled)
	}
}

// Case 5a: iptables -Z, then more traffic than the old count before the
// next sample: only the canary can tell, and it does.
func TestSample_ZeroingSeenByCanaryEvenWhenCountsGrewPastBaseline(t *testing.T) {
	r := accounttest.NewRig(t, accounttest.TwoMeters)
	r.Sample()
	r.Sample() // the canary is seen at one and armed
	r.Fw4.Count("proxy", 1, 1000)
	r.Sample()
	r.Fw4.Zero()
	r.Fw4.Count("proxy", 2, 3000)
	r.Sample()
	accounttest.WantTotal(t, r, "proxy", 4000)
	if c := accounttest.LastCause(r, "proxy"); c != store.CauseZeroed {
		t.Errorf("last reset %q, want %q", c, store.CauseZeroed)
	}
	// The canary is replaced, so the next sample sees no second zeroing.
	r.Fw4.Count("proxy", 1, 100)
	r.Sample()
	accounttest.WantTotal(t, r, "proxy", 4100)
	if n := len(r.Sampler.State.Events); n != 2 { // proxy and all were zeroed
		t.Errorf("%d events, want 2: %+v", n, r.Sampler.State.Events)
	}
}

// Case 5a, crash edition: killed after the zeroing was committed but before
// the canary was replaced; the restarted daemon must not count it again.
func TestSample_ZeroingAccountedOnceAcrossCrash(t *testing.T) {
	r := accounttest.NewRig(t, accounttest.TwoMeters)
	r.Sample()
	r.Sample()
	r.Fw4.Count("proxy", 1, 1000)
	r.Sample()
	r.Fw4.Zero()
	r.Fw4.Count("proxy", 2, 3000)
	r.Fw4.FailOn = "delete" // the canary's replacement fails, as if killed
	r.Sampler.Sample()
	r.Fw4.FailOn = ""
	r.Restart()
	r.Sample()
	accounttest.WantTotal(t, r, "proxy", 4000)
}

// Case 5b: a reboot: new boot id, empty tables. Counting starts from zero
// and a reset is recorded.
func TestSample_RebootStartsFromZero(t *testing.T) {
	r := accounttest.NewRig(t, accounttest.TwoMeters)
	r.Sample()
	r.Fw4.Count("proxy", 1, 1000)
	r.Sample()
	r.Commit()
	r.Fw4.Reboot()
	r.Fw6.Reboot()
	r.Boot = "boot-2"
	r.Restart()
	r.Sample()
	if c := accounttest.LastCause(r, "proxy"); c != store.CauseReboot {
		t.Errorf("last reset %q, want %q", c, store.CauseReboot)
	}
	r.Fw4.Count("proxy", 1, 250)
	r.Sample()
	accounttest.WantTotal(t, r, "proxy", 1250)
}

// A reboot where something restored our rules, with the old generation,
// before the daemon started: the boot id alone says the counts are new.
func TestSample_RebootWithRestoredRules(t *testing.T) {
	r := accounttest.NewRig(t, accounttest.TwoMeters)
	r.Sample()
	r.Fw4.Count("proxy", 1, 1000)
	r.Sample()
	r.Commit()
	r.Fw4.Zero()
	r.Fw4.Count("proxy", 1, 2000)
	r.Boot = "boot-2"
	r.Restart()
	r.Sample()
	accounttest.WantTotal(t, r, "proxy", 3000)
	if c := accounttest.LastCause(r, "proxy"); c != store.CauseReboot {
		t.Errorf("last reset %q, want %q", c, store.CauseReboot)
	}
}

// A zeroing seen only because the reading went down (the canary was zeroed
// rule by rule, or this iptables ignored -c).
func TestSample_ReadingBelowBaselineIsAZeroing(t *testing.T) {
	r := accounttest.NewRig(t, accounttest.TwoMeters)
	r.Sample()
	r.Fw4.Count("proxy", 5, 5000)
	r.Sample()
	for i, rule := range r.Fw4.Chains["netmon-INPUT"] {
		if netfilter.ParseComment(netfiltertest.CommentOf(rule.Args)).Name == "proxy" {
			r.Fw4.Chains["netmon-INPUT"][i].Packets = 1
			r.Fw4.Chains["netmon-INPUT"][i].Bytes = 100
		}
	}
	r.Sample()
	accounttest.WantTotal(t, r, "proxy", 5100)
	if c := accounttest.LastCause(r, "proxy"); c != store.CauseZeroed {
		t.Errorf("last reset %q, want %q", c, store.CauseZeroed)
	}
}

// A canary that never reads one (an iptables that ignores -c) must not be
// taken for a zeroing at every sample.
func TestSample_CanaryNotSetIsNotAZeroing(t *testing.T) {
	r := accounttest.NewRig(t, accounttest.TwoMeters)
	r.Sample()
	for i, rule := range r.Fw4.Chains["netmon-INPUT"] {
		if netfilter.ParseComment(netfiltertest.CommentOf(rule.Args)).Kind == netfilter.KindCanary {
			r.Fw4.Chains["netmon-INPUT"][i].Packets = 0
		}
	}
	r.Fw4.Count("proxy", 1, 100)
	r.Sample()
	r.Fw4.Count("proxy", 1, 100)
	r.Sample()
	accounttest.WantTotal(t, r, "proxy", 200)
	if c := accounttest.LastCause(r, "proxy"); c != "" {
		t.Errorf("reset %q recorded", c)
	}
}

func TestSample_ReloadKeepsTotalsOfKeptMeters(t *testing.T) {
	r := accounttest.NewRig(t, accounttest.TwoMeters)
	r.Sample()
	r.Fw4.Count("proxy", 1, 1000)
	r.Sample()
	// Redefine proxy, drop all, add new.
	r.Config = accounttest.MustConfig(t, `
config meter 'proxy'
	option chain 'INPUT'
	option src '192.0.2.11'
config meter 'new'
	option chain 'OUTPUT'
`)
	r.Sampler.Config = r.Config
	r.Sample()
	r.Fw4.Count("proxy", 1, 10)
	r.Fw4.Count("new", 1, 20)
	r.Sample()
	accounttest.WantTotal(t, r, "proxy", 1010)
	accounttest.WantTotal(t, r, "new", 20)
	got := r.Fw4.Rendered()
	if strings.Contains(got, "netmon-FORWARD") || strings.Contains(got, "192.0.2.10") {
		t.Errorf("stale rules left:\n%s", got)
	}
	if c := accounttest.LastCause(r, "proxy"); c != "" {
		t.Errorf("redefining a meter recorded a reset %q", c)
	}
}

func TestSample_OneReadPerFamily(t *testing.T) {
	r := accounttest.NewRig(t, `
config meter 'proxy'
	option chain 'INPUT'
	option src '192.0.2.10'
config meter 'v6'
	option chain 'FORWARD'
	option src '2001:db8::/32'
`)
	r.Sample() // installs: changes cost processes
	for i := 0; i < 20; i++ {
		r.Fw4.Calls, r.Fw6.Calls = 0, 0
		r.Sample()
		if r.Fw4.Calls != 1 || r.Fw6.Calls != 1 {
			t.Fatalf("sample %d ran %d+%d iptables processes, want 1+1", i, r.Fw4.Calls, r.Fw6.Calls)
		}
	}
}

func TestSample_FamilyWithoutMetersIsNotRead(t *testing.T) {
	r := accounttest.NewRig(t, `
config meter 'proxy'
	option chain 'INPUT'
	option src '192.0.2.10'
`)
	r.Sample()
	r.Fw6.Calls = 0
	r.Sample()
	r.Sample()
	if r.Fw6.Calls != 0 {
		t.Errorf("ip6tables ran %d times for a family with no meters", r.Fw6.Calls)
	}
}

func logged(r *accounttest.Rig, s string) bool {
	for _, l := range r.Logs {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

func TestSample_UnreadableFamilyWithoutMetersIsLeftAlone(t *testing.T) {
	r := accounttest.NewRig(t, `
config meter 'proxy'
	option chain 'INPUT'
	option src '192.0.2.10'
`)
	r.Fw6.FailOn = "rules"
	r.Sample()
	r.Sample()
	if r.Fw6.Calls != 1 {
		t.Errorf("ip6tables-save ran %d times, want once", r.Fw6.Calls)
	}
	r.Fw4.FailOn = "rules"
	r.Clock.Advance(time.Second)
	if err := r.Sampler.Sample(); err == nil || !strings.Contains(err.Error(), "read ipv4 counters") {
		t.Errorf("a metered family's read error: %v", err)
	}
}
