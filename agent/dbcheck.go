package agent

import (
	"errors"
	"os"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/control"
	"github.com/netmon-agent/netmon-agent/store"
)

// A FileCheck is the verdict on one database file.
type FileCheck struct {
	Path  string `json:"path"`
	Error string `json:"error,omitempty"` // empty: sound
	// JournalTail: the file is sound but its journal ends in a record cut
	// short, which the next write to flash writes over.
	JournalTail bool `json:"journal_tail,omitempty"`
}

// CheckDatabases verifies paths, or with none the live database (through
// the daemon when it holds it) and the snapshot on flash, where they exist.
func CheckDatabases(cfg *config.Config, paths []string) []FileCheck {
	var out []FileCheck
	verdict := func(p string, err error) {
		c := FileCheck{Path: p, JournalTail: errors.Is(err, store.ErrJournalTail)}
		if err != nil {
			c.Error = err.Error()
		}
		out = append(out, c)
	}
	if len(paths) > 0 {
		for _, p := range paths {
			verdict(p, store.Check(p))
		}
		return out
	}
	live := cfg.LiveDatabase()
	if _, err := os.Stat(live); err == nil {
		_, err := control.Ask[struct{}](cfg.SocketPath(), control.Request{Op: control.OpVerify}, time.Minute)
		if errors.Is(err, control.ErrNoDaemon) {
			err = store.Check(live)
		}
		verdict(live, err)
	}
	if _, err := os.Stat(cfg.Database); err == nil {
		verdict(cfg.Database, store.Check(cfg.Database))
	}
	return out
}
