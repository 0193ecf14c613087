package account

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/hosts"
	"github.com/netmon-agent/netmon-agent/agent/netfilter"
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
func isMACTarget(t string) bool { return hosts.NormalMAC(t) == t }

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

// Unblock removes the blocks of targets; it returns those there were.
func (s *Sampler) Unblock(targets ...string) (lifted []string) {
	for _, target := range targets {
		b, ok := s.State.Blocks[target]
		if !ok {
			continue
		}
		s.waiveQuota(b)
		delete(s.State.Blocks, target)
		s.State.Touch()
		s.Logf("unblocked %s", target)
		lifted = append(lifted, target)
	}
	return lifted
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
func (s *Sampler) applyBlocks(have map[string]*netfilter.IPSet, neigh map[netip.Addr]string, now time.Time) error {
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
				want[a.Unmap()] = true // a block stored by an older version may be mapped
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
		name := netfilter.SetName(netfilter.DirBlock, f)
		set := have[name]
		for a := range want {
			if a.Is4() == (f == netfilter.IPv4) && !hasElement(set, a) {
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

func hasElement(s *netfilter.IPSet, a netip.Addr) bool {
	if s == nil {
		return false
	}
	_, ok := s.Elements[a]
	return ok
}
