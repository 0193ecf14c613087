package agent

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"
)

// Run is the daemon: it samples every interval, commits the batch every
// commit_interval, snapshots to flash every persist_interval, answers the
// control socket, reloads the config on SIGHUP, and on SIGTERM, SIGINT or
// ctx's end takes a last sample and snapshot before it returns. The rules
// stay in place when it exits: the kernel keeps counting, and the next start
// picks up exactly where this one stopped.
func Run(ctx context.Context, configPath string, opts Options) error {
	opts.defaults()
	logf := opts.Logf
	cfg, err := LoadConfig(configPath)
	if err != nil {
		return err
	}
	a, err := Open(cfg, opts)
	if err != nil {
		return err
	}
	defer a.Close()
	tuneRuntime(cfg)
	ln, err := listen(cfg.SocketPath())
	if err != nil {
		return err
	}
	done := make(chan struct{})
	calls := make(chan call)
	go serve(ln, calls, done)
	defer func() {
		close(done)
		ln.Close() // also removes the socket file
	}()
	var srv *webServer
	if cfg.Listen != "" {
		if srv, err = startWeb(cfg, calls, done, logf); err != nil {
			return err
		}
		logf("serving the page, the API and /metrics on http://%s/", cfg.Listen)
	}

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)

	samples := 0
	defer func() { logf("exiting after %d samples", samples) }()
	now := opts.Clock.Now
	sampleFaults := &faultLog{what: "sampling", logf: logf}
	commitFaults := &faultLog{what: "committing to " + cfg.LiveDatabase(), logf: logf}
	snapshotFaults := &faultLog{what: "the snapshot to " + cfg.Database, logf: logf,
		advice: "; counting goes on in the live database"}
	started, lastSample := time.Now(), time.Duration(0)
	sample := func() {
		samples++
		t := time.Now()
		err := a.Sample()
		lastSample = time.Since(t)
		sampleFaults.observe(err, now())
	}
	// commit writes the batch; on failure it stays in memory (bounded:
	// store.MaxPendingDeltas) and goes with the next commit.
	commit := func() error {
		commitFaults.advice = commitAdvice(len(a.State().Deltas))
		err := a.Commit()
		commitFaults.observe(err, now())
		return err
	}
	persist := func() {
		if commit() != nil {
			return // the live file is what would be copied: it is behind
		}
		n, err := a.Snapshot()
		snapshotFaults.observe(err, now())
		if err == nil {
			logf("snapshot written to %s (%d bytes)", a.Config().Database, n)
		}
	}

	logf("started: %d meters, sampling every %s, committing every %s, snapshot every %s",
		len(cfg.Meters), cfg.Interval, cfg.CommitInterval, cfg.PersistInterval)
	sample()
	commit()
	if _, err := os.Stat(a.Config().Database); err != nil {
		persist() // a first snapshot, so a reboot soon after start keeps the totals
	}
	lastCommit, lastPersist := time.Now(), time.Now()
	ticker := time.NewTicker(cfg.Interval)
	defer ticker.Stop()

	for {
		select {
		case <-ticker.C:
			sample()
			if time.Since(lastCommit) >= a.Config().CommitInterval {
				commit()
				lastCommit = time.Now()
			}
			if time.Since(lastPersist) >= a.Config().PersistInterval {
				persist()
				lastPersist, lastCommit = time.Now(), time.Now()
			}
		case c := <-calls:
			switch c.Op {
			case OpReport:
				c.reply <- Response{Report: a.Report("daemon")}
			case OpHosts:
				c.reply <- Response{Hosts: a.Hosts("daemon")}
			case OpBlocks:
				c.reply <- Response{Blocks: a.Blocks()}
			case OpHistory:
				if c.History == nil {
					c.reply <- Response{Error: "history: no question"}
					break
				}
				h, err := a.History(*c.History)
				if err != nil {
					c.reply <- errorResponse(err, Response{})
					break
				}
				c.reply <- Response{History: h}
			case OpBackup:
				if err := commit(); err != nil {
					c.reply <- Response{Error: "backup: " + err.Error()}
					break
				}
				n, err := a.db.Snapshot(c.Path)
				c.reply <- errorResponse(err, Response{DB: &DBResult{Path: c.Path, Bytes: n}})
			case OpCompact:
				if err := commit(); err != nil {
					c.reply <- Response{Error: "compact: " + err.Error()}
					break
				}
				res, err := compact(a.db, a.Config())
				snapshotFaults.observe(err, now())
				lastPersist, lastCommit = time.Now(), time.Now()
				c.reply <- errorResponse(err, Response{DB: res})
			case OpMetrics:
				st := a.State()
				c.reply <- Response{
					Report: BuildReport(a.Config(), st, now(), "daemon"),
					Hosts:  a.Hosts("daemon"),
					Blocks: a.Blocks(),
					Daemon: &DaemonStats{Started: started, Samples: samples, SampleSeconds: lastSample.Seconds(), Resets: maps.Clone(st.ResetsSeen)},
				}
			case OpVerify:
				c.reply <- errorResponse(a.db.Verify(), Response{})
			case OpSinceLast:
				sample()
				c.reply <- Response{SinceLast: a.SinceLast("daemon")}
			case OpCheckpoint:
				if err := a.MoveCheckpoint(c.Checkpoint); err != nil {
					c.reply <- Response{Error: err.Error()}
					break
				}
				// A mail a day is worth its snapshot: a reboot then does
				// not send the same period again.
				persist()
				lastPersist, lastCommit = time.Now(), time.Now()
				c.reply <- Response{}
			case OpBlock:
				samples++
				_, err := a.Block(c.Host, c.For, c.Reason)
				c.reply <- errorResponse(err, Response{Blocks: a.Blocks()})
			case OpUnblock:
				samples++
				c.reply <- errorResponse(a.Unblock(c.Host), Response{Blocks: a.Blocks()})
			case OpStart:
				sample()
				commit()
				lastCommit = time.Now()
				c.reply <- Response{Report: a.Report("daemon")}
			case OpSample:
				sample()
				persist()
				lastPersist, lastCommit = time.Now(), time.Now()
				c.reply <- Response{Report: a.Report("daemon")}
			case OpStop:
				sample()
				err := a.RemoveChains()
				persist()
				if err != nil {
					c.reply <- Response{Error: err.Error()}
					return err
				}
				c.reply <- Response{Report: a.Report("daemon")}
				logf("stopped by request; our chains are removed")
				return nil
			}
		case s := <-sigs:
			if s == syscall.SIGHUP {
				if err := reload(a, configPath, logf); err != nil {
					logf("reload: %v; keeping the old config", err)
					continue
				}
				ticker.Reset(a.Config().Interval)
				tuneRuntime(a.Config())
				if srv != nil {
					srv.configure(a.Config())
				}
				if a.Config().Listen != cfg.Listen {
					logf("option listen changed: restart the daemon to serve on %q", a.Config().Listen)
				}
				continue
			}
			logf("%s: taking a last sample and snapshot", s)
			sample()
			persist()
			return nil
		case <-ctx.Done():
			sample()
			persist()
			return nil
		}
	}
}

// reload samples under the old config, so nothing counted so far is lost
// to a changed meter, then switches.
func reload(a *Agent, path string, logf func(string, ...any)) error {
	cfg, err := LoadConfig(path)
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
func tuneRuntime(cfg *Config) {
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

func errorResponse(err error, ok Response) Response {
	if err != nil {
		return Response{Error: err.Error(), NotFound: errors.Is(err, ErrUnknownHost)}
	}
	return ok
}
