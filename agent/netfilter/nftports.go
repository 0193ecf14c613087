package netfilter

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/netmon-agent/netmon-agent/agent/netlink"
	"github.com/netmon-agent/netmon-agent/store"
	"golang.org/x/sys/unix"
)

// Counting at the LAN's ports, for flow offloading. Once a flow is in a
// flowtable (firewall4's flow_offloading) its packets skip the forward
// hook, where our host chain counts: measured in a VM on Debian's 6.1 and
// 6.12 kernels, the forward chain saw ~1 KB of 20 MB. What still sees every
// packet a LAN host sends or receives is a netdev chain on the LAN's ports
// (the bridge's ports, or the LAN device when it is no bridge): ingress,
// at a priority below the flowtable's 0, for uploads; egress (kernel 5.16+
// with CONFIG_NETFILTER_EGRESS) for downloads. So while the kernel has a
// flowtable, the host counting moves to table netdev netmon: its sets
// netmon-pul4/6 (by source, at ingress) and netmon-pdl4/6 (by
// destination, at egress), with the throttles and blocks beside them; the
// forward chain keeps its blocks and drops its counting and throttles, in
// the same nft transaction (only a packet between the two hooks at its
// commit can be counted twice or missed). The ip and ip6 sets keep what they counted; their elements age
// out as idle ones do.
//
// A port sees what the router does not forward too: traffic between LAN
// hosts, and between a host and the router itself. The rules leave out
// every packet from or to the LAN's subnets, the router's own addresses,
// multicast and broadcast; what remains is a host's traffic with the
// world, as the forward chain counts it. Two differences are the kernel's:
// an egress hook counts the Ethernet header of each packet, which the
// reader takes off (14 bytes a packet, exact in the VM lab), and an
// upload is counted where it enters, before the firewall: an upload the
// firewall then drops is counted as the host's own counters count it.
// Hardware offload (flow_offloading_hw) forwards in the switch chip, out
// of every hook's sight: doctor says so.

// familyPorts is the netdev table's place among the Family values: the
// table that counts at the LAN's ports, both IP families in it.
const familyPorts Family = 2

const (
	// DirPortDownload and DirPortUpload are the directions of the port
	// sets: their elements are the host's download and upload.
	DirPortDownload = "pdl"
	DirPortUpload   = "pul"
	// portPriority runs our port chains before the flowtable's ingress
	// hook (priority 0), which takes an offloaded flow's packets away.
	portPriority   = -500
	portUpChain    = ChainPrefix + "-up"
	portDownChain  = ChainPrefix + "-down"
	ethernetHeader = 14
)

// HostDir is the host direction an element of set direction dir counts
// for: a port set's is its forward twin's.
func HostDir(dir string) string {
	switch dir {
	case DirPortDownload:
		return "dl"
	case DirPortUpload:
		return "ul"
	}
	return dir
}

// HostSetDirs are the directions of the sets that count hosts.
var HostSetDirs = []string{"dl", "ul", DirPortDownload, DirPortUpload}

// isPortSet reports whether set name lives in the netdev table.
func isPortSet(name string) bool {
	rest, _ := strings.CutPrefix(strings.TrimPrefix(name, setPrefix), "s")
	return strings.HasPrefix(rest, DirPortDownload) || strings.HasPrefix(rest, DirPortUpload)
}

// A portLayout is where and what the port chains count: the LAN's ports,
// whether the kernel has an egress hook, and per family what is the LAN's
// or the router's own (left out).
type portLayout struct {
	devices []string
	egress  bool
	local   map[Family][]netip.Prefix
}

// lanPorts are the devices a LAN host's frames cross: the bridge's ports,
// or lan itself when it is no bridge.
func lanPorts(sysfs, lan string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(sysfs, lan, "brif"))
	if os.IsNotExist(err) {
		if _, err := os.Stat(filepath.Join(sysfs, lan)); err != nil {
			return nil, fmt.Errorf("LAN device %s: %w", lan, err)
		}
		return []string{lan}, nil
	}
	if err != nil {
		return nil, err
	}
	var ports []string
	for _, e := range entries {
		if ValidIface(e.Name()) && !strings.ContainsAny(e.Name(), `"\;`) {
			ports = append(ports, e.Name())
		}
	}
	if len(ports) == 0 {
		return nil, fmt.Errorf("bridge %s has no ports", lan)
	}
	return ports, nil
}

// localNets are what the port chains leave out: the LAN's subnets, every
// address of the router, multicast, broadcast and link-local; overlapping
// prefixes merged, as an interval set needs.
func localNets(lan string) (map[Family][]netip.Prefix, error) {
	out := map[Family][]netip.Prefix{
		IPv4: {netip.MustParsePrefix("224.0.0.0/4"), netip.MustParsePrefix("255.255.255.255/32"), netip.MustParsePrefix("0.0.0.0/8")},
		IPv6: {netip.MustParsePrefix("ff00::/8"), netip.MustParsePrefix("fe80::/10"), netip.MustParsePrefix("::/128")},
	}
	// Every address of the router, and the LAN's subnets, in one dump of
	// the kernel's addresses (net.InterfaceAddrs would dump every link too).
	index, err := netlink.Ifindex(lan)
	if err != nil {
		return nil, err
	}
	addrs, err := netlink.ReadAddrs()
	if err != nil {
		return nil, err
	}
	for _, x := range addrs {
		a := x.Prefix.Addr()
		f := AddrFamily(a)
		out[f] = append(out[f], netip.PrefixFrom(a, a.BitLen()))
		if x.Index == index {
			out[f] = append(out[f], x.Prefix.Masked())
		}
	}
	for f, ps := range out {
		out[f] = mergePrefixes(ps)
	}
	return out, nil
}

// mergePrefixes drops every prefix inside another, and sorts.
func mergePrefixes(ps []netip.Prefix) []netip.Prefix {
	slices.SortFunc(ps, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	var out []netip.Prefix
	for _, p := range ps {
		if len(out) > 0 && out[len(out)-1].Bits() <= p.Bits() && out[len(out)-1].Contains(p.Addr()) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// portRules are the port chains' rules of family f, up for the ingress
// chain and down for the egress chain: throttles first (what they drop was
// never the host's), then counting and blocks.
func portRules(f Family, l *portLayout, r HostRules) (up, down []string) {
	p := nftFamily(f)
	local := nftSet(texts(l.local[f], netip.Prefix.String))
	toWorld := fmt.Sprintf("%s daddr != %s", p, local)
	fromWorld := fmt.Sprintf("%s saddr != %s", p, local)
	for _, t := range r.Throttles {
		addrs := t.addrsIn(f)
		if len(addrs) == 0 {
			continue
		}
		set := nftSet(texts(addrs, netip.Addr.String))
		up = append(up, fmt.Sprintf("%s %s saddr %s %s", toWorld, p, set, nftLimit(t.Up)))
		down = append(down, fmt.Sprintf("%s %s daddr %s %s", fromWorld, p, set, nftLimit(t.Down)))
	}
	blockUp, blockDown := portBlocks(f, r, toWorld, fromWorld)
	// A download the block drops never reached the host: it is not
	// counted. An upload is, as the host's own counters count what it sent.
	up = append(up, fmt.Sprintf("%s update @%s { %s saddr }", toWorld, SetName(DirPortUpload, f), p))
	up = append(up, blockUp...)
	down = append(down, blockDown...)
	down = append(down, fmt.Sprintf("%s update @%s { %s daddr }", fromWorld, SetName(DirPortDownload, f), p))
	if ports := sortedPorts(r.Services); len(ports) > 0 {
		set := servicePortSet(ports)
		up = append(up, fmt.Sprintf("%s meta l4proto . th dport %s update @%s { %s saddr . meta l4proto . th dport }",
			toWorld, set, ServiceSetName(DirPortUpload, f), p))
		down = append(down, fmt.Sprintf("%s meta l4proto . th sport %s update @%s { %s daddr . meta l4proto . th sport }",
			fromWorld, set, ServiceSetName(DirPortDownload, f), p))
	}
	return up, down
}

// portBlocks are the port chains' dropping rules of family f for r's
// blocked addresses and MACs.
func portBlocks(f Family, r HostRules, toWorld, fromWorld string) (up, down []string) {
	p := nftFamily(f)
	var addrs []netip.Addr
	for _, a := range r.BlockedAddrs {
		if AddrFamily(a) == f {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) > 0 {
		set := nftSet(texts(addrs, netip.Addr.String))
		up = append(up, fmt.Sprintf("%s %s saddr %s drop", toWorld, p, set))
		down = append(down, fmt.Sprintf("%s %s daddr %s drop", fromWorld, p, set))
	}
	if macs := r.BlockedMACs; len(macs) > 0 {
		set := nftSet(macs)
		up = append(up, fmt.Sprintf("%s ether saddr %s drop", toWorld, set))
		down = append(down, fmt.Sprintf("%s ether daddr %s drop", fromWorld, set))
	}
	return up, down
}

// nftSet writes elems as an anonymous nft set.
func nftSet(elems []string) string { return "{ " + strings.Join(elems, ", ") + " }" }

// portScript writes the netdev table as l asks: its sets (kept, with their
// counters, when they exist) and its chains. A chain already hooked as l
// asks (have, the comments the last List read or HoldRules wrote, say so)
// keeps its hook and has its rules replaced, as writeHostChain says why;
// another is made anew. With l nil, the chains go and the sets stay. It
// returns the rules' comments, to tell a change.
func portScript(b *strings.Builder, fams []Family, l *portLayout, r HostRules, have []string) (want []string) {
	fmt.Fprintf(b, "%s\n", addTable(familyPorts))
	for _, f := range fams {
		typ := map[Family]string{IPv4: "ipv4_addr", IPv6: "ipv6_addr"}[f]
		for _, dir := range []string{DirPortDownload, DirPortUpload} {
			fmt.Fprintf(b, "add set netdev %s %s { type %s; size %d; flags dynamic; counter; }\n", nftTable, SetName(dir, f), typ, MaxElements)
			if len(r.Services) > 0 {
				fmt.Fprintf(b, "add set netdev %s %s { type %s . inet_proto . inet_service; size %d; flags dynamic; counter; }\n",
					nftTable, ServiceSetName(dir, f), typ, MaxElements)
			}
		}
	}
	rules := map[string][]string{}
	for _, f := range fams {
		if l != nil {
			up, down := portRules(f, l, r)
			rules[portUpChain] = append(rules[portUpChain], up...)
			rules[portDownChain] = append(rules[portDownChain], down...)
		}
	}
	for _, c := range []string{portUpChain, portDownChain} {
		hook, on := l.hook(c)
		want = append(want, writePortChain(b, c, hook, rules[c], on && hookedAs(have, hook))...)
	}
	return want
}

// hook is how chain c is hooked in l: its hook, priority and devices; on
// is false when l has no such chain.
func (l *portLayout) hook(c string) (hook string, on bool) {
	if l == nil || (c == portDownChain && !l.egress) {
		return "", false
	}
	name := map[string]string{portUpChain: "ingress", portDownChain: "egress"}[c]
	return fmt.Sprintf("%s devices = { \"%s\" } priority %d", name, strings.Join(l.devices, `", "`), portPriority), true
}

// writePortChain writes chain c of the netdev table hooked as hook says,
// holding rules, or with hook "" deletes it; hooked keeps it in place.
func writePortChain(b *strings.Builder, c, hook string, rules []string, hooked bool) (comments []string) {
	ref := fmt.Sprintf("netdev %s %s", nftTable, c)
	if hooked {
		fmt.Fprintf(b, "flush chain %s\n", ref)
	} else {
		fmt.Fprintf(b, "add chain %s\nflush chain %s\ndelete chain %s\n", ref, ref, ref)
		if hook == "" {
			return nil
		}
		fmt.Fprintf(b, "add chain %s { type filter hook %s; policy accept; }\n", ref, hook)
	}
	comments = ruleComments(hook, rules)
	for i, rule := range rules {
		fmt.Fprintf(b, "add rule %s %s comment %q\n", ref, rule, comments[i])
	}
	return comments
}

// offloading reports whether the kernel has a flowtable, in any table of
// any family: then forwarded flows may skip the forward hook.
func (s *nftSets) offloading() (bool, error) {
	if s.flowtables != nil {
		return s.flowtables()
	}
	if s.readsByText() {
		out, err := s.run("", "list", "flowtables")
		return strings.Contains(string(out), "flowtable "), err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	payload := []byte{unix.NFPROTO_UNSPEC, unix.NFNETLINK_V0, 0, 0}
	err := s.reader().ask(uint16(unix.NFNL_SUBSYS_NFTABLES<<8|unix.NFT_MSG_GETFLOWTABLE), payload, func([]byte) error {
		n++
		return nil
	})
	return n > 0, err
}

// A PortCounter is Sets that may count the hosts at the LAN's ports.
type PortCounter interface {
	// CountsAtPorts says the last HoldRules put the counting there: a
	// flowtable offloads flows past the forward hook.
	CountsAtPorts() bool
}

func (s *nftSets) CountsAtPorts() bool { return s.ports != nil }

// layout is where the port chains go now, or nil when no flowtable asks
// for them. Once there they stay, when offloading is switched off too:
// they count exactly either way, and a flowtable switched on again then
// offloads nothing they miss before the next sample.
func (s *nftSets) layout(lan string) (*portLayout, error) {
	if s.ports == nil {
		if on, err := s.offloading(); err != nil || !on {
			return nil, err
		}
	}
	sysfs := s.sysfs
	if sysfs == "" {
		sysfs = "/sys/class/net"
	}
	devices, err := lanPorts(sysfs, lan)
	if err != nil {
		return nil, err
	}
	readLocal := s.local
	if readLocal == nil {
		readLocal = localNets
	}
	local, err := readLocal(lan)
	if err != nil {
		return nil, err
	}
	return &portLayout{devices: devices, egress: !s.noEgress, local: local}, nil
}

// takeEgressHeader takes the Ethernet header off the counts of the
// download port sets, which an egress hook counts with it.
func takeEgressHeader(sets map[string]*IPSet) {
	for name, set := range sets {
		if !strings.HasPrefix(name, setPrefix+DirPortDownload) && !strings.HasPrefix(name, setPrefix+"s"+DirPortDownload) {
			continue
		}
		for a, c := range set.Elements {
			set.Elements[a] = withoutHeaders(c)
		}
		for k, c := range set.Services {
			set.Services[k] = withoutHeaders(c)
		}
	}
}

// withoutHeaders is c less an Ethernet header a packet.
func withoutHeaders(c store.Counts) store.Counts {
	c.Bytes -= min(c.Bytes, ethernetHeader*c.Packets)
	return c
}
