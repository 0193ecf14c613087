package agent

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/hosts"
	"github.com/netmon-agent/netmon-agent/agent/units"
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
	// ErrNotThrottled means an unthrottle named a host with no throttle.
	ErrNotThrottled = errors.New("is not throttled")
	// ErrRate means a throttle's rate is out of bounds.
	ErrRate = errors.New("a throttle's rate is from 8kbit to 1gbit")
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
	target, err := a.restrictTarget("block", host)
	if err != nil {
		return nil, err
	}
	return a.apply(a.sampler.Block(target, d, reason))
}

// Throttle slows host to down and up bits per second for d (0: until
// unthrottled) and applies it at once; host is taken as Block takes it.
func (a *Agent) Throttle(host string, d time.Duration, reason string, down, up uint64) (*store.Block, error) {
	for _, r := range []uint64{down, up} {
		if r < units.MinThrottle || r > units.MaxThrottle {
			return nil, fmt.Errorf("throttle %s: %w", host, ErrRate)
		}
	}
	target, err := a.restrictTarget("throttle", host)
	if err != nil {
		return nil, err
	}
	return a.apply(a.sampler.Throttle(target, d, reason, down, up))
}

// restrictTarget resolves the host a block or throttle names to its
// target, refusing what is no LAN host.
func (a *Agent) restrictTarget(what, host string) (string, error) {
	if !a.sampler.HostsOn() {
		return "", ErrNoHosts
	}
	if addr, err := hosts.ParseAddr(host); err == nil {
		if err := a.lanHost(addr); err != nil {
			return "", fmt.Errorf("%s %s: %w", what, host, err)
		}
	} else if mac, perr := net.ParseMAC(host); perr == nil && len(mac) == 6 && mac[0]&1 == 1 {
		return "", fmt.Errorf("%s %s: a multicast or broadcast MAC is no host", what, host)
	}
	return a.directory().Resolve(host)
}

// apply samples, which puts b in force, and commits.
func (a *Agent) apply(b *store.Block) (*store.Block, error) {
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
// or name) the block was made under, and applies it at once. A throttle
// stays.
func (a *Agent) Unblock(host string) error {
	if len(a.sampler.Unblock(a.directory().Aliases(host)...)) == 0 {
		return fmt.Errorf("%s %w", host, ErrNotBlocked)
	}
	_, err := a.apply(nil)
	return err
}

// Unthrottle lifts every throttle of host, as Unblock lifts blocks.
func (a *Agent) Unthrottle(host string) error {
	if len(a.sampler.Unthrottle(a.directory().Aliases(host)...)) == 0 {
		return fmt.Errorf("%s %w", host, ErrNotThrottled)
	}
	_, err := a.apply(nil)
	return err
}
