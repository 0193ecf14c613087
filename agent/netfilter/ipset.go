package netfilter

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

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
	Throttles   []Throttle
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

// ErrNoIpset means per-host accounting cannot run: no ipset binary.
var ErrNoIpset = errors.New("ipset not found")

// setPrefix starts the names of our sets, as chainPrefix does our chains.
const setPrefix = "netmon-"

// ipsetCmd runs the ipset binary.
type ipsetCmd struct{ path string }

// NewIpset returns the real Sets, or ErrNoIpset.
func NewIpset() (Sets, error) {
	p, err := exec.LookPath("ipset")
	if err != nil {
		return nil, fmt.Errorf("%w: install ipset (and on OpenWrt kmod-ipt-ipset)", ErrNoIpset)
	}
	return &ipsetCmd{path: p}, nil
}

func (s *ipsetCmd) run(args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, s.path, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("ipset %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

func (s *ipsetCmd) List() (map[string]*IPSet, error) {
	out, err := s.run("save")
	if err != nil {
		return nil, err
	}
	return ParseIpsetSave(out)
}

func (s *ipsetCmd) Create(name string, f Family) error {
	fam := "inet"
	if f == IPv6 {
		fam = "inet6"
	}
	typ := "hash:ip"
	if IsServiceSet(name) {
		typ = "hash:ip,port"
	}
	_, err := s.run("create", name, typ, "family", fam, "counters", "maxelem", strconv.Itoa(MaxElements), "-exist")
	return err
}

func (s *ipsetCmd) Evict(name string, out, in []netip.Addr) error {
	var b strings.Builder
	for _, a := range out {
		fmt.Fprintf(&b, "del %s %s\n", name, a)
	}
	// The counters are given: ipset reuses a deleted element's slot and,
	// for an add without counters, leaves the old element's counts in it
	// (seen in the lab: a host admitted after a flood showed a flood
	// packet).
	for _, a := range in {
		fmt.Fprintf(&b, "add %s %s packets 0 bytes 0\n", name, a)
	}
	return s.restore(b.String())
}

func (s *ipsetCmd) EvictServices(name string, out []ServiceKey) error {
	var b strings.Builder
	for _, k := range out {
		fmt.Fprintf(&b, "del %s %s,%s:%d\n", name, k.Addr, ProtoName(k.Proto), k.Port)
	}
	return s.restore(b.String())
}

// restore runs `ipset restore -exist` on script: one process for any
// number of changes, missing and existing elements fine.
func (s *ipsetCmd) restore(script string) error {
	if script == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, s.path, "restore", "-exist")
	cmd.Stdin, cmd.Stderr = strings.NewReader(script), &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ipset restore: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

func (s *ipsetCmd) DelService(name string, k ServiceKey) error {
	_, err := s.run("del", name, fmt.Sprintf("%s,%s:%d", k.Addr, ProtoName(k.Proto), k.Port), "-exist")
	return err
}

// Remove destroys our sets; it must come after the rules that name them.
func (s *ipsetCmd) Remove() ([]string, error) {
	have, err := s.List()
	if err != nil {
		return nil, err
	}
	var done []string
	var errs []error
	for name := range have {
		if _, err := s.run("destroy", name); err != nil {
			errs = append(errs, fmt.Errorf("destroy set %s: %w", name, err))
			continue
		}
		done = append(done, "destroyed set "+name)
	}
	slices.Sort(done)
	return done, errors.Join(errs...)
}

func (s *ipsetCmd) Add(name string, addr netip.Addr) error {
	_, err := s.run("add", name, addr.String(), "-exist")
	return err
}

func (s *ipsetCmd) Del(name string, addr netip.Addr) error {
	_, err := s.run("del", name, addr.String(), "-exist")
	return err
}

// ParseIpsetSave reads `ipset save`: "create NAME TYPE OPTIONS..." lines and
// "add NAME ADDR [timeout N] [packets N bytes N]" lines. Sets not ours are
// skipped.
func ParseIpsetSave(out []byte) (map[string]*IPSet, error) {
	sets := map[string]*IPSet{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	n := 0
	for sc.Scan() {
		n++
		f := strings.Fields(sc.Text())
		if len(f) < 2 || !strings.HasPrefix(f[1], setPrefix) {
			continue
		}
		switch f[0] {
		case "create":
			s := &IPSet{Name: f[1], Elements: map[netip.Addr]store.Counts{}}
			if len(f) > 2 && f[2] == "hash:ip,port" {
				s.Services = map[ServiceKey]store.Counts{}
			}
			for i := 2; i < len(f); i++ {
				switch f[i] {
				case "counters":
					s.Counters = true
				case "family":
					if i+1 < len(f) && f[i+1] == "inet6" {
						s.Family = IPv6
					}
				}
			}
			sets[f[1]] = s
		case "add":
			s := sets[f[1]]
			if s == nil || len(f) < 3 {
				return nil, fmt.Errorf("ipset save line %d: element of an unknown set: %q", n, sc.Text())
			}
			var addr netip.Addr
			var key ServiceKey
			var err error
			if s.Services != nil {
				key, err = parseServiceText(f[2])
			} else if addr, err = netip.ParseAddr(f[2]); err != nil {
				err = fmt.Errorf("malformed address %q", f[2])
			}
			if err != nil {
				return nil, fmt.Errorf("ipset save line %d: %w", n, err)
			}
			var c store.Counts
			for i := 3; i+1 < len(f); i += 2 {
				v, err := strconv.ParseUint(f[i+1], 10, 64)
				if err != nil {
					return nil, fmt.Errorf("ipset save line %d: malformed %s %q", n, f[i], f[i+1])
				}
				switch f[i] {
				case "packets":
					c.Packets = v
				case "bytes":
					c.Bytes = v
				}
			}
			if s.Services != nil {
				s.Services[key] = c
			} else {
				s.Elements[addr] = c
			}
		}
	}
	return sets, sc.Err()
}
