package agent

import (
	"errors"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/control"
	"github.com/netmon-agent/netmon-agent/agent/report"
	"github.com/netmon-agent/netmon-agent/store"
)

// SampleOnce samples (which installs or heals our chains), commits and
// snapshots: through the daemon when one answers (it holds the database),
// else by itself. `sample` is this; `start` too, except that a running
// daemon is asked for no snapshot (the firewall include runs it at every
// firewall reload, and flash should not pay for those).
func SampleOnce(cfg *config.Config, opts Options, op string) (*report.Report, error) {
	r, err := control.Ask[report.Report](cfg.SocketPath(), control.Request{Op: op}, 30*time.Second)
	if err == nil {
		return r, nil
	}
	if !errors.Is(err, control.ErrNoDaemon) {
		return nil, err
	}
	a, err := Open(cfg, opts)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	serr := a.Sample()
	if _, err := a.Persist(); err != nil {
		return nil, errors.Join(serr, err)
	}
	return a.Report("database"), serr
}

// Stop takes a last sample and snapshot, then removes exactly our rules:
// through the daemon when one answers (it exits after), else by itself.
// When the database cannot be opened the rules are removed all the same:
// taking them out matters more than the last seconds of counts.
func Stop(cfg *config.Config, opts Options) error {
	opts.Defaults()
	if _, err := control.Ask[struct{}](cfg.SocketPath(), control.Request{Op: control.OpStop}, 30*time.Second); !errors.Is(err, control.ErrNoDaemon) {
		return err
	}
	a, err := Open(cfg, opts)
	if err != nil {
		opts.Logf("no last sample: %v", err)
		return RemoveAll(cfg, opts)
	}
	defer a.Close()
	if err := a.Sample(); err != nil {
		opts.Logf("last sample: %v", err)
	}
	rerr := a.RemoveChains()
	_, perr := a.Persist()
	return errors.Join(rerr, perr)
}

// withAgent runs f on the agent: through the daemon when one answers (req
// is sent), else on the database opened here, snapshotting after.
func withAgent[T any](cfg *config.Config, opts Options, req control.Request, f func(a *Agent) (*T, error)) (*T, error) {
	resp, err := control.Ask[T](cfg.SocketPath(), req, 30*time.Second)
	if err == nil || !errors.Is(err, control.ErrNoDaemon) {
		return resp, err
	}
	a, err := Open(cfg, opts)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	r, err := f(a)
	if err != nil {
		return nil, err
	}
	if _, err := a.Persist(); err != nil {
		return nil, err
	}
	return r, nil
}

// MoveCheckpoint stores cp, the checkpoint of a since-last report that was
// shown or sent, so the next report starts where it ended.
func MoveCheckpoint(cfg *config.Config, opts Options, cp *store.Checkpoint) error {
	_, err := MakeChange[struct{}](cfg, opts, control.Request{Op: control.OpCheckpoint, Checkpoint: cp})
	return err
}

// ReadBlocks lists the blocks in force without waiting on anyone.
func ReadBlocks(cfg *config.Config) (*report.BlocksReport, error) {
	return fromDaemonOrDisk(cfg, control.Request{Op: control.OpBlocks}, 5*time.Second,
		func(_ *store.DB, st *store.State, _ string) (*report.BlocksReport, error) {
			return report.BuildBlocks(st), nil
		})
}
