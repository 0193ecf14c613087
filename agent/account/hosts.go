package account

import (
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/netfilter"
	"github.com/netmon-agent/netmon-agent/store"
)

// Per-host accounting. For each family, two sets (ipsets here; native
// nftables sets in nftsets.go, where the rules below live in our own table
// instead of our iptables chains) with per-element
// counters hold every address seen on the LAN side of forwarded traffic:
// netmon-dl4/6 by destination (download: from outside the LAN to a host) and
// netmon-ul4/6 by source (upload). Our FORWARD chain has one rule per
// direction: if the address is not in the set, add it. Testing an address
// that is in the set counts the packet on its element (the test does that
// whether or not the rule is negated); adding a new one gives the new
// element that packet. So each packet is counted exactly once, on the
// packet that first shows an address too, for one hash lookup per packet
// whatever the number of hosts. (Measured in the lab: a separate match and
// add counts a new address's first packet twice, and --exist on the add
// resets the element's counters at every packet.)
//
// A sample reads all sets with one `ipset save`, credits each element's
// growth to the MAC the neighbour table (or a lease) gives its address, or
// to "unattributed" while none is known, so hosts plus unattributed add up to
// all forwarded LAN traffic.

// Rate is a host's current download and upload, in bytes per second, from
// the last two samples.
type Rate struct {
	Download float64
	Upload   float64
}

// accountHosts credits the growth of every element of our sets to its host.
// elapsed is the time since the previous sample, for rates (0: none).
func (s *Sampler) accountHosts(have map[string]*netfilter.IPSet, neigh map[netip.Addr]string, names map[string]string, boot string, now time.Time, elapsed time.Duration) {
	grown, seen := s.grownHosts(), s.seenKeys()
	var read []setRef // the sets read: their elements that are gone go
	for _, f := range s.hostFamilies() {
		for _, dir := range netfilter.HostSetDirs { // the port sets while a flowtable offloads
			set := have[netfilter.SetName(dir, f)]
			if set == nil {
				continue
			}
			read = append(read, setRef{dir, f})
			evict := s.hostStrays(set, dir, neigh)
			s.accountSet(set, dir, neigh, boot, now, grown, evict, seen)
			if len(evict) > 0 {
				s.evict(set.Name, slices.SortedFunc(maps.Keys(evict), netip.Addr.Compare), neighbourAddrs(neigh, set, f), now)
			}
		}
	}
	s.forgetGone(read, seen)
	s.foldAddresses(names)
	moved := make(map[string]uint64, len(grown))
	for k, r := range grown {
		moved[k] = uint64(r.Download + r.Upload)
	}
	s.accountQuotas(moved, now)
	s.rates = make(map[string]Rate, len(grown)) // Rates hands it out: a new one
	if elapsed > 0 {
		for k, r := range grown {
			s.rates[k] = Rate{Download: r.Download / elapsed.Seconds(), Upload: r.Upload / elapsed.Seconds()}
		}
	}
}

// accountSet credits the growth of set's elements (direction dir) to their
// hosts, adding the bytes to grown by host and the elements' keys to seen.
// The strays in evict are credited and then forgotten: they leave the set
// at this sample.
func (s *Sampler) accountSet(set *netfilter.IPSet, dir string, neigh map[netip.Addr]string, boot string, now time.Time, grown map[string]Rate, evict map[netip.Addr]bool, seen map[string]bool) {
	st := s.State
	setBoot := setBootOf(set, boot)
	for addr, c := range set.Elements {
		key := s.keys.element(dir, addr)
		seen[key] = true
		e, d := elementGrowth(st.Elements, key, c, setBoot, now)
		if s.rebasing {
			d = store.Counts{}
		}
		mac := neigh[addr]
		if mac == "" {
			mac = e.MAC // the last one known: neighbour entries expire
		}
		if e.MAC != mac {
			s.addrsStale = true // a new host address, or a MAC that moved
		}
		e.Counts, e.Boot, e.MAC = c, setBoot, mac
		if evict[addr] {
			delete(st.Elements, key)
			s.addrsStale = true
		}
		if d.Packets == 0 && d.Bytes == 0 {
			continue
		}
		if s.bogus(d, s.sinceLast) {
			s.Logf("host address %s (%s): %d bytes in %s is more than max_rate allows; dropped", addr, dir, d.Bytes, s.sinceLast.Round(time.Millisecond))
			continue
		}
		e.Changed = now
		s.creditHost(mac, netfilter.HostDir(dir), d, now, grown)
	}
}

// A setRef is a host set by direction and family.
type setRef struct {
	dir string
	f   netfilter.Family
}

// forgetGone deletes the elements of the sets read that the read did not
// find (pruned, or the set was recreated): one that comes back counts from
// zero. One pass over the elements, whatever the number of sets.
func (s *Sampler) forgetGone(read []setRef, seen map[string]bool) {
	if len(read) == 0 {
		return
	}
	for key := range s.State.Elements {
		if seen[key] {
			continue
		}
		dir, _, _ := strings.Cut(key, "/")
		if slices.Contains(read, setRef{dir, elementFamily(key)}) {
			delete(s.State.Elements, key)
			s.addrsStale = true
		}
	}
}

// setBootOf is what a baseline of set's elements is good for: this boot
// and, where the kernel tells, this incarnation of the set.
func setBootOf(set *netfilter.IPSet, boot string) string {
	if set.Generation != "" {
		return boot + "/" + set.Generation
	}
	return boot
}

// elementGrowth is element key's growth from its baseline in elems to c, all of c
// for a new element or one of another boot or set; a new element goes
// into elems. The caller moves the baseline to c.
func elementGrowth(elems map[string]*store.Element, key string, c store.Counts, setBoot string, now time.Time) (*store.Element, store.Counts) {
	e := elems[key]
	d := c
	if e != nil && e.Boot == setBoot && c.Packets >= e.Packets && c.Bytes >= e.Bytes {
		d = store.Counts{Packets: c.Packets - e.Packets, Bytes: c.Bytes - e.Bytes}
	}
	if e == nil {
		e = &store.Element{Changed: now}
		elems[key] = e
	}
	return e, d
}

// elementFamily is the family of an element key's address. A dotted IPv4
// address is told without parsing it: this runs for every element of every
// set at every sample.
func elementFamily(key string) netfilter.Family {
	if _, text, _ := strings.Cut(key, "/"); !strings.Contains(text, ":") {
		return netfilter.IPv4
	}
	_, a, _ := store.ParseElementKey(key)
	return netfilter.AddrFamily(a)
}

// creditHost adds d in direction dir to host mac ("" while no MAC is
// known: unattributed), its day and month, its history and grown.
func (s *Sampler) creditHost(mac, dir string, d store.Counts, now time.Time, grown map[string]Rate) {
	st := s.State
	day, month := s.keys.dayMonth(now)
	hostKey := mac
	if hostKey == "" {
		hostKey = store.Unattributed
	}
	h := st.Hosts[hostKey]
	if h == nil {
		h = &store.Host{MAC: hostKey, FirstSeen: now}
		st.Hosts[hostKey] = h
		s.addrsStale = true // its addresses
	}
	h.LastSeen = now
	h.Add(dir, d, day, month)
	s.fileDelta(s.keys.hostSeries(hostKey, dir), now, d)
	r := grown[hostKey]
	if dir == store.DirDownload {
		r.Download += float64(d.Bytes)
	} else {
		r.Upload += float64(d.Bytes)
	}
	grown[hostKey] = r
}

// foldAddresses gives each host the addresses its elements have now, and
// the name names knows it by. The addresses are gathered again only when an
// element came, went or changed its MAC, or a host is new (addrsStale), and
// a host's list is new only when its addresses changed: the lists it is
// built in are the sampler's, kept from sample to sample.
func (s *Sampler) foldAddresses(names map[string]string) {
	st := s.State
	if s.addrs == nil || len(s.addrs) > 2*len(st.Hosts)+64 {
		s.addrs, s.addrsStale = map[string][]string{}, true
	}
	if !s.addrsStale {
		s.nameHosts(names)
		return
	}
	s.addrsStale = false
	for mac, list := range s.addrs {
		s.addrs[mac] = list[:0]
	}
	for key, e := range st.Elements {
		// An element key is its direction and the address as text.
		if _, a, ok := strings.Cut(key, "/"); ok && e.MAC != "" && !slices.Contains(s.addrs[e.MAC], a) {
			s.addrs[e.MAC] = append(s.addrs[e.MAC], a)
		}
	}
	for mac, h := range st.Hosts {
		if mac == store.Unattributed {
			continue
		}
		list := s.addrs[mac]
		slices.Sort(list)
		switch {
		case len(list) == 0:
			h.Addresses = nil
		case !slices.Equal(list, h.Addresses):
			h.Addresses = slices.Clone(list)
		}
	}
	s.nameHosts(names)
}

// nameHosts gives each host the name names knows it by.
func (s *Sampler) nameHosts(names map[string]string) {
	for mac, h := range s.State.Hosts {
		if n := names[mac]; n != "" {
			h.Name = n
		}
	}
}

// pruneIdle deletes elements idle for longer than idle from our sets, so
// sets stay bounded as devices come and go (IPv6 privacy addresses change
// daily). Their counts were taken at this sample; a packet in the moment
// between that read and the delete would be lost, which is why only
// elements idle for so long go.
func (s *Sampler) pruneIdle(now time.Time, idle time.Duration) {
	for key, e := range s.State.Elements {
		if now.Sub(e.Changed) < idle {
			continue
		}
		dir, addr, ok := store.ParseElementKey(key)
		if !ok {
			delete(s.State.Elements, key)
			s.addrsStale = true
			continue
		}
		if err := s.Sets.Del(netfilter.SetName(dir, netfilter.AddrFamily(addr)), addr); err != nil {
			s.Logf("prune %s: %v", key, err)
			continue
		}
		delete(s.State.Elements, key)
		s.addrsStale = true
	}
}

// hostFamilies are the families per-host accounting runs in.
func (s *Sampler) hostFamilies() []netfilter.Family {
	if !s.HostsOn() {
		return nil
	}
	var out []netfilter.Family
	for _, fw := range s.Firewalls {
		if !s.foreign[fw.Family()] {
			out = append(out, fw.Family())
		}
	}
	return out
}

func (s *Sampler) HostsOn() bool { return s.Config.Hosts && s.Sets != nil }

// sampleHostsRebasing is sampleHosts, rebasing first where the state was
// restored from flash with its element baselines behind its totals in
// this same boot (the live file was lost or damaged; store.Deferred):
// counting from those baselines would count twice what moved between
// them and the totals, so this sample takes the kernel's counters as the
// baselines and credits nothing. What the hosts moved since the last
// journal record is not known, as after a power cut. After a reboot the
// old baselines are never used, so there is nothing to do.
func (s *Sampler) sampleHostsRebasing(boot string, now time.Time) error {
	if !s.State.BaselinesBehind {
		return s.sampleHosts(boot, now)
	}
	s.rebasing = s.State.Boot == boot
	defer func() { s.rebasing = false }()
	if err := s.sampleHosts(boot, now); err != nil {
		return err
	}
	if s.rebasing {
		s.Logf("restored from flash in the same boot: hosts and services count from the kernel's counters now; what they moved since the snapshot's last record is not known")
	}
	s.State.BaselinesBehind = false
	return nil
}
