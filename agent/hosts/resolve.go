package hosts

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/netmon-agent/netmon-agent/store"
)

// Errors of resolving a HOST.
var (
	// ErrUnknownHost means a HOST names no host the agent knows.
	ErrUnknownHost = errors.New("unknown host")
	// ErrAmbiguous means a name belongs to more than one MAC.
	ErrAmbiguous = errors.New("ambiguous host name")
)

// A Directory is what is known of the LAN's hosts now: the state's hosts
// and elements, the neighbour tables and the names config, /etc/ethers and
// the leases give MACs.
type Directory struct {
	State *store.State
	Neigh map[netip.Addr]string // address -> MAC
	Names map[string]string     // MAC -> name
}

// ParseAddr reads an address a person gave, the one form every layer
// uses: IPv4-mapped IPv6 addresses are unmapped, and a zone is refused
// (a link-local address is no host's address on the forwarding path).
func ParseAddr(q string) (netip.Addr, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(q))
	if err != nil {
		return netip.Addr{}, err
	}
	if a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("%q has a zone: give the host's LAN address or its MAC", q)
	}
	return a.Unmap(), nil
}

// Resolve finds what HOST q names: a MAC, an address (the MAC it belongs
// to when known, else the address), or a host's name (from traffic seen,
// config, /etc/ethers or the leases). It returns the block target.
func (d Directory) Resolve(q string) (string, error) {
	q = strings.TrimSpace(q)
	if mac := NormalMAC(q); mac != "" {
		return mac, nil
	}
	if strings.ContainsAny(q, ".:") {
		a, err := ParseAddr(q)
		if err != nil {
			return "", fmt.Errorf("%w %q: %v", ErrUnknownHost, q, err)
		}
		if mac := d.macOf(a); mac != "" {
			return mac, nil
		}
		return a.String(), nil
	}
	found := map[string]bool{}
	if d.State != nil {
		for mac, h := range d.State.Hosts {
			if h.Name != "" && strings.EqualFold(h.Name, q) {
				found[mac] = true
			}
		}
	}
	for mac, n := range d.Names {
		if strings.EqualFold(n, q) {
			found[mac] = true
		}
	}
	macs := make([]string, 0, len(found))
	for m := range found {
		macs = append(macs, m)
	}
	sort.Strings(macs)
	switch len(macs) {
	case 1:
		return macs[0], nil
	case 0:
		return "", fmt.Errorf("%w %q: not a MAC, an address, or the name of a host seen or leased", ErrUnknownHost, q)
	}
	return "", fmt.Errorf("%w %q: %s; give the MAC", ErrAmbiguous, q, strings.Join(macs, ", "))
}

// macOf is the MAC address a belongs to: from the neighbour tables, or the
// last one our sets credited it to; "" when unknown.
func (d Directory) macOf(a netip.Addr) string {
	if mac := d.Neigh[a]; mac != "" {
		return mac
	}
	if d.State == nil {
		return ""
	}
	for _, dir := range []string{store.DirDownload, store.DirUpload} {
		if e := d.State.Elements[store.ElementKey(dir, a)]; e != nil && e.MAC != "" {
			return e.MAC
		}
	}
	return ""
}

// Aliases are every name a block of the host q resolves to can be filed
// under: its MAC and each of its addresses, whichever of them q is. A
// block by address stays liftable once its MAC is known, and a block by
// MAC by any of its addresses.
func (d Directory) Aliases(q string) []string {
	out := map[string]bool{}
	mac := ""
	if target, err := d.Resolve(q); err == nil {
		out[target] = true
		if NormalMAC(target) == target {
			mac = target
		}
	}
	if a, err := ParseAddr(q); err == nil {
		out[a.String()] = true
	}
	if mac != "" {
		out[mac] = true
		for a, m := range d.Neigh {
			if m == mac {
				out[a.String()] = true
			}
		}
		if d.State != nil {
			for key, e := range d.State.Elements {
				if _, a, ok := store.ParseElementKey(key); ok && e.MAC == mac {
					out[a.String()] = true
				}
			}
		}
	}
	list := make([]string, 0, len(out))
	for k := range out {
		list = append(list, k)
	}
	slices.Sort(list)
	return list
}
