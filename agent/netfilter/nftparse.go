package netfilter

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/netmon-agent/netmon-agent/agent/netlink"
	"github.com/netmon-agent/netmon-agent/store"
)

// The nftables netlink answers we read, parsed from bytes. Attribute numbers
// are those of linux/netfilter/nf_tables.h; comments are libnftnl's
// user data (a type, a length, the text).

// An nftDump is one table of ours as the kernel holds it.
type nftDump struct {
	Handle  uint64
	Comment string // the table's comment (nftowner.go)
	Chains  map[string]*nftChain
	Sets    map[string]*IPSet
}

type nftChain struct {
	Base  bool // hooked: a packet path enters it, not only a jump
	Rules []nftRule
}

// An nftRule is what we read of a rule: its handle, its comment, where it
// sends a packet (a chain it jumps to, RETURN, ACCEPT, DROP, or "") and its
// counter.
type nftRule struct {
	Handle  uint64
	Comment string
	Verdict string
	store.Counts
}

const (
	nftaTableName   = 1
	nftaTableHandle = 4
	// nftaTableUserdata holds the table's comment, as a rule's user data
	// does (libnftnl's NFTNL_UDATA_TABLE_COMMENT is 0 too).
	nftaTableUserdata = 6

	nftaChainTable = 1
	nftaChainName  = 3
	nftaChainHook  = 4

	nftaRuleTable    = 1
	nftaRuleChain    = 2
	nftaRuleHandle   = 3
	nftaRuleExprs    = 4
	nftaRuleUserdata = 7

	nftaListElem = 1
	nftaExprName = 1
	nftaExprData = 2

	nftaCounterBytes   = 1
	nftaCounterPackets = 2

	nftaImmediateData = 2
	nftaDataValue     = 1
	nftaDataVerdict   = 2
	nftaVerdictCode   = 1
	nftaVerdictChain  = 2

	nftaSetTable       = 1
	nftaSetName        = 2
	nftaSetKeyLen      = 5
	nftaSetHandle      = 16
	nftaSetExpr        = 17
	nftaSetExpressions = 18

	nftaSetElemListTable    = 1
	nftaSetElemListSet      = 2
	nftaSetElemListElements = 3
	nftaSetElemKey          = 1
	nftaSetElemExpr         = 7
	nftaSetElemExpressions  = 10

	// udataRuleComment is libnftnl's NFTNL_UDATA_RULE_COMMENT.
	udataRuleComment = 0
)

// Verdict codes (linux/netfilter.h, nf_tables.h).
const (
	verdictDrop   = 0
	verdictAccept = 1
	verdictJump   = -3
	verdictGoto   = -4
	verdictReturn = -5
)

var errShortGenMsg = errors.New("nftables message without its family header")

// nftAttrs splits an nftables message (family header, then attributes).
func nftAttrs(b []byte) ([]netlink.Attr, error) {
	if len(b) < 4 {
		return nil, errShortGenMsg
	}
	return netlink.Attrs(b[4:])
}

// parseNftTableMsg reads a table's name, handle and comment.
func parseNftTableMsg(b []byte) (name string, handle uint64, comment string, err error) {
	attrs, err := nftAttrs(b)
	if err != nil {
		return "", 0, "", err
	}
	for _, a := range attrs {
		switch a.Type {
		case nftaTableName:
			name = a.Text()
		case nftaTableHandle:
			if handle, err = a.Uint64(); err != nil {
				return "", 0, "", fmt.Errorf("table handle: %w", err)
			}
		case nftaTableUserdata:
			comment = udataComment(a.Data)
		}
	}
	return name, handle, comment, nil
}

// parseNftChainMsg reads a chain's table, name and whether it is hooked.
func parseNftChainMsg(b []byte) (table, name string, base bool, err error) {
	attrs, err := nftAttrs(b)
	if err != nil {
		return "", "", false, err
	}
	for _, a := range attrs {
		switch a.Type {
		case nftaChainTable:
			table = a.Text()
		case nftaChainName:
			name = a.Text()
		case nftaChainHook:
			base = true
		}
	}
	return table, name, base, nil
}

// parseNftRuleMsg reads a rule: its table, chain, handle, comment,
// verdict and counter.
func parseNftRuleMsg(b []byte) (table, chain string, r nftRule, err error) {
	attrs, err := nftAttrs(b)
	if err != nil {
		return "", "", r, err
	}
	for _, a := range attrs {
		switch a.Type {
		case nftaRuleTable:
			table = a.Text()
		case nftaRuleChain:
			chain = a.Text()
		case nftaRuleHandle:
			if r.Handle, err = a.Uint64(); err != nil {
				return "", "", r, fmt.Errorf("rule handle: %w", err)
			}
		case nftaRuleUserdata:
			r.Comment = udataComment(a.Data)
		case nftaRuleExprs:
			if err := parseNftExprs(a.Data, &r); err != nil {
				return "", "", r, fmt.Errorf("rule %d of %s: %w", r.Handle, chain, err)
			}
		}
	}
	return table, chain, r, nil
}

// udataComment finds the comment in a rule's user data.
func udataComment(b []byte) string {
	for len(b) >= 2 {
		typ, l := b[0], int(b[1])
		if 2+l > len(b) {
			return ""
		}
		if typ == udataRuleComment {
			return netlink.Attr{Data: b[2 : 2+l]}.Text()
		}
		b = b[2+l:]
	}
	return ""
}

// parseNftExprs reads the counter and the verdict of a rule's expressions.
func parseNftExprs(b []byte, r *nftRule) error {
	return eachExpr(b, func(name string, data []byte) error {
		switch name {
		case "counter":
			c, err := parseCounter(data)
			r.Counts = c
			return err
		case "immediate":
			v, err := parseImmediateVerdict(data)
			if v != "" {
				r.Verdict = v
			}
			return err
		}
		return nil
	})
}

// eachExpr calls f with the name and data of each expression in a list.
func eachExpr(b []byte, f func(name string, data []byte) error) error {
	elems, err := netlink.Attrs(b)
	if err != nil {
		return err
	}
	for _, e := range elems {
		if e.Type != nftaListElem {
			continue
		}
		if err := parseExpr(e.Data, f); err != nil {
			return err
		}
	}
	return nil
}

// parseExpr calls f with one expression's name and data.
func parseExpr(b []byte, f func(name string, data []byte) error) error {
	attrs, err := netlink.Attrs(b)
	if err != nil {
		return err
	}
	var name string
	var data []byte
	for _, a := range attrs {
		switch a.Type {
		case nftaExprName:
			name = a.Text()
		case nftaExprData:
			data = a.Data
		}
	}
	return f(name, data)
}

func parseCounter(b []byte) (store.Counts, error) {
	var c store.Counts
	attrs, err := netlink.Attrs(b)
	if err != nil {
		return c, err
	}
	for _, a := range attrs {
		switch a.Type {
		case nftaCounterBytes:
			c.Bytes, err = a.Uint64()
		case nftaCounterPackets:
			c.Packets, err = a.Uint64()
		}
		if err != nil {
			return c, fmt.Errorf("counter: %w", err)
		}
	}
	return c, nil
}

// parseImmediateVerdict reads the verdict an immediate expression sets, or
// "" when it loads data instead.
func parseImmediateVerdict(b []byte) (string, error) {
	attrs, err := netlink.Attrs(b)
	if err != nil {
		return "", err
	}
	for _, a := range attrs {
		if a.Type != nftaImmediateData {
			continue
		}
		data, err := netlink.Attrs(a.Data)
		if err != nil {
			return "", err
		}
		for _, d := range data {
			if d.Type == nftaDataVerdict {
				return parseVerdict(d.Data)
			}
		}
	}
	return "", nil
}

func parseVerdict(b []byte) (string, error) {
	attrs, err := netlink.Attrs(b)
	if err != nil {
		return "", err
	}
	var code int32
	var chain string
	for _, a := range attrs {
		switch a.Type {
		case nftaVerdictCode:
			v, err := a.Uint32()
			if err != nil {
				return "", fmt.Errorf("verdict: %w", err)
			}
			code = int32(v)
		case nftaVerdictChain:
			chain = a.Text()
		}
	}
	switch code {
	case verdictJump, verdictGoto:
		return chain, nil
	case verdictReturn:
		return "RETURN", nil
	case verdictAccept:
		return "ACCEPT", nil
	case verdictDrop:
		return "DROP", nil
	}
	return "", nil
}

// parseNftSetMsg reads a set: table, name, handle, key length and whether
// its elements have counters.
func parseNftSetMsg(b []byte) (table string, set *IPSet, keyLen uint32, err error) {
	attrs, err := nftAttrs(b)
	if err != nil {
		return "", nil, 0, err
	}
	set = &IPSet{Elements: map[netip.Addr]store.Counts{}}
	var handle uint64
	for _, a := range attrs {
		switch a.Type {
		case nftaSetTable:
			table = a.Text()
		case nftaSetName:
			set.Name = a.Text()
		case nftaSetKeyLen:
			keyLen, err = a.Uint32()
		case nftaSetHandle:
			handle, err = a.Uint64()
		case nftaSetExpr:
			err = parseExpr(a.Data, func(name string, _ []byte) error {
				set.Counters = set.Counters || name == "counter"
				return nil
			})
		case nftaSetExpressions:
			err = eachExpr(a.Data, func(name string, _ []byte) error {
				set.Counters = set.Counters || name == "counter"
				return nil
			})
		}
		if err != nil {
			return "", nil, 0, fmt.Errorf("set %s: %w", set.Name, err)
		}
	}
	set.Generation = fmt.Sprint(handle)
	switch keyLen {
	case 4:
		set.Family = IPv4
	case 16:
		set.Family = IPv6
	case 12, 24: // address . proto . port, each in its 4-byte registers
		set.Family = map[uint32]Family{12: IPv4, 24: IPv6}[keyLen]
		set.Services = map[ServiceKey]store.Counts{}
	}
	return table, set, keyLen, nil
}

// parseNftElemMsg adds the elements of one answer, with their counters,
// to set. It allocates nothing but the set's map entries: a sample reads
// every element of every set.
func parseNftElemMsg(b []byte, set *IPSet) error {
	if len(b) < 4 {
		return errShortGenMsg
	}
	list := netlink.Iter(b[4:])
	for list.Next() {
		if list.Attr().Type != nftaSetElemListElements {
			continue
		}
		elems := netlink.Iter(list.Attr().Data)
		for elems.Next() {
			if err := parseNftElem(elems.Attr().Data, set); err != nil {
				return fmt.Errorf("set %s: %w", set.Name, err)
			}
		}
		if err := elems.Err(); err != nil {
			return fmt.Errorf("set %s: %w", set.Name, err)
		}
	}
	return list.Err()
}

func parseNftElem(b []byte, set *IPSet) error {
	var key []byte
	var c store.Counts
	it := netlink.Iter(b)
	for it.Next() {
		var err error
		switch a := it.Attr(); a.Type {
		case nftaSetElemKey:
			key, err = elemKey(a.Data)
		case nftaSetElemExpr:
			err = elemCounter(a.Data, &c)
		case nftaSetElemExpressions:
			err = elemCounters(a.Data, &c)
		}
		if err != nil {
			return err
		}
	}
	if err := it.Err(); err != nil {
		return err
	}
	return addElem(set, key, c)
}

// elemKey is the value of an element's key.
func elemKey(b []byte) ([]byte, error) {
	it := netlink.Iter(b)
	for it.Next() {
		if v := it.Attr(); v.Type == nftaDataValue {
			return v.Data, nil
		}
	}
	return nil, it.Err()
}

// addElem puts the element of key key with counters c in set: an address,
// or in a service set an address, protocol and port.
func addElem(set *IPSet, key []byte, c store.Counts) error {
	if key == nil {
		return errors.New("element without an address key")
	}
	if set.Services != nil {
		k, ok := parseServiceKey(key)
		if !ok {
			return fmt.Errorf("element key of %d bytes is not an address, protocol and port", len(key))
		}
		set.Services[k] = c
		return nil
	}
	addr, ok := netip.AddrFromSlice(key)
	if !ok {
		return fmt.Errorf("element key of %d bytes is not an address", len(key))
	}
	set.Elements[addr] = c
	return nil
}

// elemCounters reads the counter among an element's expressions into c.
func elemCounters(b []byte, c *store.Counts) error {
	it := netlink.Iter(b)
	for it.Next() {
		if e := it.Attr(); e.Type == nftaListElem {
			if err := elemCounter(e.Data, c); err != nil {
				return err
			}
		}
	}
	return it.Err()
}

// elemCounter reads an expression into c if it is a counter.
func elemCounter(b []byte, c *store.Counts) error {
	counter := false
	it := netlink.Iter(b)
	for it.Next() {
		switch a := it.Attr(); {
		case a.Type == nftaExprName:
			counter = a.IsText("counter")
		case a.Type == nftaExprData && counter:
			if err := counterData(a.Data, c); err != nil {
				return err
			}
		}
	}
	return it.Err()
}

func counterData(b []byte, c *store.Counts) error {
	it := netlink.Iter(b)
	for it.Next() {
		var err error
		switch v := it.Attr(); v.Type {
		case nftaCounterBytes:
			c.Bytes, err = v.Uint64()
		case nftaCounterPackets:
			c.Packets, err = v.Uint64()
		}
		if err != nil {
			return err
		}
	}
	return it.Err()
}
