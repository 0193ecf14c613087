package netfilter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"net/netip"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/netmon-agent/netmon-agent/store"
)

// Per-host sets in native nftables, for hosts whose iptables is the nft
// backend (OpenWrt 22.03+ with fw4). An ipset match through iptables-nft
// runs as an xtables compat expression on every forwarded packet; a native
// dynamic set does the same work for less (in the lab, at 254 hosts,
// about 92% of the forwarding rate with no accounting against 86-88%
// through ipset). The sets and their rules live in tables of our own, one
// per family (ip netmon, ip6 netmon: an IPv4 packet then never meets an IPv6
// rule, which one inet table would make it test), each with a forward chain
// hooked just before the filter priority, so a packet the firewall drops
// later is still counted, as with our iptables chains. Nothing in anyone
// else's table changes.
//
// Each element is created by the packet that first shows its address and
// counts that packet (`update @set { ip daddr }` on a set with counters), so
// the sets count exactly as the ipset rules do.

const (
	nftTable = "netmon"
	nftChain = "forward"
	// nftPriority runs our chain before the firewall's filter chains (0).
	nftPriority = -1
	// nftSetSize bounds each set, as ipset's default maxelem does.
	nftSetSize = 65535
	// nftCommentPrefix marks the rules of our chain; the rest of the comment
	// is a hash of the rule's text, so a changed rule is seen as changed.
	nftCommentPrefix = "netmon:"
)

// ErrNoNft means the nft binary is missing.
var ErrNoNft = errors.New("nft not found")

// nftSets keeps our sets and their rules in tables ip netmon and ip6 netmon.
type nftSets struct {
	fams []Family // the families whose table List reads
	run  func(stdin string, args ...string) ([]byte, error)
	// rules are the comments of each family's chain as the last List found
	// them (nil: no chain).
	rules map[Family][]string
}

// NewNftSets returns Sets kept with the nft binary for fams, or ErrNoNft.
func NewNftSets(fams []Family) (Sets, error) {
	p, err := exec.LookPath("nft")
	if err != nil {
		return nil, fmt.Errorf("%w: install nftables", ErrNoNft)
	}
	return &nftSets{fams: fams, run: func(stdin string, args ...string) ([]byte, error) { return runNft(p, stdin, args...) }}, nil
}

func runNft(path, stdin string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.Join(strings.Fields(stderr.String()), " ")
		return nil, fmt.Errorf("nft %s: %v: %s", strings.Join(args, " "), err, msg)
	}
	return stdout.Bytes(), nil
}

// errNoTable is how nft says a table is not there.
const errNoTable = "No such file or directory"

// nftFamily is the nftables family of our table for f.
func nftFamily(f Family) string {
	if f == IPv6 {
		return "ip6"
	}
	return "ip"
}

// List reads our table of each family: one process per family.
func (s *nftSets) List() (map[string]*IPSet, error) {
	all := map[string]*IPSet{}
	s.rules = map[Family][]string{}
	for _, f := range s.fams {
		out, err := s.run("", "-a", "list", "table", nftFamily(f), nftTable)
		if err != nil {
			if strings.Contains(err.Error(), errNoTable) {
				continue
			}
			return nil, err
		}
		sets, rules, err := parseNftTable(out)
		if err != nil {
			return nil, err
		}
		for name, set := range sets {
			all[name] = set
		}
		s.rules[f] = rules
	}
	return all, nil
}

func (s *nftSets) Create(name string, f Family) error {
	typ := "ipv4_addr"
	if f == IPv6 {
		typ = "ipv6_addr"
	}
	fam := nftFamily(f)
	script := fmt.Sprintf("add table %s %s\nadd set %s %s %s { type %s; size %d; flags dynamic; counter; }\n",
		fam, nftTable, fam, nftTable, name, typ, nftSetSize)
	_, err := s.run(script, "-f", "-")
	return err
}

// Remove deletes our tables, their sets and rules with them.
func (s *nftSets) Remove() ([]string, error) {
	out, err := s.run("", "list", "tables")
	if err != nil {
		return nil, err
	}
	var done []string
	for _, f := range Families {
		fam := nftFamily(f)
		if !slices.Contains(strings.Split(string(out), "\n"), "table "+fam+" "+nftTable) {
			continue
		}
		if _, err := s.run("", "delete", "table", fam, nftTable); err != nil {
			return done, err
		}
		done = append(done, "deleted nftables table "+fam+" "+nftTable)
	}
	s.rules = nil
	return done, nil
}

func (s *nftSets) Add(name string, addr netip.Addr) error {
	_, err := s.run("", "add", "element", nftFamily(AddrFamily(addr)), nftTable, name, "{", addr.String(), "}")
	return err
}

func (s *nftSets) Del(name string, addr netip.Addr) error {
	_, err := s.run("", "delete", "element", nftFamily(AddrFamily(addr)), nftTable, name, "{", addr.String(), "}")
	if err != nil && strings.Contains(err.Error(), errNoTable) {
		return nil // gone already, as ipset del -exist allows
	}
	return err
}

func AddrFamily(a netip.Addr) Family {
	if a.Is4() || a.Is4In6() {
		return IPv4
	}
	return IPv6
}

// HoldRules makes each family's chain hold exactly the rules for lan and
// the blocked MACs; a chain the last List found so costs no process.
func (s *nftSets) HoldRules(lan string, fams []Family, blocks bool, macs []string) ([]string, error) {
	var done []string
	for _, f := range fams {
		rules, err := nftRules(lan, f, blocks, macs)
		if err != nil {
			return done, err
		}
		var want []string
		for _, r := range rules {
			want = append(want, nftComment(r))
		}
		if have := s.rules[f]; have != nil && slices.Equal(have, want) {
			continue
		}
		fam := nftFamily(f)
		var b strings.Builder
		fmt.Fprintf(&b, "add table %s %s\n", fam, nftTable)
		fmt.Fprintf(&b, "add chain %s %s %s { type filter hook forward priority %d; policy accept; }\n", fam, nftTable, nftChain, nftPriority)
		fmt.Fprintf(&b, "flush chain %s %s %s\n", fam, nftTable, nftChain)
		for i, r := range rules {
			fmt.Fprintf(&b, "add rule %s %s %s %s comment %q\n", fam, nftTable, nftChain, r, want[i])
		}
		// One transaction: the chain is never seen half written, and
		// flushing a chain leaves the sets' counters alone.
		if _, err := s.run(b.String(), "-f", "-"); err != nil {
			return done, fmt.Errorf("install nftables rules: %w", err)
		}
		if s.rules == nil {
			s.rules = map[Family][]string{}
		}
		s.rules[f] = want
		done = append(done, fmt.Sprintf("installed %d rules in nftables chain %s %s %s", len(rules), fam, nftTable, nftChain))
	}
	return done, nil
}

// nftRules are the rules of family f's chain, in order: counting, then
// (while any block is in force) dropping, so a blocked host's usage is
// still counted.
func nftRules(lan string, f Family, blocks bool, macs []string) ([]string, error) {
	if !ValidIface(lan) || strings.ContainsAny(lan, `"\;`) {
		return nil, fmt.Errorf("malformed LAN interface name %q", lan)
	}
	p := nftFamily(f)
	out := []string{
		fmt.Sprintf(`oifname "%s" iifname != "%s" update @%s { %s daddr }`, lan, lan, SetName(store.DirDownload, f), p),
		fmt.Sprintf(`iifname "%s" oifname != "%s" update @%s { %s saddr }`, lan, lan, SetName(store.DirUpload, f), p),
	}
	if !blocks {
		return out, nil
	}
	set := SetName(DirBlock, f)
	out = append(out, fmt.Sprintf("%s saddr @%s drop", p, set), fmt.Sprintf("%s daddr @%s drop", p, set))
	if len(macs) > 0 {
		for _, m := range macs {
			if !validMAC(m) {
				return nil, fmt.Errorf("malformed MAC %q", m)
			}
		}
		out = append(out, fmt.Sprintf(`iifname "%s" ether saddr { %s } drop`, lan, strings.Join(macs, ", ")))
	}
	return out, nil
}

// validMAC reports whether m is a MAC in the lower-case colon form that
// goes into a rule.
func validMAC(m string) bool {
	hw, err := net.ParseMAC(m)
	return err == nil && len(hw) == 6 && hw.String() == m
}

// nftComment names a rule by its text.
func nftComment(rule string) string {
	h := fnv.New64a()
	h.Write([]byte(rule))
	return fmt.Sprintf("%s%016x", nftCommentPrefix, h.Sum64())
}

// parseNftTable reads `nft -a list table FAMILY netmon` (the text form:
// nft is built without JSON on many OpenWrt images, and text is quicker to
// read): our sets with their elements and counters, and the comments of our
// chain's rules in order (nil when there is no chain). A set's generation
// is the table's and the set's handles: nft gives a recreated table or set
// a new one, so counts of an element of a set that was recreated between
// two samples are never taken for growth.
func parseNftTable(out []byte) (map[string]*IPSet, []string, error) {
	sets := map[string]*IPSet{}
	var rules []string
	var table string
	var set *IPSet
	inChain := false
	var elems strings.Builder
	inElems := false
	lines := strings.Split(string(out), "\n")
	for n, raw := range lines {
		line := strings.TrimSpace(raw)
		bad := func(format string, a ...any) error {
			return fmt.Errorf("nft list line %d: %s: %q", n+1, fmt.Sprintf(format, a...), line)
		}
		if inElems {
			elems.WriteString(" " + line)
			if strings.HasSuffix(line, "}") {
				inElems = false
				if err := parseNftElements(set, elems.String()); err != nil {
					return nil, nil, bad("%v", err)
				}
			}
			continue
		}
		code, handle, _ := strings.Cut(line, " # handle ")
		fields := strings.Fields(code)
		switch {
		case len(fields) == 0:
		case fields[0] == "table":
			table = handle
		case fields[0] == "set" && len(fields) >= 2:
			set = &IPSet{Name: fields[1], Family: IPv4, Generation: table + "." + handle, Elements: map[netip.Addr]store.Counts{}}
			sets[set.Name] = set
		case fields[0] == "chain" && len(fields) >= 2:
			inChain = fields[1] == nftChain
			if inChain && rules == nil {
				rules = []string{}
			}
		case code == "}":
			set, inChain = nil, false
		case set != nil && fields[0] == "type":
			switch strings.Join(fields[1:], " ") {
			case "ipv4_addr":
			case "ipv6_addr":
				set.Family = IPv6
			default:
				return nil, nil, bad("set %s is not of addresses: delete table %s", set.Name, nftTable)
			}
		case set != nil && code == "counter":
			set.Counters = true
		case set != nil && fields[0] == "elements":
			_, rest, ok := strings.Cut(code, "{")
			if !ok {
				return nil, nil, bad("malformed elements")
			}
			elems.Reset()
			elems.WriteString(rest)
			if strings.HasSuffix(code, "}") {
				if err := parseNftElements(set, rest); err != nil {
					return nil, nil, bad("%v", err)
				}
			} else {
				inElems = true
			}
		case inChain && !strings.HasPrefix(code, "type "):
			c := ""
			if _, after, ok := strings.Cut(code, ` comment "`); ok {
				c, _, _ = strings.Cut(after, `"`)
			}
			rules = append(rules, c)
		}
	}
	if inElems {
		return nil, nil, fmt.Errorf("nft list: elements of set %s not closed", set.Name)
	}
	return sets, rules, nil
}

// parseNftElements reads "ADDR [counter packets N bytes N], ... }" into set.
func parseNftElements(set *IPSet, text string) error {
	text = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(text), "}"))
	if text == "" {
		return nil
	}
	for _, e := range strings.Split(text, ",") {
		f := strings.Fields(e)
		if len(f) == 0 {
			return fmt.Errorf("empty element in set %s", set.Name)
		}
		addr, err := netip.ParseAddr(f[0])
		if err != nil {
			return fmt.Errorf("malformed address %q in set %s", f[0], set.Name)
		}
		var c store.Counts
		for i := 1; i+1 < len(f); i++ {
			var dst *uint64
			switch f[i] {
			case "packets":
				dst = &c.Packets
			case "bytes":
				dst = &c.Bytes
			default:
				continue
			}
			v, err := strconv.ParseUint(f[i+1], 10, 64)
			if err != nil {
				return fmt.Errorf("malformed %s %q of %s in set %s", f[i], f[i+1], f[0], set.Name)
			}
			*dst = v
			i++
		}
		set.Elements[addr] = c
	}
	return nil
}
