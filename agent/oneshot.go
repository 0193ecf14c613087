package agent

import (
	"errors"
	"time"
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
