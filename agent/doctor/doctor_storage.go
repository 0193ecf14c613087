package doctor

import (
	"fmt"
	"path/filepath"

	"github.com/netmon-agent/netmon-agent/agent"
)

// The storage side of doctor: where the databases are, their room, their
// health.

// storage: where the databases are, their room, and their health.
func (d *doctor) storage() {
	flashDir, liveDir := filepath.Dir(d.cfg.Database), d.cfg.RuntimeDir
	if fs, err := d.sys.Statfs(existing(d.sys, flashDir)); err == nil {
		switch {
		case fs.ReadOnly:
			d.fail("snapshot", fmt.Sprintf("%s is on a read-only filesystem: no snapshot is written, a reboot loses what was counted", flashDir),
				"point option database at a writable directory on flash (the default /etc/netmon)")
		case fs.Type == "tmpfs" || fs.Type == "ramfs":
			d.warn("snapshot", fmt.Sprintf("%s is on %s: history and totals are lost at every reboot", d.cfg.Database, fs.Type),
				"option database '/etc/netmon/netmon.db' (on flash)")
		default:
			d.ok("snapshot", fmt.Sprintf("%s on %s, written every %s", d.cfg.Database, fs.Type, d.cfg.PersistInterval))
		}
		d.room("snapshot space", flashDir, fs, d.cfg.Database)
	} else {
		d.fail("snapshot", fmt.Sprintf("%s: %v", flashDir, err), "")
	}
	if fs, err := d.sys.Statfs(existing(d.sys, liveDir)); err == nil {
		switch {
		case fs.ReadOnly:
			d.fail("live database", fmt.Sprintf("runtime_dir %s is on a read-only filesystem", liveDir), "option runtime_dir '/var/lib/netmon' (tmpfs on OpenWrt)")
		case fs.Type != "tmpfs" && fs.Type != "ramfs":
			d.warn("live database", fmt.Sprintf("runtime_dir %s is on %s, not tmpfs: every commit writes there, which wears flash", liveDir, fs.Type),
				"option runtime_dir on a tmpfs (/var/lib/netmon on OpenWrt, /run/netmon elsewhere); on a disk rather than flash this is harmless")
		default:
			d.ok("live database", fmt.Sprintf("%s on %s", d.cfg.LiveDatabase(), fs.Type))
		}
		d.room("live space", liveDir, fs, d.cfg.LiveDatabase())
	}
	checks := agent.CheckDatabases(d.cfg, nil)
	if len(checks) == 0 {
		d.warn("database", "none yet", "netmon-agent start")
		return
	}
	for _, c := range checks {
		if c.JournalTail {
			d.warn("database", c.Error, "nothing: a power loss or a full flash cut a write short, and what it held is lost")
			return
		}
		if c.Error != "" {
			d.fail("database", c.Error, "the daemon sets a damaged file aside at its next start (service netmon-agent restart); db restore FILE brings back a backup")
			return
		}
	}
	d.ok("database", fmt.Sprintf("%d files verified whole", len(checks)))
}

// room warns when dir cannot hold another copy of file.
func (d *doctor) room(check, dir string, fs Filesystem, file string) {
	var size int64
	if fi, err := d.sys.Stat(file); err == nil {
		size = fi.Size()
	}
	need := 2*size + 256<<10
	switch {
	case fs.Free < 64<<10:
		d.fail(check, fmt.Sprintf("%s has %s free: writes fail (what is counted waits in memory)", dir, kib(fs.Free)), "free space on that filesystem")
	case fs.Free < need:
		d.warn(check, fmt.Sprintf("%s has %s free, less than twice the database (%s)", dir, kib(fs.Free), kib(size)), "free space, or db compact")
	default:
		d.ok(check, fmt.Sprintf("%s free in %s", kib(fs.Free), dir))
	}
}

func kib(n int64) string {
	if n >= 10<<20 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d KiB", n>>10)
}

// existing is dir or its nearest parent that exists: the filesystem a
// directory we are yet to make will be on.
func existing(sys System, dir string) string {
	for dir != "/" && dir != "." {
		if _, err := sys.Stat(dir); err == nil {
			return dir
		}
		dir = filepath.Dir(dir)
	}
	return dir
}
