package netfilter

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Per-host sets in native nftables, for hosts whose iptables is the nft
// backend (OpenWrt 22.03+ with fw4). An ipset match through iptables-nft
// runs as an xtables compat expression on every forwarded packet; a native
// dynamic set does the same work for less (in the lab, at 254 hosts,
// about 92% of the forwarding rate with no accounting against 86-88%
// through ipset). The sets and their rules live in tables of our own, one
// per family (ip netmon, ip6 netmon: an IPv4 packet then never meets an IPv6
// rule, which one inet table would make it test), each with a forward chain
// hooked after the filter priority: only what the firewall lets through
// reaches it, so a scan the firewall drops makes no element (a drop is
// final; an accept ends only the firewall's own chain). Nothing in anyone
// else's table changes.
//
// Each element is created by the packet that first shows its address and
// counts that packet (`update @set { ip daddr }` on a set with counters), so
// the sets count exactly as the ipset rules do.

const (
	nftTable     = "netmon"
	nftHostChain = "forward"
	// nftPriority runs our chain after the firewall's filter chains (0):
	// what they drop is never counted and makes no element.
	nftPriority = 10
	// nftCommentPrefix marks the rules of our chain; the rest of the comment
	// is a hash of the rule's text, so a changed rule is seen as changed.
	nftCommentPrefix = "netmon:"
)

// ErrNoNft means the nft binary is missing.
var ErrNoNft = errors.New("nft not found")

// nftSets keeps our sets and their rules in tables ip netmon and ip6 netmon.
type nftSets struct {
	*nftTool
	fams []Family // the families whose table List reads
	// rules are the comments of each family's chain as the last List found
	// them (nil: no chain).
	rules map[Family][]string
	// owned is whether each family's table was ours (nil) or someone
	// else's (a ForeignTableError) at the last List: the changes a sample
	// makes after it need not read the table again to know.
	owned map[Family]error
	// ports are the comments of the port chains' rules as the last List
	// found them (nftports.go), nil when there are none.
	ports []string
	// noEgress is set once the kernel refused an egress chain.
	noEgress bool
	// portTable is whether the netdev table is there, as the last List or
	// HoldRules left it (nil: not known yet): List reads it only then.
	portTable *bool
	// flowtables, sysfs and local stand in for the kernel in tests.
	flowtables func() (bool, error)
	sysfs      string
	local      func(lan string) (map[Family][]netip.Prefix, error)
}

// guard refuses a change to family f's table when it is someone else's,
// as the last List found it, or as a read now finds it.
func (s *nftSets) guard(f Family) error {
	if err, ok := s.owned[f]; ok {
		return err
	}
	return s.nftTool.guard(f)
}

// NewNftSets returns Sets kept in nftables for fams, or ErrNoNft; logf
// hears once if netlink is refused and reads fall back to nft.
func NewNftSets(fams []Family, logf func(string, ...any)) (Sets, error) {
	t, err := newNftTool()
	if err != nil {
		return nil, err
	}
	t.Logf = logf
	return &nftSets{nftTool: t, fams: fams}, nil
}

// errNoTable is how nft says a table is not there.
const errNoTable = "No such file or directory"

// nftFamily is the nftables family of our table for f.
func nftFamily(f Family) string {
	if f == familyPorts {
		return "netdev"
	}
	if f == IPv6 {
		return "ip6"
	}
	return "ip"
}

// List reads our table of each family. A family whose table is someone
// else's is left out, its ForeignTableError joined to what List returns
// with the other families' sets.
func (s *nftSets) List() (map[string]*IPSet, error) {
	all := map[string]*IPSet{}
	s.rules, s.owned = map[Family][]string{}, map[Family]error{}
	var foreign []error
	for _, f := range s.fams {
		d, err := s.read(f, true)
		if errors.Is(err, ErrForeignTable) {
			s.owned[f] = err
			foreign = append(foreign, err)
			continue
		}
		if err != nil {
			s.owned = nil
			return nil, err
		}
		s.owned[f] = nil
		if d == nil {
			continue
		}
		for name, set := range d.Sets {
			all[name] = set
		}
		s.rules[f] = d.comments(nftHostChain)
	}
	if err := s.listPorts(all); err != nil {
		foreign = append(foreign, err)
	}
	return all, errors.Join(foreign...)
}

// listPorts adds the sets of the netdev table (nftports.go) to all, their
// download counts without the Ethernet header, and notes its rules.
func (s *nftSets) listPorts(all map[string]*IPSet) error {
	s.ports = nil
	if s.portTable != nil && !*s.portTable {
		return nil
	}
	d, err := s.read(familyPorts, true)
	there := d != nil
	s.portTable = &there
	if errors.Is(err, ErrForeignTable) {
		s.owned[familyPorts] = err
		return err
	}
	if err != nil || d == nil {
		return err
	}
	s.owned[familyPorts] = nil
	takeEgressHeader(d.Sets)
	for name, set := range d.Sets {
		all[name] = set
	}
	s.ports = append(d.comments(portUpChain), d.comments(portDownChain)...)
	return nil
}

func (s *nftSets) Create(name string, f Family) error {
	typ := "ipv4_addr"
	if f == IPv6 {
		typ = "ipv6_addr"
	}
	if IsServiceSet(name) {
		typ += " . inet_proto . inet_service"
	}
	if err := s.guard(f); err != nil {
		return err
	}
	fam := nftFamily(f)
	script := fmt.Sprintf("%s\nadd set %s %s %s { type %s; size %d; flags dynamic; counter; }\n",
		addTable(f), fam, nftTable, name, typ, MaxElements)
	_, err := s.run(script, "-f", "-")
	return err
}

// Remove deletes our sets and the chain that uses them. The table goes
// with them unless it holds our meters' chains too (backend nftables):
// those are the Firewall's to remove. A table of our name that is someone
// else's is left alone, and said so; the other family's still goes.
func (s *nftSets) Remove() ([]string, error) {
	var done []string
	var foreign []error
	for _, f := range Families {
		d, err := s.read(f, false) // the sets' names are enough
		if errors.Is(err, ErrForeignTable) {
			foreign = append(foreign, err)
			continue
		}
		if err != nil {
			return done, err
		}
		if d == nil {
			continue
		}
		fam := nftFamily(f)
		script, what := fmt.Sprintf("delete table %s %s\n", fam, nftTable), "table "+fam+" "+nftTable
		if len(d.Chains) > 1 || len(d.Chains) == 1 && d.Chains[nftHostChain] == nil {
			script, what = s.removeScript(f, d), "host sets and chain of "+fam+" "+nftTable
		}
		if script == "" {
			continue
		}
		if _, err := s.run(script, "-f", "-"); err != nil {
			return done, err
		}
		done = append(done, "deleted nftables "+what)
	}
	if what, err := s.removePorts(); err != nil {
		foreign = append(foreign, err)
	} else if what != "" {
		done = append(done, what)
	}
	s.rules, s.owned, s.ports, s.portTable = nil, nil, nil, nil
	return done, errors.Join(foreign...)
}

// removePorts deletes the netdev table, when it is there and ours.
func (s *nftSets) removePorts() (string, error) {
	d, err := s.read(familyPorts, false)
	if err != nil || d == nil {
		return "", err
	}
	if _, err := s.run(fmt.Sprintf("delete table netdev %s\n", nftTable), "-f", "-"); err != nil {
		return "", err
	}
	return "deleted nftables table netdev " + nftTable, nil
}

// removeScript deletes the host chain and the sets of d, nothing else.
func (s *nftSets) removeScript(f Family, d *nftDump) string {
	var b strings.Builder
	fam := nftFamily(f)
	if d.Chains[nftHostChain] != nil {
		fmt.Fprintf(&b, "delete chain %s %s %s\n", fam, nftTable, nftHostChain)
	}
	for _, name := range slices.Sorted(maps.Keys(d.Sets)) {
		fmt.Fprintf(&b, "delete set %s %s %s\n", fam, nftTable, name)
	}
	return b.String()
}

func (s *nftSets) Add(name string, addr netip.Addr) error {
	if err := s.guard(AddrFamily(addr)); err != nil {
		return err
	}
	_, err := s.run("", "add", "element", nftFamily(AddrFamily(addr)), nftTable, name, "{", addr.String(), "}")
	return err
}

func (s *nftSets) Del(name string, addr netip.Addr) error {
	f := tableOf(name, AddrFamily(addr))
	if err := s.guard(f); err != nil {
		return err
	}
	_, err := s.run("", "delete", "element", nftFamily(f), nftTable, name, "{", addr.String(), "}")
	if err != nil && strings.Contains(err.Error(), errNoTable) {
		return nil // gone already, as ipset del -exist allows
	}
	return err
}

// Evict deletes the elements out of set name and adds in, in one
// transaction: the kernel counts the room the deletes make, so in gets in
// even while a flood keeps the set full.
func (s *nftSets) Evict(name string, out, in []netip.Addr) error {
	if len(out) == 0 && len(in) == 0 {
		return nil
	}
	f := AddrFamily(slices.Concat(out, in)[0])
	return s.changeElements(f, name, texts(out, netip.Addr.String), texts(in, netip.Addr.String))
}

// EvictServices deletes the elements out of service set name in one
// transaction.
func (s *nftSets) EvictServices(name string, out []ServiceKey) error {
	if len(out) == 0 {
		return nil
	}
	return s.changeElements(AddrFamily(out[0].Addr), name, texts(out, func(k ServiceKey) string {
		return fmt.Sprintf("%s . %s . %d", k.Addr, ProtoName(k.Proto), k.Port)
	}), nil)
}

// changeElements deletes del from and adds add to set name of family f,
// in one nft transaction.
func (s *nftSets) changeElements(f Family, name string, del, add []string) error {
	f = tableOf(name, f)
	if err := s.guard(f); err != nil {
		return err
	}
	ref := fmt.Sprintf("%s %s %s", nftFamily(f), nftTable, name)
	var b strings.Builder
	writeElements(&b, "delete element "+ref, del)
	writeElements(&b, "add element "+ref, add)
	if _, err := s.run(b.String(), "-f", "-"); err != nil {
		return fmt.Errorf("evict %d and admit %d elements in set %s: %w", len(del), len(add), name, err)
	}
	return nil
}

// texts writes each of elems as nft writes an element.
func texts[E any](elems []E, text func(E) string) []string {
	out := make([]string, len(elems))
	for i, e := range elems {
		out[i] = text(e)
	}
	return out
}

// writeElements writes verb { e, e, ... } lines of at most 512 elements.
func writeElements(b *strings.Builder, verb string, elems []string) {
	for len(elems) > 0 {
		n := min(len(elems), 512)
		fmt.Fprintf(b, "%s { %s }\n", verb, strings.Join(elems[:n], ", "))
		elems = elems[n:]
	}
}

func (s *nftSets) DelService(name string, k ServiceKey) error {
	f := tableOf(name, AddrFamily(k.Addr))
	if err := s.guard(f); err != nil {
		return err
	}
	_, err := s.run("", "delete", "element", nftFamily(f), nftTable, name, "{", k.Addr.String(), ".", ProtoName(k.Proto), ".", strconv.Itoa(int(k.Port)), "}")
	if err != nil && strings.Contains(err.Error(), errNoTable) {
		return nil
	}
	return err
}

// tableOf is the table set name of family f lives in: its family's, or
// for a port set the netdev table.
func tableOf(name string, f Family) Family {
	if isPortSet(name) {
		return familyPorts
	}
	return f
}

func AddrFamily(a netip.Addr) Family {
	if a.Is4() || a.Is4In6() {
		return IPv4
	}
	return IPv6
}
