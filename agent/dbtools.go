package agent

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/control"
	"github.com/netmon-agent/netmon-agent/store"
)

// Database upkeep: `db backup`, `db restore`, `db compact`. A backup is a
// snapshot (the compressed file the daemon writes to flash), taken in one
// read transaction, so it is consistent while the daemon runs.

// A DBResult says what an upkeep command did.
type DBResult struct {
	Path   string `json:"path"`
	Bytes  int64  `json:"bytes"`            // the backup's size, or the file's after compaction
	Before int64  `json:"before,omitempty"` // the file's size before compaction
	// Snapshot is the size of the snapshot written to flash after a
	// compaction or a restore.
	Snapshot int64 `json:"snapshot,omitempty"`
	// Kept names what a restore set aside rather than delete.
	Kept []string `json:"kept,omitempty"`
}

// BackupDatabase writes a consistent copy of the database to dest: through
// the running daemon (what it counted so far is committed first), else from
// the live file or the snapshot on flash.
func BackupDatabase(cfg *config.Config, dest string) (*DBResult, error) {
	dest, err := filepath.Abs(dest)
	if err != nil {
		return nil, err
	}
	if err := backupTarget(cfg, dest); err != nil {
		return nil, err
	}
	res, err := control.Ask[DBResult](cfg.SocketPath(), control.Request{Op: control.OpBackup, Path: dest}, time.Minute)
	if err == nil {
		return res, nil
	}
	if !errors.Is(err, control.ErrNoDaemon) {
		return nil, err
	}
	var n int64
	err = withDatabase(cfg, func(db *store.DB, _ *store.State, _ string) error {
		if db == nil {
			return fmt.Errorf("no database yet at %s or %s", cfg.LiveDatabase(), cfg.Database)
		}
		n, err = db.Snapshot(dest)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &DBResult{Path: dest, Bytes: n}, nil
}

// WriteBackup writes a backup to w (db backup -, for LuCI's download):
// by way of a file in the runtime directory, RAM rather than flash,
// removed after. It returns the bytes written.
func WriteBackup(cfg *config.Config, w io.Writer) (int64, error) {
	if err := os.MkdirAll(cfg.RuntimeDir, 0o700); err != nil {
		return 0, fmt.Errorf("runtime_dir %s: %w", cfg.RuntimeDir, err)
	}
	dir, err := os.MkdirTemp(cfg.RuntimeDir, "backup-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	r, err := BackupDatabase(cfg, filepath.Join(dir, "netmon-backup.db"))
	if err != nil {
		return 0, err
	}
	f, err := os.Open(r.Path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return io.Copy(w, f)
}

// ErrOwnFile means a backup was asked to overwrite one of the database's
// own files.
var ErrOwnFile = errors.New("is one of the database's own files")

// backupTarget refuses a backup that would replace the live file or the
// snapshot (by device and inode, whatever the path says: a link or
// another spelling is the same file) or that names a directory.
func backupTarget(cfg *config.Config, dest string) error {
	fi, err := os.Stat(dest)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("backup to %s: %w", dest, err)
	}
	if fi.IsDir() {
		return fmt.Errorf("backup to %s: it is a directory: give a file name, such as %s", dest, filepath.Join(dest, "netmon-backup.db"))
	}
	for _, own := range []string{cfg.LiveDatabase(), cfg.Database} {
		if o, err := os.Stat(own); err == nil && os.SameFile(fi, o) {
			return fmt.Errorf("backup to %s: %s %w: write the backup elsewhere", dest, own, ErrOwnFile)
		}
	}
	return nil
}

// RestoreDatabase replaces the database with the backup (or snapshot, or
// plain database file) at src, once it is verified whole: through the
// running daemon, which swaps it under itself, else by itself. What is
// replaced is kept as *.before-restore. Counting goes on from the backup's
// totals: the kernel's counters fill in what they still hold since it was
// taken.
func RestoreDatabase(cfg *config.Config, src string) (*DBResult, error) {
	abs, err := filepath.Abs(src)
	if err != nil {
		return nil, err
	}
	res, err := control.Ask[DBResult](cfg.SocketPath(), control.Request{Op: control.OpRestore, Path: abs}, 5*time.Minute)
	if !errors.Is(err, control.ErrNoDaemon) {
		return res, err
	}
	if err := stageRestore(cfg, abs); err != nil {
		return nil, err
	}
	return swapRestored(cfg)
}

// restoringPath is where a verified backup waits to become the live file.
func restoringPath(cfg *config.Config) string { return cfg.LiveDatabase() + ".restoring" }

// stageRestore verifies src whole while copying it beside the live file;
// nothing is replaced yet.
func stageRestore(cfg *config.Config, src string) error {
	if err := os.MkdirAll(cfg.RuntimeDir, 0o700); err != nil {
		return fmt.Errorf("runtime_dir %s: %w", cfg.RuntimeDir, err)
	}
	if err := checkPaths(cfg); err != nil {
		return err
	}
	tmp := restoringPath(cfg)
	if err := store.Restore(src, tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("%w; nothing was replaced", err)
	}
	return nil
}

// swapRestored sets the live file and the snapshot aside, puts the staged
// backup in the live file's place and writes its snapshot. The database
// must be closed.
func swapRestored(cfg *config.Config) (*DBResult, error) {
	live, tmp := cfg.LiveDatabase(), restoringPath(cfg)
	res := &DBResult{Path: live}
	// The snapshot's journal goes with it, named as its journal, so the
	// kept snapshot restores whole.
	aside := [][2]string{{live, live + ".before-restore"}, {cfg.Database, cfg.Database + ".before-restore"},
		{store.JournalPath(cfg.Database), store.JournalPath(cfg.Database + ".before-restore")}}
	for _, p := range aside {
		if _, err := os.Stat(p[0]); err == nil {
			if err := os.Rename(p[0], p[1]); err != nil {
				os.Remove(tmp)
				return nil, fmt.Errorf("restore: keep %s: %w", p[0], err)
			}
			res.Kept = append(res.Kept, p[1])
		}
	}
	if err := os.Rename(tmp, live); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	db, err := store.Open(live, time.Second)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if fi, err := os.Stat(live); err == nil {
		res.Bytes = fi.Size()
	}
	p, err := db.Persist(cfg.Database, true)
	if res.Snapshot = p.Bytes; err != nil {
		return res, fmt.Errorf("restored %s, but %w", live, err)
	}
	return res, nil
}

// CompactDatabase shrinks the live database to what it holds and writes a
// snapshot of it: through the running daemon, else by itself.
func CompactDatabase(cfg *config.Config, opts Options) (*DBResult, error) {
	opts.defaults()
	res, err := control.Ask[DBResult](cfg.SocketPath(), control.Request{Op: control.OpCompact}, 5*time.Minute)
	if err == nil {
		return res, nil
	}
	if !errors.Is(err, control.ErrNoDaemon) {
		return nil, err
	}
	db, _, err := openLive(cfg, opts)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return compact(db, cfg)
}

func compact(db *store.DB, cfg *config.Config) (*DBResult, error) {
	before, after, err := db.Compact()
	if err != nil {
		return nil, err
	}
	res := &DBResult{Path: db.Path(), Before: before, Bytes: after}
	p, err := db.Persist(cfg.Database, true)
	if res.Snapshot = p.Bytes; err != nil {
		return res, fmt.Errorf("compacted %s, but %w", db.Path(), err)
	}
	return res, nil
}
