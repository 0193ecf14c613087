package agent

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/netmon-agent/netmon-agent/store"
)

// Blocking. A block drops a host's forwarded traffic both ways, IPv4 and
// IPv6, all its addresses: our FORWARD chain, after the rules that count
// hosts (so a blocked host's usage is still counted), drops packets from or
// to an address in netmon-block4/6, and packets from a blocked MAC, which
// also stops an address the host takes between two samples. Blocks live in
// the database; each sample puts the addresses of the hosts blocked now
// into the sets and drops expired blocks, so blocks survive restarts,
// reboots and firewall flushes and expire on time.

const (
	roleBlockSrc = "@block-src"
	roleBlockDst = "@block-dst"
	dirBlock     = "block" // setName(dirBlock, f): netmon-block4, netmon-block6
)

// ErrUnknownHost means a block named no host the agent knows.
var ErrUnknownHost = errors.New("unknown host")

// blockWants are the dropping rules of family f for the blocked MACs. With
// no block in force there are none: every forwarded packet would pay for
// the lookups.
func blockWants(lan string, f Family, blocking bool, macs []string) []Want {
	if !blocking {
		return nil
	}
	set := setName(dirBlock, f)
	ws := []Want{
		{Chain: "FORWARD", Class: classHost, Name: roleBlockSrc, Match: []string{"-m", "set", "--match-set", set, "src", "-j", "DROP"}},
		{Chain: "FORWARD", Class: classHost, Name: roleBlockDst, Match: []string{"-m", "set", "--match-set", set, "dst", "-j", "DROP"}},
	}
	for _, m := range macs {
		ws = append(ws, Want{Chain: "FORWARD", Class: classHost, Name: "@block-" + strings.ReplaceAll(m, ":", ""),
			Match: []string{"-i", lan, "-m", "mac", "--mac-source", m, "-j", "DROP"}})
	}
	return ws
}

// blockedMACs lists the MACs blocked now, sorted.
func blockedMACs(st *store.State) []string {
	var out []string
	for t := range st.Blocks {
		if isMACTarget(t) {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

// isMACTarget tells a MAC target from an (IPv6) address.
func isMACTarget(t string) bool { return normalMAC(t) == t }

// ResolveHost finds what HOST names: a MAC, an address (the MAC it belongs
// to when known), or a host's name. It returns the block target.
func ResolveHost(st *store.State, neigh map[netip.Addr]string, q string) (string, error) {
	q = strings.TrimSpace(q)
	if mac := normalMAC(q); mac != "" {
		return mac, nil
	}
	if a, err := netip.ParseAddr(q); err == nil {
		a = a.WithZone("")
		if mac := neigh[a]; mac != "" {
			return mac, nil
		}
		for _, dir := range []string{store.DirDownload, store.DirUpload} {
			if e := st.Elements[store.ElementKey(dir, a)]; e != nil && e.MAC != "" {
				return e.MAC, nil
			}
		}
		return a.String(), nil
	}
	var found []string
	for mac, h := range st.Hosts {
		if h.Name != "" && strings.EqualFold(h.Name, q) {
			found = append(found, mac)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return "", fmt.Errorf("%w %q: not a MAC, an address, or the name of a host seen", ErrUnknownHost, q)
	}
	sort.Strings(found)
	return "", fmt.Errorf("host name %q is ambiguous: %s; give the MAC", q, strings.Join(found, ", "))
}

// Block records a block of target, for d (0: until unblocked).
func (s *Sampler) Block(target string, d time.Duration, reason string) *store.Block {
	now := s.Clock.Now()
	b := &store.Block{Target: target, Created: now, Reason: cleanReason(reason)}
	if d > 0 {
		b.Until = now.Add(d)
	}
	s.State.Blocks[target] = b
	s.State.Touch()
	s.Logf("blocked %s%s", target, untilText(b))
	return b
}

// Unblock removes the block of target; it reports whether there was one.
func (s *Sampler) Unblock(target string) bool {
	b, ok := s.State.Blocks[target]
	if !ok {
		return false
	}
	s.waiveQuota(b)
	delete(s.State.Blocks, target)
	s.State.Touch()
	s.Logf("unblocked %s", target)
	return true
}

func untilText(b *store.Block) string {
	if b.Until.IsZero() {
		return ""
	}
	return " until " + b.Until.Format(time.RFC3339)
}

// cleanReason keeps a reason printable and short.
func cleanReason(r string) string {
	var b strings.Builder
	for _, c := range r {
		if b.Len() >= 200 {
			break
		}
		if c >= ' ' && c != 0x7f {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// applyBlocks drops expired blocks and makes the block sets hold exactly
// the addresses blocked now: those of blocked MACs (from the neighbour
// table and our sets) and blocked addresses.
func (s *Sampler) applyBlocks(have map[string]*IPSet, neigh map[netip.Addr]string, now time.Time) error {
	st := s.State
	for t, b := range st.Blocks {
		if !b.Until.IsZero() && !now.Before(b.Until) {
			delete(st.Blocks, t)
			st.Touch()
			s.Logf("block of %s expired", t)
		}
	}
	want := map[netip.Addr]bool{}
	for t := range st.Blocks {
		if !isMACTarget(t) {
			if a, err := netip.ParseAddr(t); err == nil {
				want[a] = true
			}
			continue
		}
		for a, m := range neigh {
			if m == t {
				want[a] = true
			}
		}
		for key, e := range st.Elements {
			if e.MAC == t {
				if _, addr, ok := store.ParseElementKey(key); ok {
					want[addr] = true
				}
			}
		}
	}
	var errs []error
	for _, f := range s.hostFamilies() {
		name := setName(dirBlock, f)
		set := have[name]
		for a := range want {
			if a.Is4() == (f == IPv4) && !hasElement(set, a) {
				if err := s.Sets.Add(name, a); err != nil {
					errs = append(errs, fmt.Errorf("block %s: %w", a, err))
				}
			}
		}
		if set == nil {
			continue
		}
		for a := range set.Elements {
			if !want[a] {
				if err := s.Sets.Del(name, a); err != nil {
					errs = append(errs, fmt.Errorf("unblock %s: %w", a, err))
				}
			}
		}
	}
	return errors.Join(errs...)
}

func hasElement(s *IPSet, a netip.Addr) bool {
	if s == nil {
		return false
	}
	_, ok := s.Elements[a]
	return ok
}

// isBlocked reports whether host mac, or one of its addresses, is blocked.
func isBlocked(st *store.State, mac string, addrs []string) bool {
	if _, ok := st.Blocks[mac]; ok {
		return true
	}
	return slices.ContainsFunc(addrs, func(a string) bool { _, ok := st.Blocks[a]; return ok })
}

// A BlocksReport lists the blocks in force.
type BlocksReport struct {
	Blocks []BlockReport `json:"blocks"`
}

// A BlockReport is one block: target is a MAC or an address.
type BlockReport struct {
	Target  string     `json:"target"`
	Name    string     `json:"name"`
	Created time.Time  `json:"created"`
	Until   *time.Time `json:"until"` // null: until unblocked
	Reason  string     `json:"reason"`
}

// BuildBlocks lists st's blocks, soonest to expire first.
func BuildBlocks(st *store.State) *BlocksReport {
	r := &BlocksReport{Blocks: []BlockReport{}}
	for t, b := range st.Blocks {
		br := BlockReport{Target: t, Created: b.Created.UTC(), Reason: b.Reason}
		if h := st.Hosts[t]; h != nil {
			br.Name = h.Name
		}
		if !b.Until.IsZero() {
			u := b.Until.UTC()
			br.Until = &u
		}
		r.Blocks = append(r.Blocks, br)
	}
	sort.Slice(r.Blocks, func(i, j int) bool {
		a, b := r.Blocks[i].Until, r.Blocks[j].Until
		switch {
		case a == nil && b == nil:
			return r.Blocks[i].Target < r.Blocks[j].Target
		case a == nil || b == nil:
			return b == nil
		}
		return a.Before(*b)
	})
	return r
}

// WriteText prints the blocks for a terminal.
func (r *BlocksReport) WriteText(w io.Writer, loc *time.Location) error {
	var b strings.Builder
	if len(r.Blocks) == 0 {
		b.WriteString("No blocks.\n")
	} else {
		fmt.Fprintf(&b, "%-17s %-15s %-16s  %s\n", "BLOCKED", "NAME", "UNTIL", "REASON")
	}
	for _, x := range r.Blocks {
		until := "unblocked"
		if x.Until != nil {
			until = x.Until.In(loc).Format("2006-01-02 15:04")
		}
		name := x.Name
		if name == "" {
			name = "-"
		}
		fmt.Fprintf(&b, "%-17s %-15.15s %-16s  %s\n", x.Target, name, until, x.Reason)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
