package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// dump is every bucket (with its sequence) and key of the file at path,
// as text: two files that dump the same hold the same.
func dump(t *testing.T, path string) string {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out strings.Builder
	err = db.View(func(tx *bolt.Tx) error {
		return walkEntries(tx, func(path [][]byte, kind byte, key, value []byte, h uint64) error {
			if kind == 'b' {
				fmt.Fprintf(&out, "%q seq=%d\n", path, h)
				return nil
			}
			fmt.Fprintf(&out, "%q %q=%x\n", path, key, value)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// liveDump is dump of db's own file, which stays open.
func liveDump(t *testing.T, db *DB) string {
	t.Helper()
	copyPath := filepath.Join(t.TempDir(), "copy.db")
	if _, err := db.Snapshot(copyPath); err != nil {
		t.Fatal(err)
	}
	restored := filepath.Join(t.TempDir(), "plain.db")
	if err := Restore(copyPath, restored); err != nil {
		t.Fatal(err)
	}
	return dump(t, restored)
}

// restoredDump restores the flash snapshot at dest with its journal and
// dumps the result.
func restoredDump(t *testing.T, dest string) (string, Replay) {
	t.Helper()
	restored := filepath.Join(t.TempDir(), "live.db")
	rep, err := RestoreReplaying(dest, restored)
	if err != nil {
		t.Fatal(err)
	}
	return dump(t, restored), rep
}

// busyHour commits an hour of a router's life at t: twelve five-minute
// deltas per host, a host added, an element pruned, an event.
func busyHour(t *testing.T, db *DB, s *State, t1 time.Time, hour int) {
	t.Helper()
	for m := 0; m < 60; m += 5 {
		for h := range 4 {
			s.AddDelta(HostSeries(fmt.Sprintf("02:00:00:00:00:%02x", h), DirDownload), t1.Add(time.Duration(m)*time.Minute), Counts{Packets: uint64(hour*7 + m + h), Bytes: uint64(1000*hour + 37*m + h)})
		}
	}
	mac := fmt.Sprintf("02:00:00:00:01:%02x", hour)
	s.Hosts[mac] = &Host{MAC: mac, FirstSeen: t1, LastSeen: t1, Addresses: []string{fmt.Sprintf("198.18.1.%d", hour+1)}}
	s.Elements[DirDownload+"/198.18.1."+fmt.Sprint(hour+1)] = &Element{Counts: Counts{Packets: 1, Bytes: uint64(hour)}, Boot: "b", MAC: mac, Changed: t1}
	delete(s.Elements, DirDownload+"/198.18.1."+fmt.Sprint(hour-1))
	s.AddEvent(Event{Time: t1, Cause: CauseZeroed, Meter: "proxy", Family: "ipv4"})
	if err := db.Commit(s); err != nil {
		t.Fatal(err)
	}
}

// noMinJournal lets a test's small journal reach its small base.
func noMinJournal(t *testing.T) {
	old := MinJournal
	MinJournal = 0
	t.Cleanup(func() { MinJournal = old })
}

// persisting is a live database that persists to a snapshot at dest after
// each busy hour it commits.
type persisting struct {
	*DB
	dest string
	s    *State
	hour int
}

// newPersisting opens one and persists its first hours: a base, then a
// journal record an hour.
func newPersisting(t *testing.T, hours int) *persisting {
	t.Helper()
	p := &persisting{DB: openTest(t), dest: filepath.Join(t.TempDir(), "netmon.db"), s: sampleState()}
	for range hours {
		p.next(t)
	}
	return p
}

// next commits the next busy hour and persists all of it (PersistAll: these
// tests are of the journal; what Persist leaves for later is
// TestPersist_FiveMinuteRowsWaitForABaseOrACleanStop).
func (p *persisting) next(t *testing.T) Persisted {
	t.Helper()
	busyHour(t, p.DB, p.s, t0.Add(time.Duration(p.hour)*time.Hour), p.hour)
	p.hour++
	w, err := p.PersistAll(p.dest)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestPersist_BaseThenJournalRestoresTheLiveFileExactly(t *testing.T) {
	noMinJournal(t)
	db := openTest(t)
	db.SetHistory(time.UTC, Retention{6, 3, 0, 0, 0}) // pruning deletes keys
	dest := filepath.Join(t.TempDir(), "flash", "netmon.db")
	s := sampleState()
	busyHour(t, db, s, t0, 0)
	first, err := db.PersistAll(dest)
	if err != nil || !first.Full {
		t.Fatalf("first persist %+v, %v: want a full base", first, err)
	}
	records, bases := 0, 0
	for hour := 1; hour <= 8; hour++ {
		busyHour(t, db, s, t0.Add(time.Duration(hour)*time.Hour), hour)
		p, err := db.PersistAll(dest)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case p.Full:
			records, bases = 0, bases+1 // the journal had grown to the base
		case p.Changes == 0 || p.Bytes >= first.Bytes:
			t.Errorf("hour %d: %+v, want a journal record smaller than the base (%d bytes)", hour, p, first.Bytes)
		default:
			records++
		}
		got, rep := restoredDump(t, dest)
		if want := liveDump(t, db); got != want {
			t.Fatalf("hour %d: restored from base and journal:\n%s\nlive:\n%s", hour, got, want)
		}
		if rep.Records != records || rep.Dropped != 0 {
			t.Errorf("hour %d: replay %+v, want %d records", hour, rep, records)
		}
	}
	if bases == 0 || bases > 3 {
		t.Errorf("%d new bases in 8 hours", bases)
	}
}

func TestPersist_NothingChangedWritesNothing(t *testing.T) {
	db := openTest(t)
	dest := filepath.Join(t.TempDir(), "netmon.db")
	busyHour(t, db, sampleState(), t0, 0)
	if _, err := db.Persist(dest, false); err != nil {
		t.Fatal(err)
	}
	p, err := db.Persist(dest, false)
	if err != nil || p.Bytes != 0 || p.Full {
		t.Errorf("persist with nothing changed: %+v, %v", p, err)
	}
	if _, err := os.Stat(JournalPath(dest)); !os.IsNotExist(err) {
		t.Errorf("a journal was written with nothing in it: %v", err)
	}
}

// A power loss mid-record leaves a torn tail: the restore drops it and
// keeps the base and every record before it.
func TestPersist_TornTailIsDroppedAndSaid(t *testing.T) {
	p := newPersisting(t, 2)
	db, dest := p.DB, p.dest
	want := liveDump(t, db)
	second := p.next(t)
	fi, _ := os.Stat(JournalPath(dest))
	for _, cut := range []int64{1, 5, second.Bytes / 2, second.Bytes - 1} {
		if err := os.Truncate(JournalPath(dest), fi.Size()-cut); err != nil {
			t.Fatal(err)
		}
		got, rep := restoredDump(t, dest)
		if got != want {
			t.Errorf("cut %d bytes short: restored is not the state of the record before", cut)
		}
		if rep.Records != 1 || rep.Dropped != second.Bytes-cut || !strings.Contains(rep.Why, "cut short") {
			t.Errorf("cut %d bytes short: replay %+v, want 1 record and %d bytes dropped as cut short", cut, rep, second.Bytes-cut)
		}
	}
}

// A damaged record ends the replay: what follows it is dropped, never
// applied out of order.
func TestPersist_DamagedRecordEndsTheReplay(t *testing.T) {
	p := newPersisting(t, 1)
	db, dest := p.DB, p.dest
	want := dump(t, restoredFile(t, dest))
	p.next(t)
	p.next(t)
	j, _ := os.ReadFile(JournalPath(dest))
	at := len(journalHeader(db.flash.gen))
	j[at+20] ^= 0xff // in the first record's payload
	os.WriteFile(JournalPath(dest), j, 0o600)
	got, rep := restoredDump(t, dest)
	if got != want || rep.Records != 0 || rep.Dropped != int64(len(j)-at) || !strings.Contains(rep.Why, "checksum") {
		t.Errorf("replay %+v; restored equals the base: %v", rep, got == want)
	}
}

func restoredFile(t *testing.T, dest string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "r.db")
	if err := Restore(dest, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// A full flash cuts a record short; the next persist writes over the torn
// tail from the last good byte, and nothing written before is lost.
func TestPersist_WritesOverATornTail(t *testing.T) {
	p := newPersisting(t, 2)
	db, dest := p.DB, p.dest
	f, _ := os.OpenFile(JournalPath(dest), os.O_WRONLY|os.O_APPEND, 0)
	f.Write([]byte{0, 0, 1, 0, 0xde, 0xad}) // the start of a record that never finished
	f.Close()
	if w := p.next(t); w.Full {
		t.Fatalf("persist after a torn tail: %+v, want a record", w)
	}
	got, rep := restoredDump(t, dest)
	if got != liveDump(t, db) || rep.Records != 2 || rep.Dropped != 0 {
		t.Errorf("replay %+v; restored equals live: %v", rep, got == liveDump(t, db))
	}
}

// A base written, the journal of the base before still there (the persist
// was cut short between the two): that journal is never replayed onto it.
func TestPersist_JournalOfAnotherBaseIsNotReplayed(t *testing.T) {
	p := newPersisting(t, 2)
	db, dest := p.DB, p.dest
	old, _ := os.ReadFile(JournalPath(dest))
	busyHour(t, db, p.s, t0.Add(2*time.Hour), 2)
	if p, err := db.Persist(dest, true); err != nil || !p.Full {
		t.Fatalf("forced base: %+v, %v", p, err)
	}
	if _, err := os.Stat(JournalPath(dest)); !os.IsNotExist(err) {
		t.Errorf("the base before's journal is still there: %v", err)
	}
	os.WriteFile(JournalPath(dest), old, 0o600)
	got, rep := restoredDump(t, dest)
	if got != liveDump(t, db) || rep.Records != 0 || rep.Dropped != int64(len(old)) || !strings.Contains(rep.Why, "another snapshot") {
		t.Errorf("replay %+v; restored equals live: %v", rep, got == liveDump(t, db))
	}
}

// The journal is bounded by its base: it grows to twice the base's size
// while the flash has room for another base beside it, only to its size
// when it has not; then the next persist writes a base and a new journal.
func TestPersist_JournalGrownToItsBoundMeansANewBase(t *testing.T) {
	noMinJournal(t)
	for _, c := range []struct {
		name  string
		free  int64
		bound int64 // in bases
	}{{"room", 1 << 40, 2}, {"no room", 1 << 10, 1}} {
		t.Run(c.name, func(t *testing.T) {
			old := freeSpace
			freeSpace = func(string) (int64, error) { return c.free, nil }
			t.Cleanup(func() { freeSpace = old })
			db := openTest(t)
			dest := filepath.Join(t.TempDir(), "netmon.db")
			s := sampleState()
			busyHour(t, db, s, t0, 0)
			base, _ := db.Persist(dest, false)
			var journal int64
			for hour := 1; hour < 200; hour++ {
				busyHour(t, db, s, t0.Add(time.Duration(hour)*time.Hour), hour)
				p, err := db.Persist(dest, false)
				if err != nil {
					t.Fatal(err)
				}
				if p.Full {
					if journal < c.bound*base.Bytes || journal > (c.bound+1)*base.Bytes {
						t.Errorf("a new base after %d bytes of journal, with a base of %d: want %d bases' worth", journal, base.Bytes, c.bound)
					}
					if _, err := os.Stat(JournalPath(dest)); !os.IsNotExist(err) {
						t.Errorf("the new base kept the old journal: %v", err)
					}
					return
				}
				journal += p.Bytes
			}
			t.Errorf("no new base after %d bytes of journal, with a base of %d", journal, base.Bytes)
		})
	}
}

// Journals are read as what they claim to be: garbage where a record
// should be is dropped and said, and so is a journal that is a directory.
func TestRestore_JournalThatIsNotOneIsLeftOut(t *testing.T) {
	db := openTest(t)
	dir := t.TempDir()
	dest := filepath.Join(dir, "netmon.db")
	busyHour(t, db, sampleState(), t0, 0)
	db.Persist(dest, false)
	want := liveDump(t, db)
	gen := db.flash.gen
	for name, content := range map[string][]byte{
		"garbage":       []byte("hello, world\n"),
		"huge record":   append(journalHeader(gen), 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0),
		"empty":         nil,
		"header only":   journalHeader(gen),
		"bad payload":   append(journalHeader(gen), frameBytes([]byte("not flate"))...),
		"bad change op": append(journalHeader(gen), frameRecord([]change{{op: 'z', path: [][]byte{[]byte("meta")}}})...),
	} {
		os.WriteFile(JournalPath(dest), content, 0o600)
		got, rep := restoredDump(t, dest)
		if got != want || rep.Records != 0 {
			t.Errorf("%s: replay %+v; restored equals the base: %v", name, rep, got == want)
		}
		if name != "header only" && name != "empty" && rep.Why == "" {
			t.Errorf("%s: dropped without a word: %+v", name, rep)
		}
	}
	os.Remove(JournalPath(dest))
	os.Mkdir(JournalPath(dest), 0o700)
	got, rep := restoredDump(t, dest)
	if got != want || !strings.Contains(rep.Why, "not a regular file") {
		t.Errorf("journal that is a directory: replay %+v", rep)
	}
}

// frameBytes frames p as a record, without compressing it.
func frameBytes(p []byte) []byte {
	rec := binary.BigEndian.AppendUint32(nil, uint32(len(p)))
	rec = binary.BigEndian.AppendUint32(rec, crc32.ChecksumIEEE(p))
	return append(rec, p...)
}

func TestJournal_ChangesRoundTrip(t *testing.T) {
	in := []change{
		{op: opBucket, path: [][]byte{[]byte("history"), []byte("5min")}, seq: 42},
		{op: opPut, path: [][]byte{[]byte("hosts")}, key: []byte("02:00:00:00:00:01"), value: []byte(`{"mac":"x"}`)},
		{op: opPut, path: [][]byte{[]byte("meta")}, key: []byte("k"), value: []byte{}},
		{op: opDelete, path: [][]byte{[]byte("elements")}, key: []byte("dl/198.18.0.2")},
		{op: opDropBucket, path: [][]byte{[]byte("old")}},
	}
	out, err := decodeChanges(encodeChanges(in))
	if err != nil || fmt.Sprint(out) != fmt.Sprint(in) {
		t.Errorf("round trip: %v, %v", out, err)
	}
	for i := range len(encodeChanges(in)) {
		if _, err := decodeChanges(encodeChanges(in)[:i]); err == nil && i > 0 && !bytes.Equal(encodeChanges(in)[:i], encodeChanges(in[:1])) {
			// Cut at a change's boundary it still decodes, as fewer
			// changes; anywhere else it must not.
			n := 0
			for k := range in {
				if len(encodeChanges(in[:k+1])) == i {
					n++
				}
			}
			if n == 0 {
				t.Errorf("cut at %d decoded", i)
			}
		}
	}
}

// Check reads a snapshot with its journal: a torn tail is said, naming the
// journal; a stale journal is not a fault.
func TestCheck_SaysAJournalsTornTail(t *testing.T) {
	p := newPersisting(t, 2)
	db, dest := p.DB, p.dest
	if err := Check(dest); err != nil {
		t.Fatalf("sound snapshot and journal: %v", err)
	}
	fi, _ := os.Stat(JournalPath(dest))
	os.Truncate(JournalPath(dest), fi.Size()-3)
	if err := Check(dest); !errors.Is(err, ErrJournalTail) || !strings.Contains(err.Error(), JournalPath(dest)) {
		t.Errorf("torn tail: %v", err)
	}
	db.Persist(dest, true)
	os.WriteFile(JournalPath(dest), append(journalHeader("0123"), 1, 2, 3), 0o600)
	if err := Check(dest); err != nil {
		t.Errorf("stale journal: %v", err)
	}
}

// A FIFO where the journal goes (with a reader, or without) fails the
// persist at once instead of hanging it, and the next persist writes a
// snapshot.
func TestPersist_JournalThatIsAFIFOFailsAtOnce(t *testing.T) {
	p := newPersisting(t, 1)
	for _, reader := range []bool{false, true} {
		if err := syscall.Mkfifo(JournalPath(p.dest), 0o600); err != nil {
			t.Fatal(err)
		}
		if reader {
			r, err := os.OpenFile(JournalPath(p.dest), os.O_RDONLY|syscall.O_NONBLOCK, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
		}
		busyHour(t, p.DB, p.s, t0.Add(time.Duration(p.hour)*time.Hour), p.hour)
		p.hour++
		done := make(chan error, 1)
		go func() { _, err := p.Persist(p.dest, false); done <- err }()
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("reader %v: a persist into a FIFO succeeded", reader)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("reader %v: a persist into a FIFO hangs", reader)
		}
		if w := p.next(t); !w.Full {
			t.Errorf("reader %v: after a failed record: %+v, want a snapshot", reader, w)
		}
		if fi, err := os.Lstat(JournalPath(p.dest)); err == nil {
			t.Errorf("reader %v: the snapshot left %v where the journal goes", reader, fi.Mode())
		}
	}
}

// reopen closes p's database and opens its file again: a new process.
func (p *persisting) reopen(t *testing.T) {
	t.Helper()
	path := p.Path()
	p.Close()
	db, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	p.DB = db
}

// A new process (a daemon after a reboot, a sample without one) takes over
// the snapshot and journal it finds and appends to them; a torn tail is
// written over; a snapshot that does not restore is not taken over.
func TestPersist_ANewProcessAppendsToWhatItFinds(t *testing.T) {
	p := newPersisting(t, 3)
	p.reopen(t)
	if w := p.next(t); w.Full || w.Bytes == 0 {
		t.Errorf("a new process's first persist: %+v, want a journal record", w)
	}
	if got, rep := restoredDump(t, p.dest); got != liveDump(t, p.DB) || rep.Records != 3 {
		t.Errorf("after a new process's record: replay %+v; restored equals live: %v", rep, got == liveDump(t, p.DB))
	}
	fi, _ := os.Stat(JournalPath(p.dest))
	os.Truncate(JournalPath(p.dest), fi.Size()-3)
	p.reopen(t)
	if w := p.next(t); w.Full {
		t.Errorf("over a torn tail: %+v, want a journal record", w)
	}
	if got, rep := restoredDump(t, p.dest); got != liveDump(t, p.DB) || rep.Dropped != 0 || rep.Records != 3 {
		t.Errorf("after writing over a torn tail: replay %+v; restored equals live: %v", rep, got == liveDump(t, p.DB))
	}
	os.WriteFile(p.dest, []byte("\x1f\x8bnot a snapshot"), 0o600)
	p.reopen(t)
	if w := p.next(t); !w.Full {
		t.Errorf("over a damaged snapshot: %+v, want a new snapshot", w)
	}
	if got, _ := restoredDump(t, p.dest); got != liveDump(t, p.DB) {
		t.Error("the new snapshot does not restore to the live file")
	}
}
