package agent

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/account"
	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/hosts"
	"github.com/netmon-agent/netmon-agent/agent/netfilter"
	"github.com/netmon-agent/netmon-agent/agent/report"
	"github.com/netmon-agent/netmon-agent/store"
)

// Options are the seams of an Agent: where things are and how time passes.
type Options struct {
	BootIDPath string        // default DefaultBootIDPath
	Clock      account.Clock // default SystemClock
	Logf       func(format string, a ...any)
	// NewFirewall and NewSets open what lives in the backend, resolved
	// once per config (netfilter.Resolve) and handed down.
	NewFirewall func(b netfilter.Backend, f netfilter.Family) (netfilter.Firewall, error) // default b.Firewall
	NewSets     func(cfg *config.Config, b netfilter.Backend) (netfilter.Sets, error)     // default SetsFor
	NewSources  func(cfg *config.Config) hosts.Sources                                    // default SourcesFor
	// LANAddrs reads the LAN device's subnets and the router's own
	// addresses on it: what an address to block must fit (default: the
	// kernel's, from the interface).
	LANAddrs func(dev string) ([]netip.Prefix, map[netip.Addr]bool, error)
	// LockWait bounds the wait for another process's hold on the live
	// database.
	LockWait time.Duration
}

// SetsFor returns the Sets cfg asks for (option sets) in backend b, in
// the families it meters.
func SetsFor(cfg *config.Config, b netfilter.Backend) (netfilter.Sets, error) {
	return setsFor(cfg, b, nil)
}

// setsFor is SetsFor with a log for a fallback from netlink to nft.
func setsFor(cfg *config.Config, b netfilter.Backend, logf func(string, ...any)) (netfilter.Sets, error) {
	fams := []netfilter.Family{netfilter.IPv4}
	if cfg.IPv6 {
		fams = netfilter.Families
	}
	return b.Sets(cfg.Sets, fams, logf)
}

// SourcesFor returns the running system's host sources for cfg.
func SourcesFor(cfg *config.Config) hosts.Sources {
	return &hosts.SystemSources{LAN: cfg.LAN, IPv6: cfg.IPv6, Leases: cfg.Leases, Ethers: cfg.Ethers, Config: cfg.HostNames, ARP: "/proc/net/arp"}
}

// Defaults fills in what o leaves unset (each default is named beside its
// field).
func (o *Options) Defaults() {
	if o.BootIDPath == "" {
		o.BootIDPath = account.DefaultBootIDPath
	}
	if o.Clock == nil {
		o.Clock = account.SystemClock{}
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if o.NewFirewall == nil {
		logf := o.Logf
		o.NewFirewall = func(b netfilter.Backend, f netfilter.Family) (netfilter.Firewall, error) {
			return b.Firewall(f, logf)
		}
	}
	if o.NewSets == nil {
		logf := o.Logf
		o.NewSets = func(cfg *config.Config, b netfilter.Backend) (netfilter.Sets, error) { return setsFor(cfg, b, logf) }
	}
	if o.NewSources == nil {
		o.NewSources = SourcesFor
	}
	if o.LANAddrs == nil {
		o.LANAddrs = interfaceAddrs
	}
	if o.LockWait == 0 {
		o.LockWait = 2 * time.Second
	}
}

// An Agent is the config, the live database and the sampler, opened
// together: what `run`, `sample`, `start` and `stop` work on.
type Agent struct {
	opts    Options
	cfg     *config.Config
	db      *store.DB
	sampler *account.Sampler
	// warnings mails quota warnings (quotamail.go).
	warnings warnMailer
}

// Open opens the live database (restoring it from the snapshot on flash
// when tmpfs lost it) and the firewalls the config needs.
func Open(cfg *config.Config, opts Options) (*Agent, error) {
	opts.Defaults()
	backend := netfilter.Resolve(cfg.Backend)
	fws, err := firewalls(cfg, backend, opts)
	if err != nil {
		return nil, err
	}
	db, st, err := openLive(cfg, opts)
	if err != nil {
		return nil, err
	}
	a := &Agent{opts: opts, cfg: cfg, db: db}
	a.sampler = &account.Sampler{
		Config:    cfg,
		Firewalls: fws,
		State:     st,
		Clock:     opts.Clock,
		Boot:      account.Booted(opts.BootIDPath),
		NewGen:    netfilter.NewGeneration,
		Logf:      opts.Logf,
		Commit:    a.Commit,
	}
	a.sampler.Used = a.usedSince
	a.sampler.Warn = a.queueWarning
	a.setupHosts(cfg, backend)
	return a, nil
}

// setupHosts turns per-host accounting on when the config asks for it and
// ipset is there, and says once why not otherwise.
func (a *Agent) setupHosts(cfg *config.Config, b netfilter.Backend) {
	if _, ok := a.sampler.Sets.(netfilter.RuleHolder); ok && !cfg.Hosts {
		// Rules of their own would go on counting (and blocking) with
		// nobody reading them.
		if _, err := a.sampler.Sets.Remove(); err != nil {
			a.opts.Logf("per-host accounting off: %v", err)
		}
	}
	a.sampler.Sets, a.sampler.Sources = nil, nil
	if !cfg.Hosts {
		return
	}
	sets, err := a.opts.NewSets(cfg, b)
	if err != nil {
		a.opts.Logf("per-host accounting off: %v", err)
		return
	}
	a.sampler.Sets, a.sampler.Sources = sets, a.opts.NewSources(cfg)
}

// firewalls opens one Firewall per family. A family no meter needs may be
// missing (a box without ip6tables); one a meter needs may not.
func firewalls(cfg *config.Config, b netfilter.Backend, opts Options) ([]netfilter.Firewall, error) {
	var fws []netfilter.Firewall
	for _, f := range netfilter.Families {
		if f == netfilter.IPv6 && !cfg.IPv6 {
			continue
		}
		fw, err := opts.NewFirewall(b, f)
		if err != nil {
			if len(cfg.MetersIn(f)) > 0 {
				return nil, err
			}
			opts.Logf("no %s accounting: %v", f, err)
			continue
		}
		fws = append(fws, fw)
	}
	return fws, nil
}

// Config returns the config in force.
func (a *Agent) Config() *config.Config { return a.cfg }

// State returns the state in memory, current to the last sample.
func (a *Agent) State() *store.State { return a.sampler.State }

// Sample reads the counters once and heals our chains.
func (a *Agent) Sample() error { return a.sampler.Sample() }

// Commit writes the in-memory batch to the live database, if it changed.
func (a *Agent) Commit() error {
	if !a.sampler.State.Dirty() {
		return nil
	}
	return a.db.Commit(a.sampler.State)
}

// Persist commits, then writes to flash what the snapshot there lacks,
// everything: what a command without a daemon (cron) runs.
func (a *Agent) Persist() (store.Persisted, error) {
	if err := a.Commit(); err != nil {
		return store.Persisted{}, err
	}
	return a.snapshot(true)
}

// Snapshot writes the live database as committed to flash: a journal
// record of what changed since the last one, the five-minute rows left
// for later, or a full snapshot when one is due (store.DB.Persist). The
// live file is compacted before a full one: compacted, the snapshot of a
// busy router's file is a fifth of the size, for about 120 ms of CPU on
// amd64 at 8 MiB. A compaction that fails leaves the file as it was, and
// that is what goes to flash.
func (a *Agent) Snapshot() (store.Persisted, error) { return a.snapshot(false) }

// SnapshotAll is Snapshot with the five-minute rows in the record: what a
// clean stop writes (store.DB.PersistAll).
func (a *Agent) SnapshotAll() (store.Persisted, error) { return a.snapshot(true) }

func (a *Agent) snapshot(all bool) (store.Persisted, error) {
	if a.db.PersistDue(a.cfg.Database) {
		if _, _, err := a.db.Compact(); err != nil {
			a.opts.Logf("compacting before the snapshot: %v; the snapshot is of the file as it is", err)
		}
	}
	if all {
		return a.db.PersistAll(a.cfg.Database)
	}
	return a.db.Persist(a.cfg.Database, false)
}

// Reload switches to cfg: meters added or removed take effect at the next
// sample, and totals of kept meters go on.
func (a *Agent) Reload(cfg *config.Config) error {
	if cfg.RuntimeDir != a.cfg.RuntimeDir {
		return fmt.Errorf("runtime_dir changed from %s to %s: restart the daemon", a.cfg.RuntimeDir, cfg.RuntimeDir)
	}
	backend := netfilter.Resolve(cfg.Backend)
	fws, err := firewalls(cfg, backend, a.opts)
	if err != nil {
		return err
	}
	a.cfg = cfg
	a.db.SetHistory(time.Local, cfg.Keep)
	a.sampler.Reconfigure(cfg, fws)
	a.setupHosts(cfg, backend)
	return nil
}

// RemoveChains deletes our chains and jumps in every family, and records
// that the rules are gone so that reinstalling them is no reset.
func (a *Agent) RemoveChains() error {
	err := RemoveAll(a.cfg, a.opts)
	a.sampler.Retire()
	return err
}

// usedSince is what host mac moved since t: the daily history from the
// day of t (quota periods start at local midnight, as day buckets do) plus
// the deltas not yet committed.
func (a *Agent) usedSince(mac string, t time.Time) (uint64, error) {
	series := []string{store.HostSeries(mac, store.DirDownload), store.HostSeries(mac, store.DirUpload)}
	buckets, err := a.db.History(store.Day, t, time.Time{})
	if err != nil {
		return 0, err
	}
	var n uint64
	for _, b := range buckets {
		for _, s := range series {
			n += b.Of(s).Bytes
		}
	}
	for k, d := range a.sampler.State.Deltas {
		if slices.Contains(series, k.Series) && k.Slot >= t.Unix() && k.From == store.FiveMinutes {
			n += d.Bytes
		}
	}
	return n, nil
}

// Verify checks the live database whole (store.DB.Verify).
func (a *Agent) Verify() error { return a.db.Verify() }

// Close closes the live database.
func (a *Agent) Close() error {
	a.stopWarnings()
	return a.db.Close()
}

// Report builds the report from the state in memory.
func (a *Agent) Report(source string) *report.Report {
	now := a.opts.Clock.Now()
	r := report.BuildReport(a.cfg, a.sampler.State, now, source)
	report.AddUsage(r, a.cfg, a.db, a.sampler.State, now)
	r.Flood = a.sampler.Flood()
	return r
}

// SinceLast builds the since-last report from the state in memory.
func (a *Agent) SinceLast(source string) *report.SinceLastReport {
	return report.BuildSinceLast(a.cfg, a.sampler.State, a.opts.Clock.Now(), source)
}

// MoveCheckpoint makes cp the since-last checkpoint and commits it. A
// checkpoint older than the one in place is refused: two reports racing
// must not count a period twice.
func (a *Agent) MoveCheckpoint(cp *store.Checkpoint) error {
	if cp == nil || cp.Totals == nil {
		return errors.New("move checkpoint: no checkpoint given")
	}
	st := a.sampler.State
	if old := st.Checkpoint; old != nil && cp.Time.Before(old.Time) {
		return fmt.Errorf("move checkpoint: a later report (%s) already moved it", old.Time.Format(time.RFC3339))
	}
	st.Checkpoint = cp
	st.Touch()
	return a.Commit()
}

// Blocks lists the blocks in force.
func (a *Agent) Blocks() *report.BlocksReport { return report.BuildBlocks(a.sampler.State) }

// Hosts builds the host table from the state in memory, with rates.
func (a *Agent) Hosts(source string) *report.HostsReport {
	return report.BuildHosts(a.cfg, a.sampler.State, a.sampler.Rates(), a.opts.Clock.Now(), source)
}

// Services builds every host's usage by service from the state in memory.
func (a *Agent) Services(source string) *report.ServicesReport {
	return report.BuildServices(a.sampler.State, a.opts.Clock.Now(), source, "")
}

// RemoveAll deletes our chains and jumps in every family, in the backend
// the config names and in the other one (a switch of backend leaves nothing
// behind), whatever the config's meters: what `stop` promises.
func RemoveAll(cfg *config.Config, opts Options) error {
	opts.Defaults()
	var errs []error
	backend := netfilter.Resolve(cfg.Backend)
	for i, b := range []netfilter.Backend{backend, backend.Other()} {
		for _, f := range netfilter.Families {
			fw, err := opts.NewFirewall(b, f)
			if err != nil {
				if f == netfilter.IPv4 && i == 0 {
					errs = append(errs, err)
				}
				continue
			}
			p, err := netfilter.Remove(fw)
			if p != nil {
				for _, line := range p.Changes {
					opts.Logf("%s", line)
				}
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("remove %s chains: %w", f, err))
			}
		}
	}
	// The sets go once no rule names them: whichever kind is there, so a
	// changed `option sets` leaves nothing behind. A table of our name
	// that is someone else's stops nothing: it is left alone, the other
	// family's go.
	for _, err := range errs {
		if !errors.Is(err, netfilter.ErrForeignTable) {
			return errors.Join(errs...)
		}
	}
	for _, kind := range []string{"nft", "ipset"} {
		c := *cfg
		c.Sets = kind
		sets, err := opts.NewSets(&c, backend)
		if err != nil {
			continue
		}
		done, err := sets.Remove()
		for _, line := range done {
			opts.Logf("%s", line)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// History builds q's table from the live database and the deltas not yet
// committed.
func (a *Agent) History(q report.HistoryQuery) (*report.HistoryReport, error) {
	h, err := report.BuildHistoryFrom(a.db, a.sampler.State, a.sampler.Sources, q, a.opts.Clock.Now(), "daemon")
	if err != nil {
		return nil, err
	}
	return h, report.CheckMeter(q, a.cfg, h)
}
