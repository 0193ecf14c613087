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
	return fromDaemonOrDisk(cfg, OpReport, func(r *Response) *Report { return r.Report },
		func(st *store.State, source string) *Report { return BuildReport(cfg, st, now, source) })
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
	live := cfg.LiveDatabase()
	if _, err := os.Stat(live); err == nil {
		db, err := store.OpenReadOnly(live, time.Second)
		if err == nil {
			defer db.Close()
			st, err := db.Load()
			return st, "database", err
		}
		if !errors.Is(err, store.ErrLocked) {
			return nil, "", err
		}
		// A one-shot sample holds it for a moment; the snapshot is close.
	}
	if _, err := os.Stat(cfg.Database); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return store.NewState(), "empty", nil
		}
		return nil, "", fmt.Errorf("read snapshot: %w", err)
	}
	dir, err := os.MkdirTemp("", "netmon-report-")
	if err != nil {
		return nil, "", fmt.Errorf("read snapshot: %w", err)
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, "snapshot.db")
	if err := store.Restore(cfg.Database, tmp); err != nil {
		return nil, "", err
	}
	db, err := store.OpenReadOnly(tmp, time.Second)
	if err != nil {
		return nil, "", err
	}
	defer db.Close()
	st, err := db.Load()
	return st, "snapshot", err
}
