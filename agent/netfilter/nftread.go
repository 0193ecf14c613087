package netfilter

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/netmon-agent/netmon-agent/agent/netlink"
	"github.com/netmon-agent/netmon-agent/store"
	"golang.org/x/sys/unix"
)

// nftReader reads our table of a family over netlink: a handful of dump
// requests on one socket, no process. It is not safe for concurrent use.
type nftReader struct {
	// ask sends one dump request and hands each answer to f (tests answer
	// with captured messages).
	ask func(typ uint16, payload []byte, f func(m []byte) error) error
	// sizes are how many elements each set had at the last read: its map
	// is made that big, rather than grown at every sample.
	sizes map[string]int
}

func nfproto(f Family) byte {
	if f == familyPorts {
		return unix.NFPROTO_NETDEV
	}
	if f == IPv6 {
		return unix.NFPROTO_IPV6
	}
	return unix.NFPROTO_IPV4
}

// each sends one nftables dump request for family f and hands each answer
// to fn as it comes, uncopied: fn parses it before the next one is read.
func (r *nftReader) each(f Family, msg int, fn func(m []byte) error, attrs ...netlink.Attr) error {
	payload := append([]byte{nfproto(f), unix.NFNETLINK_V0, 0, 0}, netlink.Encode(attrs...)...)
	return r.ask(uint16(unix.NFNL_SUBSYS_NFTABLES<<8|msg), payload, fn)
}

// ofOurTable is the attribute that narrows a dump to table netmon.
func ofOurTable(attr uint16) netlink.Attr {
	return netlink.Attr{Type: attr, Data: netlink.String(nftTable)}
}

// Read returns our table of family f, or nil when there is none. Set
// elements, the bulk of it with many hosts, are read only with elements
// set: the meters' reads need the sets' names only.
func (r *nftReader) Read(f Family, elements bool) (*nftDump, error) {
	d, err := r.table(f)
	if d == nil || err != nil {
		return nil, err
	}
	if err := r.chains(f, d); err != nil {
		return nil, err
	}
	if err := r.rules(f, d); err != nil {
		return nil, err
	}
	if err := r.sets(f, d, elements); err != nil {
		return nil, err
	}
	return d, nil
}

func (r *nftReader) table(f Family) (*nftDump, error) {
	var d *nftDump
	err := r.each(f, unix.NFT_MSG_GETTABLE, func(m []byte) error {
		name, handle, comment, err := parseNftTableMsg(m)
		if err == nil && name == nftTable {
			d = &nftDump{Handle: handle, Comment: comment, Chains: map[string]*nftChain{}, Sets: map[string]*IPSet{}}
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list %s tables: %w", nftFamily(f), err)
	}
	return d, nil
}

func (r *nftReader) chains(f Family, d *nftDump) error {
	err := r.each(f, unix.NFT_MSG_GETCHAIN, func(m []byte) error {
		table, name, base, err := parseNftChainMsg(m)
		if err == nil && table == nftTable {
			d.Chains[name] = &nftChain{Base: base}
		}
		return err
	}, ofOurTable(nftaChainTable))
	if err != nil {
		return fmt.Errorf("list chains of %s %s: %w", nftFamily(f), nftTable, err)
	}
	return nil
}

func (r *nftReader) rules(f Family, d *nftDump) error {
	err := r.each(f, unix.NFT_MSG_GETRULE, func(m []byte) error {
		table, chain, rule, err := parseNftRuleMsg(m)
		if c := d.Chains[chain]; err == nil && table == nftTable && c != nil {
			c.Rules = append(c.Rules, rule)
		}
		return err
	}, ofOurTable(nftaRuleTable))
	if err != nil {
		return fmt.Errorf("list rules of %s %s: %w", nftFamily(f), nftTable, err)
	}
	return nil
}

// sets reads our sets and, with elements, their elements: one dump for
// the sets, then one per set (a dump cannot start on the socket while
// another is being answered). A set's generation is the table's and the
// set's handles: nftables gives a recreated table or set a new one, so an
// element of a set recreated between two samples is never taken for
// growth.
func (r *nftReader) sets(f Family, d *nftDump, elements bool) error {
	var sets []*IPSet
	err := r.each(f, unix.NFT_MSG_GETSET, func(m []byte) error {
		table, set, keyLen, err := parseNftSetMsg(m)
		switch {
		case err != nil:
			return err
		case table != nftTable, strings.HasPrefix(set.Name, "__set"):
			return nil // an anonymous set of a rule (the service ports): the rule's own
		case keyLen != 4 && keyLen != 16 && keyLen != 12 && keyLen != 24:
			return fmt.Errorf("set %s is not of addresses: delete table %s %s", set.Name, nftFamily(f), nftTable)
		}
		set.Generation = fmt.Sprintf("%d.%s", d.Handle, set.Generation)
		sets = append(sets, set)
		return nil
	}, ofOurTable(nftaSetTable))
	if err != nil {
		return fmt.Errorf("list sets of %s %s: %w", nftFamily(f), nftTable, err)
	}
	for _, set := range sets {
		d.Sets[set.Name] = set
		if !elements {
			continue
		}
		r.presize(set)
		err := r.each(f, unix.NFT_MSG_GETSETELEM, func(m []byte) error { return parseNftElemMsg(m, set) },
			ofOurTable(nftaSetElemListTable), netlink.Attr{Type: nftaSetElemListSet, Data: netlink.String(set.Name)})
		if err != nil {
			return fmt.Errorf("list set %s: %w", set.Name, err)
		}
		r.sizes[set.Name] = len(set.Elements) + len(set.Services)
	}
	return nil
}

// presize makes set's map as big as the set was at the last read.
func (r *nftReader) presize(set *IPSet) {
	if r.sizes == nil {
		r.sizes = map[string]int{}
	}
	n := min(r.sizes[set.Name], MaxElements)
	if set.Services != nil {
		set.Services = make(map[ServiceKey]store.Counts, n)
	} else {
		set.Elements = make(map[netip.Addr]store.Counts, n)
	}
}

// Ruleset renders our chains as a Ruleset: rule arguments are "handle N",
// what Delete takes.
func (d *nftDump) Ruleset() *Ruleset {
	rs := &Ruleset{Chains: map[string][]Rule{}, Builtin: map[string]bool{}}
	if d == nil {
		return rs
	}
	for name, c := range d.Chains {
		rules := make([]Rule, 0, len(c.Rules))
		for _, r := range c.Rules {
			rules = append(rules, Rule{
				Args:    []string{"handle", fmt.Sprint(r.Handle)},
				Comment: r.Comment, Target: r.Verdict,
				Packets: r.Packets, Bytes: r.Bytes,
			})
		}
		rs.Chains[name] = rules
		if c.Base {
			rs.Builtin[name] = true
		}
	}
	return rs
}

// comments lists the comments of chain's rules in order, nil when there is
// no such chain.
func (d *nftDump) comments(chain string) []string {
	c := d.Chains[chain]
	if c == nil {
		return nil
	}
	out := []string{}
	for _, r := range c.Rules {
		out = append(out, r.Comment)
	}
	return out
}
