package netfilter

import (
	"os"
	"strings"
	"testing"
)

// firewallOnCapture is the IPv4 nftables Firewall over the lab's real
// listing (testdata/nft-list-ip-netmon-meters.txt: netmon-INPUT holds
// rules 8, 9, 10 and 11, INPUT holds the jump, 13), recording the nft
// scripts it runs.
func firewallOnCapture(t *testing.T) (*nftFirewall, *nftScript) {
	t.Helper()
	out, err := os.ReadFile("testdata/nft-list-ip-netmon-meters.txt")
	if err != nil {
		t.Fatal(err)
	}
	n := &nftScript{lists: map[string]string{"ip": string(out)}}
	return &nftFirewall{nftTool: textTool(n.run), fam: IPv4}, n
}

// lastScript is the last nft script run, without its leading add table.
func (n *nftScript) lastScript() string {
	s := n.calls[len(n.calls)-1]
	return strings.TrimPrefix(s, "-f -\nadd table ip netmon { comment \"netmon-agent\"; }\n")
}

func TestNftFirewall_InsertGoesBeforeTheRuleAtThatPosition(t *testing.T) {
	fw, n := firewallOnCapture(t)
	if err := fw.Insert("netmon-INPUT", 2, "-s", "198.18.1.9/32", "-m", "comment", "--comment", "netmon:m:new:h:g"); err != nil {
		t.Fatal(err)
	}
	want := "add chain ip netmon netmon-INPUT\ninsert rule ip netmon netmon-INPUT position 9 ip saddr 198.18.1.9/32 counter comment \"netmon:m:new:h:g\"\n"
	if got := n.lastScript(); got != want {
		t.Errorf("script:\n%s\nwant:\n%s", got, want)
	}
	// Past the end: appended.
	if err := fw.Insert("netmon-INPUT", 5, "-m", "comment", "--comment", "netmon-return", "-j", "RETURN"); err != nil {
		t.Fatal(err)
	}
	if got := n.lastScript(); !strings.HasSuffix(got, "add rule ip netmon netmon-INPUT return comment \"netmon-return\"\n") {
		t.Errorf("script:\n%s", got)
	}
}

func TestNftFirewall_BuiltinChainIsHookedWhereMissing(t *testing.T) {
	fw, n := firewallOnCapture(t)
	if err := fw.Insert("OUTPUT", 1, "-m", "comment", "--comment", "netmon-jump:g", "-j", "netmon-OUTPUT"); err != nil {
		t.Fatal(err)
	}
	want := "add chain ip netmon OUTPUT { type filter hook output priority -2; policy accept; }\nadd rule ip netmon OUTPUT jump netmon-OUTPUT comment \"netmon-jump:g\"\n"
	if got := n.lastScript(); got != want {
		t.Errorf("script:\n%s\nwant:\n%s", got, want)
	}
}

func TestNftFirewall_DeleteByPositionOrHandle(t *testing.T) {
	fw, n := firewallOnCapture(t)
	if err := fw.Delete("netmon-INPUT", "2"); err != nil {
		t.Fatal(err)
	}
	if got := n.lastScript(); got != "delete rule ip netmon netmon-INPUT handle 9\n" {
		t.Errorf("by position: %q", got)
	}
	rs, err := fw.Rules()
	if err != nil {
		t.Fatal(err)
	}
	jump := rs.Chains["INPUT"][0]
	if err := fw.Delete("INPUT", jump.Args...); err != nil {
		t.Fatal(err)
	}
	if got := n.lastScript(); got != "delete rule ip netmon INPUT handle 13\n" {
		t.Errorf("by Rules' arguments %q: %q", jump.Args, got)
	}
	for _, spec := range [][]string{{"9"}, {"x"}, {"handle", "x"}, {"-s", "198.18.1.2"}} {
		if err := fw.Delete("netmon-INPUT", spec...); err == nil {
			t.Errorf("Delete(%q) named a rule", spec)
		}
	}
}

// What Rules reads of our chains is what Reconcile needs: targets,
// comments, counters, and which chains are hooked.
func TestNftFirewall_RulesAsReconcileReadsThem(t *testing.T) {
	fw, _ := firewallOnCapture(t)
	rs, err := fw.Rules()
	if err != nil {
		t.Fatal(err)
	}
	ours := rs.Chains["netmon-INPUT"]
	if len(ours) != 4 || ours[2].Target != "RETURN" || ours[3].Packets != 1 || ours[0].Packets != 3 || ours[0].Bytes != 252 {
		t.Errorf("netmon-INPUT: %+v", ours)
	}
	if !rs.Builtin["INPUT"] || rs.Builtin["netmon-INPUT"] || rs.Chains["INPUT"][0].Target != "netmon-INPUT" {
		t.Errorf("INPUT: %+v, builtin %v", rs.Chains["INPUT"], rs.Builtin)
	}
}
