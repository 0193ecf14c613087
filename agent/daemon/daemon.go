package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/netmon-agent/netmon-agent/agent"
	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/control"
	"github.com/netmon-agent/netmon-agent/agent/hosts"
	"github.com/netmon-agent/netmon-agent/agent/web"
	"github.com/netmon-agent/netmon-agent/store"
)

// Run is the daemon: it samples every interval, commits the batch every
// commit_interval, snapshots to flash every persist_interval, answers the
// control socket, reloads the config on SIGHUP, and on SIGTERM, SIGINT or
// ctx's end takes a last sample and snapshot before it returns. The rules
// stay in place when it exits: the kernel keeps counting, and the next start
// picks up exactly where this one stopped.
func Run(ctx context.Context, configPath string, opts agent.Options) error {
	opts.Defaults()
	cfg, err := config.Load(configPath)
	if err != nil {
		return err
	}
	a, err := agent.Open(cfg, opts)
	if err != nil {
		return err
	}
	var d *daemon
	defer func() {
		if d != nil {
			a = d.a // a restore opened another
		}
		a.Close()
	}()
	tuneRuntime(cfg)
	ln, err := control.Listen(cfg.SocketPath())
	if err != nil {
		return err
	}
	done := make(chan struct{})
	calls := make(chan control.Call)
	go control.Serve(ln, calls, done)
	defer func() {
		close(done)
		ln.Close() // also removes the socket file
	}()
	d = newDaemon(a, configPath, opts)
	if cfg.Listen != "" {
		if d.web, err = web.Start(cfg, calls, done, opts.Logf); err != nil {
			return err
		}
		opts.Logf("serving the page, the API and /metrics on http://%s/", cfg.Listen)
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	defer func() { opts.Logf("exiting after %d samples", d.samples) }()
	return d.loop(ctx, calls, sigs)
}

// A daemon is the state of Run's loop: the agent, when it last sampled,
// committed and snapshotted, and the faults it is logging.
type daemon struct {
	a        *agent.Agent
	opts     agent.Options // what the agent was opened with, to open it again (restore)
	cfgPath  string
	logf     func(format string, a ...any)
	now      func() time.Time
	web      *web.Server // nil without option listen
	listen   string      // the address web serves on, fixed at start
	started  time.Time
	samples  int
	lastTook time.Duration // how long the last sample took
	// flashBytes counts what this daemon wrote to flash, by kind
	// ("snapshot", "journal").
	flashBytes map[string]uint64

	lastCommit, lastPersist time.Time

	sampleFaults, commitFaults, snapshotFaults *faultLog

	// exit, set by a handler, ends the loop once its answer is sent.
	exit    bool
	exitErr error
}

func newDaemon(a *agent.Agent, cfgPath string, opts agent.Options) *daemon {
	cfg, logf := a.Config(), opts.Logf
	return &daemon{
		a: a, opts: opts, cfgPath: cfgPath, logf: logf, now: opts.Clock.Now, listen: cfg.Listen, started: time.Now(),
		sampleFaults: &faultLog{what: "sampling", logf: logf},
		commitFaults: &faultLog{what: "committing to " + cfg.LiveDatabase(), logf: logf},
		snapshotFaults: &faultLog{what: "the snapshot to " + cfg.Database, logf: logf,
			advice: "; counting goes on in the live database"},
	}
}

// loop runs until a signal, ctx or a stop request ends it.
func (d *daemon) loop(ctx context.Context, calls <-chan control.Call, sigs <-chan os.Signal) error {
	cfg := d.a.Config()
	d.logf("started: %d meters, sampling every %s, committing every %s, writing to flash every %s",
		len(cfg.Meters), cfg.Interval, cfg.CommitInterval, cfg.PersistInterval)
	d.sample()
	d.commit()
	if _, err := os.Stat(cfg.Database); err != nil {
		d.persist() // a first snapshot, so a reboot soon after start keeps the totals
	}
	d.lastCommit, d.lastPersist = time.Now(), time.Now()
	ticker := time.NewTicker(cfg.Interval)
	defer ticker.Stop()
	for {
		select {
		case <-ticker.C:
			d.tick()
		case c := <-calls:
			c.Reply <- d.handle(c.Request)
			if d.exit {
				return d.exitErr
			}
		case s := <-sigs:
			if s == syscall.SIGHUP {
				d.reload(ticker)
				continue
			}
			d.logf("%s: taking a last sample and snapshot", s)
			d.sample()
			d.persistAll()
			return nil
		case <-ctx.Done():
			d.sample()
			d.persistAll()
			return nil
		}
	}
}

// tick is one interval: a sample, and a commit and snapshot when due.
func (d *daemon) tick() {
	d.sample()
	cfg := d.a.Config()
	if time.Since(d.lastCommit) >= cfg.CommitInterval {
		d.commit()
		d.lastCommit = time.Now()
	}
	if time.Since(d.lastPersist) >= cfg.PersistInterval {
		d.persistNow()
	}
}

func (d *daemon) sample() {
	d.samples++
	t := time.Now()
	err := d.a.Sample()
	d.lastTook = time.Since(t)
	d.sampleFaults.observe(err, d.now())
}

// commit writes the batch; on failure it stays in memory (bounded:
// store.MaxPendingDeltas) and goes with the next commit.
func (d *daemon) commit() error {
	d.commitFaults.advice = commitAdvice(len(d.a.State().Deltas))
	err := d.a.Commit()
	d.commitFaults.observe(err, d.now())
	return err
}

// persist commits, then snapshots to flash, the five-minute rows left
// for later (agent.Agent.Snapshot); it returns the snapshot's error.
func (d *daemon) persist() error { return d.persistWith((*agent.Agent).Snapshot) }

// persistAll is persist with every change: a clean stop's.
func (d *daemon) persistAll() error { return d.persistWith((*agent.Agent).SnapshotAll) }

func (d *daemon) persistWith(snapshot func(*agent.Agent) (store.Persisted, error)) error {
	if err := d.commit(); err != nil {
		return err // the live file is what would be copied: it is behind
	}
	p, err := snapshot(d.a)
	d.snapshotFaults.observe(err, d.now())
	d.flashWritten(p)
	return err
}

// persistNow persists and restarts both the commit and the snapshot clock.
func (d *daemon) persistNow() error {
	err := d.persist()
	d.lastPersist, d.lastCommit = time.Now(), time.Now()
	return err
}

// handle answers one request with the handler of its kind.
func (d *daemon) handle(req control.Request) control.Response {
	h, ok := handlers[req.Op]
	if !ok {
		return control.Failed(fmt.Errorf("unknown request %q", req.Op), false)
	}
	return h(d, req)
}

// reload switches to the config on disk (SIGHUP); a config that does not
// load leaves the old one running.
func (d *daemon) reload(ticker *time.Ticker) {
	if err := reload(d.a, d.cfgPath, d.logf); err != nil {
		d.logf("reload: %v; keeping the old config", err)
		return
	}
	cfg := d.a.Config()
	ticker.Reset(cfg.Interval)
	tuneRuntime(cfg)
	if d.web != nil {
		d.web.Configure(cfg)
	}
	if cfg.Listen != d.listen {
		d.logf("option listen changed: restart the daemon to serve on %q", cfg.Listen)
	}
}

// reload samples under the old config, so nothing counted so far is lost
// to a changed meter, then switches.
func reload(a *agent.Agent, path string, logf func(string, ...any)) error {
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	if err := a.Sample(); err != nil {
		logf("sample before reload: %v", err)
	}
	if err := a.Reload(cfg); err != nil {
		return err
	}
	if err := a.Sample(); err != nil {
		return fmt.Errorf("sample after reload: %w", err)
	}
	logf("config reloaded: %d meters", len(cfg.Meters))
	return a.Commit()
}

// tuneRuntime applies the config's gogc and gomemlimit, where set.
func tuneRuntime(cfg *config.Config) {
	if cfg.GOGC >= 0 {
		gc := cfg.GOGC
		if gc == 0 {
			gc = -1 // off
		}
		debug.SetGCPercent(gc)
	}
	if cfg.GOMemLimit > 0 {
		debug.SetMemoryLimit(cfg.GOMemLimit)
	}
}

// answer is the Response of a handler: body, or err when there is one.
func answer(body any, err error) control.Response {
	if err != nil {
		return control.Failed(err, errors.Is(err, hosts.ErrUnknownHost))
	}
	return control.Response{Body: body}
}
