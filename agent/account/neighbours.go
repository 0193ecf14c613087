package account

import (
	"net/netip"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/netfilter"
)

// The neighbour table, read again only when it may have changed what a
// sample needs. Reading it (a netlink dump of every neighbour, the lease
// file's stat) was a sixth of a sample at 254 busy hosts, and between two
// samples a second apart it rarely changes. It is read again when:
//   - an address in our sets is not in the table as last read, and was not
//     missing from it at the read before (a new host, or a host's new
//     address: its MAC is needed now; strays that stay unknown do not make
//     every sample read again);
//   - NeighbourRefresh has passed since the last read (a MAC that moved to
//     another address, an expired lease);
//   - the last read failed.
// So a new host's MAC is known at the sample its address appears, as
// before, and a changed mapping is seen within NeighbourRefresh.

// NeighbourRefresh is the longest the sampler goes without reading the
// neighbour table.
const NeighbourRefresh = 30 * time.Second

type neighbourCache struct {
	table   map[netip.Addr]string
	read    time.Time
	err     error
	missing map[netip.Addr]bool // set addresses not in table at the last read
}

// neighbours returns the neighbour table, read again if have's sets hold
// an address it has not answered for, or it is older than
// NeighbourRefresh (now is the sample's time).
func (s *Sampler) neighbours(have map[string]*netfilter.IPSet, now time.Time) (map[netip.Addr]string, error) {
	c := &s.neigh
	if c.table != nil && c.err == nil && now.Sub(c.read) < NeighbourRefresh && now.Sub(c.read) >= 0 && !c.unknownIn(have) {
		return c.table, nil
	}
	c.table, c.err = s.Sources.Neighbours()
	c.read = now
	c.missing = map[netip.Addr]bool{}
	for _, set := range have {
		for a := range set.Elements {
			if _, ok := c.table[a]; !ok {
				c.missing[a] = true
			}
		}
	}
	if len(c.missing) > maxMissing {
		c.missing = nil // a flood: read at every sample, as before, rather than hold them
	}
	return c.table, c.err
}

// maxMissing bounds the addresses remembered as unknown: the strays a set
// keeps (KeepStrays in each of four) and some.
const maxMissing = 8 * KeepStrays

// unknownIn reports whether a host set holds an address the table did not
// answer for at its last read.
func (c *neighbourCache) unknownIn(have map[string]*netfilter.IPSet) bool {
	for _, set := range have {
		for a := range set.Elements {
			if _, ok := c.table[a]; !ok && !c.missing[a] {
				return true
			}
		}
	}
	return false
}
