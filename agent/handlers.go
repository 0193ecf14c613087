package agent

import (
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/control"
	"github.com/netmon-agent/netmon-agent/agent/report"
)

// A handler answers one kind of request in the daemon's loop, which owns
// the state: nothing else touches the agent while it runs.
type handler func(d *daemon, req control.Request) control.Response

// handlers answer the requests of package control, one per kind; the
// changes a person makes are added from changes (changes.go).
var handlers = withChanges(map[string]handler{
	control.OpReport:    func(d *daemon, _ control.Request) control.Response { return answer(d.a.Report("daemon"), nil) },
	control.OpHosts:     func(d *daemon, _ control.Request) control.Response { return answer(d.a.Hosts("daemon"), nil) },
	control.OpBlocks:    func(d *daemon, _ control.Request) control.Response { return answer(d.a.Blocks(), nil) },
	control.OpServices:  func(d *daemon, _ control.Request) control.Response { return answer(d.a.Services("daemon"), nil) },
	control.OpVerify:    func(d *daemon, _ control.Request) control.Response { return answer(nil, d.a.Verify()) },
	control.OpMetrics:   handleMetrics,
	control.OpHistory:   handleHistory,
	control.OpBackup:    handleBackup,
	control.OpCompact:   handleCompact,
	control.OpRestore:   handleRestore,
	control.OpSinceLast: handleSinceLast,
	control.OpStart:     handleStart,
	control.OpSample:    handleSample,
	control.OpStop:      handleStop,
})

// withChanges adds a handler for each of changes to hs.
func withChanges(hs map[string]handler) map[string]handler {
	for op, c := range changes {
		hs[op] = handleChange(c)
	}
	return hs
}

func handleMetrics(d *daemon, _ control.Request) control.Response {
	st := d.a.State()
	return answer(&report.Metrics{
		Report: report.BuildReport(d.a.Config(), st, d.now(), "daemon"),
		Hosts:  d.a.Hosts("daemon"),
		Blocks: d.a.Blocks(),
		Daemon: &report.DaemonStats{Started: d.started, Samples: d.samples, SampleSeconds: d.lastTook.Seconds(),
			Resets: maps.Clone(st.ResetsSeen), FlashBytes: maps.Clone(d.flashBytes)},
	}, nil)
}

func handleHistory(d *daemon, req control.Request) control.Response {
	if req.History == nil {
		return answer(nil, errors.New("history: no question"))
	}
	return answer(d.a.History(*req.History))
}

// handleBackup commits first, so the copy holds everything counted.
func handleBackup(d *daemon, req control.Request) control.Response {
	if err := backupTarget(d.a.Config(), req.Path); err != nil {
		return answer(nil, err)
	}
	if err := d.commit(); err != nil {
		return answer(nil, errors.New("backup: "+err.Error()))
	}
	n, err := d.a.db.Snapshot(req.Path)
	return answer(&DBResult{Path: req.Path, Bytes: n}, err)
}

func handleCompact(d *daemon, _ control.Request) control.Response {
	if err := d.commit(); err != nil {
		return answer(nil, errors.New("compact: "+err.Error()))
	}
	res, err := compact(d.a.db, d.a.Config())
	d.snapshotFaults.observe(err, d.now())
	d.lastPersist, d.lastCommit = time.Now(), time.Now()
	return answer(res, err)
}

// handleRestore swaps the database under the daemon. The backup is
// verified whole before anything changes; then the agent closes, the files
// are swapped as an offline restore swaps them, and an agent opens on the
// restored state with the same config. The next sample counts on from the
// backup's baselines, as a start after an offline restore would.
func handleRestore(d *daemon, req control.Request) control.Response {
	cfg := d.a.Config()
	if err := stageRestore(cfg, req.Path); err != nil {
		return answer(nil, err)
	}
	if err := d.a.Close(); err != nil {
		d.logf("restore: closing the live database: %v", err)
	}
	res, err := swapRestored(cfg, req.Path)
	a, oerr := Open(cfg, d.opts)
	if oerr != nil {
		d.exit, d.exitErr = true, fmt.Errorf("reopen the database after the restore: %w", oerr)
		return answer(nil, d.exitErr)
	}
	d.a = a
	d.logf("restored the database from %s", req.Path)
	d.sample()
	d.commit()
	return answer(res, err)
}

// handleSinceLast samples first: the report is current to this moment.
func handleSinceLast(d *daemon, _ control.Request) control.Response {
	d.sample()
	return answer(d.a.SinceLast("daemon"), nil)
}

// persistChange writes a change a person made to flash now; it says so
// when flash refused it.
func (d *daemon) persistChange(what string) error {
	if err := d.persistNow(); err != nil {
		return fmt.Errorf("%s is in force, but not on flash (a power cut would undo it): %w", what, err)
	}
	return nil
}

// handleStart heals our chains now (the firewall include runs `start` at
// every firewall reload) and commits, without a snapshot: flash should not
// pay for firewall reloads.
func handleStart(d *daemon, _ control.Request) control.Response {
	d.sample()
	d.commit()
	d.lastCommit = time.Now()
	return answer(d.a.Report("daemon"), nil)
}

func handleSample(d *daemon, _ control.Request) control.Response {
	d.sample()
	d.persistNow()
	return answer(d.a.Report("daemon"), nil)
}

// handleStop takes a last sample, removes our rules and snapshots; the
// loop ends once the answer is sent.
func handleStop(d *daemon, _ control.Request) control.Response {
	d.sample()
	err := d.a.RemoveChains()
	d.persist()
	d.exit, d.exitErr = true, err
	if err != nil {
		return answer(nil, err)
	}
	d.logf("stopped by request; our chains are removed")
	return answer(d.a.Report("daemon"), nil)
}
