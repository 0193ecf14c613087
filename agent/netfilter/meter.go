package netfilter

import (
	"fmt"
	"hash/fnv"
	"net/netip"
	"strconv"
	"strings"
)

// Family is an IP address family; each has its own iptables binary and its
// own copy of our chains.
type Family int

const (
	IPv4 Family = iota
	IPv6
)

// Families lists both families in the order samples read them.
var Families = []Family{IPv4, IPv6}

func (f Family) String() string {
	if f == IPv6 {
		return "ipv6"
	}
	return "ipv4"
}

// An Address is a meter's src or dst match: one address or prefix, possibly
// negated ("!192.168.0.0/24").
type Address struct {
	Prefix netip.Prefix
	Negate bool
}

// IsSet reports whether the address was given.
func (a Address) IsSet() bool { return a.Prefix.IsValid() }

func (a Address) String() string {
	if !a.IsSet() {
		return ""
	}
	s := a.Prefix.String()
	if a.Prefix.IsSingleIP() {
		s = a.Prefix.Addr().String()
	}
	if a.Negate {
		return "!" + s
	}
	return s
}

// ParseAddress parses "ADDR", "ADDR/BITS" or either with a leading "!".
func ParseAddress(s string) (Address, error) {
	var a Address
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "!") {
		a.Negate = true
		t = strings.TrimSpace(t[1:])
	}
	if strings.Contains(t, "/") {
		p, err := netip.ParsePrefix(t)
		if err != nil {
			return a, fmt.Errorf("malformed address %q", s)
		}
		a.Prefix = p.Masked()
	} else {
		ip, err := netip.ParseAddr(t)
		if err != nil || ip.Zone() != "" {
			return a, fmt.Errorf("malformed address %q", s)
		}
		a.Prefix = netip.PrefixFrom(ip, ip.BitLen())
	}
	if a.Prefix.Addr().Is4In6() {
		return a, fmt.Errorf("malformed address %q: IPv4-mapped IPv6 addresses are not supported", s)
	}
	return a, nil
}

// Family reports the address's family.
func (a Address) Family() Family {
	if a.Prefix.Addr().Is4() {
		return IPv4
	}
	return IPv6
}

// Built-in filter chains a meter can count in.
var MeterChains = []string{"INPUT", "FORWARD", "OUTPUT"}

// A Meter is one named traffic class from the config. It becomes one counting
// rule (no target) in our chain for its built-in chain, per family it applies to.
type Meter struct {
	Name  string
	Chain string // INPUT, FORWARD or OUTPUT
	Src   Address
	Dst   Address
	In    string
	Out   string
	Proto string
	Sport string // "N" or "N:M"
	Dport string
}

// Families reports which families the meter counts in: the family of its
// addresses, or of an ICMP protocol, or both when nothing pins one.
func (m Meter) Families() []Family {
	switch {
	case m.Src.IsSet():
		return []Family{m.Src.Family()}
	case m.Dst.IsSet():
		return []Family{m.Dst.Family()}
	case m.Proto == "icmp":
		return []Family{IPv4}
	case m.Proto == "icmpv6" || m.Proto == "ipv6-icmp":
		return []Family{IPv6}
	}
	return []Family{IPv4, IPv6}
}

// CountsIn reports whether the meter has a rule in family f.
func (m Meter) CountsIn(f Family) bool {
	for _, g := range m.Families() {
		if g == f {
			return true
		}
	}
	return false
}

// Match renders the meter's match arguments for family f, without the
// comment: the part of the rule that decides what is counted.
func (m Meter) Match(f Family) []string {
	var args []string
	if m.Src.IsSet() {
		args = appendAddr(args, "-s", m.Src)
	}
	if m.Dst.IsSet() {
		args = appendAddr(args, "-d", m.Dst)
	}
	if m.In != "" {
		args = append(args, "-i", m.In)
	}
	if m.Out != "" {
		args = append(args, "-o", m.Out)
	}
	if m.Proto != "" {
		p := m.Proto
		if f == IPv6 && (p == "icmpv6" || p == "ipv6-icmp") {
			p = "ipv6-icmp"
		}
		args = append(args, "-p", p)
		if m.Sport != "" || m.Dport != "" {
			args = append(args, "-m", p)
		}
	}
	if m.Sport != "" {
		args = append(args, "--sport", m.Sport)
	}
	if m.Dport != "" {
		args = append(args, "--dport", m.Dport)
	}
	return args
}

func appendAddr(args []string, flag string, a Address) []string {
	if a.Negate {
		args = append(args, "!")
	}
	return append(args, flag, a.Prefix.String())
}

// matchHash names a rendered match, so that a rule whose meter was redefined
// is recognised as stale and replaced.
func matchHash(match []string) string {
	h := fnv.New32a()
	h.Write([]byte(strings.Join(match, "\x00")))
	return fmt.Sprintf("%08x", h.Sum32())
}

// Port protocols: those with --sport/--dport matches.
var PortProtos = map[string]bool{"tcp": true, "udp": true, "udplite": true, "sctp": true, "dccp": true}

// Protocols a meter may name, besides a number.
var knownProtos = map[string]bool{
	"tcp": true, "udp": true, "udplite": true, "sctp": true, "dccp": true,
	"icmp": true, "icmpv6": true, "ipv6-icmp": true, "esp": true, "ah": true,
	"gre": true, "all": true,
}

func ValidProto(p string) bool {
	if knownProtos[p] {
		return true
	}
	n, err := strconv.Atoi(p)
	return err == nil && n >= 0 && n <= 255
}

// ParsePort accepts "N", "N:M" and UCI's "N-M", and returns iptables' "N[:M]".
func ParsePort(s string) (string, error) {
	t := strings.ReplaceAll(strings.TrimSpace(s), "-", ":")
	parts := strings.Split(t, ":")
	if len(parts) > 2 {
		return "", fmt.Errorf("malformed port %q", s)
	}
	var nums []int
	for _, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 65535 {
			return "", fmt.Errorf("malformed port %q", s)
		}
		nums = append(nums, n)
	}
	if len(nums) == 2 && nums[0] > nums[1] {
		return "", fmt.Errorf("malformed port range %q: start after end", s)
	}
	return t, nil
}

// ValidName reports whether s can name a meter: it goes into rule comments and
// report columns, so it is kept to UCI's own section-name characters plus '-'.
func ValidName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// ValidIface reports whether s is a plausible interface name or iptables
// wildcard ("eth+").
func ValidIface(s string) bool {
	if s == "" || len(s) > 15 {
		return false
	}
	for _, c := range s {
		if c <= ' ' || c == '/' || c == '!' || c > '~' {
			return false
		}
	}
	return true
}
