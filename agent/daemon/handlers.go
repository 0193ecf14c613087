package daemon

import (
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/netmon-agent/netmon-agent/agent"
	"github.com/netmon-agent/netmon-agent/agent/control"
	"github.com/netmon-agent/netmon-agent/agent/report"
)

// A handler answers one kind of request in the daemon's loop, which owns
// the state: nothing else touches the agent while it runs.
type handler func(d *daemon, req control.Request) control.Response

// handlers answer the requests of package control, one per kind; the
// changes a person makes are added from agent.Changes.
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

// withChanges adds a handler for each of the changes a person makes
// (agent.Changes) to hs.
func withChanges(hs map[string]handler) map[string]handler {
	for op, c := range agent.Changes() {
		hs[op] = handleChange(c)
	}
	return hs
}

// handleChange is the handler of change c: apply it, then write it to
// flash at once.
func handleChange(c agent.Change) handler {
	return func(d *daemon, req control.Request) control.Response {
		if c.Samples {
			d.samples++
		}
		r, err := c.Apply(d.a, req)
		if err != nil {
			return answer(nil, err)
		}
		return answer(r, d.persistChange(c.What))
	}
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
	if err := d.commit(); err != nil {
		return answer(nil, errors.New("backup: "+err.Error()))
	}
	return answer(d.a.Backup(req.Path, req.Portable))
}

func handleCompact(d *daemon, _ control.Request) control.Response {
	if err := d.commit(); err != nil {
		return answer(nil, errors.New("compact: "+err.Error()))
	}
	res, err := d.a.Compact()
	d.snapshotFaults.observe(err, d.now())
	d.lastPersist, d.lastCommit = time.Now(), time.Now()
	return answer(res, err)
}

// handleRestore swaps the database under the daemon (agent.Agent.Restore).
// The next sample counts on from the backup's baselines, as a start after
// an offline restore would.
func handleRestore(d *daemon, req control.Request) control.Response {
	a, res, err := d.a.Restore(req.Path)
	if a == nil {
		d.exit, d.exitErr = true, err
		return answer(nil, err)
	}
	if a == d.a {
		return answer(nil, err)
	}
	d.a = a
	d.logf("restored the database from %s", req.Path)
	if res != nil && res.OtherBoot {
		d.logf("the restored database was counting in another boot: the kernel's counters start afresh here, counting goes on from its totals")
	}
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
	d.persistAll()
	d.exit, d.exitErr = true, err
	if err != nil {
		return answer(nil, err)
	}
	d.logf("stopped by request; our chains are removed")
	return answer(d.a.Report("daemon"), nil)
}
