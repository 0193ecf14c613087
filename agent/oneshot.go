package agent

import (
	"errors"
	"time"

	"github.com/netmon-agent/netmon-agent/store"
)

// SampleOnce samples (which installs or heals our chains), commits and
// snapshots: through the daemon when one answers (it holds the database),
// else by itself. `sample` is this; `start` too, except that a running
// daemon is asked for no snapshot (the firewall include runs it at every
// firewall reload, and flash should not pay for those).
func SampleOnce(cfg *Config, opts Options, op string) (*Report, error) {
	resp, err := Ask(cfg.SocketPath(), op, 30*time.Second)
	if err == nil {
		return resp.Report, nil
	}
	if !errors.Is(err, ErrNoDaemon) {
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
func Stop(cfg *Config, opts Options) error {
	opts.defaults()
	if _, err := Ask(cfg.SocketPath(), OpStop, 30*time.Second); !errors.Is(err, ErrNoDaemon) {
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
func withAgent(cfg *Config, opts Options, req Request, f func(a *Agent) (Response, error)) (*Response, error) {
	resp, err := AskRequest(cfg.SocketPath(), req, 30*time.Second)
	if err == nil || !errors.Is(err, ErrNoDaemon) {
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
	return &r, nil
}

// BlockHost blocks host for d (0: until unblocked) and applies it.
func BlockHost(cfg *Config, opts Options, host string, d time.Duration, reason string) (*BlocksReport, error) {
	resp, err := withAgent(cfg, opts, Request{Op: OpBlock, Host: host, For: d, Reason: reason}, func(a *Agent) (Response, error) {
		_, err := a.Block(host, d, reason)
		return Response{Blocks: a.Blocks()}, err
	})
	if err != nil {
		return nil, err
	}
	return resp.Blocks, nil
}

// UnblockHost lifts the block of host and applies it.
func UnblockHost(cfg *Config, opts Options, host string) (*BlocksReport, error) {
	resp, err := withAgent(cfg, opts, Request{Op: OpUnblock, Host: host}, func(a *Agent) (Response, error) {
		return Response{Blocks: a.Blocks()}, a.Unblock(host)
	})
	if err != nil {
		return nil, err
	}
	return resp.Blocks, nil
}

// MoveCheckpoint stores cp, the checkpoint of a since-last report that was
// shown or sent, so the next report starts where it ended.
func MoveCheckpoint(cfg *Config, opts Options, cp *store.Checkpoint) error {
	_, err := withAgent(cfg, opts, Request{Op: OpCheckpoint, Checkpoint: cp}, func(a *Agent) (Response, error) {
		return Response{}, a.MoveCheckpoint(cp)
	})
	return err
}

// ReadBlocks lists the blocks in force without waiting on anyone.
func ReadBlocks(cfg *Config) (*BlocksReport, error) {
	return fromDaemonOrDisk(cfg, Request{Op: OpBlocks}, 5*time.Second, func(r *Response) *BlocksReport { return r.Blocks },
		func(_ *store.DB, st *store.State, _ string) (*BlocksReport, error) { return BuildBlocks(st), nil })
}
