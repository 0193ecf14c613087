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
// meter's total and its history growing together, snapshots every tenth
// commit, and prints each total once its commit returned.
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
		if i%10 == 9 {
			if _, err := db.Snapshot(flash); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
	}
}

// Power loss mid-commit: SIGKILL a process that commits and snapshots
// without pause, at a random moment, 200 times. Every time the file opens,
// passes the full check, holds at least every total a commit acknowledged,
// never less than the time before, and exactly as much history as total;
// the snapshot on flash is whole.
func TestStore_KilledMidCommit(t *testing.T) {
	iterations := 200
	if testing.Short() {
		iterations = 20
	}
	dir := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	live, flash := filepath.Join(dir, "live.db"), filepath.Join(dir, "netmon.db")
	var before uint64
	for i := range iterations {
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
		acked := make(chan uint64, 1)
		go func() {
			var last uint64
			for lines.Scan() {
				if n, err := strconv.ParseUint(lines.Text(), 10, 64); err == nil {
					last = n
				}
			}
			acked <- last
		}()
		time.Sleep(time.Duration(rand.IntN(30000)) * time.Microsecond)
		cmd.Process.Kill()
		cmd.Wait()
		last := <-acked

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
		if total < last || total < before {
			t.Fatalf("iteration %d: total %d after SIGKILL; the last acknowledged commit had %d, the run before ended at %d", i, total, last, before)
		}
		if hist != total {
			t.Fatalf("iteration %d: history holds %d bytes, the total is %d", i, hist, total)
		}
		if _, err := os.Stat(flash); err == nil {
			if err := Check(flash); err != nil {
				t.Fatalf("iteration %d: snapshot: %v", i, err)
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
	t.Logf("%d kills; %d bytes committed in all", iterations, before)
}
