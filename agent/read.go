package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/netmon-agent/netmon-agent/store"
)

// ReadReport builds the report without waiting on anyone: from the running
// daemon's memory when one answers, else from the live database, else from
// the snapshot on flash. It never holds a writer's lock.
func ReadReport(cfg *Config, now time.Time) (*Report, error) {
	resp, err := Ask(cfg.SocketPath(), OpReport, 5*time.Second)
	if err == nil {
		return resp.Report, nil
	}
	if !errors.Is(err, ErrNoDaemon) {
		return nil, err
	}
	var r *Report
	err = withDatabase(cfg, func(db *store.DB, st *store.State, source string) error {
		r = BuildReport(cfg, st, now, source)
		addUsage(r, cfg, db, st, now)
		return nil
	})
	return r, err
}

// fromDaemonOrDisk asks the daemon for op and picks its answer, or, when
// no daemon runs, builds the answer from the state on disk.
func fromDaemonOrDisk[T any](cfg *Config, op string, pick func(*Response) *T, build func(*store.State, string) *T) (*T, error) {
	resp, err := Ask(cfg.SocketPath(), op, 5*time.Second)
	if err == nil {
		return pick(resp), nil
	}
	if !errors.Is(err, ErrNoDaemon) {
		return nil, err
	}
	st, source, err := readState(cfg)
	if err != nil {
		return nil, err
	}
	return build(st, source), nil
}

// ReadHosts is ReadReport for the host table; rates come only from a
// running daemon.
func ReadHosts(cfg *Config, now time.Time) (*HostsReport, error) {
	return fromDaemonOrDisk(cfg, OpHosts, func(r *Response) *HostsReport { return r.Hosts },
		func(st *store.State, source string) *HostsReport { return BuildHosts(cfg, st, nil, now, source) })
}

func readState(cfg *Config) (*store.State, string, error) {
	var st *store.State
	var source string
	err := withDatabase(cfg, func(db *store.DB, s *store.State, src string) error {
		st, source = s, src
		return nil
	})
	return st, source, err
}

// withDatabase calls fn with the live database (or, while a one-shot sample
// holds it or tmpfs lost it, a copy of the snapshot on flash) and its state;
// db is nil when there is neither.
func withDatabase(cfg *Config, fn func(db *store.DB, st *store.State, source string) error) error {
	live := cfg.LiveDatabase()
	if _, err := os.Stat(live); err == nil {
		db, err := store.OpenReadOnly(live, time.Second)
		if err == nil {
			defer db.Close()
			st, err := db.Load()
			if err != nil {
				return err
			}
			return fn(db, st, "database")
		}
		if !errors.Is(err, store.ErrLocked) {
			return err
		}
		// A one-shot sample holds it for a moment; the snapshot is close.
	}
	if _, err := os.Stat(cfg.Database); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fn(nil, store.NewState(), "empty")
		}
		return fmt.Errorf("read snapshot: %w", err)
	}
	dir, err := os.MkdirTemp("", "netmon-report-")
	if err != nil {
		return fmt.Errorf("read snapshot: %w", err)
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, "snapshot.db")
	if err := store.Restore(cfg.Database, tmp); err != nil {
		return err
	}
	db, err := store.OpenReadOnly(tmp, time.Second)
	if err != nil {
		return err
	}
	defer db.Close()
	st, err := db.Load()
	if err != nil {
		return err
	}
	return fn(db, st, "snapshot")
}

// ReadHistory builds q's table: from the running daemon (which adds what it
// has not committed yet), else from the database on disk.
func ReadHistory(cfg *Config, q HistoryQuery, now time.Time) (*HistoryReport, error) {
	resp, err := AskRequest(cfg.SocketPath(), Request{Op: OpHistory, History: &q}, 10*time.Second)
	if err == nil {
		if resp.History == nil {
			return nil, errors.New("daemon sent no history")
		}
		return resp.History, nil
	}
	if !errors.Is(err, ErrNoDaemon) {
		return nil, err
	}
	var r *HistoryReport
	err = withDatabase(cfg, func(db *store.DB, st *store.State, source string) error {
		if db == nil {
			r, err = BuildHistory(q, "", nil, nil, time.Local, now, source)
			return err
		}
		r, err = buildHistoryFrom(db, st, NewHostSources(cfg), q, now, source)
		return err
	})
	return r, err
}
