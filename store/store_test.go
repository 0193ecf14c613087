package store

import (
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// openTest opens a live database in a temporary directory.
func openTest(t *testing.T) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "live.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func sampleState() *State {
	s := NewState()
	s.Boot = "boot-1"
	s.LastSample = t0
	s.Counters[CounterKey("proxy", "ipv4")] = &Counter{
		Meter: "proxy", Family: "ipv4", Total: Counts{Packets: 3, Bytes: 3000}, Since: t0,
		Baseline: Baseline{Generation: "g1", Boot: "boot-1", Counts: Counts{Packets: 2, Bytes: 2000}},
	}
	s.Canaries[CanaryKey("ipv4", "netmon-INPUT")] = &Canary{Generation: "c1", Armed: true}
	s.AddEvent(Event{Time: t0, Cause: CauseZeroed, Meter: "proxy", Family: "ipv4"})
	return s
}

func TestStore_CommitThenLoad(t *testing.T) {
	db := openTest(t)
	s := sampleState()
	if err := db.Commit(s); err != nil {
		t.Fatal(err)
	}
	if s.Dirty() {
		t.Error("state still dirty after commit")
	}
	got, err := db.Load()
	if err != nil {
		t.Fatal(err)
	}
	c := got.Counters["proxy/ipv4"]
	if c == nil || c.Total.Bytes != 3000 || c.Baseline.Generation != "g1" || c.Baseline.Bytes != 2000 || !c.Since.Equal(t0) {
		t.Errorf("counter %+v", c)
	}
	if got.Boot != "boot-1" || !got.LastSample.Equal(t0) || !got.Canaries["ipv4/netmon-INPUT"].Armed {
		t.Errorf("meta %+v", got)
	}
	if len(got.Events) != 1 || got.Events[0].Cause != CauseZeroed {
		t.Errorf("events %+v", got.Events)
	}
	// Events are written once: a second commit adds none.
	if err := db.Commit(got); err != nil {
		t.Fatal(err)
	}
	again, _ := db.Load()
	if len(again.Events) != 1 {
		t.Errorf("%d events after a second commit, want 1", len(again.Events))
	}
}

func TestStore_EventsAreBounded(t *testing.T) {
	db := openTest(t)
	s := NewState()
	for i := 0; i < MaxEvents+50; i++ {
		s.AddEvent(Event{Time: t0.Add(time.Duration(i) * time.Second), Cause: CauseReboot})
		if i%7 == 0 {
			if err := db.Commit(s); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := db.Commit(s); err != nil {
		t.Fatal(err)
	}
	var stored int
	db.bolt.View(func(tx *bolt.Tx) error { stored = tx.Bucket(bucketEvents).Stats().KeyN; return nil })
	if stored != MaxEvents {
		t.Errorf("%d events in the file, want %d", stored, MaxEvents)
	}
	got, _ := db.Load()
	if len(got.Events) != MaxEvents {
		t.Fatalf("%d events kept, want %d", len(got.Events), MaxEvents)
	}
	if want := t0.Add(49 * time.Second); !got.Events[0].Time.Equal(want.Add(time.Second)) {
		t.Errorf("oldest kept %v, want %v", got.Events[0].Time, want.Add(time.Second))
	}
}

func TestStore_SnapshotRestoreRoundTrip(t *testing.T) {
	db := openTest(t)
	if err := db.Commit(sampleState()); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	snap := filepath.Join(dir, "flash", "netmon.db")
	n, err := db.Snapshot(snap)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(snap)
	if err != nil || fi.Size() != n || fi.Mode().Perm() != 0o600 {
		t.Fatalf("snapshot %v, %v, reported %d bytes", fi, err, n)
	}
	// Compression pays: the snapshot is a fraction of the live file.
	live, _ := os.Stat(db.Path())
	if n*4 > live.Size() {
		t.Errorf("snapshot %d bytes for a live file of %d", n, live.Size())
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, "flash", "*tmp*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
	restored := filepath.Join(dir, "run", "live.db")
	if err := Restore(snap, restored); err != nil {
		t.Fatal(err)
	}
	db2, err := Open(restored, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	got, _ := db2.Load()
	if got.Counters["proxy/ipv4"].Total.Bytes != 3000 || got.Counters["proxy/ipv4"].Baseline.Generation != "g1" {
		t.Errorf("restored counter %+v", got.Counters["proxy/ipv4"])
	}
}

func TestStore_RestoreRefusesGarbageAndKeepsTarget(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.db")
	os.WriteFile(bad, []byte("not a snapshot"), 0o600)
	target := filepath.Join(dir, "live.db")
	os.WriteFile(target, []byte("precious"), 0o600)
	if err := Restore(bad, target); err == nil {
		t.Fatal("restored garbage")
	}
	if b, _ := os.ReadFile(target); string(b) != "precious" {
		t.Error("target replaced by a failed restore")
	}
}

func TestStore_SecondWriterTimesOut(t *testing.T) {
	db := openTest(t)
	_, err := Open(db.Path(), 50*time.Millisecond)
	if !errors.Is(err, ErrLocked) {
		t.Errorf("second writer: %v, want ErrLocked", err)
	}
}

func TestStore_CheckpointRoundTrip(t *testing.T) {
	db := openTest(t)
	s := sampleState()
	if err := db.Commit(s); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Load(); got.Checkpoint != nil {
		t.Fatalf("checkpoint before any was set: %+v", got.Checkpoint)
	}
	s.Checkpoint = &Checkpoint{Time: t0, Totals: map[string]Counts{MeterSeries("proxy"): {Packets: 3, Bytes: 3000}}}
	if err := db.Commit(s); err != nil {
		t.Fatal(err)
	}
	got, err := db.Load()
	if err != nil {
		t.Fatal(err)
	}
	if got.Checkpoint == nil || !got.Checkpoint.Time.Equal(t0) || got.Checkpoint.Totals["m/proxy"].Bytes != 3000 {
		t.Errorf("checkpoint %+v", got.Checkpoint)
	}
}

// Restore reads only regular files, and no more than a database can be:
// db restore /dev/zero once filled tmpfs until it was killed, and a FIFO
// would hang it.
func TestRestore_RefusesWhatIsNoDatabaseFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(dir, "live.db")
	for _, src := range []string{"/dev/zero", fifo, dir} {
		err := Restore(src, dest)
		if !errors.Is(err, ErrNotRegular) {
			t.Errorf("Restore(%s): %v, want ErrNotRegular", src, err)
		}
		if err := Check(src); !errors.Is(err, ErrNotRegular) {
			t.Errorf("Check(%s): %v, want ErrNotRegular", src, err)
		}
	}
	// A gzip stream that unpacks past the bound.
	old := MaxDatabaseSize
	MaxDatabaseSize = 1 << 20
	defer func() { MaxDatabaseSize = old }()
	bomb := filepath.Join(dir, "bomb.db")
	f, _ := os.Create(bomb)
	zw := gzip.NewWriter(f)
	zw.Write(make([]byte, 4<<20))
	zw.Close()
	f.Close()
	if err := Restore(bomb, dest); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "more than a database can be") {
		t.Errorf("Restore of a gzip bomb: %v", err)
	}
	big := filepath.Join(dir, "big.db")
	os.WriteFile(big, make([]byte, 2<<20), 0o600)
	if err := Restore(big, dest); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "more than a database can be") {
		t.Errorf("Restore of a file too big: %v", err)
	}
	if left, _ := filepath.Glob(dest + "*"); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}

// A restore killed midway leaves its temporary; the next open of the live
// file removes it.
func TestRemoveStaleTemps_RestoreLeftovers(t *testing.T) {
	live := filepath.Join(t.TempDir(), "live.db")
	for _, n := range []string{".restoring", ".restoring.restore-123", ".restore-9", ".tmp-1", ".compact"} {
		os.WriteFile(live+n, []byte("x"), 0o600)
	}
	// An adoption's directory, with the flash restored in it.
	os.Mkdir(live+".adopt-77", 0o700)
	os.WriteFile(live+".adopt-77/flash.db", []byte("x"), 0o600)
	if got := RemoveStaleTemps(live); len(got) != 6 {
		t.Errorf("removed %v", got)
	}
	if _, err := os.Stat(live + ".adopt-77"); !os.IsNotExist(err) {
		t.Errorf("the adoption's directory is still there: %v", err)
	}
}

// Hosts and services written before the journal kept the day's and the
// month's own totals; they read as the same usage, and are written back as
// starts.
func TestLoad_ReadsUsageOfTheOldForm(t *testing.T) {
	db := openTest(t)
	if err := db.Commit(NewState()); err != nil {
		t.Fatal(err)
	}
	old := `{"mac":"02:00:00:00:00:01","download":{"packets":10,"bytes":1000},"upload":{"packets":5,"bytes":500},` +
		`"day":"2026-03-01","day_download":{"packets":2,"bytes":200},"day_upload":{"packets":1,"bytes":50},` +
		`"month":"2026-03","month_download":{"packets":4,"bytes":400},"month_upload":{"packets":3,"bytes":300}}`
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketHosts).Put([]byte("02:00:00:00:00:01"), []byte(old)); err != nil {
			return err
		}
		return tx.Bucket(bucketServices).Put([]byte("02:00:00:00:00:01/https"), []byte(strings.Replace(old, `"mac"`, `"service":"https","mac"`, 1)))
	})
	if err != nil {
		t.Fatal(err)
	}
	for round := range 2 { // as read, then as written back
		s, err := db.Load()
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range []Usage{s.Hosts["02:00:00:00:00:01"].Usage, s.Services["02:00:00:00:00:01/https"].Usage} {
			today, month := u.Today(), u.ThisMonth()
			if u.Download.Bytes != 1000 || today.Download != (Counts{2, 200}) || today.Upload != (Counts{1, 50}) ||
				month.Download != (Counts{4, 400}) || month.Upload != (Counts{3, 300}) || u.Day != "2026-03-01" || u.Month != "2026-03" {
				t.Errorf("round %d: %+v: today %+v, this month %+v", round, u, today, month)
			}
		}
		s.Touch()
		if err := db.Commit(s); err != nil {
			t.Fatal(err)
		}
	}
	db.bolt.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketHosts).Get([]byte("02:00:00:00:00:01")); strings.Contains(string(v), "day_download") {
			t.Errorf("written back in the old form: %s", v)
		}
		return nil
	})
}

// A new day starts from the totals as they were: today is what came after.
func TestUsage_NewDayStartsFromTheTotals(t *testing.T) {
	var u Usage
	u.Add(DirDownload, Counts{1, 100}, "2026-03-01", "2026-03")
	u.Add(DirUpload, Counts{1, 10}, "2026-03-01", "2026-03")
	u.Add(DirDownload, Counts{2, 200}, "2026-03-02", "2026-03")
	if today := u.Today(); today.Download != (Counts{2, 200}) || today.Upload != (Counts{}) {
		t.Errorf("today %+v", today)
	}
	if m := u.ThisMonth(); m.Download != (Counts{3, 300}) || m.Upload != (Counts{1, 10}) {
		t.Errorf("this month %+v", m)
	}
	u.Add(DirUpload, Counts{1, 5}, "2026-04-01", "2026-04")
	if m := u.ThisMonth(); m.Download != (Counts{}) || m.Upload != (Counts{1, 5}) || u.Download != (Counts{3, 300}) {
		t.Errorf("a new month: %+v, totals %+v", m, u.Download)
	}
}
