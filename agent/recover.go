package agent

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/store"
)

// A damaged database never stops the agent: a router that lost power
// mid-write must not crash-loop under procd. A damaged live file is moved
// aside and the snapshot on flash restored (its meters' baselines make the
// kernel's counters fill the gap exactly; the hosts' ones may be behind its
// totals, and then the sampler rebases: store.Deferred); a damaged
// snapshot is moved aside too,
// and counting starts afresh with an event the report shows.

// checkPaths refuses database paths that name a directory or a device: a
// config mistake, not damage, so nothing there is read, moved aside or
// replaced.
func checkPaths(cfg *config.Config) error {
	if err := store.CheckRegular(cfg.Database); err != nil {
		return fmt.Errorf("option database: %w: it must name a file", err)
	}
	if err := store.CheckSnapshot(cfg.Database); err != nil {
		return fmt.Errorf("option database: %w", err)
	}
	if err := store.CheckRegular(cfg.LiveDatabase()); err != nil {
		return fmt.Errorf("live database: %w", err)
	}
	return nil
}

// openLive opens the live database, restoring it from the snapshot when
// tmpfs lost it or it is damaged, and loads its state.
func openLive(cfg *config.Config, opts Options) (*store.DB, *store.State, error) {
	live := cfg.LiveDatabase()
	if err := os.MkdirAll(cfg.RuntimeDir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("runtime_dir %s: %w", cfg.RuntimeDir, err)
	}
	if err := checkPaths(cfg); err != nil {
		return nil, nil, err
	}
	now := opts.Clock.Now()
	fresh := false // a damaged file was set aside with nothing to restore
	aside := func(path string, why error) error {
		dest, err := store.MoveAside(path, now)
		if err != nil {
			return err
		}
		opts.Logf("%v; moved it to %s", why, dest)
		return nil
	}
	if fi, err := os.Stat(live); err == nil && fi.Size() == 0 {
		// bbolt would take an empty file for a new database and the
		// snapshot would never be restored.
		if err := aside(live, fmt.Errorf("live database %s is empty", live)); err != nil {
			return nil, nil, err
		}
	}
	for range 3 { // live, then the snapshot, then a fresh file
		if _, err := os.Stat(live); errors.Is(err, os.ErrNotExist) {
			if _, err := os.Stat(cfg.Database); err == nil {
				rep, err := store.RestoreReplaying(cfg.Database, live)
				switch {
				case errors.Is(err, store.ErrCorrupt):
					if err := aside(cfg.Database, err); err != nil {
						return nil, nil, err
					}
					fresh = true
				case err != nil:
					return nil, nil, err
				default:
					opts.Logf("restored live database %s from snapshot %s%s", live, cfg.Database, rep)
				}
			}
		}
		db, err := store.Open(live, opts.LockWait)
		if err == nil {
			db.SetHistory(time.Local, cfg.Keep)
			if err = db.Verify(); err != nil {
				db.Close()
			}
		}
		if errors.Is(err, store.ErrCorrupt) {
			if err := aside(live, err); err != nil {
				return nil, nil, err
			}
			if _, serr := os.Stat(cfg.Database); serr != nil {
				fresh = true
			}
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		st, err := db.Load()
		if err != nil {
			db.Close()
			return nil, nil, err
		}
		// Holding the live file, we are the only writer of snapshots.
		for _, p := range append(store.RemoveStaleTemps(cfg.Database), store.RemoveStaleTemps(live)...) {
			opts.Logf("removed %s, left by a snapshot, restore or compaction that was cut short", p)
		}
		if fresh {
			st.AddEvent(store.Event{Time: now, Cause: store.CauseDatabase})
			opts.Logf("started a fresh database: totals and history count from now")
		}
		return db, st, nil
	}
	return nil, nil, fmt.Errorf("open %s: still damaged after restoring and starting afresh", live)
}
