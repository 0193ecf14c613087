package account

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/hosts"
	"github.com/netmon-agent/netmon-agent/agent/netfilter"
	"github.com/netmon-agent/netmon-agent/store"
)

// A Sampler turns the kernel's counters into totals: one Sample reads each
// family's filter table once, adds the deltas to State, then heals our
// chains. It is not safe for concurrent use; the daemon calls it from one
// goroutine.
type Sampler struct {
	Config    *config.Config
	Firewalls []netfilter.Firewall // one per family, IPv4 first
	State     *store.State
	Clock     Clock
	Boot      func() (string, error)
	NewGen    func() string
	Logf      func(format string, a ...any)
	// Commit, when set, writes State at the points where losing the batch in
	// a crash would lose counts the kernel no longer has: after a reset is
	// accounted and after our rules changed.
	Commit func() error

	// Used, when set, tells how many bytes host mac moved (download plus
	// upload) since a time, by history including this sample's deltas: a
	// quota's use in a period starts from it.
	Used func(mac string, since time.Time) (uint64, error)

	// Warn, when set, is told of each quota warn_at threshold a host
	// crosses, once per threshold per period.
	Warn func(QuotaWarning)

	// Sets and Sources, when Sets is set and Config.Hosts is on, meter every
	// LAN host (hosts.go).
	Sets    netfilter.Sets
	Sources hosts.Sources

	// present remembers, per family, whether the last read found chains of
	// ours: a family with no meters and none of our chains is not read.
	present map[netfilter.Family]bool
	// hostsReady says our sets were listed (and made), so the host rules
	// that name them can go in.
	hostsReady bool
	// throttles are the throttles in force, as the last sample found the
	// throttled hosts' addresses.
	throttles []netfilter.Throttle
	// blockedAddrs are the addresses in the block sets (applyBlocks), for
	// the port chains that drop them by rule.
	blockedAddrs []netip.Addr
	// offloadNoted says the hosts are counted at the LAN's ports, as the
	// log said.
	offloadNoted bool
	rates        map[string]Rate
	last         time.Time // the previous sample, for rates
	// sinceLast is the time since the previous sample, while one runs (for
	// bogus deltas).
	sinceLast time.Duration
	// held is history waiting for a believable clock (history.go).
	held map[string]store.Counts
	// neighErr is the last failure to read the neighbours and names, said
	// once rather than at every sample.
	neighErr string
	// flood is the flood of strays in progress or the last one
	// (strays.go); evictedNow says this sample evicted.
	flood      *Flood
	evictedNow bool
	// foreign are the families whose table of our name is someone else's,
	// as the last List found: no host of theirs is counted.
	foreign map[netfilter.Family]bool
	// keys are the state's key strings, made once (keys.go); found is the
	// keys a sample found in the sets, kept to be cleared rather than
	// made anew.
	// rebasing says this sample takes the set elements' counters as their
	// baselines, crediting nothing (store.State.BaselinesBehind).
	rebasing bool
	keys     keyCache
	// neigh is the neighbour table as last read (neighbours.go).
	neigh neighbourCache
	found map[string]bool
	// grown and addrs are kept for the same reason: what each host moved
	// in this sample, and each host's addresses (foldAddresses).
	grown map[string]Rate
	addrs map[string][]string
	// addrsStale says an element came, went or changed its MAC since
	// addrs were gathered.
	addrsStale bool
}

// IdleElement is how long an address may send nothing before it leaves our
// sets.
const IdleElement = 48 * time.Hour

// Reconfigure switches to cfg and its firewalls; every family is read
// afresh at the next sample.
func (s *Sampler) Reconfigure(cfg *config.Config, fws []netfilter.Firewall) {
	s.Config, s.Firewalls, s.present = cfg, fws, nil
}

// Rates returns each host's rate over the last two samples, by MAC.
func (s *Sampler) Rates() map[string]Rate { return s.rates }

// Sample does one sample. Errors of one family do not stop the other.
func (s *Sampler) Sample() error {
	boot, err := s.Boot()
	if err != nil {
		return err
	}
	now := s.Clock.Now()
	s.sinceLast = s.span(now)
	s.fileHeld(now)
	if s.present == nil {
		s.present = map[netfilter.Family]bool{}
	}
	type read struct {
		fw     netfilter.Firewall
		rules  *netfilter.Ruleset
		reseed map[string]bool
		found  map[string]bool
	}
	var reads []read
	var errs []error
	for _, fw := range s.Firewalls {
		fam := fw.Family()
		if len(s.wants(fam)) == 0 && s.seen(fam) && !s.present[fam] {
			continue
		}
		rules, err := fw.Rules()
		if err != nil {
			if len(s.wants(fam)) == 0 && !s.seen(fam) {
				// A family nobody meters, unreadable (a kernel without
				// IPv6, say): say so once, then leave it alone.
				s.present[fam] = false
				s.Logf("not reading %s: %v", fam, err)
				continue
			}
			errs = append(errs, fmt.Errorf("read %s counters: %w", fam, err))
			continue
		}
		s.present[fam] = hasOurChains(rules)
		reseed, found := s.account(fam, rules, boot, now)
		reads = append(reads, read{fw: fw, rules: rules, reseed: reseed, found: found})
	}
	if err := s.sampleHostsRebasing(boot, now); err != nil {
		errs = append(errs, err)
	}
	s.State.Boot = boot
	s.State.LastSample = now
	s.last = now
	s.State.Touch()
	if len(s.State.Pending) > 0 && s.Commit != nil {
		// Commit the accounted reset before the canary is replaced, so a
		// crash in between cannot account it twice.
		if err := s.Commit(); err != nil {
			errs = append(errs, err)
		}
	}
	changed := false
	for _, r := range reads {
		fam := r.fw.Family()
		plan, err := netfilter.Reconcile(r.fw, r.rules, s.wants(fam), r.reseed, s.NewGen)
		if plan != nil {
			for _, line := range plan.Changes {
				s.Logf("%s", line)
			}
			s.applyPlan(fam, plan, r.found, boot, now)
			changed = changed || plan.Changed()
			if plan.Changed() {
				s.present[fam] = len(s.wants(fam)) > 0
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("install %s chains: %w", fam, err))
		}
	}
	if changed && s.Commit != nil {
		if err := s.Commit(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// seen reports whether family f was read before (so present[f] is known).
func (s *Sampler) seen(f netfilter.Family) bool {
	_, ok := s.present[f]
	return ok
}

func hasOurChains(rs *netfilter.Ruleset) bool {
	for name := range rs.Chains {
		if strings.HasPrefix(name, netfilter.ChainPrefix) {
			return true
		}
	}
	return false
}

// account adds the deltas of one family's readings to the totals. It returns
// the chains whose canary was found zeroed (to be replaced) and the counters
// it found a rule for.
func (s *Sampler) account(fam netfilter.Family, rs *netfilter.Ruleset, boot string, now time.Time) (reseed, found map[string]bool) {
	reseed, found = map[string]bool{}, map[string]bool{}
	zeroed := map[string]bool{}
	for _, b := range netfilter.MeterChains {
		ours := netfilter.OurChain(b)
		for _, r := range rs.Chains[ours] {
			o := netfilter.ParseComment(r.Comment)
			if o.Kind != netfilter.KindCanary {
				continue
			}
			key := store.CanaryKey(fam.String(), ours)
			c := s.State.Canaries[key]
			switch {
			case c != nil && c.Generation == o.Generation && c.Armed && r.Packets == 0:
				zeroed[ours], reseed[ours] = true, true
				c.Armed = false
				s.Logf("counters of %s (%s) were zeroed by someone else; counting on from zero", ours, fam)
			case r.Packets > 0 && (c == nil || c.Generation != o.Generation || !c.Armed):
				s.State.Canaries[key] = &store.Canary{Generation: o.Generation, Armed: true}
			case c == nil || c.Generation != o.Generation:
				// Never seen at one: this iptables did not honour -c, so
				// the canary cannot tell a zeroing; the readings still can.
				s.State.Canaries[key] = &store.Canary{Generation: o.Generation}
			}
			break
		}
	}
	for _, w := range s.wants(fam) {
		if !w.Counted {
			continue
		}
		ours := netfilter.OurChain(w.Chain)
		var rule *netfilter.Rule
		var gen string
		for i, r := range rs.Chains[ours] {
			if o := netfilter.ParseComment(r.Comment); o.Class() == w.Class && o.Kind != netfilter.KindForeign && o.Name == w.Name {
				rule, gen = &rs.Chains[ours][i], o.Generation
				break
			}
		}
		if rule == nil {
			continue
		}
		key := store.CounterKey(w.Name, fam.String())
		found[key] = true
		c := s.State.Counters[key]
		var base *store.Baseline
		if c == nil {
			c = &store.Counter{Meter: w.Name, Family: fam.String(), Since: now}
			s.State.Counters[key] = c
		} else {
			base = &c.Baseline
		}
		reading := Reading{Generation: gen, Counts: store.Counts{Packets: rule.Packets, Bytes: rule.Bytes}}
		d, cause := delta(base, reading, boot, zeroed[ours])
		if s.bogus(d, s.sinceLast) {
			s.Logf("%s %s (%s): %d bytes in %s is more than max_rate allows; dropped, counting on from this reading",
				netfilter.ClassName(w.Class), w.Name, fam, d.Bytes, s.sinceLast.Round(time.Millisecond))
			s.State.AddEvent(store.Event{Time: now, Cause: store.CauseBogus, Meter: w.Name, Family: fam.String()})
			d, cause = store.Counts{}, ""
		}
		c.Total = c.Total.Add(d)
		s.fileDelta(store.MeterSeries(w.Name), now, d)
		c.Baseline = store.Baseline{Generation: gen, Boot: boot, Counts: reading.Counts}
		if cause != "" {
			s.State.AddEvent(store.Event{Time: now, Cause: cause, Meter: w.Name, Family: fam.String()})
			s.Logf("%s %s (%s): counter restarted (%s); counted %d bytes from zero", netfilter.ClassName(w.Class), w.Name, fam, cause, d.Bytes)
		}
	}
	return reseed, found
}

// wants lists the rules family f must hold, in order: the meters', then
// the per-host rules.
func (s *Sampler) wants(f netfilter.Family) []netfilter.Want {
	var ws []netfilter.Want
	for _, m := range s.Config.MetersIn(f) {
		ws = append(ws, netfilter.MeterWant(m, f))
	}
	if _, own := s.Sets.(netfilter.RuleHolder); !own && s.HostsOn() && s.hostsReady && (f == netfilter.IPv4 || s.Config.IPv6) {
		ws = append(ws, netfilter.ThrottleWants(s.Config.LAN, f, s.throttles)...) // before counting: what they drop is no one's
		ws = append(ws, netfilter.HostWants(s.Config.LAN, f)...)
		ws = append(ws, netfilter.ServiceWants(s.Config.LAN, f, s.Config.ServicePorts())...)
		ws = append(ws, netfilter.BlockWants(s.Config.LAN, f, blocking(s.State), blockedMACs(s.State))...)
	}
	return ws
}

// sampleHosts reads our sets and credits their growth to hosts.
func (s *Sampler) sampleHosts(boot string, now time.Time) error {
	if !s.HostsOn() {
		s.hostsReady = false
		return nil
	}
	have, err := s.Sets.List()
	s.foreign = netfilter.ForeignFamilies(err)
	if err != nil && len(s.foreign) == 0 {
		// The rules stay as they are (hostsReady keeps its value): the
		// kernel goes on counting, and the next read catches up.
		return fmt.Errorf("read host counters: %w", err)
	}
	// A family whose table is someone else's is left out (hostFamilies);
	// the others go on, and the refusal is what this sample returns.
	foreignErr := err
	if err := s.holdHosts(have, boot, now); err != nil {
		return errors.Join(foreignErr, err)
	}
	return foreignErr
}

// holdHosts credits the sets' growth, prunes and evicts, and holds the
// rules, in the families hostFamilies gives.
func (s *Sampler) holdHosts(have map[string]*netfilter.IPSet, boot string, now time.Time) error {
	if err := netfilter.EnsureSets(s.Sets, have, s.hostFamilies(), len(s.Config.ServicePorts()) > 0); err != nil {
		return err
	}
	s.hostsReady = true
	neigh, err := s.neighbours(have, now)
	s.noteNeighbours(err) // what is known still attributes; the rest waits in unattributed
	var elapsed time.Duration
	if !s.last.IsZero() {
		elapsed = now.Sub(s.last)
	}
	s.accountHosts(have, neigh, s.Sources.Names(), boot, now, elapsed)
	s.accountServices(have, neigh, boot, now)
	s.endFlood()
	s.pruneIdle(now, IdleElement)
	s.pruneIdleServices(now, IdleElement)
	if err := s.applyBlocks(have, neigh, now); err != nil {
		s.Logf("%v", err)
	}
	if rh, ok := s.Sets.(netfilter.RuleHolder); ok {
		changes, err := rh.HoldRules(s.hostFamilies(), netfilter.HostRules{LAN: s.Config.LAN, Blocking: blocking(s.State),
			BlockedMACs: blockedMACs(s.State), BlockedAddrs: s.blockedAddrs, Throttles: s.throttles, Services: s.Config.ServicePorts()})
		for _, line := range changes {
			s.Logf("%s", line)
		}
		if err != nil {
			return err
		}
	}
	if pc, ok := s.Sets.(netfilter.PortCounter); ok {
		s.noteOffload(pc.CountsAtPorts())
	}
	return nil
}

// noteOffload logs, once each time the hosts' counting moves to the LAN's
// ports, the FORWARD meters that stay in the forward hook, which
// offloaded flows skip.
func (s *Sampler) noteOffload(atPorts bool) {
	if atPorts && !s.offloadNoted {
		var names []string
		for _, m := range s.Config.Meters {
			if m.Chain == "FORWARD" {
				names = append(names, m.Name)
			}
		}
		if len(names) > 0 {
			s.Logf("flow offloading: meters %s count in the forward hook, which offloaded flows skip, so they miss most of their traffic (switch flow_offloading off to count them; the hosts are counted at the LAN's ports)", strings.Join(names, ", "))
		}
	}
	s.offloadNoted = atPorts
}

// applyPlan gives every rule Reconcile installed a zero baseline under its
// new generation, and records a reset where a counting rule had vanished.
func (s *Sampler) applyPlan(fam netfilter.Family, p *netfilter.Plan, found map[string]bool, boot string, now time.Time) {
	for _, in := range p.Installed {
		if !in.Want.Counted {
			continue
		}
		name := in.Want.Name
		key := store.CounterKey(name, fam.String())
		c := s.State.Counters[key]
		if c == nil {
			c = &store.Counter{Meter: name, Family: fam.String(), Since: now}
			s.State.Counters[key] = c
		} else if !found[key] && c.Baseline.Generation != "" {
			cause := store.CauseReinstalled
			if c.Baseline.Boot != boot {
				cause = store.CauseReboot
			}
			s.State.AddEvent(store.Event{Time: now, Cause: cause, Meter: name, Family: fam.String()})
		}
		c.Baseline = store.Baseline{Generation: in.Generation, Boot: boot}
	}
	s.State.Touch()
}

// Retire marks every counter's rule as removed by us (netmon-agent stop), so
// that installing it again is not reported as a reset.
func (s *Sampler) Retire() {
	for _, c := range s.State.Counters {
		c.Baseline.Generation = ""
	}
	s.State.Touch()
}

// noteNeighbours logs a failure to read the neighbours when it starts or
// changes, and once when it ends: a leases file that is a FIFO would
// otherwise fill the log, a small ring in RAM on OpenWrt.
func (s *Sampler) noteNeighbours(err error) {
	switch {
	case err == nil && s.neighErr != "":
		s.Logf("neighbours and names read again")
		s.neighErr = ""
	case err != nil && err.Error() != s.neighErr:
		s.neighErr = err.Error()
		s.Logf("%v (logged once; so is its end)", err)
	}
}
