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

// Per-host usage by service (netfilter/service.go counts it). Each element
// of a service set grows as the host elements do and is credited, by its
// port's service, to the host its address belongs to: the MAC its host
// element was last credited to, else the neighbour table's. A host's
// "other" is never counted: it is its total minus its services, so the two
// add up exactly, and a port no service lists costs nothing.

// serviceElementKey keys a service set element's baseline:
// "dl/198.18.1.2/tcp/443".
func serviceElementKey(dir string, k netfilter.ServiceKey) string {
	return dir + "/" + k.Addr.String() + "/" + k.ServicePort.String()
}

// parseServiceElementKey undoes serviceElementKey.
func parseServiceElementKey(key string) (dir string, k netfilter.ServiceKey, ok bool) {
	parts := strings.Split(key, "/")
	if len(parts) != 4 {
		return "", k, false
	}
	a, err := netip.ParseAddr(parts[1])
	if err != nil {
		return "", k, false
	}
	p, err := netfilter.ParseServicePort(parts[2] + "/" + parts[3])
	if err != nil {
		return "", k, false
	}
	return parts[0], netfilter.ServiceKey{Addr: a, ServicePort: p}, true
}

// accountServices credits the growth of the service sets' elements.
func (s *Sampler) accountServices(have map[string]*netfilter.IPSet, neigh map[netip.Addr]string, boot string, now time.Time) {
	if len(s.Config.ServicePorts()) == 0 {
		return
	}
	seen := s.seenKeys()
	for _, f := range s.hostFamilies() {
		for _, dir := range netfilter.HostSetDirs { // the port sets while a flowtable offloads
			if set := have[netfilter.ServiceSetName(dir, f)]; set != nil {
				evict := s.serviceStrays(set, dir, neigh)
				s.accountServiceSet(set, dir, neigh, boot, now, seen, evict)
				if len(evict) > 0 {
					keys := slices.Collect(maps.Keys(evict))
					if err := s.Sets.EvictServices(set.Name, keys); err != nil {
						s.Logf("%v", err)
					}
					s.noteFlood(set.Name, len(keys), now)
				}
			}
		}
	}
	// An element gone from its set counts from zero when it comes back.
	for key := range s.State.ServiceElements {
		if !seen[key] {
			delete(s.State.ServiceElements, key)
		}
	}
}

// accountServiceSet credits the growth of a service set's elements; the
// strays in evict are credited and then forgotten.
func (s *Sampler) accountServiceSet(set *netfilter.IPSet, dir string, neigh map[netip.Addr]string, boot string, now time.Time, seen map[string]bool, evict map[netfilter.ServiceKey]bool) {
	st := s.State
	setBoot := setBootOf(set, boot)
	for k, c := range set.Services {
		key := s.keys.service(dir, k)
		seen[key] = true
		e, d := elementGrowth(st.ServiceElements, key, c, setBoot, now)
		if s.rebasing {
			d = store.Counts{}
		}
		mac := e.MAC
		if h := st.Elements[s.keys.element(dir, k.Addr)]; h != nil && h.MAC != "" {
			mac = h.MAC
		} else if m := neigh[k.Addr]; m != "" {
			mac = m
		}
		e.Counts, e.Boot, e.MAC = c, setBoot, mac
		if evict[k] {
			delete(st.ServiceElements, key)
		}
		if d.Packets == 0 && d.Bytes == 0 {
			continue
		}
		if s.bogus(d, s.sinceLast) {
			s.Logf("service element %s: %d bytes in %s is more than max_rate allows; dropped", key, d.Bytes, s.sinceLast.Round(time.Millisecond))
			continue
		}
		e.Changed = now
		name := s.Config.ServiceOf(k.ServicePort)
		if name == "" {
			continue // a port no longer configured: other
		}
		s.creditService(mac, name, netfilter.HostDir(dir), d, now)
	}
}

// creditService adds d to host mac's use of service.
func (s *Sampler) creditService(mac, service, dir string, d store.Counts, now time.Time) {
	if mac == "" {
		mac = store.Unattributed
	}
	key := s.keys.serviceUse(mac, service)
	u := s.State.Services[key]
	if u == nil {
		u = &store.ServiceUse{MAC: mac, Service: service}
		s.State.Services[key] = u
	}
	day, month := s.keys.dayMonth(now)
	u.Add(dir, d, day, month)
}

// pruneIdleServices deletes service elements idle for longer than idle,
// as pruneIdle does host elements.
func (s *Sampler) pruneIdleServices(now time.Time, idle time.Duration) {
	for key, e := range s.State.ServiceElements {
		if now.Sub(e.Changed) < idle {
			continue
		}
		dir, k, ok := parseServiceElementKey(key)
		if !ok {
			delete(s.State.ServiceElements, key)
			continue
		}
		if err := s.Sets.DelService(netfilter.ServiceSetName(dir, netfilter.AddrFamily(k.Addr)), k); err != nil {
			s.Logf("prune %s: %v", key, err)
			continue
		}
		delete(s.State.ServiceElements, key)
	}
}
