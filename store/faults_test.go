package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netmon-agent/netmon-agent/store/fstest"
)

// These tests put the database on real filesystems that fail as flash and
// tmpfs do: full, and read-only. They mount a small tmpfs of their own
// (root); with CI set, not being root fails them.

// smallFS mounts a tmpfs of size bytes on a new directory.
func smallFS(t *testing.T, size int) string {
	dir := t.TempDir()
	fstest.Tmpfs(t, dir, size)
	return dir
}

// addTraffic adds bytes with n host series that moved at 'at'.
func addTraffic(s *State, n int, at time.Time, bytes uint64) {
	for i := range n {
		mac := fmt.Sprintf("02:00:00:00:%02x:%02x", i/256, i%256)
		h := s.Hosts[mac]
		if h == nil {
			h = &Host{MAC: mac, FirstSeen: at}
			s.Hosts[mac] = h
		}
		h.Download.Bytes += bytes
		h.LastSeen = at
		s.AddDelta(HostSeries(mac, DirDownload), at, Counts{Packets: 1, Bytes: bytes})
	}
}

func TestStore_FullFilesystemKeepsTheBatch(t *testing.T) {
	dir := smallFS(t, 512<<10)
	path := filepath.Join(dir, "live.db")
	db, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close() }()
	s := sampleState()
	addTraffic(s, 20, t0, 100)
	if err := db.Commit(s); err != nil {
		t.Fatal(err)
	}
	filler := fstest.Fill(t, dir)
	// Enough new hosts and history that the file must grow.
	var failed int
	for i := range 20 {
		addTraffic(s, 400, t0.Add(time.Duration(i)*5*time.Minute), 1000)
		s.Counters["proxy/ipv4"].Total.Bytes += 1000
		if err := db.Commit(s); err != nil {
			if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), path) {
				t.Fatalf("commit on a full filesystem: %v; want ENOSPC naming %s", err, path)
			}
			failed++
		}
	}
	if failed == 0 {
		t.Fatal("no commit failed: the filesystem was not full")
	}
	if len(s.Deltas) == 0 || !s.Dirty() {
		t.Fatal("a failed commit dropped the batch")
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := db.Commit(s); err != nil {
		t.Fatalf("commit once space returned: %v", err)
	}
	db.Close()
	db, err = Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Verify(); err != nil {
		t.Fatal(err)
	}
	got, err := db.Load()
	if err != nil {
		t.Fatal(err)
	}
	if g, w := got.Counters["proxy/ipv4"].Total.Bytes, s.Counters["proxy/ipv4"].Total.Bytes; g != w {
		t.Errorf("total %d after reopening, want %d", g, w)
	}
	if len(got.Hosts) != 400 {
		t.Errorf("%d hosts after reopening, want 400", len(got.Hosts))
	}
	days, err := db.History(Day, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var sum uint64
	for _, b := range days {
		for _, m := range b.Moved {
			sum += m.Bytes
		}
	}
	if want := uint64(20*100 + 20*400*1000); sum != want {
		t.Errorf("history holds %d bytes, want %d: deltas of the failed commits were lost", sum, want)
	}
}

func TestStore_SnapshotOnFullFlashKeepsTheOldOne(t *testing.T) {
	db := openTest(t)
	s := sampleState()
	addTraffic(s, 300, t0, 100)
	if err := db.Commit(s); err != nil {
		t.Fatal(err)
	}
	flash := smallFS(t, 64<<10)
	dest := filepath.Join(flash, "netmon.db")
	small := openTest(t)
	if err := small.Commit(sampleState()); err != nil {
		t.Fatal(err)
	}
	if _, err := small.Snapshot(dest); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(dest)
	fstest.Fill(t, flash)
	_, err := db.Snapshot(dest)
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), dest) {
		t.Fatalf("snapshot to full flash: %v; want ENOSPC naming %s", err, dest)
	}
	after, _ := os.ReadFile(dest)
	if string(before) != string(after) {
		t.Error("the failed snapshot changed the old one")
	}
	left, _ := filepath.Glob(dest + ".tmp-*")
	if len(left) > 0 {
		t.Errorf("the failed snapshot left %v", left)
	}
}

func TestStore_ReadOnlyDirectoryIsNamed(t *testing.T) {
	dir := smallFS(t, 1<<20)
	db := openTest(t)
	if err := db.Commit(sampleState()); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(dir, "netmon.db")
	if _, err := db.Snapshot(dest); err != nil {
		t.Fatal(err)
	}
	fstest.ReadOnly(t, dir)
	if _, err := db.Snapshot(dest); err == nil || !strings.Contains(err.Error(), dir) || !errors.Is(err, syscall.EROFS) {
		t.Errorf("snapshot to a read-only directory: %v; want EROFS naming %s", err, dir)
	}
	if err := Check(dest); err != nil {
		t.Errorf("the snapshot on the read-only filesystem: %v", err)
	}
	if _, err := Open(filepath.Join(dir, "run", "live.db"), time.Second); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "run")) {
		t.Errorf("open in a missing directory on a read-only filesystem: %v; want an error naming it", err)
	}
	if _, err := Open(filepath.Join(dir, "live.db"), time.Second); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "live.db")) {
		t.Errorf("open on a read-only filesystem: %v; want an error naming the file", err)
	}
}

// A journal record on a full flash fails and is cut off again: the
// journal stays what it was, the next record goes where the failed one
// would have, and once there is room the flash restores to the live file.
func TestPersist_RecordOnFullFlashLeavesTheJournalWhole(t *testing.T) {
	flash := smallFS(t, 256<<10)
	db := openTest(t)
	dest := filepath.Join(flash, "netmon.db")
	s := sampleState()
	addTraffic(s, 8, t0, 10)
	if err := db.Commit(s); err != nil {
		t.Fatal(err)
	}
	for i := range 2 { // a snapshot, then a journal with a record
		s.LastSample = t0.Add(time.Duration(i) * time.Minute)
		s.Touch()
		if err := db.Commit(s); err != nil {
			t.Fatal(err)
		}
		if _, err := db.PersistAll(dest); err != nil {
			t.Fatal(err)
		}
	}
	filler := fstest.Fill(t, flash)
	before, _ := os.ReadFile(JournalPath(dest))
	failed := 0
	for i := 1; i <= 50 && failed == 0; i++ {
		addTraffic(s, 300, t0.Add(time.Duration(i)*time.Hour), 100) // records bigger than a block's slack
		if err := db.Commit(s); err != nil {
			t.Fatal(err)
		}
		if _, err := db.PersistAll(dest); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("record on a full flash: %v, want ENOSPC", err)
			}
			failed++
			continue
		}
		before, _ = os.ReadFile(JournalPath(dest))
	}
	if failed == 0 {
		t.Fatal("no record failed: the flash was not full")
	}
	if after, _ := os.ReadFile(JournalPath(dest)); !bytes.Equal(before, after) {
		t.Errorf("the failed record changed the journal: %d bytes before, %d after", len(before), len(after))
	}
	os.Remove(filler)
	if p, err := db.PersistAll(dest); err != nil || p.Full {
		t.Fatalf("once there is room: %+v, %v; want a journal record", p, err)
	}
	if got, rep := restoredDump(t, dest); got != liveDump(t, db) || rep.Dropped != 0 {
		t.Errorf("replay %+v; restored equals live: %v", rep, got == liveDump(t, db))
	}
}
