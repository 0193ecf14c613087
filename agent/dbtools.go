package agent

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/account"
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
	// OtherBoot says the restored database was last counting in another
	// boot (another router, or before a reboot): its baselines are not
	// used, the kernel's counters start afresh here, and counting goes on
	// from the restored totals.
	OtherBoot bool `json:"other_boot,omitempty"`
}

// BackupDatabase writes a consistent copy of the database to dest: through
// the running daemon (what it counted so far is committed first), else from
// the live file or the snapshot on flash. A portable one (store's
// portable.go) restores on a machine of either byte order; the default is
// the snapshot, which restores faster on its own kind.
func BackupDatabase(cfg *config.Config, dest string, portable bool) (*DBResult, error) {
	dest, err := filepath.Abs(dest)
	if err != nil {
		return nil, err
	}
	if err := backupTarget(cfg, dest); err != nil {
		return nil, err
	}
	res, err := control.Ask[DBResult](cfg.SocketPath(), control.Request{Op: control.OpBackup, Path: dest, Portable: portable}, time.Minute)
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
		n, err = writeBackup(db, dest, portable)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &DBResult{Path: dest, Bytes: n}, nil
}

// writeBackup writes db's snapshot, or its portable backup, to dest.
func writeBackup(db *store.DB, dest string, portable bool) (int64, error) {
	if portable {
		return db.WritePortableFile(dest)
	}
	return db.Snapshot(dest)
}

// WriteBackup writes a backup to w (db backup -, for LuCI's download):
// by way of a file in the runtime directory, RAM rather than flash,
// removed after. It returns the bytes written.
func WriteBackup(cfg *config.Config, w io.Writer, portable bool) (int64, error) {
	if err := os.MkdirAll(cfg.RuntimeDir, 0o700); err != nil {
		return 0, fmt.Errorf("runtime_dir %s: %w", cfg.RuntimeDir, err)
	}
	dir, err := os.MkdirTemp(cfg.RuntimeDir, "backup-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	r, err := BackupDatabase(cfg, filepath.Join(dir, "netmon-backup.db"), portable)
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
// replaced is kept as *.before-restore; the snapshot in force stays in
// force until the new one is whole on flash. Counting goes on from the backup's
// totals: the kernel's counters fill in what they still hold since it was
// taken.
func RestoreDatabase(cfg *config.Config, opts Options, src string) (*DBResult, error) {
	opts.Defaults()
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
	return swapRestored(cfg, abs, bootNow(opts.BootIDPath))
}

// bootNow is the id of this boot, "" when unreadable (then no restore is
// said to come from another boot).
func bootNow(path string) string {
	id, _ := account.BootID(path)
	return id
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

// swapRestored puts the staged backup in force: its snapshot first, on
// flash, then the live file. The snapshot in force stays in force until
// the new one is whole on flash (the new one is written beside it, synced,
// then renamed over it): a full flash or a power cut on the way leaves the
// old one and its journal as they were. What is replaced is kept as
// *.before-restore: on flash by hard links, which take no room. The
// database must be closed.
func swapRestored(cfg *config.Config, src, boot string) (*DBResult, error) {
	live, staged := cfg.LiveDatabase(), restoringPath(cfg)
	defer os.Remove(staged) // gone by its rename once it is in force
	if err := roomForRestore(cfg, src); err != nil {
		return nil, err
	}
	res := &DBResult{Path: live}
	links, err := linkOnFlash(cfg.Database)
	if err != nil {
		return nil, err
	}
	db, err := store.Open(staged, time.Second)
	if err != nil {
		links.drop()
		return nil, fmt.Errorf("restore: %w", err)
	}
	if st, err := db.Load(); err == nil {
		res.OtherBoot = st.Boot != "" && boot != "" && st.Boot != boot
	}
	p, err := db.Persist(cfg.Database, true)
	db.Close()
	if err != nil {
		links.drop()
		return nil, fmt.Errorf("restore: %w; nothing was replaced: the snapshot in force stays", err)
	}
	res.Snapshot, res.Kept = p.Bytes, links.keep(cfg.Database)
	if _, err := os.Stat(live); err == nil {
		if err := os.Rename(live, live+".before-restore"); err != nil {
			return res, fmt.Errorf("restore: keep %s: %w", live, err)
		}
		res.Kept = append([]string{live + ".before-restore"}, res.Kept...)
	}
	if err := os.Rename(staged, live); err != nil {
		return res, fmt.Errorf("restore: %w", err)
	}
	if fi, err := os.Stat(live); err == nil {
		res.Bytes = fi.Size()
	}
	return res, nil
}

// flashLinks are second names of the snapshot in force and its journal,
// taken before a restore replaces them: hard links, which take no room.
type flashLinks [][2]string // {link, its name once the restore is done}

// linkOnFlash links the snapshot at db and its journal to temporary
// names; an earlier restore's *.before-restore stay until keep.
func linkOnFlash(db string) (flashLinks, error) {
	var links flashLinks
	for _, p := range [][2]string{{db, db + ".before-restore"}, {store.JournalPath(db), store.JournalPath(db + ".before-restore")}} {
		if _, err := os.Lstat(p[0]); err != nil {
			continue
		}
		tmp := p[1] + ".new"
		os.Remove(tmp)
		if err := os.Link(p[0], tmp); err != nil {
			links.drop()
			return nil, fmt.Errorf("restore: keep %s: %w; nothing was replaced", p[0], err)
		}
		links = append(links, [2]string{tmp, p[1]})
	}
	return links, nil
}

// drop removes the links: the restore did not happen.
func (l flashLinks) drop() {
	for _, p := range l {
		os.Remove(p[0])
	}
}

// keep gives the links of db's snapshot and journal their
// *.before-restore names, in place of an earlier restore's, and returns
// them.
func (l flashLinks) keep(db string) []string {
	os.Remove(store.JournalPath(db + ".before-restore")) // of an older snapshot, unless linked anew below
	var kept []string
	for _, p := range l {
		if err := os.Rename(p[0], p[1]); err == nil {
			kept = append(kept, p[1])
		}
	}
	return kept
}

// roomForRestore refuses a restore up front when the flash cannot hold
// the new snapshot beside the one in force: a compressed backup's own size
// is about what its snapshot takes. (A plain database file compresses; its
// snapshot is only known once written, which a full flash then refuses
// with nothing replaced.)
func roomForRestore(cfg *config.Config, src string) error {
	need, err := store.SnapshotSize(src)
	if err != nil || need == 0 {
		return nil
	}
	dir := filepath.Dir(cfg.Database)
	free, err := store.FreeSpace(dir)
	if err != nil || free >= need+store.FlashMargin {
		return nil
	}
	return fmt.Errorf("restore: %s has %d bytes free and the restored snapshot needs about %d more beside the one in force; nothing was replaced: free room on flash (or move option database), then restore again", dir, free, need+store.FlashMargin-free)
}

// CompactDatabase shrinks the live database to what it holds and writes a
// snapshot of it: through the running daemon, else by itself.
func CompactDatabase(cfg *config.Config, opts Options) (*DBResult, error) {
	opts.Defaults()
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

// Compact compacts the live database a holds and writes a snapshot of it;
// a's batch must be committed.
func (a *Agent) Compact() (*DBResult, error) { return compact(a.db, a.cfg) }

// Backup writes a snapshot (or a portable backup) of the live database a
// holds to dest, refusing
// one of the database's own files or a directory; a's batch must be
// committed.
func (a *Agent) Backup(dest string, portable bool) (*DBResult, error) {
	if err := backupTarget(a.cfg, dest); err != nil {
		return nil, err
	}
	n, err := writeBackup(a.db, dest, portable)
	return &DBResult{Path: dest, Bytes: n}, err
}

// Restore replaces a's database with the backup at src under a running
// agent: the backup is verified whole before anything changes; then a
// closes, the files are swapped as RestoreDatabase swaps them, and an agent
// opens on the restored state with a's config and options. It returns the
// agent to go on with: a itself when nothing was replaced, nil when the
// database could not be opened again (the error says why).
func (a *Agent) Restore(src string) (*Agent, *DBResult, error) {
	if err := stageRestore(a.cfg, src); err != nil {
		return a, nil, err
	}
	if err := a.Close(); err != nil {
		a.opts.Logf("restore: closing the live database: %v", err)
	}
	res, err := swapRestored(a.cfg, src, bootNow(a.opts.BootIDPath))
	next, oerr := Open(a.cfg, a.opts)
	if oerr != nil {
		return nil, res, fmt.Errorf("reopen the database after the restore: %w", oerr)
	}
	return next, res, err
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
