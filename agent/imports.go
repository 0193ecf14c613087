package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/account"
	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/control"
	"github.com/netmon-agent/netmon-agent/agent/nlbwmon"
	"github.com/netmon-agent/netmon-agent/store"
)

// ErrNothingToImport means an import named nothing to read.
var ErrNothingToImport = errors.New("nothing to import")

// An ImportReport says what became of each period an import read.
type ImportReport struct {
	Source  string                 `json:"source"`
	Periods []account.PeriodImport `json:"periods"`
}

// ImportNlbwmon files the periods of nlbwmon's databases at paths (its
// directories or files) into ours: through the daemon when one answers,
// else on the database opened here; on flash before it returns. A file
// that does not read whole fails it all, and nothing is filed.
func ImportNlbwmon(cfg *config.Config, opts Options, paths []string) (*ImportReport, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("%w: name nlbwmon's database directory or its files", ErrNothingToImport)
	}
	abs := make([]string, len(paths))
	for i, p := range paths {
		a, err := filepath.Abs(p)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(a); err != nil {
			return nil, err // before asking the daemon, which may see another /tmp
		}
		abs[i] = a
	}
	return MakeChange[ImportReport](cfg, opts, control.Request{Op: control.OpImport, Paths: abs})
}

// Import reads nlbwmon's periods at paths and files them into the state
// (account.Importer says how), committed before it returns.
func (a *Agent) Import(paths []string) (*ImportReport, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("import: %w", ErrNothingToImport)
	}
	// What we counted is read from committed history.
	if err := a.Commit(); err != nil {
		return nil, err
	}
	im := &account.Importer{State: a.sampler.State, Now: a.opts.Clock.Now(), Loc: time.Local,
		ServiceOf: a.cfg.ServiceOf, Counted: a.countedUntil}
	if err := nlbwmon.Each(paths, im.Plan); err != nil {
		return nil, fmt.Errorf("%w; nothing was imported", err)
	}
	done := im.File()
	if err := a.Commit(); err != nil {
		return nil, err
	}
	return &ImportReport{Source: account.SourceNlbwmon, Periods: done}, nil
}

// countedUntil is what each host moved by our counting before until: the
// hourly rows while they reach back to our first sample, else the daily
// ones (a row that until falls in counts whole).
func (a *Agent) countedUntil(until time.Time) (map[string]store.Directions, error) {
	first := a.sampler.State.Created.In(time.Local)
	hour := store.Hour.Start(first)
	buckets, err := a.db.History(store.Hour, hour, until)
	if err != nil {
		return nil, err
	}
	if len(buckets) == 0 || buckets[0].Start.After(hour) {
		if buckets, err = a.db.History(store.Day, store.Day.Start(first), until); err != nil {
			return nil, err
		}
	}
	out := map[string]store.Directions{}
	for _, b := range buckets {
		for _, m := range b.Moved {
			if m.MAC == "" {
				continue
			}
			d := out[m.MAC]
			if m.Dir == store.DirDownload {
				d.Download = d.Download.Add(m.Counts)
			} else {
				d.Upload = d.Upload.Add(m.Counts)
			}
			out[m.MAC] = d
		}
	}
	return out, nil
}
