package store

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Hosts that came and went leave free pages bbolt never gives back;
// compaction does, and keeps everything else as it was, with the database
// open and usable.
func TestStore_CompactShrinksAndKeepsEverything(t *testing.T) {
	db := openTest(t)
	s := sampleState()
	addTraffic(s, 2000, t0, 100)
	if err := db.Commit(s); err != nil {
		t.Fatal(err)
	}
	for mac := range s.Hosts {
		if mac[len(mac)-1] != '0' {
			delete(s.Hosts, mac)
		}
	}
	s.Touch()
	if err := db.Commit(s); err != nil {
		t.Fatal(err)
	}
	want, err := db.Load()
	if err != nil {
		t.Fatal(err)
	}
	before, after, err := db.Compact()
	if err != nil {
		t.Fatal(err)
	}
	if after >= before {
		t.Errorf("compaction took %d bytes to %d", before, after)
	}
	if err := db.Verify(); err != nil {
		t.Fatal(err)
	}
	got, err := db.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Hosts) != len(want.Hosts) || got.Counters["proxy/ipv4"].Total != want.Counters["proxy/ipv4"].Total {
		t.Errorf("after compaction: %d hosts, total %+v; before: %d, %+v", len(got.Hosts), got.Counters["proxy/ipv4"].Total, len(want.Hosts), want.Counters["proxy/ipv4"].Total)
	}
	addTraffic(s, 10, t0.Add(time.Hour), 5)
	if err := db.Commit(s); err != nil {
		t.Fatalf("commit after compaction: %v", err)
	}
	if left, _ := filepath.Glob(db.Path() + ".compact*"); len(left) > 0 {
		t.Errorf("compaction left %v", left)
	}
}

// A backup may be a snapshot or a plain database file (a copy of
// live.db); either is verified before it takes the live file's place.
func TestStore_RestoreTakesSnapshotsAndPlainFiles(t *testing.T) {
	db := openTest(t)
	if err := db.Commit(sampleState()); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	snap := filepath.Join(dir, "backup.db.gz")
	if _, err := db.Snapshot(snap); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, src := range []string{snap, db.Path()} {
		dest := filepath.Join(dir, "restored.db")
		os.Remove(dest)
		if err := Restore(src, dest); err != nil {
			t.Fatalf("restore %s: %v", src, err)
		}
		r, err := OpenReadOnly(dest, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		st, err := r.Load()
		r.Close()
		if err != nil || st.Counters["proxy/ipv4"] == nil || st.Counters["proxy/ipv4"].Total.Bytes != 3000 {
			t.Errorf("restored from %s: %v %+v", src, err, st)
		}
	}
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)
	if err := Restore(empty, filepath.Join(dir, "x.db")); err == nil {
		t.Error("an empty file was restored")
	}
}
