package store

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// Days of commits failing hold a bounded number of deltas, and once a
// commit succeeds every hour and day of history, and every total, is what
// was counted.
func TestPendingDeltas_BoundedWhileCommitsFail(t *testing.T) {
	db := openTestDB(t)
	db.SetHistory(time.Local, Retention{})
	s := NewState()
	start := time.Date(2026, 11, 3, 0, 0, 0, 0, time.Local)
	const series = 300
	wantHour := map[int64]uint64{}
	wantSeries := map[string]uint64{}
	maxHeld := 0
	for step := range 3 * 24 * 12 { // three days of five-minute samples
		at := start.Add(time.Duration(step) * 5 * time.Minute)
		for i := range series {
			b := uint64(step*series + i + 1)
			name := HostSeries(fmt.Sprintf("02:00:00:00:%02x:%02x", i/256, i%256), DirDownload)
			s.AddDelta(name, at, Counts{Packets: 1, Bytes: b})
			wantHour[Hour.Start(at).Unix()] += b
			wantSeries[name] += b
		}
		maxHeld = max(maxHeld, len(s.Deltas))
	}
	if maxHeld > MaxPendingDeltas {
		t.Fatalf("held %d deltas; the bound is %d", maxHeld, MaxPendingDeltas)
	}
	if err := db.Commit(s); err != nil {
		t.Fatal(err)
	}
	hours, err := db.History(Hour, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(hours) != 72 {
		t.Errorf("%d hourly buckets, want 72", len(hours))
	}
	gotSeries := map[string]uint64{}
	for _, b := range hours {
		var sum uint64
		for _, m := range b.Moved {
			sum += m.Bytes
			gotSeries[m.Name] += m.Bytes
		}
		if sum != wantHour[b.Start.Unix()] {
			t.Errorf("hour %s: %d bytes, want %d", b.Start, sum, wantHour[b.Start.Unix()])
		}
	}
	for name, w := range wantSeries {
		if gotSeries[name] != w {
			t.Errorf("%s: %d bytes in history, want %d", name, gotSeries[name], w)
		}
	}
	// The newest hour keeps its five-minute detail.
	fives, err := db.History(FiveMinutes, start.Add(71*time.Hour), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(fives) != 12 {
		t.Errorf("the newest hour has %d five-minute buckets, want 12", len(fives))
	}
}

func TestPendingEvents_Bounded(t *testing.T) {
	s := NewState()
	for i := range 3 * MaxEvents {
		s.AddEvent(Event{Time: time.Unix(int64(i), 0), Cause: CauseZeroed, Meter: "m"})
	}
	if len(s.Pending) != MaxEvents || !s.Pending[0].Time.Equal(time.Unix(2*MaxEvents, 0)) {
		t.Errorf("%d pending events from %v; want the newest %d", len(s.Pending), s.Pending[0].Time, MaxEvents)
	}
}

// BenchmarkPendingDeltaMemory measures what one held delta costs, for the
// bound's documentation: bytes/delta is the heap it takes.
func BenchmarkPendingDeltaMemory(b *testing.B) {
	start := time.Date(2026, 11, 3, 0, 0, 0, 0, time.Local)
	for range b.N {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		s := NewState()
		for step := range MaxPendingDeltas / 500 {
			for i := range 500 {
				s.AddDelta(HostSeries(fmt.Sprintf("02:00:00:00:%02x:%02x", i/256, i%256), DirUpload),
					start.Add(time.Duration(step)*5*time.Minute), Counts{Packets: 1, Bytes: 1})
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(len(s.Deltas)), "bytes/delta")
		runtime.KeepAlive(s)
	}
}
