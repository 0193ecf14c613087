package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/control"
	"github.com/netmon-agent/netmon-agent/agent/report"
	"github.com/netmon-agent/netmon-agent/store"
)

// ReadReport builds the report without waiting on anyone: from the running
// daemon's memory when one answers, else from the live database, else from
// the snapshot on flash. It never holds a writer's lock.
func ReadReport(cfg *config.Config, now time.Time) (*report.Report, error) {
	return fromDaemonOrDisk(cfg, control.Request{Op: control.OpReport}, 5*time.Second,
		func(db *store.DB, st *store.State, source string) (*report.Report, error) {
			r := report.BuildReport(cfg, st, now, source)
			report.AddUsage(r, cfg, db, st, now)
			return r, nil
		})
}

// fromDaemonOrDisk asks the daemon req and decodes its answer, or, when no
// daemon runs, builds the answer from the database on disk (withDatabase).
func fromDaemonOrDisk[T any](cfg *config.Config, req control.Request, timeout time.Duration,
	build func(db *store.DB, st *store.State, source string) (*T, error)) (*T, error) {
	v, err := control.Ask[T](cfg.SocketPath(), req, timeout)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, control.ErrNoDaemon) {
		return nil, err
	}
	err = withDatabase(cfg, func(db *store.DB, st *store.State, source string) error {
		v, err = build(db, st, source)
		return err
	})
	return v, err
}

// ReadHosts is ReadReport for the host table; rates come only from a
// running daemon.
func ReadHosts(cfg *config.Config, now time.Time) (*report.HostsReport, error) {
	return fromDaemonOrDisk(cfg, control.Request{Op: control.OpHosts}, 5*time.Second,
		func(_ *store.DB, st *store.State, source string) (*report.HostsReport, error) {
			return report.BuildHosts(cfg, st, nil, now, source), nil
		})
}

// ReadServices is ReadReport for the usage by service.
func ReadServices(cfg *config.Config, now time.Time) (*report.ServicesReport, error) {
	return fromDaemonOrDisk(cfg, control.Request{Op: control.OpServices}, 5*time.Second,
		func(_ *store.DB, st *store.State, source string) (*report.ServicesReport, error) {
			return report.BuildServices(st, now, source, ""), nil
		})
}

// withDatabase calls fn with the live database (or, while a one-shot sample
// holds it or tmpfs lost it, a copy of the snapshot on flash) and its state;
// db is nil when there is neither.
func withDatabase(cfg *config.Config, fn func(db *store.DB, st *store.State, source string) error) error {
	if err := checkPaths(cfg); err != nil {
		return err
	}
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
func ReadHistory(cfg *config.Config, q report.HistoryQuery, now time.Time) (*report.HistoryReport, error) {
	return fromDaemonOrDisk(cfg, control.Request{Op: control.OpHistory, History: &q}, 10*time.Second,
		func(db *store.DB, st *store.State, source string) (*report.HistoryReport, error) {
			h, err := report.BuildHistoryFrom(db, st, SourcesFor(cfg), q, now, source)
			if err != nil {
				return nil, err
			}
			return h, report.CheckMeter(q, cfg, h)
		})
}

// ReadSinceLast builds the since-last report: from the running daemon,
// which samples first, else from the database on disk. It does not move
// the checkpoint (MoveCheckpoint does).
func ReadSinceLast(cfg *config.Config, now time.Time) (*report.SinceLastReport, error) {
	return fromDaemonOrDisk(cfg, control.Request{Op: control.OpSinceLast}, 30*time.Second,
		func(_ *store.DB, st *store.State, source string) (*report.SinceLastReport, error) {
			return report.BuildSinceLast(cfg, st, now, source), nil
		})
}

// ReadHTMLReport gathers the page: the summary, the last days for the
// chart and, with per-host accounting, the billing month's hosts. sl is the
// mail's since-last report, or nil.
func ReadHTMLReport(cfg *config.Config, title, router string, sl *report.SinceLastReport, now time.Time) (*report.HTMLReport, error) {
	r, err := ReadReport(cfg, now)
	if err != nil {
		return nil, err
	}
	days, err := ReadHistory(cfg, report.ChartQuery(now), now)
	if err != nil {
		return nil, err
	}
	var month *report.HistoryReport
	if cfg.Hosts {
		if month, err = ReadHistory(cfg, report.MonthHostsQuery(cfg, now), now); err != nil {
			return nil, err
		}
	}
	return report.BuildHTMLReport(title, router, r, sl, days, month, time.Local, now), nil
}

// ReadMetrics gathers what /metrics shows: from the running daemon, with
// its own figures, else the totals, hosts and blocks from the database on
// disk (no rates then, and no daemon figures).
func ReadMetrics(cfg *config.Config, now time.Time) (*report.Metrics, error) {
	return fromDaemonOrDisk(cfg, control.Request{Op: control.OpMetrics}, 10*time.Second,
		func(db *store.DB, st *store.State, source string) (*report.Metrics, error) {
			return &report.Metrics{
				Report: report.BuildReport(cfg, st, now, source),
				Hosts:  report.BuildHosts(cfg, st, nil, now, source),
				Blocks: report.BuildBlocks(st),
			}, nil
		})
}
