package netfilter

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

var throttleA = Throttle{
	Key:   "02:00:00:00:01:02",
	Addrs: []netip.Addr{netip.MustParseAddr("198.18.1.2"), netip.MustParseAddr("2001:db8:1::2"), netip.MustParseAddr("2001:db8:1::a")},
	Down:  250_000, Up: 125_000,
}

// A throttled host gets one bucket per direction and family: one nft rule
// over the set of its addresses, before the counting rules, so what it
// drops is not counted.
func TestNftRules_Throttle(t *testing.T) {
	got, err := nftRules(IPv6, HostRules{LAN: "br-lan", Blocking: true, Throttles: []Throttle{throttleA}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`oifname "br-lan" iifname != "br-lan" ip6 daddr { 2001:db8:1::2, 2001:db8:1::a } limit rate over 250000 bytes/second burst 1514 bytes drop`,
		`iifname "br-lan" oifname != "br-lan" ip6 saddr { 2001:db8:1::2, 2001:db8:1::a } limit rate over 125000 bytes/second burst 1514 bytes drop`,
		`oifname "br-lan" iifname != "br-lan" update @netmon-dl6 { ip6 daddr }`,
		`iifname "br-lan" oifname != "br-lan" update @netmon-ul6 { ip6 saddr }`,
		`ip6 saddr @netmon-block6 drop`,
		`ip6 daddr @netmon-block6 drop`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("rules\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	v4only := throttleA
	v4only.Addrs = v4only.Addrs[:1]
	got, _ = nftRules(IPv6, HostRules{LAN: "br-lan", Throttles: []Throttle{v4only}}, nil)
	if len(got) != 2 {
		t.Errorf("a host with no IPv6 address has IPv6 throttle rules: %q", got)
	}
}

// On iptables each address has a rule per direction, and the rules of one
// host's direction share a hashlimit name, so they share one bucket.
func TestThrottleWants(t *testing.T) {
	ws := ThrottleWants("br-lan", IPv6, []Throttle{throttleA})
	if len(ws) != 4 {
		t.Fatalf("%d wants, want 4: %+v", len(ws), ws)
	}
	want := "-o br-lan ! -i br-lan -d 2001:db8:1::2 -m hashlimit --hashlimit-above 250000b/s --hashlimit-burst 253906b --hashlimit-name " +
		hashlimitName(throttleA.Key, "down", 250_000) + " -j DROP"
	if got := strings.Join(ws[0].Match, " "); got != want {
		t.Errorf("download rule\n%s\nwant\n%s", got, want)
	}
	names := map[string]string{}
	for _, w := range ws {
		if strings.ContainsAny(w.Name, ": ") {
			t.Errorf("role %q cannot go in a comment", w.Name)
		}
		dir := strings.Split(w.Name, "-")[1]
		name := w.Match[slices.Index(w.Match, "--hashlimit-name")+1]
		if len(name) > 15 {
			t.Errorf("hashlimit name %q longer than 15", name)
		}
		if other, ok := names[dir]; ok && other != name {
			t.Errorf("%s rules of one host have names %s and %s: two buckets", dir, other, name)
		}
		names[dir] = name
	}
	if names["down"] == names["up"] {
		t.Error("download and upload share a bucket")
	}
	if hashlimitName(throttleA.Key, "down", 250_000) == hashlimitName(throttleA.Key, "down", 500_000) {
		t.Error("a new rate keeps the bucket's name, and so its old rate")
	}
}
