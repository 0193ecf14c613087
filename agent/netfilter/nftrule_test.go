package netfilter

import (
	"errors"
	"testing"
)

// Every meter match, and our chain's own rules, in nft's words.
func TestNftRule_TranslatesOurRules(t *testing.T) {
	for _, c := range []struct {
		fam  Family
		spec []string
		want string
	}{
		{IPv4, []string{"-s", "198.18.1.2/32", "-m", "comment", "--comment", "netmon:m:a:h:g"},
			`ip saddr 198.18.1.2/32 counter comment "netmon:m:a:h:g"`},
		{IPv4, []string{"!", "-s", "198.18.1.0/24", "!", "-d", "198.19.0.0/16", "-i", "wan", "-o", "br-lan+"},
			`ip saddr != 198.18.1.0/24 ip daddr != 198.19.0.0/16 iifname "wan" oifname "br-lan*" counter`},
		{IPv6, []string{"-s", "2001:db8:1::/64", "-p", "tcp", "-m", "tcp", "--sport", "1024:65535", "--dport", "443"},
			`ip6 saddr 2001:db8:1::/64 tcp sport 1024-65535 tcp dport 443 counter`},
		{IPv6, []string{"-p", "ipv6-icmp"}, `meta l4proto 58 counter`},
		{IPv4, []string{"-p", "47"}, `meta l4proto 47 counter`},
		{IPv4, []string{"-p", "all"}, `counter`},
		{IPv4, []string{"-m", "comment", "--comment", "netmon-return", "-j", "RETURN"}, `return comment "netmon-return"`},
		{IPv4, []string{"-c", "1", "1", "-m", "comment", "--comment", "netmon-canary:g"}, `counter packets 1 bytes 1 comment "netmon-canary:g"`},
		{IPv4, []string{"-m", "comment", "--comment", "netmon-jump:g", "-j", "netmon-INPUT"}, `jump netmon-INPUT comment "netmon-jump:g"`},
	} {
		got, err := NftRule(c.fam, c.spec)
		if err != nil || got != c.want {
			t.Errorf("NftRule(%s, %q) = %q, %v; want %q", c.fam, c.spec, got, err, c.want)
		}
	}
}

// What our rules never hold is refused, not guessed at.
func TestNftRule_RefusesWhatItCannotSay(t *testing.T) {
	for _, spec := range [][]string{
		{"-j", "SET", "--add-set", "x", "dst"},
		{"-m", "set", "--match-set", "x", "dst"},
		{"--dport", "80"}, // a port without its protocol
		{"-p", "icmp", "--dport", "80"},
		{"-i", `wan" accept`},
		{"-m", "comment", "--comment", `a" drop comment "b`},
		{"-j", "zone_wan"},
		{"-s"},
		{"-c", "1"},
		{"!", "-p", "tcp"},
	} {
		if got, err := NftRule(IPv4, spec); !errors.Is(err, ErrRuleSpec) {
			t.Errorf("NftRule(%q) = %q, %v; want ErrRuleSpec", spec, got, err)
		}
	}
}

func TestChoose(t *testing.T) {
	for _, c := range []struct {
		backend  string
		bins     []string
		version  string
		native   bool
		iptables string
	}{
		{"auto", []string{"nft", "fw4", "iptables"}, "iptables v1.8.8 (legacy)", true, ""},
		{"auto", []string{"nft", "iptables"}, "iptables v1.8.9 (nf_tables)", true, ""},
		{"auto", []string{"nft", "iptables"}, "iptables v1.8.9 (legacy)", false, "auto"},
		{"auto", []string{"nft"}, "", true, ""},
		{"auto", []string{"iptables"}, "iptables v1.8.9 (nf_tables)", false, "auto"},
		{"auto", []string{"fw4", "iptables"}, "iptables v1.8.9 (nf_tables)", false, "auto"}, // no nft: nothing to run
		{"nftables", nil, "", true, ""},
		{"iptables", []string{"nft", "fw4"}, "", false, "auto"},
		{"legacy", []string{"nft", "fw4"}, "", false, "legacy"},
		{"nft", []string{"nft", "fw4"}, "", false, "nft"},
	} {
		has := func(bin string) bool {
			for _, b := range c.bins {
				if b == bin {
					return true
				}
			}
			return false
		}
		got := choose(c.backend, has, func() string { return Variant(c.version) })
		if got.Native != c.native || got.Iptables != c.iptables || got.Why == "" {
			t.Errorf("backend %s with %v (%q): %+v", c.backend, c.bins, c.version, got)
		}
	}
}
