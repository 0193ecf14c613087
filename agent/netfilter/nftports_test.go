package netfilter

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/netmon-agent/netmon-agent/store"
)

// testLayout is a LAN bridge of two ports, 198.18.1.0/24 and
// 2001:db8:1::/64, the router's own addresses among them.
func testLayout() *portLayout {
	return &portLayout{devices: []string{"lana", "lanb"}, egress: true, local: map[Family][]netip.Prefix{
		IPv4: {netip.MustParsePrefix("198.18.1.0/24"), netip.MustParsePrefix("198.19.0.1/32")},
		IPv6: {netip.MustParsePrefix("2001:db8:1::/64")},
	}}
}

// testLocal is testLayout's LAN and router addresses, read from no kernel.
func testLocal(string) (map[Family][]netip.Prefix, error) { return testLayout().local, nil }

// At the ports, a throttle comes first; an upload is counted before its
// block (the host sent it), a download after (the host never got it); and
// only what crosses to or from the world counts.
func TestPortRules_OrderAndWhatCounts(t *testing.T) {
	a := netip.MustParseAddr("198.18.1.2")
	r := HostRules{LAN: "br-lan", Blocking: true, BlockedAddrs: []netip.Addr{netip.MustParseAddr("198.18.1.3")},
		Throttles: []Throttle{{Key: "x", Addrs: []netip.Addr{a}, Down: 500000, Up: 250000}},
		Services:  []ServicePort{{Proto: 6, Port: 443}}}
	up, down := portRules(IPv4, testLayout(), r)
	want := map[string][]string{
		"up": {"ip saddr { 198.18.1.2 } limit rate over 250000", "update @netmon-pul4 { ip saddr }",
			"ip saddr { 198.18.1.3 } drop", "update @netmon-spul4 { ip saddr . meta l4proto . th dport }"},
		"down": {"ip daddr { 198.18.1.2 } limit rate over 500000", "ip daddr { 198.18.1.3 } drop",
			"update @netmon-pdl4 { ip daddr }", "update @netmon-spdl4 { ip daddr . meta l4proto . th sport }"},
	}
	for name, rules := range map[string][]string{"up": up, "down": down} {
		if len(rules) != len(want[name]) {
			t.Fatalf("%s: %q", name, rules)
		}
		for i, part := range want[name] {
			if !strings.Contains(rules[i], part) {
				t.Errorf("%s rule %d: %q, want it to contain %q", name, i, rules[i], part)
			}
		}
	}
	for _, rule := range up {
		if !strings.HasPrefix(rule, "ip daddr != { 198.18.1.0/24, 198.19.0.1/32 }") {
			t.Errorf("an upload rule counts traffic to the LAN or the router: %q", rule)
		}
	}
	for _, rule := range down {
		if !strings.HasPrefix(rule, "ip saddr != { 198.18.1.0/24, 198.19.0.1/32 }") {
			t.Errorf("a download rule counts traffic from the LAN or the router: %q", rule)
		}
	}
}

// An egress hook counts each packet's Ethernet header; the reader takes
// it off, in the address and the service sets of downloads only.
func TestTakeEgressHeader(t *testing.T) {
	a := netip.MustParseAddr("198.18.1.2")
	k := ServiceKey{Addr: a, ServicePort: ServicePort{Proto: 6, Port: 443}}
	sets := map[string]*IPSet{
		"netmon-pdl4":  {Elements: map[netip.Addr]store.Counts{a: {Packets: 10, Bytes: 15140}}},
		"netmon-spdl4": {Services: map[ServiceKey]store.Counts{k: {Packets: 2, Bytes: 3028}}},
		"netmon-pul4":  {Elements: map[netip.Addr]store.Counts{a: {Packets: 10, Bytes: 15000}}},
	}
	takeEgressHeader(sets)
	if got := sets["netmon-pdl4"].Elements[a].Bytes; got != 15000 {
		t.Errorf("download %d bytes, want 15000", got)
	}
	if got := sets["netmon-spdl4"].Services[k].Bytes; got != 3000 {
		t.Errorf("service download %d bytes, want 3000", got)
	}
	if got := sets["netmon-pul4"].Elements[a].Bytes; got != 15000 {
		t.Errorf("upload %d bytes, want it untouched", got)
	}
}

// The LAN's ports are the bridge's, or the LAN device itself.
func TestLanPorts(t *testing.T) {
	sysfs := t.TempDir()
	for _, d := range []string{"br-lan/brif/lana", "br-lan/brif/lanb", "eth1"} {
		os.MkdirAll(filepath.Join(sysfs, d), 0o755)
	}
	if got, err := lanPorts(sysfs, "br-lan"); err != nil || !slices.Equal(got, []string{"lana", "lanb"}) {
		t.Errorf("bridge: %v, %v", got, err)
	}
	if got, err := lanPorts(sysfs, "eth1"); err != nil || !slices.Equal(got, []string{"eth1"}) {
		t.Errorf("a plain device: %v, %v", got, err)
	}
	if _, err := lanPorts(sysfs, "br-gone"); err == nil {
		t.Error("a missing LAN device has ports")
	}
}

func TestMergePrefixes(t *testing.T) {
	got := mergePrefixes([]netip.Prefix{netip.MustParsePrefix("198.18.1.1/32"), netip.MustParsePrefix("224.0.0.0/4"),
		netip.MustParsePrefix("198.18.1.0/24"), netip.MustParsePrefix("198.19.0.1/32")})
	want := []netip.Prefix{netip.MustParsePrefix("198.18.1.0/24"), netip.MustParsePrefix("198.19.0.1/32"), netip.MustParsePrefix("224.0.0.0/4")}
	if !slices.Equal(got, want) {
		t.Errorf("%v, want %v", got, want)
	}
}

// When a flowtable appears, one transaction moves the counting from the
// forward chain to the ports; when it goes, the ports keep counting.
func TestNftSets_CountingMovesToThePortsInOneTransaction(t *testing.T) {
	sysfs := t.TempDir()
	os.MkdirAll(filepath.Join(sysfs, "br-lan", "brif", "lana"), 0o755)
	n := &nftScript{lists: map[string]string{}}
	offload := false
	s := &nftSets{fams: []Family{IPv4}, nftTool: textTool(n.run), sysfs: sysfs, local: testLocal, flowtables: func() (bool, error) { return offload, nil }}
	if _, err := s.List(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.HoldRules([]Family{IPv4}, HostRules{LAN: "br-lan"}); err != nil || s.CountsAtPorts() {
		t.Fatalf("no flowtable: %v, at ports %v", err, s.CountsAtPorts())
	}
	offload, n.calls = true, nil
	done, err := s.HoldRules([]Family{IPv4}, HostRules{LAN: "br-lan"})
	// (Whose the netdev table is, is read before the first change to it.)
	if err != nil || len(n.calls) != 2 || !s.CountsAtPorts() {
		t.Fatalf("a flowtable: %v, %v, calls %q", done, err, n.calls)
	}
	script := n.calls[1]
	if strings.Contains(script, "update @netmon-dl4") || !strings.Contains(script, "flush chain ip netmon forward") ||
		!strings.Contains(script, "hook ingress devices = { \"lana\" } priority -500") || !strings.Contains(script, "update @netmon-pdl4") {
		t.Errorf("the move's transaction:\n%s", script)
	}
	offload, n.calls = false, nil
	if _, err := s.HoldRules([]Family{IPv4}, HostRules{LAN: "br-lan"}); err != nil || len(n.calls) != 0 || !s.CountsAtPorts() {
		t.Errorf("flowtable gone: %v, calls %q, at ports %v", err, n.calls, s.CountsAtPorts())
	}
}

// A block replaces the port chains' rules where they are hooked; a port
// added to the bridge hooks them anew, on both ports.
func TestNftSets_PortChainsStayHookedWhileTheirPortsDo(t *testing.T) {
	sysfs := t.TempDir()
	os.MkdirAll(filepath.Join(sysfs, "br-lan", "brif", "lana"), 0o755)
	n := &nftScript{lists: map[string]string{}}
	s := &nftSets{fams: []Family{IPv4}, nftTool: textTool(n.run), sysfs: sysfs, local: testLocal, flowtables: func() (bool, error) { return true, nil }}
	if _, err := s.HoldRules([]Family{IPv4}, HostRules{LAN: "br-lan"}); err != nil {
		t.Fatal(err)
	}
	blocked := HostRules{LAN: "br-lan", Blocking: true, BlockedAddrs: []netip.Addr{netip.MustParseAddr("198.18.1.3")}}
	if _, err := s.HoldRules([]Family{IPv4}, blocked); err != nil {
		t.Fatal(err)
	}
	script := n.calls[len(n.calls)-1]
	if strings.Contains(script, "chain netdev netmon netmon-up {") || strings.Contains(script, "delete chain netdev netmon netmon-up") ||
		!strings.Contains(script, "flush chain netdev netmon netmon-up\n") || !strings.Contains(script, "198.18.1.3 } drop") {
		t.Errorf("a block:\n%s", script)
	}
	os.MkdirAll(filepath.Join(sysfs, "br-lan", "brif", "lanb"), 0o755)
	if _, err := s.HoldRules([]Family{IPv4}, blocked); err != nil {
		t.Fatal(err)
	}
	script = n.calls[len(n.calls)-1]
	if !strings.Contains(script, "delete chain netdev netmon netmon-up\n") ||
		!strings.Contains(script, `hook ingress devices = { "lana", "lanb" } priority -500`) {
		t.Errorf("a port added:\n%s", script)
	}
}

// A kernel without the egress hook refuses the down chain: the daemon
// says so once, and from then on the ports count the uploads while the
// forward chain keeps counting the downloads.
func TestNftSets_NoEgressHookKeepsDownloadsInTheForwardChain(t *testing.T) {
	sysfs := t.TempDir()
	os.MkdirAll(filepath.Join(sysfs, "br-lan", "brif", "lana"), 0o755)
	var scripts []string
	run := func(stdin string, args ...string) ([]byte, error) {
		if len(args) > 0 && args[0] == "-f" {
			scripts = append(scripts, stdin)
			if strings.Contains(stdin, "hook egress") {
				return nil, errors.New("nft: exit status 1: Error: Could not process rule: Operation not supported\nadd chain netdev netmon netmon-down { type filter hook egress ...")
			}
			return nil, nil
		}
		return nil, errors.New("nft: exit status 1: Error: No such file or directory")
	}
	var logged []string
	tool := textTool(run)
	tool.Logf = func(format string, a ...any) { logged = append(logged, format) }
	s := &nftSets{fams: []Family{IPv4}, nftTool: tool, sysfs: sysfs, local: testLocal, flowtables: func() (bool, error) { return true, nil }}
	if _, err := s.HoldRules([]Family{IPv4}, HostRules{LAN: "br-lan"}); err == nil {
		t.Fatal("the egress chain's refusal went unsaid")
	}
	if _, err := s.HoldRules([]Family{IPv4}, HostRules{LAN: "br-lan"}); err != nil {
		t.Fatal(err)
	}
	last := scripts[len(scripts)-1]
	if strings.Contains(last, "hook egress") || !strings.Contains(last, "update @netmon-dl4 { ip daddr }") ||
		strings.Contains(last, "update @netmon-ul4") || !strings.Contains(last, "update @netmon-pul4") {
		t.Errorf("without egress:\n%s", last)
	}
	if len(logged) != 1 || !strings.Contains(logged[0], "no netdev egress hook") {
		t.Errorf("log: %q", logged)
	}
}
