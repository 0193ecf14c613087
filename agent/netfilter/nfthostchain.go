package netfilter

import (
	"fmt"
	"hash/fnv"
	"net"
	"slices"
	"strings"

	"github.com/netmon-agent/netmon-agent/store"
)

// The host chain: the forward chain of our native nftables tables, which
// counts, throttles and blocks the hosts (nftRules). HoldRules keeps it,
// and the port chains of flow offloading (nftports.go), as the sample asks,
// in one nft transaction.

// HoldRules makes each family's chain hold exactly the rules r asks for,
// and while the kernel has a flowtable, the port chains (nftports.go)
// count and restrict in place of the forward chain: every change in one
// transaction, each chain kept hooked while its hook stays (see
// writeHostChain). When counting moves between the hooks (a flowtable's
// first sight) only a packet between them at the commit may be counted
// twice or not at all. Chains the last List found so cost no process.
func (s *nftSets) HoldRules(fams []Family, r HostRules) ([]string, error) {
	ports, err := s.layout(r.LAN)
	if err != nil {
		return nil, fmt.Errorf("the LAN's ports: %w", err)
	}
	var b strings.Builder
	var done []string
	wants := map[Family][]string{}
	for _, f := range fams {
		rules, err := nftRules(f, r, ports)
		if err != nil {
			return nil, err
		}
		want := ruleComments(hostHook, rules)
		have := s.rules[f]
		if have != nil && slices.Equal(have, want) {
			continue
		}
		if err := s.guard(f); err != nil {
			return nil, err
		}
		writeHostChain(&b, f, rules, want, hookedAs(have, hostHook))
		wants[f] = want
		done = append(done, fmt.Sprintf("installed %d rules in nftables chain %s %s %s", len(rules), nftFamily(f), nftTable, nftHostChain))
	}
	var pb strings.Builder
	portWant := portScript(&pb, fams, ports, r, s.ports)
	portsChange := !slices.Equal(s.ports, portWant) && (ports != nil || s.ports != nil)
	if portsChange {
		if err := s.guard(familyPorts); err != nil {
			return nil, err
		}
		b.WriteString(pb.String())
		done = append(done, portsDone(ports, s.ports != nil, len(portWant)))
	}
	if b.Len() == 0 {
		return nil, nil
	}
	if _, err := s.run(b.String(), "-f", "-"); err != nil {
		if ports != nil && ports.egress && strings.Contains(err.Error(), "egress") {
			s.noEgress = true
			s.Logf("this kernel has no netdev egress hook (5.16+, CONFIG_NETFILTER_EGRESS): downloads under flow offloading are counted only where the forward hook sees them")
		}
		return nil, fmt.Errorf("install nftables rules: %w", err)
	}
	for f, want := range wants {
		if s.rules == nil {
			s.rules = map[Family][]string{}
		}
		s.rules[f] = want
	}
	if portsChange {
		s.ports, s.portTable = portWant, &portsChange
	}
	return done, nil
}

// hostHook is how the host chain is hooked, as its rules' comments say.
var hostHook = fmt.Sprintf("forward %d", nftPriority)

// writeHostChain makes family f's forward chain hold rules. hooked says
// the chain is there, hooked as ours goes: its rules are replaced in
// place. Otherwise (none yet, or an older version's at another priority)
// the chain is made anew; the sets' counters stay either way.
//
// Why in place: deleting a hooked chain and adding it again in one
// transaction is not atomic for a packet. The kernel hooks the new chain
// before the commit and unhooks the old one after it, and each chain
// reads the generation for itself, so a packet passing both at the commit
// is counted twice (seen in the VM lab: one 64-byte upload ACK in a run of
// four changes) or not at all. A chain that stays hooked runs one
// generation's rules for a packet, all old or all new.
func writeHostChain(b *strings.Builder, f Family, rules, comments []string, hooked bool) {
	fam := nftFamily(f)
	chain := fmt.Sprintf("%s %s %s", fam, nftTable, nftHostChain)
	fmt.Fprintf(b, "%s\n", addTable(f))
	if hooked {
		fmt.Fprintf(b, "flush chain %s\n", chain)
	} else {
		fmt.Fprintf(b, "add chain %s\nflush chain %s\ndelete chain %s\n", chain, chain, chain)
		fmt.Fprintf(b, "add chain %s { type filter hook forward priority %d; policy accept; }\n", chain, nftPriority)
	}
	for i, r := range rules {
		fmt.Fprintf(b, "add rule %s %s %s %s comment %q\n", fam, nftTable, nftHostChain, r, comments[i])
	}
}

// portsDone says what a change of the port chains did; were says they
// were there before.
func portsDone(l *portLayout, were bool, rules int) string {
	switch {
	case l == nil:
		return "hosts are counted in the forward chain again"
	case were:
		return fmt.Sprintf("installed %d rules in the port chains of table netdev %s (%s)", rules, nftTable, strings.Join(l.devices, ", "))
	}
	return fmt.Sprintf("a flowtable offloads flows: hosts are counted at the LAN's ports %s (%d rules in table netdev %s)", strings.Join(l.devices, ", "), rules, nftTable)
}

// nftRules are the rules of family f's chain, in order: throttles,
// counting, then (while any block is in force) blocks. A throttled host is
// counted for what the router forwards, as its own counters see it; a
// blocked host's attempts are still counted.
func nftRules(f Family, r HostRules, ports *portLayout) ([]string, error) {
	lan := r.LAN
	if !ValidIface(lan) || strings.ContainsAny(lan, `"\;`) {
		return nil, fmt.Errorf("malformed LAN interface name %q", lan)
	}
	p := nftFamily(f)
	var out []string
	// What the port chains throttle and count, this chain does not.
	down, up := ports == nil || !ports.egress, ports == nil
	for _, t := range r.Throttles {
		if rules := nftThrottleRules(lan, f, t); len(rules) == 2 {
			out = append(out, pick(down, rules[0])...)
			out = append(out, pick(up, rules[1])...)
		}
	}
	out = append(out, pick(down, fmt.Sprintf(`oifname "%s" iifname != "%s" update @%s { %s daddr }`, lan, lan, SetName(store.DirDownload, f), p))...)
	out = append(out, pick(up, fmt.Sprintf(`iifname "%s" oifname != "%s" update @%s { %s saddr }`, lan, lan, SetName(store.DirUpload, f), p))...)
	if rules := nftServiceRules(lan, f, sortedPorts(r.Services)); len(rules) == 2 {
		out = append(out, pick(down, rules[0])...)
		out = append(out, pick(up, rules[1])...)
	}
	if !r.Blocking {
		return out, nil
	}
	set := SetName(DirBlock, f)
	out = append(out, fmt.Sprintf("%s saddr @%s drop", p, set), fmt.Sprintf("%s daddr @%s drop", p, set))
	if macs := r.BlockedMACs; len(macs) > 0 {
		for _, m := range macs {
			if !validMAC(m) {
				return nil, fmt.Errorf("malformed MAC %q", m)
			}
		}
		out = append(out, fmt.Sprintf(`iifname "%s" ether saddr { %s } drop`, lan, strings.Join(macs, ", ")))
	}
	return out, nil
}

// pick is rule when ok, else nothing.
func pick(ok bool, rule string) []string {
	if ok {
		return []string{rule}
	}
	return nil
}

// validMAC reports whether m is a MAC in the lower-case colon form that
// goes into a rule.
func validMAC(m string) bool {
	hw, err := net.ParseMAC(m)
	return err == nil && len(hw) == 6 && hw.String() == m
}

// nftComment names a rule by how its chain is hooked (hook: the hook,
// priority and devices) and by its text: "netmon:HOOK-RULE", two hashes.
// The first part tells that a chain in the kernel is hooked as ours goes
// (hookedAs), the second a change of rule.
func nftComment(hook, rule string) string {
	h, r := fnv.New32a(), fnv.New64a()
	h.Write([]byte(hook))
	r.Write([]byte(rule))
	return fmt.Sprintf("%s%08x-%016x", nftCommentPrefix, h.Sum32(), r.Sum64())
}

// ruleComments are the comments of rules in a chain hooked as hook says.
func ruleComments(hook string, rules []string) []string {
	out := make([]string, len(rules))
	for i, r := range rules {
		out[i] = nftComment(hook, r)
	}
	return out
}

// hookedAs reports whether the chain whose rules bear comments have is
// hooked as hook says: our rules are only ever written into a chain made
// with the hook their comments name, and kept there when it stays.
func hookedAs(have []string, hook string) bool {
	head, _, _ := strings.Cut(nftComment(hook, ""), "-")
	return slices.ContainsFunc(have, func(c string) bool { return strings.HasPrefix(c, head+"-") })
}
