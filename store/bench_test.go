package store

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkSnapshot writes the snapshot of a full-grown database: eight
// counters (four meters, two families) and the most events kept. It reports
// the snapshot's size and what the default persist_interval (one hour) and
// the default commit_interval (five minutes, on tmpfs) write per day.
func BenchmarkSnapshot(b *testing.B) {
	dir := b.TempDir()
	db, err := Open(filepath.Join(dir, "live.db"), time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	s := NewState()
	s.Boot = "0d2f6a4e-7c1b-4d38-9a57-1f3e2b6c8d90"
	for _, m := range []string{"proxy", "offnet", "wan_in", "wan_out"} {
		for _, f := range []string{"ipv4", "ipv6"} {
			s.Counters[CounterKey(m, f)] = &Counter{Meter: m, Family: f, Total: Counts{Packets: 123456789, Bytes: 987654321012},
				Since: t0, Baseline: Baseline{Generation: "a1b2c3d4", Boot: s.Boot, Counts: Counts{Packets: 1234567, Bytes: 9876543210}}}
		}
	}
	for i := 0; i < MaxEvents; i++ {
		s.AddEvent(Event{Time: t0.Add(time.Duration(i) * time.Hour), Cause: CauseReboot, Meter: fmt.Sprintf("m%d", i%4), Family: "ipv4"})
	}
	// A day of commits first, so the file has the free pages it has in use.
	for i := 0; i < 288; i++ {
		s.LastSample = t0.Add(time.Duration(i) * 5 * time.Minute)
		s.Touch()
		if err := db.Commit(s); err != nil {
			b.Fatal(err)
		}
	}
	var size int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		size, err = db.Snapshot(filepath.Join(dir, "flash", "netmon.db"))
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(size), "bytes/snapshot")
	b.ReportMetric(float64(size*24), "flash-bytes/day")
}
