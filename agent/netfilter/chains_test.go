package netfilter_test

import (
	"math/rand"
	"strings"
	"testing"

	"github.com/netmon-agent/netmon-agent/agent/account/accounttest"
	"github.com/netmon-agent/netmon-agent/agent/netfilter"
	"github.com/netmon-agent/netmon-agent/agent/netfilter/netfiltertest"
)

// install runs one Reconcile on a fresh read of fw.
func install(t *testing.T, fw *netfiltertest.Firewall, meters []netfilter.Meter) *netfilter.Plan {
	t.Helper()
	rs, err := fw.Rules()
	if err != nil {
		t.Fatal(err)
	}
	var wants []netfilter.Want
	for _, m := range meters {
		wants = append(wants, netfilter.MeterWant(m, fw.Family()))
	}
	p, err := netfilter.Reconcile(fw, rs, wants, nil, netfiltertest.CounterGen())
	if err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	return p
}

// Configurations and the whole table each must produce, generations
// replaced by GEN. The foreign rules at the top are someone else's.
var chainStates = []struct {
	name   string
	config string
	want   string
}{
	{"no meters", ``, `
:FORWARD
:INPUT
:OUTPUT
INPUT 1 -p tcp --dport 22 -j ACCEPT`},
	{"the classic two", `
config meter 'proxy'
	option chain 'INPUT'
	option src '192.168.0.10'
config meter 'offnet'
	option chain 'INPUT'
	option src '!192.168.0.0/24'`, `
:FORWARD
:INPUT
:OUTPUT
:netmon-INPUT
INPUT 1 -m comment --comment netmon-jump:GEN -j netmon-INPUT
INPUT 2 -p tcp --dport 22 -j ACCEPT
netmon-INPUT 1 -s 192.168.0.10/32 -m comment --comment netmon:m:proxy:e0b44c3d:GEN
netmon-INPUT 2 ! -s 192.168.0.0/24 -m comment --comment netmon:m:offnet:bf2d9282:GEN
netmon-INPUT 3 -m comment --comment netmon-return -j RETURN
netmon-INPUT 4 -m comment --comment netmon-canary:GEN`},
	{"every chain", `
config meter 'in'
	option chain 'INPUT'
	option in 'wan'
config meter 'fwd'
	option chain 'FORWARD'
	option out 'br-lan'
	option proto 'tcp'
	option dport '80'
config meter 'out'
	option chain 'OUTPUT'
	option dst '192.0.2.0/24'`, `
:FORWARD
:INPUT
:OUTPUT
:netmon-FORWARD
:netmon-INPUT
:netmon-OUTPUT
FORWARD 1 -m comment --comment netmon-jump:GEN -j netmon-FORWARD
INPUT 1 -m comment --comment netmon-jump:GEN -j netmon-INPUT
INPUT 2 -p tcp --dport 22 -j ACCEPT
OUTPUT 1 -m comment --comment netmon-jump:GEN -j netmon-OUTPUT
netmon-FORWARD 1 -o br-lan -p tcp -m tcp --dport 80 -m comment --comment netmon:m:fwd:93860169:GEN
netmon-FORWARD 2 -m comment --comment netmon-return -j RETURN
netmon-FORWARD 3 -m comment --comment netmon-canary:GEN
netmon-INPUT 1 -i wan -m comment --comment netmon:m:in:a22e9b8d:GEN
netmon-INPUT 2 -m comment --comment netmon-return -j RETURN
netmon-INPUT 3 -m comment --comment netmon-canary:GEN
netmon-OUTPUT 1 -d 192.0.2.0/24 -m comment --comment netmon:m:out:dfcda62b:GEN
netmon-OUTPUT 2 -m comment --comment netmon-return -j RETURN
netmon-OUTPUT 3 -m comment --comment netmon-canary:GEN`},
}

func seededFirewall() *netfiltertest.Firewall {
	fw := netfiltertest.NewFirewall(netfilter.IPv4)
	fw.Append("INPUT", "-p", "tcp", "--dport", "22", "-j", "ACCEPT")
	return fw
}

func TestReconcile_States(t *testing.T) {
	for _, tc := range chainStates {
		t.Run(tc.name, func(t *testing.T) {
			fw := seededFirewall()
			install(t, fw, accounttest.MustConfig(t, tc.config).MetersIn(netfilter.IPv4))
			if got, want := fw.Rendered(), strings.TrimSpace(tc.want); got != want {
				t.Errorf("table:\n%s\nwant:\n%s", got, want)
			}
			// Idempotent: a second pass changes nothing.
			if p := install(t, fw, accounttest.MustConfig(t, tc.config).MetersIn(netfilter.IPv4)); p.Changed() {
				t.Errorf("second reconcile changed: %q", p.Changes)
			}
		})
	}
}

// Any sequence of configurations ends in the table the last one asks for,
// the way a router's config changes over time.
func TestReconcile_AnyOrderConverges(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	fw := seededFirewall()
	for i := 0; i < 200; i++ {
		tc := chainStates[rng.Intn(len(chainStates))]
		install(t, fw, accounttest.MustConfig(t, tc.config).MetersIn(netfilter.IPv4))
		if got, want := fw.Rendered(), strings.TrimSpace(tc.want); got != want {
			t.Fatalf("step %d (%s):\n%s\nwant:\n%s", i, tc.name, got, want)
		}
	}
}

func TestRemove_LeavesExactlyWhatWasThere(t *testing.T) {
	for _, tc := range chainStates {
		fw := seededFirewall()
		fw.NewChain("zone_lan")
		fw.Append("FORWARD", "-i", "br-lan", "-j", "zone_lan")
		before := fw.Rendered()
		install(t, fw, accounttest.MustConfig(t, tc.config).MetersIn(netfilter.IPv4))
		install(t, fw, accounttest.MustConfig(t, tc.config).MetersIn(netfilter.IPv4))
		if _, err := netfilter.Remove(fw); err != nil {
			t.Fatal(err)
		}
		if got := fw.Rendered(); got != before {
			t.Errorf("%s: after remove:\n%s\nwant:\n%s", tc.name, got, before)
		}
		if p, _ := netfilter.Remove(fw); p.Changed() {
			t.Errorf("%s: second remove changed %q", tc.name, p.Changes)
		}
	}
}

// Healing: whatever someone did to our rules, one pass restores them, and
// foreign rules stay as they are.
func TestReconcile_Heals(t *testing.T) {
	cfg := chainStates[1].config
	want := strings.TrimSpace(chainStates[1].want)
	damage := map[string]func(fw *netfiltertest.Firewall){
		"jump deleted": func(fw *netfiltertest.Firewall) { fw.Delete("INPUT", "1") },
		"jump moved down": func(fw *netfiltertest.Firewall) {
			fw.Insert("INPUT", 1, "-p", "tcp", "--dport", "22", "-j", "ACCEPT")
			fw.Delete("INPUT", "3")
		},
		"jump duplicated":      func(fw *netfiltertest.Firewall) { fw.Append("INPUT", "-j", "netmon-INPUT") },
		"meter deleted":        func(fw *netfiltertest.Firewall) { fw.Delete("netmon-INPUT", "1") },
		"return deleted":       func(fw *netfiltertest.Firewall) { fw.Delete("netmon-INPUT", "3") },
		"canary deleted":       func(fw *netfiltertest.Firewall) { fw.Delete("netmon-INPUT", "4") },
		"chain flushed":        func(fw *netfiltertest.Firewall) { fw.ClearChain("netmon-INPUT") },
		"foreign rule in ours": func(fw *netfiltertest.Firewall) { fw.Insert("netmon-INPUT", 2, "-j", "DROP") },
		"meter after return": func(fw *netfiltertest.Firewall) {
			fw.Delete("netmon-INPUT", "1")
			fw.Append("netmon-INPUT", "-s", "192.168.0.10/32", "-m", "comment", "--comment", "netmon:m:proxy:e0b44c3d:x")
		},
		"stale chain of ours": func(fw *netfiltertest.Firewall) { fw.NewChain("netmon-old"); fw.Append("OUTPUT", "-j", "netmon-old") },
		"everything flushed": func(fw *netfiltertest.Firewall) {
			fw.Reboot()
			fw.Append("INPUT", "-p", "tcp", "--dport", "22", "-j", "ACCEPT")
		},
		"unknown meter present": func(fw *netfiltertest.Firewall) {
			fw.Insert("netmon-INPUT", 1, "-m", "comment", "--comment", "netmon:m:gone:1:2")
		},
	}
	for name, f := range damage {
		t.Run(name, func(t *testing.T) {
			fw := seededFirewall()
			install(t, fw, accounttest.MustConfig(t, cfg).MetersIn(netfilter.IPv4))
			f(fw)
			install(t, fw, accounttest.MustConfig(t, cfg).MetersIn(netfilter.IPv4))
			if got := fw.Rendered(); got != want {
				t.Errorf("after healing:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestReconcile_KeepsCountersOfUntouchedRules(t *testing.T) {
	fw := seededFirewall()
	meters := accounttest.MustConfig(t, chainStates[1].config).MetersIn(netfilter.IPv4)
	install(t, fw, meters)
	fw.Count("proxy", 3, 300)
	fw.Delete("netmon-INPUT", "2") // offnet's rule
	install(t, fw, meters)
	rs, _ := fw.Rules()
	for _, r := range rs.Chains["netmon-INPUT"] {
		if o := netfilter.ParseComment(r.Comment); o.Name == "proxy" && r.Bytes != 300 {
			t.Errorf("proxy's counter %d after healing offnet, want 300", r.Bytes)
		}
	}
}

func TestReconcile_ReportsErrors(t *testing.T) {
	fw := seededFirewall()
	fw.FailOn = "insert"
	rs, _ := fw.Rules()
	_, err := netfilter.Reconcile(fw, rs, []netfilter.Want{netfilter.MeterWant(accounttest.MustConfig(t, chainStates[1].config).Meters[0], netfilter.IPv4)}, nil, netfiltertest.CounterGen())
	if err == nil || !strings.Contains(err.Error(), "netmon-INPUT") {
		t.Errorf("error %v, want one naming the chain", err)
	}
}
