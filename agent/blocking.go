package agent

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/netmon-agent/netmon-agent/agent/account"
	"github.com/netmon-agent/netmon-agent/agent/control"
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
	// ErrRestrictionKind means a restriction named no kind there is.
	ErrRestrictionKind = errors.New("no such kind of restriction")
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

// A restrictionKind is how the agent puts one kind of restriction in
// force and lifts it; restrictionKinds is every kind a request may name.
type restrictionKind struct {
	// put records r of target in the sampler.
	put func(s *account.Sampler, target string, r control.Restriction) *store.Block
	// lift removes the kind's restrictions of targets, returning those
	// there were.
	lift func(s *account.Sampler, targets ...string) []string
	// check refuses a restriction the kind cannot put (nil: none).
	check func(r control.Restriction) error
	// none is the error of lifting what is not in force.
	none error
}

var restrictionKinds = map[string]restrictionKind{
	control.KindBlock: {
		put: func(s *account.Sampler, t string, r control.Restriction) *store.Block {
			return s.Block(t, r.For, r.Reason)
		},
		lift: (*account.Sampler).Unblock,
		none: ErrNotBlocked,
	},
	control.KindThrottle: {
		put: func(s *account.Sampler, t string, r control.Restriction) *store.Block {
			return s.Throttle(t, r.For, r.Reason, r.Rate, r.RateUp)
		},
		lift:  (*account.Sampler).Unthrottle,
		check: checkRates,
		none:  ErrNotThrottled,
	},
}

// Restrict puts r in force at once, or with r.Lift lifts every
// restriction of its kind on r.Host, whichever of the host's names (MAC,
// address or name) it was made under; a block's lifting leaves a
// throttle, and the other way round. To put one, an address must be a LAN
// host's: inside the LAN's subnets, neither the router's own nor a
// subnet's network or broadcast address. It returns the restriction put
// (nil when lifting).
func (a *Agent) Restrict(r control.Restriction) (*store.Block, error) {
	kind, ok := restrictionKinds[r.Kind]
	if !ok {
		return nil, fmt.Errorf("%w: %q (accepted: %s, %s)", ErrRestrictionKind, r.Kind, control.KindBlock, control.KindThrottle)
	}
	if r.Lift {
		if len(kind.lift(a.sampler, a.directory().Aliases(r.Host)...)) == 0 {
			return nil, fmt.Errorf("%s %w", r.Host, kind.none)
		}
		return a.apply(nil)
	}
	if kind.check != nil {
		if err := kind.check(r); err != nil {
			return nil, fmt.Errorf("%s %s: %w", r.Kind, r.Host, err)
		}
	}
	target, err := a.restrictTarget(r.Kind, r.Host)
	if err != nil {
		return nil, err
	}
	return a.apply(kind.put(a.sampler, target, r))
}

// checkRates refuses a throttle's rate out of bounds.
func checkRates(r control.Restriction) error {
	for _, rate := range []uint64{r.Rate, r.RateUp} {
		if rate < units.MinThrottle || rate > units.MaxThrottle {
			return ErrRate
		}
	}
	return nil
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
