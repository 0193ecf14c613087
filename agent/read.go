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
	return fromDaemonOrDisk(cfg, Request{Op: OpReport}, 5*time.Second, func(r *Response) *Report { return r.Report },
		func(db *store.DB, st *store.State, source string) (*Report, error) {
			r := BuildReport(cfg, st, now, source)
			addUsage(r, cfg, db, st, now)
			return r, nil
		})
}

// fromDaemonOrDisk asks the daemon req and picks its answer, or, when no
// daemon runs, builds the answer from the database on disk (withDatabase).
func fromDaemonOrDisk[T any](cfg *Config, req Request, timeout time.Duration, pick func(*Response) *T,
	build func(db *store.DB, st *store.State, source string) (*T, error)) (*T, error) {
	resp, err := AskRequest(cfg.SocketPath(), req, timeout)
	if err == nil {
		if v := pick(resp); v != nil {
			return v, nil
		}
		return nil, fmt.Errorf("daemon sent no answer to %s", req.Op)
	}
	if !errors.Is(err, ErrNoDaemon) {
		return nil, err
	}
	var v *T
	err = withDatabase(cfg, func(db *store.DB, st *store.State, source string) error {
		v, err = build(db, st, source)
		return err
	})
	return v, err
}

// ReadHosts is ReadReport for the host table; rates come only from a
// running daemon.
func ReadHosts(cfg *Config, now time.Time) (*HostsReport, error) {
	return fromDaemonOrDisk(cfg, Request{Op: OpHosts}, 5*time.Second, func(r *Response) *HostsReport { return r.Hosts },
		func(_ *store.DB, st *store.State, source string) (*HostsReport, error) {
			return BuildHosts(cfg, st, nil, now, source), nil
		})
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
		if !errors.Is(err, store.ErrLocked) && !errors.Is(err, store.ErrCorrupt) {
			return err
		}
		// A one-shot sample holds it for a moment, or it is damaged (the
		// next start sets it aside): the snapshot is close.
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
	return fromDaemonOrDisk(cfg, Request{Op: OpHistory, History: &q}, 10*time.Second, func(r *Response) *HistoryReport { return r.History },
		func(db *store.DB, st *store.State, source string) (*HistoryReport, error) {
			return buildHistoryFrom(db, st, SourcesFor(cfg), q, now, source)
		})
}

// ReadSinceLast builds the since-last report: from the running daemon,
// which samples first, else from the database on disk. It does not move
// the checkpoint (MoveCheckpoint does).
func ReadSinceLast(cfg *Config, now time.Time) (*SinceLastReport, error) {
	return fromDaemonOrDisk(cfg, Request{Op: OpSinceLast}, 30*time.Second, func(r *Response) *SinceLastReport { return r.SinceLast },
		func(_ *store.DB, st *store.State, source string) (*SinceLastReport, error) {
			return BuildSinceLast(cfg, st, now, source), nil
		})
}

// ReadHTMLReport gathers the page: the summary, the last days for the
// chart and, with per-host accounting, the billing month's hosts. sl is the
// mail's since-last report, or nil.
func ReadHTMLReport(cfg *Config, title, router string, sl *SinceLastReport, now time.Time) (*HTMLReport, error) {
	r, err := ReadReport(cfg, now)
	if err != nil {
		return nil, err
	}
	days, err := ReadHistory(cfg, chartQuery(now), now)
	if err != nil {
		return nil, err
	}
	var month *HistoryReport
	if cfg.Hosts {
		if month, err = ReadHistory(cfg, monthHostsQuery(cfg, now), now); err != nil {
			return nil, err
		}
	}
	return BuildHTMLReport(title, router, r, sl, days, month, time.Local, now), nil
}

// chartQuery asks for the chart's days.
func chartQuery(now time.Time) HistoryQuery {
	return HistoryQuery{Resolution: "day", Begin: store.Day.Start(now).AddDate(0, 0, -(chartDays - 1)), Limit: chartDays}
}

// monthHostsQuery asks for every host's days of this billing month.
func monthHostsQuery(cfg *Config, now time.Time) HistoryQuery {
	return HistoryQuery{Resolution: "day", Begin: PeriodStart(now, "month", cfg.PeriodStart), Limit: 1 << 30, PerHost: true}
}
