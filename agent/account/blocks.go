package account

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/hosts"
	"github.com/netmon-agent/netmon-agent/agent/netfilter"
	"github.com/netmon-agent/netmon-agent/agent/units"
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
//
// A throttle is a block with a rate: in the same place, rules of its own
// drop what the host's addresses move above the rate. An address the host
// takes between two samples is slowed from the next sample on.

// blockedMACs lists the MACs blocked now (not throttled), sorted.
func blockedMACs(st *store.State) []string {
	var out []string
	for t, b := range st.Blocks {
		if isMACTarget(t) && !b.Throttles() {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

// blocking reports whether any host is blocked (not throttled) now.
func blocking(st *store.State) bool {
	for _, b := range st.Blocks {
		if !b.Throttles() {
			return true
		}
	}
	return false
}

// isMACTarget tells a MAC target from an (IPv6) address.
func isMACTarget(t string) bool { return hosts.NormalMAC(t) == t }

// Block records a block of target, for d (0: until unblocked). It takes
// the place of a throttle of target.
func (s *Sampler) Block(target string, d time.Duration, reason string) *store.Block {
	return s.restrict(&store.Block{Target: target, Reason: cleanReason(reason)}, d, "blocked", "")
}

// Throttle records a throttle of target to down and up bits per second,
// for d (0: until unthrottled). It takes the place of a block of target.
func (s *Sampler) Throttle(target string, d time.Duration, reason string, down, up uint64) *store.Block {
	b := &store.Block{Target: target, Reason: cleanReason(reason), Rate: down, RateUp: up}
	return s.restrict(b, d, "throttled", fmt.Sprintf(" to %s down, %s up", units.FormatBits(down), units.FormatBits(up)))
}

// restrict puts b in force from now for d (0: until lifted) and logs
// "VERB TARGET[DETAIL][ until T]".
func (s *Sampler) restrict(b *store.Block, d time.Duration, verb, detail string) *store.Block {
	now := s.Clock.Now()
	b.Created = now
	if d > 0 {
		b.Until = now.Add(d)
	}
	s.State.Blocks[b.Target] = b
	s.State.Touch()
	s.Logf("%s %s%s%s", verb, b.Target, detail, untilText(b))
	return b
}

// Unblock removes the blocks (not throttles) of targets; it returns those
// there were.
func (s *Sampler) Unblock(targets ...string) (lifted []string) {
	return s.lift(false, targets)
}

// Unthrottle removes the throttles of targets; it returns those there
// were.
func (s *Sampler) Unthrottle(targets ...string) (lifted []string) {
	return s.lift(true, targets)
}

func (s *Sampler) lift(throttles bool, targets []string) (lifted []string) {
	for _, target := range targets {
		b, ok := s.State.Blocks[target]
		if !ok || b.Throttles() != throttles {
			continue
		}
		s.waiveQuota(b)
		delete(s.State.Blocks, target)
		s.State.Touch()
		if throttles {
			s.Logf("unthrottled %s", target)
		} else {
			s.Logf("unblocked %s", target)
		}
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

// applyBlocks drops expired blocks, makes the block sets hold exactly the
// addresses blocked now, and works out the throttles in force.
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
	s.throttles = nil
	for t, b := range st.Blocks {
		addrs := s.addrsOf(t, neigh)
		if b.Throttles() {
			if len(addrs) > 0 {
				s.throttles = append(s.throttles, netfilter.Throttle{Key: t, Addrs: addrs, Down: b.Rate / 8, Up: b.RateUp / 8})
			}
			continue
		}
		for _, a := range addrs {
			want[a] = true
		}
	}
	sort.Slice(s.throttles, func(i, j int) bool { return s.throttles[i].Key < s.throttles[j].Key })
	s.blockedAddrs = slices.SortedFunc(maps.Keys(want), netip.Addr.Compare)
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

// addrsOf are the addresses of a block's target, sorted: an address
// itself, or those a MAC has in the neighbour table and our sets.
func (s *Sampler) addrsOf(target string, neigh map[netip.Addr]string) []netip.Addr {
	if !isMACTarget(target) {
		if a, err := netip.ParseAddr(target); err == nil {
			return []netip.Addr{a.Unmap()} // a block stored by an older version may be mapped
		}
		return nil
	}
	seen := map[netip.Addr]bool{}
	for a, m := range neigh {
		if m == target {
			seen[a] = true
		}
	}
	for key, e := range s.State.Elements {
		if e.MAC == target {
			if _, addr, ok := store.ParseElementKey(key); ok {
				seen[addr] = true
			}
		}
	}
	out := make([]netip.Addr, 0, len(seen))
	for a := range seen {
		out = append(out, a)
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

func hasElement(s *netfilter.IPSet, a netip.Addr) bool {
	if s == nil {
		return false
	}
	_, ok := s.Elements[a]
	return ok
}
