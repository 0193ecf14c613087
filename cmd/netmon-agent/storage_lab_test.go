package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netmon-agent/netmon-agent/store/fstest"
)

// newAddresses gives LAN host a n more IPv6 addresses and sends a packet
// to the internet from each: new set elements, so the database must grow.
func (l *lab) newAddresses(from, n int) {
	l.t.Helper()
	for i := from; i < from+n; i++ {
		addr := fmt.Sprintf("2001:db8:1::%x", 0x1000+i)
		l.must("a", "ip", "-6", "addr", "add", addr+"/64", "dev", "eth0", "nodad")
		l.helper("a", "udpfrom", "["+addr+"]:0", "[2001:db8:ff::2]:9000", "200")
	}
}

// The live database's tmpfs fills up under the running daemon: commits
// fail, the log says so once, the report stays exact from memory, and once
// space returns the batch is committed: after a SIGKILL the totals and the
// history are all there. Then the flash fills: the snapshot fails once in
// the log, the old one stays whole, and the next snapshot after space
// returns succeeds.
func TestLab_FullStorage(t *testing.T) {
	requireLab(t)
	l := newLab(t, "nft")
	data := t.TempDir()
	fstest.Tmpfs(t, filepath.Join(data, "run"), 1<<20)
	fstest.Tmpfs(t, filepath.Join(data, "flash"), 256<<10)
	l.writeConfigData(data, labMeters)
	l.startDaemon()
	l.traffic(1)
	l.expectExact("before the filesystem filled")
	l.fullRuntimeDir(data)
	l.fullFlash(data)
}

// fullRuntimeDir fills the live database's tmpfs under data/run until a
// commit fails: the totals stay exact, the fault is logged once, and once
// space returns and the daemon is killed the daily history holds the
// batch of the full filesystem.
func (l *lab) fullRuntimeDir(data string) {
	t := l.t
	t.Helper()
	filler := fstest.Fill(t, filepath.Join(data, "run"))
	deadline := time.Now().Add(30 * time.Second)
	added := 0
	for !strings.Contains(l.log.String(), "no space left on device") {
		if time.Now().After(deadline) {
			t.Fatalf("no commit failed on a full tmpfs after %d new addresses\n%s", added, l.log.String())
		}
		l.newAddresses(added, 40)
		added += 40
		time.Sleep(1200 * time.Millisecond) // a commit interval
	}
	l.traffic(1)
	time.Sleep(2500 * time.Millisecond) // two more failing commits
	l.expectExact("while the live database's filesystem is full")
	if n := strings.Count(l.log.String(), "no space left on device"); n != 1 {
		t.Errorf("the full filesystem was logged %d times, want once\n%s", n, l.log.String())
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	live := filepath.Join(data, "run", "live.db")
	l.waitFor(func() bool { return strings.Contains(l.log.String(), "committing to "+live+" works again") }, "a commit once space returned")
	l.stopDaemon(syscall.SIGKILL)
	l.startDaemon()
	got := l.expectExact("after space returned and a SIGKILL")
	var days historyJSON
	l.agentJSON(&days, "report", "--days", "--json")
	for _, name := range []string{"proxy", "offnet", "wan_in", "v6up"} {
		var sum uint64
		for _, r := range days.Rows {
			sum += r.Meters[name]
		}
		if sum != got[name].Bytes {
			t.Errorf("meter %s: %d bytes in the daily history, %d in the total: the batch of the full filesystem was lost", name, sum, got[name].Bytes)
		}
	}
}

// fullFlash fills the flash under data/flash until a journal record fails
// (the daemon wrote its snapshot at start; a small record may still fit in
// the slack of the journal's last block, so traffic and samples go on
// until one does not): logged once, the snapshot on flash unchanged, db
// check content; with room again the snapshot is written and the totals
// are exact.
func (l *lab) fullFlash(data string) {
	t := l.t
	t.Helper()
	snapshot := filepath.Join(data, "flash", "netmon.db")
	before, err := os.ReadFile(snapshot)
	if err != nil {
		t.Fatal(err)
	}
	filler := fstest.Fill(t, filepath.Join(data, "flash"))
	full := func() int {
		n := 0
		for _, line := range strings.Split(l.log.String(), "\n") {
			if strings.Contains(line, snapshot) && strings.Contains(line, "no space left on device") {
				n++
			}
		}
		return n
	}
	for i := 0; i < 20 && full() == 0; i++ {
		l.traffic(1)
		l.agent("sample") // asks for a snapshot
	}
	l.agent("sample")
	if n := strings.Count(l.log.String(), "the snapshot to "+snapshot+" works again"); n != 0 {
		t.Errorf("log says the snapshot works again %d times before it failed", n)
	}
	if n := full(); n != 1 {
		t.Errorf("the full flash was logged %d times, want once\n%s", n, l.log.String())
	}
	if after, _ := os.ReadFile(snapshot); string(after) != string(before) {
		t.Error("a failed snapshot changed the one on flash")
	}
	if out := l.agent("db", "check"); strings.Count(out, "ok  ") != 2 {
		t.Errorf("db check with the flash full:\n%s", out)
	}
	os.Remove(filler)
	l.agent("sample")
	if !strings.Contains(l.log.String(), "the snapshot to "+snapshot+" works again") {
		t.Errorf("no snapshot once the flash had room\n%s", l.log.String())
	}
	l.expectExact("after the flash had room again")
}

// Directories that are missing are made, closed to others; what we write
// is root's alone.
func TestLab_FileModes(t *testing.T) {
	requireLab(t)
	l := newLab(t, "legacy")
	data := filepath.Join(t.TempDir(), "not", "there")
	l.writeConfigData(data, labMeters)
	l.startDaemon()
	l.traffic(1)
	l.agent("sample")
	for path, want := range map[string]os.FileMode{
		filepath.Join(data, "run"):                os.ModeDir | 0o700,
		filepath.Join(data, "run", "live.db"):     0o600,
		filepath.Join(data, "run", "netmon.sock"): os.ModeSocket | 0o600,
		filepath.Join(data, "flash"):              os.ModeDir | 0o700,
		filepath.Join(data, "flash", "netmon.db"): 0o600,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Error(err)
			continue
		}
		if got := fi.Mode() & (os.ModeType | os.ModePerm); got != want {
			t.Errorf("%s: mode %v, want %v", path, got, want)
		}
	}
}

// Flash gone read-only (a failing overlay remounts so): `start` says which
// path and fails; the daemon says it once and goes on counting exactly.
func TestLab_ReadOnlyFlash(t *testing.T) {
	requireLab(t)
	l := newLab(t, "nft")
	data := t.TempDir()
	flash := filepath.Join(data, "flash")
	fstest.Tmpfs(t, flash, 1<<20)
	fstest.ReadOnly(t, flash)
	l.writeConfigData(data, labMeters)
	out, err := l.exec("r", l.agentArgs("start")...)
	want := "snapshot to " + filepath.Join(flash, "netmon.db") + ": "
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-1] // before it, what start installed
	if err == nil || !strings.Contains(last, want) || !strings.HasSuffix(last, "read-only file system") {
		t.Errorf("start with read-only flash: %v\n%s\nwant it to end in a line with %q", err, out, want)
	}
	l.startDaemon()
	l.traffic(1)
	l.agent("sample")
	l.agent("sample")
	l.expectExact("with read-only flash")
	if n := strings.Count(l.log.String(), "read-only file system"); n != 1 {
		t.Errorf("read-only flash logged %d times, want once\n%s", n, l.log.String())
	}
}

// A backup taken while the daemon runs is whole; compaction under the
// daemon loses nothing; a restore of a damaged file is refused, replacing
// nothing; and restoring the backup after more traffic, under the running
// daemon or with it stopped, loses nothing either: the kernel's counters
// still hold what came since, and the backup's baselines measure it.
func TestLab_BackupCompactRestore(t *testing.T) {
	requireLab(t)
	l := newLab(t, "nft")
	l.startDaemon()
	l.traffic(1)
	backup := filepath.Join(l.dir, "backups", "netmon-backup.db")
	if err := os.MkdirAll(filepath.Dir(backup), 0o700); err != nil {
		t.Fatal(err)
	}
	if out := l.agent("db", "backup", backup); !strings.Contains(out, "backup written to "+backup) {
		t.Errorf("db backup: %s", out)
	}
	if out := l.agent("db", "check", backup); !strings.HasPrefix(out, "ok ") {
		t.Errorf("db check of the backup: %s", out)
	}
	// db backup - (LuCI's download) is the same backup on standard output,
	// and leaves nothing in the runtime directory; the restore below uses it.
	piped := filepath.Join(l.dir, "backups", "piped.db")
	cmd := exec.Command("ip", append([]string{"netns", "exec", l.ns("r")}, l.agentArgs("db", "backup", "-")...)...)
	cmd.Env = append(os.Environ(), "NETMON_BOOT_ID_FILE="+l.bootFile)
	if data, err := cmd.Output(); err != nil || os.WriteFile(piped, data, 0o600) != nil {
		t.Fatalf("db backup -: %v", err)
	}
	if out := l.agent("db", "check", piped); !strings.HasPrefix(out, "ok ") {
		t.Errorf("db check of the backup from standard output: %s", out)
	}
	if left, _ := filepath.Glob(filepath.Join(l.dir, "run", "backup-*")); len(left) > 0 {
		t.Errorf("db backup - left %v behind", left)
	}
	backup = piped
	l.traffic(1)
	if out := l.agent("db", "compact"); !strings.Contains(out, "compacted ") {
		t.Errorf("db compact: %s", out)
	}
	l.expectExact("after compaction under the daemon")

	// Under the running daemon: a damaged file is refused and the daemon
	// counts on; the backup is swapped in and the totals stay exact.
	live := filepath.Join(l.dir, "run", "live.db")
	whole, _ := os.ReadFile(backup)
	bad := filepath.Join(l.dir, "backups", "bad.db")
	os.WriteFile(bad, whole[:len(whole)/3], 0o600)
	if out, err := l.exec("r", l.agentArgs("db", "restore", bad)...); err == nil || !strings.Contains(out, "nothing was replaced") {
		t.Errorf("restore of a damaged file under the daemon: %v\n%s", err, out)
	}
	l.traffic(1)
	l.expectExact("after a refused restore under the daemon")
	online := filepath.Join(l.dir, "backups", "upload.db")
	os.WriteFile(online, whole, 0o600)
	out := l.agent("db", "restore", "--remove", online)
	if !strings.Contains(out, "restored "+live) || !strings.Contains(out, live+".before-restore") {
		t.Errorf("db restore under the daemon: %s", out)
	}
	if _, err := os.Stat(online); !os.IsNotExist(err) {
		t.Errorf("db restore --remove left %s: %v", online, err)
	}
	l.expectExact("after restoring the backup under the daemon")
	l.traffic(1)
	l.expectExact("after more traffic on the restored database")

	// With the daemon stopped, the same.
	l.stopDaemon(syscall.SIGTERM)
	before, _ := os.ReadFile(live)
	if out, err := l.exec("r", l.agentArgs("db", "restore", bad)...); err == nil || !strings.Contains(out, "nothing was replaced") {
		t.Errorf("restore of a damaged file: %v\n%s", err, out)
	}
	if after, _ := os.ReadFile(live); string(after) != string(before) {
		t.Error("a refused restore changed the live database")
	}
	l.traffic(1)
	out = l.agent("db", "restore", backup)
	if !strings.Contains(out, "restored "+live) || !strings.Contains(out, live+".before-restore") {
		t.Errorf("db restore: %s", out)
	}
	l.startDaemon()
	l.traffic(1)
	l.expectExact("after restoring the backup")
}

// Power loss mid-commit, with the real daemon: it samples and commits
// every 20 ms and snapshots every 200 ms under steady traffic, and is
// killed with SIGKILL at a random moment, 200 times. Every time both files
// pass db check and no total went backwards; at the end every meter equals
// its oracle exactly.
func TestLab_KilledMidCommit(t *testing.T) {
	requireLab(t)
	l := newLab(t, "nft")
	l.interval, l.commit, l.persist = "20ms", "20ms", "200ms"
	l.writeConfig(labMeters)
	l.agent("start") // our rules first: the oracle counts from the first packet
	flood := exec.Command("ip", "netns", "exec", l.ns("a"), selfPath(), "flood", "198.18.1.1:9000", "600")
	flood.Env = append(flood.Environ(), "NETMON_LAB_HELPER=flood")
	if err := flood.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { flood.Process.Kill(); flood.Wait() }()
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	before := map[string]uint64{}
	kills := 200
	if testing.Short() {
		kills = 20
	}
	for i := range kills {
		l.startDaemon()
		time.Sleep(time.Duration(rng.Intn(60)) * time.Millisecond)
		l.stopDaemon(syscall.SIGKILL)
		if out, err := l.exec("r", l.agentArgs("db", "check")...); err != nil || strings.Count(out, "ok  ") != 2 {
			t.Fatalf("kill %d: db check: %v\n%s", i, err, out)
		}
		for name, m := range l.report() {
			if m.Bytes < before[name] {
				t.Fatalf("kill %d: meter %s went back from %d to %d bytes", i, name, before[name], m.Bytes)
			}
			before[name] = m.Bytes
		}
	}
	flood.Process.Kill()
	flood.Wait()
	l.startDaemon()
	l.traffic(1)
	l.expectExact(fmt.Sprintf("after %d SIGKILLs mid-commit", kills))
	if before["proxy"] == 0 {
		t.Error("the flood was never counted")
	}
}

// fillTo writes dir/filler until dir's filesystem has about free bytes left.
func fillTo(t *testing.T, dir string, free int64) {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	avail := int64(st.Bavail) * st.Bsize
	if avail <= free {
		return
	}
	if err := os.WriteFile(filepath.Join(dir, "filler"), make([]byte, avail-free), 0o600); err != nil {
		t.Fatal(err)
	}
}

// db restore on a flash with 8 KB free, under the daemon and without it:
// refused up front in one line, nothing replaced; after a power cut the
// block made before is still in force and the last sample is known. With
// room, the restore goes through and the old snapshot is kept beside it
// without taking flash.
func TestLab_RestoreOnAFullFlash(t *testing.T) {
	requireLab(t)
	l := newLab(t, "nft")
	data := t.TempDir()
	fstest.Tmpfs(t, filepath.Join(data, "flash"), 2<<20)
	l.writeConfigData(data, labMeters)
	l.startDaemon()
	l.traffic(1)
	l.helper("a", "udp", "198.19.0.2:9000", "3", "100")
	l.agent("sample")
	backup := filepath.Join(l.dir, "backup.db")
	l.agent("db", "backup", backup)
	// The backup grows big: a year of history of many hosts makes a
	// snapshot larger than the room left.
	big := filepath.Join(l.dir, "big.db")
	seed := exec.Command("go", "run", "../../scripts/seedhistory", "-db", big, "-macs", "02:00:00:02:00:04-ff", "-days", "60")
	if out, err := seed.CombinedOutput(); err != nil {
		t.Fatalf("seedhistory: %v\n%s", err, out)
	}
	gz := gzipFile(t, big)
	l.agent("block", "198.18.1.2", "--reason", "before the restore")
	flash := filepath.Join(data, "flash")
	snap := filepath.Join(flash, "netmon.db")
	// An earlier restore's kept snapshot: a refused restore leaves it.
	earlier := snap + ".before-restore"
	os.WriteFile(earlier, []byte("an earlier restore's snapshot"), 0o600)
	fillTo(t, flash, 8<<10)
	// A snapshot is refused up front (its size is known); a plain
	// database file when its snapshot does not fit.
	for _, c := range []struct {
		daemon bool
		src    string
	}{{true, gz}, {true, big}, {false, gz}, {false, big}} {
		if !c.daemon && l.daemon.ProcessState == nil {
			l.stopDaemon(syscall.SIGTERM)
		}
		before, _ := os.ReadFile(snap)
		out, err := l.exec("r", l.agentArgs("db", "restore", c.src)...)
		if err == nil || !strings.Contains(out, "nothing was replaced") || strings.Count(strings.TrimSpace(out), "\n") > 0 {
			t.Errorf("restore of %s on a full flash (daemon %v): %v\n%s", filepath.Base(c.src), c.daemon, err, out)
		}
		t.Logf("restore of %s (daemon %v): %s", filepath.Base(c.src), c.daemon, out)
		if after, _ := os.ReadFile(snap); string(after) != string(before) {
			t.Errorf("a refused restore (daemon %v) changed the snapshot", c.daemon)
		}
	}
	if b, _ := os.ReadFile(earlier); string(b) != "an earlier restore's snapshot" {
		t.Errorf("a refused restore changed the kept snapshot of an earlier one: %q", b)
	}
	l.startDaemon()
	l.powerCut("55555555-5555-5555-5555-555555555555")
	l.startDaemon()
	if out := l.agent("blocks"); !strings.Contains(out, macA) {
		t.Errorf("blocks after a refused restore and a power cut:\n%s", out)
	}
	if out := l.agent("report"); strings.Contains(out, "never") {
		t.Errorf("report after a refused restore and a power cut:\n%s", out)
	}
	// With room: restored, the old snapshot kept under a second name.
	os.Remove(filepath.Join(flash, "filler"))
	out := l.agent("db", "restore", backup)
	if !strings.Contains(out, "restored ") || !strings.Contains(out, snap+".before-restore") {
		t.Errorf("db restore with room: %s", out)
	}
	l.powerCut("66666666-6666-6666-6666-666666666666")
	l.startDaemon()
	if out := l.agent("blocks"); strings.Contains(out, macA) {
		t.Errorf("the restored backup (made before the block) still has it:\n%s", out)
	}
}

// gzipFile writes path.gz, a gzip of path, and returns its name.
func gzipFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(data)
	zw.Close()
	if err := os.WriteFile(path+".gz", b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path + ".gz"
}
