package agent

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/hosts"
	"github.com/netmon-agent/netmon-agent/store"
)

// Errors of blocking.
var (
	// ErrNoHosts means blocking was asked for without per-host accounting.
	ErrNoHosts = errors.New("per-host accounting is off (option hosts, or ipset missing)")
	// ErrNotLAN means a block named an address that is no LAN host's.
	ErrNotLAN = errors.New("not a LAN host's address")
	// ErrNotBlocked means an unblock named a host with no block.
	ErrNotBlocked = errors.New("is not blocked")
)

// directory is what the agent knows of the LAN's hosts now.
func (a *Agent) directory() hosts.Directory {
	d := hosts.Directory{State: a.sampler.State, Neigh: map[netip.Addr]string{}}
	if a.sampler.Sources != nil {
		d.Neigh, _ = a.sampler.Sources.Neighbours()
		d.Names = a.sampler.Sources.Names()
	}
	return d
}

// Block blocks host (a MAC, an address or a name) for d (0: until
// unblocked) and applies it at once. An address must be a LAN host's: one
// inside the LAN's subnets that is neither the router's own nor a
// subnet's network or broadcast address.
func (a *Agent) Block(host string, d time.Duration, reason string) (*store.Block, error) {
	if !a.sampler.HostsOn() {
		return nil, ErrNoHosts
	}
	if addr, err := hosts.ParseAddr(host); err == nil {
		if err := a.lanHost(addr); err != nil {
			return nil, fmt.Errorf("block %s: %w", host, err)
		}
	} else if mac, perr := net.ParseMAC(host); perr == nil && len(mac) == 6 && mac[0]&1 == 1 {
		return nil, fmt.Errorf("block %s: a multicast or broadcast MAC is no host", host)
	}
	target, err := a.directory().Resolve(host)
	if err != nil {
		return nil, err
	}
	b := a.sampler.Block(target, d, reason)
	if err := a.Sample(); err != nil {
		return b, err
	}
	return b, a.Commit()
}

// lanHost refuses an address no LAN host can have.
func (a *Agent) lanHost(addr netip.Addr) error {
	if !addr.IsGlobalUnicast() || addr.IsLinkLocalUnicast() {
		return fmt.Errorf("%w: %s is not a unicast address a host forwards from", ErrNotLAN, addr)
	}
	prefixes, own, err := a.opts.LANAddrs(a.cfg.LAN)
	if err != nil {
		return fmt.Errorf("read the addresses of %s: %w", a.cfg.LAN, err)
	}
	if own[addr] {
		return fmt.Errorf("%w: %s is the router's own address on %s", ErrNotLAN, addr, a.cfg.LAN)
	}
	for _, p := range prefixes {
		if !p.Contains(addr) {
			continue
		}
		if addr.Is4() && p.Bits() < 31 && (addr == p.Masked().Addr() || addr == lastAddr(p)) {
			return fmt.Errorf("%w: %s is the network or broadcast address of %s", ErrNotLAN, addr, p)
		}
		return nil
	}
	return fmt.Errorf("%w: %s is outside the LAN's subnets on %s (%v): blocking it would cut it off for every host", ErrNotLAN, addr, a.cfg.LAN, prefixes)
}

// lastAddr is the broadcast address of an IPv4 prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	for i := p.Bits(); i < 32; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	return netip.AddrFrom4(b)
}

// interfaceAddrs reads dev's subnets and its own addresses from the
// kernel: the default Options.LANAddrs.
func interfaceAddrs(dev string) ([]netip.Prefix, map[netip.Addr]bool, error) {
	ifc, err := net.InterfaceByName(dev)
	if err != nil {
		return nil, nil, err
	}
	addrs, err := ifc.Addrs()
	if err != nil {
		return nil, nil, err
	}
	var prefixes []netip.Prefix
	own := map[netip.Addr]bool{}
	for _, x := range addrs {
		n, ok := x.(*net.IPNet)
		if !ok {
			continue
		}
		a, _ := netip.AddrFromSlice(n.IP)
		ones, _ := n.Mask.Size()
		a = a.Unmap()
		own[a] = true
		if !a.IsLinkLocalUnicast() {
			prefixes = append(prefixes, netip.PrefixFrom(a, ones).Masked())
		}
	}
	return prefixes, own, nil
}

// Unblock lifts every block of host, whichever of its names (MAC, address
// or name) the block was made under, and applies it at once.
func (a *Agent) Unblock(host string) error {
	lifted := a.sampler.Unblock(a.directory().Aliases(host)...)
	if len(lifted) == 0 {
		return fmt.Errorf("%s %w", host, ErrNotBlocked)
	}
	if err := a.Sample(); err != nil {
		return err
	}
	return a.Commit()
}
