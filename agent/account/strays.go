package account

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/netfilter"
)

// Strays. Our sets take every address a forwarded packet shows on the LAN
// side, and a packet can show any address: a LAN host spoofing sources, or
// (on iptables, where our rules run before the firewall's) a scan of the
// LAN's IPv6 /64 from the internet. What the kernel holds is bounded by
// netfilter.MaxElements; what the daemon keeps is bounded here.
//
// An address is a host's when the neighbour table or a lease gives it a MAC,
// now or before. Any other address is a stray: its traffic is counted, as
// unattributed, and a set keeps up to KeepStrays of them between samples (a
// subnet routed behind another router has no neighbours of ours, and its
// addresses keep their baselines). Past that a flood is on: at every sample
// the strays beyond KeepStrays are credited and then evicted from the set,
// and the LAN's neighbours' addresses that the set lacks are added in the
// same transaction, so a full set never keeps a real host out for longer
// than one interval. Only strays kept from before the flood stay (a routed
// subnet's addresses, say): during a flood, traffic both ways proves
// nothing, since NAT brings the answers to spoofed sources back. An evicted
// address never becomes a row of the live database.

// KeepStrays is how many addresses that are no host's a set keeps between
// samples. The ones kept when a flood begins stay through it, in the live
// database: 64 in each of four sets keep its growth under 64 KiB (the lab
// saw 64 KiB with 256, on a loaded machine where the first sample of a
// flood caught it small).
const KeepStrays = 64

// A Flood is strays arriving faster than a set keeps them. The daemon logs
// its start and its end once each, and doctor names it.
type Flood struct {
	Since time.Time `json:"since"`
	Last  time.Time `json:"last"` // the last sample that evicted
	// Evicted is how many addresses were evicted since it began.
	Evicted uint64   `json:"evicted"`
	Sets    []string `json:"sets"`
	Over    bool     `json:"over"` // a sample since Last evicted nothing
}

// Flood returns the flood in progress or the last one; nil if none was seen
// by this process.
func (s *Sampler) Flood() *Flood { return s.flood }

// pickStrays returns the set of strays (keys no host claims) to evict: none
// while there are no more than KeepStrays; past that (a flood), every stray
// but those kept from before the flood (kept reports them), and of those no
// more than KeepStrays.
func pickStrays[K comparable](strays []K, kept func(K) bool, order func(a, b K) int) map[K]bool {
	if len(strays) <= KeepStrays {
		return nil
	}
	rank := func(k K) int {
		if kept(k) {
			return 0
		}
		return 1
	}
	slices.SortFunc(strays, func(a, b K) int { return cmp.Or(cmp.Compare(rank(a), rank(b)), order(a, b)) })
	n := 0
	for n < len(strays) && n < KeepStrays && kept(strays[n]) {
		n++
	}
	evict := make(map[K]bool, len(strays)-n)
	for _, k := range strays[n:] {
		evict[k] = true
	}
	return evict
}

// isHost says whether address a is a host's: the neighbour table or a
// lease gives it a MAC, or its element in direction dir had one before.
func (s *Sampler) isHost(a netip.Addr, dir string, neigh map[netip.Addr]string) bool {
	if neigh[a] != "" {
		return true
	}
	e := s.State.Elements[s.keys.element(dir, a)]
	return e != nil && e.MAC != ""
}

// hostStrays picks the elements of set (direction dir) to evict.
func (s *Sampler) hostStrays(set *netfilter.IPSet, dir string, neigh map[netip.Addr]string) map[netip.Addr]bool {
	var strays []netip.Addr // none on a quiet LAN: nothing allocated
	for a := range set.Elements {
		if !s.isHost(a, dir, neigh) {
			strays = append(strays, a)
		}
	}
	kept := func(a netip.Addr) bool { return s.State.Elements[s.keys.element(dir, a)] != nil }
	return pickStrays(strays, kept, netip.Addr.Compare)
}

// serviceStrays picks the elements of service set set (direction dir) to
// evict: those of addresses that are no host's, beyond KeepStrays.
func (s *Sampler) serviceStrays(set *netfilter.IPSet, dir string, neigh map[netip.Addr]string) map[netfilter.ServiceKey]bool {
	var strays []netfilter.ServiceKey
	for k := range set.Services {
		if !s.isHost(k.Addr, dir, neigh) {
			strays = append(strays, k)
		}
	}
	kept := func(k netfilter.ServiceKey) bool { return s.State.ServiceElements[s.keys.service(dir, k)] != nil }
	order := func(a, b netfilter.ServiceKey) int {
		return cmp.Or(a.Addr.Compare(b.Addr), cmp.Compare(a.Proto, b.Proto), cmp.Compare(a.Port, b.Port))
	}
	return pickStrays(strays, kept, order)
}

// neighbourAddrs are the LAN neighbours' addresses of family f that set
// lacks and a forwarded packet can carry (no link-local or multicast).
func neighbourAddrs(neigh map[netip.Addr]string, set *netfilter.IPSet, f netfilter.Family) []netip.Addr {
	var out []netip.Addr
	for a := range neigh {
		if netfilter.AddrFamily(a) != f || !a.IsGlobalUnicast() {
			continue
		}
		if _, ok := set.Elements[a]; !ok {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

// evict takes the strays out of set name, admitting in, and notes the
// flood.
func (s *Sampler) evict(name string, out []netip.Addr, in []netip.Addr, now time.Time) {
	if len(out) == 0 {
		return
	}
	if err := s.Sets.Evict(name, out, in); err != nil {
		s.Logf("%v", err)
	}
	s.noteFlood(name, len(out), now)
}

// noteFlood records n addresses evicted from set name at now, and logs a
// flood's start once.
func (s *Sampler) noteFlood(name string, n int, now time.Time) {
	f := s.flood
	if f == nil || f.Over {
		f = &Flood{Since: now}
		s.flood = f
		s.Logf("flood: %d addresses in %s are no LAN host's; counting them as unattributed and evicting all but %d at every sample (logged once; so is its end)",
			n+KeepStrays, name, KeepStrays)
	}
	f.Last, f.Evicted = now, f.Evicted+uint64(n)
	if !slices.Contains(f.Sets, name) {
		f.Sets = append(f.Sets, name)
		slices.Sort(f.Sets)
	}
	s.evictedNow = true
}

// endFlood ends a flood after a sample that evicted nothing.
func (s *Sampler) endFlood() {
	if s.flood != nil && !s.flood.Over && !s.evictedNow {
		s.flood.Over = true
		s.Logf("flood over: %d addresses evicted from %s since %s", s.flood.Evicted, fmt.Sprint(s.flood.Sets), s.flood.Since.Format(time.RFC3339))
	}
	s.evictedNow = false
}
