package netfilter

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/netmon-agent/netmon-agent/store"
)

// Sets are the address sets with per-element counters that per-host
// accounting uses: ipsets (this file) or native nftables sets (nftsets.go).
// Tests use a fake.
type Sets interface {
	// List reads every set of ours with its elements and their counters, in
	// one process.
	List() (map[string]*IPSet, error)
	// Create makes an address set with counters; one that exists is fine.
	Create(name string, f Family) error
	// Remove deletes every set of ours; it returns what it did.
	Remove() ([]string, error)
	Add(name string, addr netip.Addr) error
	Del(name string, addr netip.Addr) error
	// DelService deletes an element of a service set.
	DelService(name string, k ServiceKey) error
	// Evict deletes the elements out of set name and adds in (with zero
	// counters), in one process; out goes first, so in finds room in a full
	// set. Elements already gone, or already there, are fine.
	Evict(name string, out, in []netip.Addr) error
	// EvictServices deletes the elements out of service set name in one
	// process.
	EvictServices(name string, out []ServiceKey) error
}

// MaxElements bounds each of our sets. A home LAN's hosts need a few
// addresses each (IPv6 privacy addresses among them), so 4096 is room for
// hundreds of hosts, and a flood of made-up addresses fills no more: the
// kernel stops adding, and the daemon evicts addresses that are no host's
// at every sample. Every sample reads the whole set, so the bound is also
// what a sample costs at most.
const MaxElements = 4096

// A RuleHolder is Sets that hold their own rules (nftables); the per-host
// rules then stay out of our iptables chains.
type RuleHolder interface {
	// HoldRules makes the rules count the hosts in fams and apply r's
	// blocks and throttles. It returns what it changed.
	HoldRules(fams []Family, r HostRules) ([]string, error)
}

// HostRules are what the per-host rules do besides counting the hosts on
// LAN: count their services, drop the blocked addresses (while Blocking)
// and MACs, and slow the throttled hosts.
type HostRules struct {
	LAN         string
	Blocking    bool
	BlockedMACs []string
	// BlockedAddrs are the addresses in the block sets: the port chains
	// (nftports.go) drop them by rule.
	BlockedAddrs []netip.Addr
	Throttles    []Throttle
	// Services are the ports the service sets count; none, no rules.
	Services []ServicePort
}

// An IPSet is one set of ours with its elements' counters.
type IPSet struct {
	Name     string
	Family   Family
	Counters bool
	// Generation changes when the set is recreated, where the kernel tells
	// (nftables handles); "" for ipset.
	Generation string
	Elements   map[netip.Addr]store.Counts
	// Services are a service set's elements (Elements stays empty).
	Services map[ServiceKey]store.Counts
}

// NewSets returns the Sets of kind (nft, ipset, or auto: nft when
// backend's iptables is iptables-nft and nft is there, else ipset) for
// fams.
func NewSets(kind, backend string, fams []Family, logf func(string, ...any)) (Sets, error) {
	return Resolve(backend).Sets(kind, fams, logf)
}

// Sets returns the Sets of kind (nft, ipset, or auto: nft when this
// backend's iptables is iptables-nft and nft is there, else ipset) for
// fams.
func (b Backend) Sets(kind string, fams []Family, logf func(string, ...any)) (Sets, error) {
	k, fallback, err := b.setsKind(kind)
	if err != nil {
		return nil, err
	}
	if k == "nft" {
		s, err := NewNftSets(fams, logf)
		if err == nil || !fallback {
			return s, err
		}
	}
	return NewIpset()
}

// setsKind is what option sets kind means in this backend: "nft" or
// "ipset", and whether nft may fall back to ipset (auto, where nft is
// missing).
func (b Backend) setsKind(kind string) (k string, fallback bool, err error) {
	c := b.Choice
	switch {
	case kind == "ipset" && c.Native:
		return "", false, fmt.Errorf("%w: option sets 'ipset' needs an iptables backend, and %s is in use (%s)", ErrSetsBackend, c.Name(), c.Why)
	case kind == "nft", c.Native:
		return "nft", false, nil
	case kind == "ipset":
		return "ipset", false, nil
	case c.Iptables == "nft" || c.Iptables == "auto" && b.iptablesIsNft():
		return "nft", true, nil
	}
	return "ipset", false, nil
}

// ErrSetsBackend means option sets and the backend do not go together.
var ErrSetsBackend = errors.New("sets and backend do not match")

// setPrefix starts the names of our sets, as chainPrefix does our chains.
const setPrefix = "netmon-"
