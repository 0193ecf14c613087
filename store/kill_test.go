package store

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv("NETMON_STORE_COMMITTER"); dir != "" {
		os.Exit(committer(dir))
	}
	os.Exit(m.Run())
}

// committer is the test binary re-executed: it commits without pause, a
// meter's total and its history growing together, persists to flash every
// third commit (a snapshot first, then journal records), and prints each
// total once its commit returned, and "p TOTAL" once its persist did.
func committer(dir string) int {
	live, flash := filepath.Join(dir, "live.db"), filepath.Join(dir, "netmon.db")
	db, err := Open(live, 5*time.Second)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	RemoveStaleTemps(flash)
	s, err := db.Load()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	c := s.Counters["wan/ipv4"]
	if c == nil {
		c = &Counter{Meter: "wan", Family: "ipv4", Since: t0}
		s.Counters["wan/ipv4"] = c
	}
	fmt.Println("open")
	at := s.LastSample
	if at.IsZero() {
		at = t0
	}
	for i := 0; ; i++ {
		at = at.Add(time.Minute)
		d := Counts{Packets: 1, Bytes: 1500}
		c.Total = c.Total.Add(d)
		c.Baseline.Counts = c.Baseline.Counts.Add(d)
		s.LastSample = at
		s.AddDelta(MeterSeries("wan"), at, d)
		addTraffic(s, 8, at, 10)
		if err := db.Commit(s); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println(c.Total.Bytes)
		if i%3 == 2 {
			if _, err := db.Persist(flash, false); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			fmt.Println("p", c.Total.Bytes)
		}
	}
}

// Power loss mid-commit: SIGKILL a process that commits and persists
// without pause, at a random moment, 200 times. Every time the file opens,
// passes the full check, holds at least every total a commit acknowledged,
// never less than the time before, and exactly as much history as total.
// The snapshot on flash is whole, and restored with its journal it holds
// at least the total the last acknowledged persist had (a record cut short
// may be left out, and said), at most the live file's, history equal to
// it.
func TestStore_KilledMidCommit(t *testing.T) {
	iterations := 200
	if testing.Short() {
		iterations = 20
	}
	dir := t.TempDir()
	live, flash := filepath.Join(dir, "live.db"), filepath.Join(dir, "netmon.db")
	var before, persistedBefore uint64
	var records, torn int // journal records replayed, journals that ended torn
	for i := range iterations {
		acked := killCommitter(t, i, dir)
		persistedBefore = max(persistedBefore, acked.persisted)
		total := checkLiveAfterKill(t, i, live)
		if total < acked.committed || total < before {
			t.Fatalf("iteration %d: total %d after SIGKILL; the last acknowledged commit had %d, the run before ended at %d", i, total, acked.committed, before)
		}
		if _, err := os.Stat(flash); err == nil {
			rep := checkFlashAfterKill(t, i, flash, persistedBefore, total)
			records += rep.Records
			if rep.Dropped > 0 {
				torn++
			}
		}
		if left, _ := filepath.Glob(flash + ".tmp-*"); len(left) > 1 {
			t.Fatalf("iteration %d: snapshot temporaries pile up: %v", i, left)
		}
		before = total
	}
	if before == 0 {
		t.Fatal("nothing was ever committed")
	}
	t.Logf("%d kills; %d bytes committed in all; %d journal records replayed, %d journals ended torn", iterations, before, records, torn)
	if records == 0 {
		t.Error("no journal record was ever replayed: the kills never reached the journal")
	}
}

// acked is what a killed committer had acknowledged: the total of its
// last commit and of its last persist.
type acked struct{ committed, persisted uint64 }

// killCommitter starts the committer (this test binary, re-executed) on
// dir, kills it at a random moment within 60 ms, and returns what it had
// acknowledged.
func killCommitter(t *testing.T, i int, dir string) acked {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(os.Environ(), "NETMON_STORE_COMMITTER="+dir)
	out, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); errors.Is(err, syscall.ENOEXEC) {
		// Under qemu-user without binfmt (the mips and arm runs of
		// make test) a child cannot be started; the native run kills.
		t.Skipf("cannot re-execute the test binary: %v", err)
	} else if err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	if !lines.Scan() || lines.Text() != "open" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("iteration %d: the committer did not open the database: %s", i, stderr.String())
	}
	done := make(chan acked, 1)
	go func() {
		var a acked
		for lines.Scan() {
			if p, ok := strings.CutPrefix(lines.Text(), "p "); ok {
				a.persisted, _ = strconv.ParseUint(p, 10, 64)
			} else if n, err := strconv.ParseUint(lines.Text(), 10, 64); err == nil {
				a.committed = n
			}
		}
		done <- a
	}()
	time.Sleep(time.Duration(rand.IntN(60000)) * time.Microsecond)
	cmd.Process.Kill()
	cmd.Wait()
	return <-done
}

// checkLiveAfterKill opens the live file a killed committer left and
// wants it whole, with daily history equal to the total; it returns the
// total.
func checkLiveAfterKill(t *testing.T, i int, live string) uint64 {
	t.Helper()
	db, err := Open(live, time.Second)
	if err != nil {
		t.Fatalf("iteration %d: open after SIGKILL: %v", i, err)
	}
	verr := db.Verify()
	s, lerr := db.Load()
	var hist uint64
	days, herr := db.History(Day, time.Time{}, time.Time{})
	for _, b := range days {
		hist += b.Of(MeterSeries("wan")).Bytes
	}
	db.Close()
	if verr != nil || lerr != nil || herr != nil {
		t.Fatalf("iteration %d: after SIGKILL: verify %v, load %v, history %v", i, verr, lerr, herr)
	}
	var total uint64
	if c := s.Counters["wan/ipv4"]; c != nil {
		total = c.Total.Bytes
	}
	if hist != total {
		t.Fatalf("iteration %d: history holds %d bytes, the total is %d", i, hist, total)
	}
	return total
}

// checkFlashAfterKill restores the snapshot at flash with its journal and
// wants a whole database holding at least persisted (the last total a
// persist acknowledged), at most live, and history equal to its total.
func checkFlashAfterKill(t *testing.T, i int, flash string, persisted, live uint64) Replay {
	t.Helper()
	if err := Check(flash); err != nil && !errors.Is(err, ErrJournalTail) {
		t.Fatalf("iteration %d: snapshot: %v", i, err)
	}
	restored := filepath.Join(t.TempDir(), "restored.db")
	rep, err := RestoreReplaying(flash, restored)
	if err != nil {
		t.Fatalf("iteration %d: restore: %v", i, err)
	}
	db, err := Open(restored, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := db.Load()
	if err != nil {
		t.Fatal(err)
	}
	var total, hist uint64
	if c := s.Counters["wan/ipv4"]; c != nil {
		total = c.Total.Bytes
	}
	days, err := db.History(Day, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range days {
		hist += b.Of(MeterSeries("wan")).Bytes
	}
	if total < persisted || total > live || hist != total {
		t.Fatalf("iteration %d: restored from flash: total %d, history %d; the last persist acknowledged %d, the live file has %d", i, total, hist, persisted, live)
	}
	return rep
}
