package netfilter

import (
	"errors"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/netmon-agent/netmon-agent/store"
)

// testdata/nft-list-ip{,6}-netmon.txt are `nft -a list table ip{,6} netmon`
// (nftables 1.0.6) from the lab after traffic both ways and a MAC block.
func TestParseNftTable_RealCapture(t *testing.T) {
	for _, c := range []struct {
		file       string
		fam        Family
		addr       string
		dl         store.Counts
		generation string
	}{
		{"nft-list-ip-netmon.txt", IPv4, "198.18.1.2", store.Counts{Packets: 3, Bytes: 252}, "1.1"},
		{"nft-list-ip6-netmon.txt", IPv6, "2001:db8:1::3", store.Counts{Packets: 2, Bytes: 208}, "2.1"},
	} {
		out, err := os.ReadFile("testdata/" + c.file)
		if err != nil {
			t.Fatal(err)
		}
		sets, rules, err := parseNftTable(out)
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if len(sets) != 3 {
			t.Fatalf("%s: sets %v, want dl, ul and block", c.file, sets)
		}
		dl := sets[SetName(store.DirDownload, c.fam)]
		if dl == nil || dl.Family != c.fam || !dl.Counters || dl.Generation != c.generation {
			t.Errorf("%s: download set %+v", c.file, dl)
			continue
		}
		if got := dl.Elements[netip.MustParseAddr(c.addr)]; got != c.dl {
			t.Errorf("%s: %s counts %+v, want %+v", c.file, c.addr, got, c.dl)
		}
		if _, ok := sets[SetName(DirBlock, c.fam)].Elements[netip.MustParseAddr("198.18.1.3")]; c.fam == IPv4 && !ok {
			t.Errorf("%s: block set %+v", c.file, sets[SetName(DirBlock, c.fam)])
		}
		want, err := nftRules(c.fam, HostRules{LAN: "br-lan", Blocking: true, BlockedMACs: []string{"02:00:00:00:01:03"}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var comments []string
		for _, r := range want {
			comments = append(comments, nftComment(hostHook, r))
		}
		if !slices.Equal(rules, comments) {
			t.Errorf("%s: rules %v, want %v", c.file, rules, comments)
		}
	}
}

// nft wraps a long element list over several lines.
func TestParseNftTable_WrappedElements(t *testing.T) {
	out, err := os.ReadFile("testdata/nft-list-ip-netmon-40.txt")
	if err != nil {
		t.Fatal(err)
	}
	sets, rules, err := parseNftTable(out)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(sets["netmon-dl4"].Elements); n != 40 {
		t.Errorf("%d elements, want 40", n)
	}
	if _, ok := sets["netmon-dl4"].Elements[netip.MustParseAddr("198.18.1.41")]; !ok {
		t.Error("last element of a wrapped list missing")
	}
	if n := len(sets["netmon-ul4"].Elements); n != 0 {
		t.Errorf("empty set has %d elements", n)
	}
	if rules == nil || len(rules) != 0 {
		t.Errorf("empty chain read as %#v", rules)
	}
}

func TestParseNftTable_BadOutput(t *testing.T) {
	for name, in := range map[string]string{
		"bad address":  "table ip netmon { # handle 1\n\tset netmon-dl4 { # handle 1\n\t\ttype ipv4_addr\n\t\telements = { 198.18.1.999 }\n\t}\n}\n",
		"foreign type": "table ip netmon { # handle 1\n\tset netmon-dl4 { # handle 1\n\t\ttype ether_addr\n\t}\n}\n",
		"bad counter":  "table ip netmon { # handle 1\n\tset netmon-dl4 { # handle 1\n\t\ttype ipv4_addr\n\t\telements = { 198.18.1.2 counter packets x bytes 1 }\n\t}\n}\n",
		"unclosed":     "table ip netmon { # handle 1\n\tset netmon-dl4 { # handle 1\n\t\ttype ipv4_addr\n\t\telements = { 198.18.1.2,\n",
	} {
		if _, _, err := parseNftTable([]byte(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestNftRules(t *testing.T) {
	got, err := nftRules(IPv6, HostRules{LAN: "br-lan"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`oifname "br-lan" iifname != "br-lan" update @netmon-dl6 { ip6 daddr }`,
		`iifname "br-lan" oifname != "br-lan" update @netmon-ul6 { ip6 saddr }`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("rules\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, lan := range []string{`br"lan`, "br;lan", "", "a very long interface"} {
		if _, err := nftRules(IPv4, HostRules{LAN: lan}, nil); err == nil {
			t.Errorf("LAN %q accepted", lan)
		}
	}
	if _, err := nftRules(IPv4, HostRules{LAN: "br-lan", Blocking: true, BlockedMACs: []string{"02:00:00:00:01:03 } accept; {"}}, nil); err == nil {
		t.Error("malformed MAC accepted")
	}
}

// nftScript records what nftSets runs and answers with canned output.
type nftScript struct {
	calls []string
	list  string
	// lists, when set, answers `list table FAMILY netmon` by family; a
	// family not in it has no table.
	lists map[string]string
	err   error
}

func (n *nftScript) run(stdin string, args ...string) ([]byte, error) {
	n.calls = append(n.calls, strings.Join(args, " ")+"\n"+stdin)
	if n.err != nil {
		return nil, n.err
	}
	if n.lists != nil && len(args) == 5 && args[1] == "list" {
		l, ok := n.lists[args[3]]
		if !ok {
			return nil, errors.New("nft: exit status 1: Error: No such file or directory")
		}
		return []byte(l), nil
	}
	return []byte(n.list), nil
}

// listedIPv4 is nftSets of IPv4 whose List read table ip netmon as
// fixture has it, on a kernel without flowtables.
func listedIPv4(t *testing.T, fixture string) (*nftScript, *nftSets) {
	t.Helper()
	out, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	n := &nftScript{lists: map[string]string{"ip": string(out)}}
	s := &nftSets{fams: []Family{IPv4}, nftTool: textTool(n.run), flowtables: noFlowtable}
	if _, err := s.List(); err != nil {
		t.Fatal(err)
	}
	return n, s
}

func TestNftSets_HoldRulesRunsNothingWhenInPlace(t *testing.T) {
	n, s := listedIPv4(t, "testdata/nft-list-ip-netmon.txt")
	changes, err := s.HoldRules([]Family{IPv4}, HostRules{LAN: "br-lan", Blocking: true, BlockedMACs: []string{"02:00:00:00:01:03"}})
	// The first List reads the netdev table too (there is none, so later
	// ones do not).
	if err != nil || len(changes) != 0 || len(n.calls) != 2 {
		t.Fatalf("rules in place: changes %v, err %v, calls %q", changes, err, n.calls)
	}
	// The block lifted: the chain's rules are replaced in one transaction,
	// the chain staying hooked (deleting and adding it again would count a
	// packet passing at the commit twice); whose the table is, List found
	// out already.
	changes, err = s.HoldRules([]Family{IPv4}, HostRules{LAN: "br-lan"})
	if err != nil || len(changes) != 1 || len(n.calls) != 3 {
		t.Fatalf("block lifted: changes %v, err %v, calls %q", changes, err, n.calls)
	}
	script := n.calls[2]
	if !strings.HasPrefix(script, "-f -\n") || !strings.Contains(script, "flush chain ip netmon forward\n") ||
		strings.Contains(script, "drop") || strings.Count(script, "add rule") != 2 ||
		strings.Contains(script, "delete chain") || strings.Contains(script, "add chain") {
		t.Errorf("script:\n%s", script)
	}
	// Now in place: nothing more runs.
	if _, err := s.HoldRules([]Family{IPv4}, HostRules{LAN: "br-lan"}); err != nil || len(n.calls) != 3 {
		t.Errorf("second hold ran %d processes (%v)", len(n.calls)-3, err)
	}
}

// A forward chain an older version made (its comments name no hook, or
// another priority) is made anew at our priority.
func TestNftSets_ChainOfAnOlderVersionIsMadeAnew(t *testing.T) {
	n, s := listedIPv4(t, "testdata/nft-list-ip-netmon-meters.txt")
	if _, err := s.HoldRules([]Family{IPv4}, HostRules{LAN: "br-lan"}); err != nil {
		t.Fatal(err)
	}
	script := n.calls[len(n.calls)-1]
	if !strings.Contains(script, "delete chain ip netmon forward\n") ||
		!strings.Contains(script, "add chain ip netmon forward { type filter hook forward priority 10; policy accept; }") {
		t.Errorf("script:\n%s", script)
	}
}

// noFlowtable is a kernel without flowtables.
func noFlowtable() (bool, error) { return false, nil }

func TestNftSets_MissingTable(t *testing.T) {
	n := &nftScript{err: errors.New("nft -a list table ip netmon: exit status 1: Error: No such file or directory")}
	s := &nftSets{fams: Families, nftTool: textTool(n.run)}
	sets, err := s.List()
	if err != nil || len(sets) != 0 {
		t.Errorf("List of missing tables: %v, %v", sets, err)
	}
	n.err = errors.New("nft: exit status 1: Error: Could not process rule: Operation not permitted")
	if _, err := s.List(); err == nil {
		t.Error("List hides a real failure")
	}
	n.err, n.lists = nil, map[string]string{"ip6": "table ip6 netmon { # handle 2\n}\n"}
	n.calls = nil
	done, err := s.Remove()
	if err != nil || len(done) != 1 || !strings.Contains(n.calls[2], "delete table ip6 netmon") {
		t.Errorf("Remove: %v, %v, calls %q", done, err, n.calls)
	}
}

// textTool is an nftTool that reads as it does where netlink is refused:
// through run, the nft binary's stand-in.
func textTool(run func(stdin string, args ...string) ([]byte, error)) *nftTool {
	return &nftTool{run: run, fallback: errors.New("netlink refused in this test")}
}

// parseNftTable reads `nft -a list table FAMILY netmon` as the host sets
// see it: our sets with their elements and counters, and the comments of
// the host chain's rules in order (nil when there is no such chain).
func parseNftTable(out []byte) (map[string]*IPSet, []string, error) {
	d, err := parseNftList(out)
	if err != nil {
		return nil, nil, err
	}
	return d.Sets, d.comments(nftHostChain), nil
}
