package store

import (
	"path/filepath"
	"testing"
	"time"
)

func openTestDB(t testing.TB) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "live.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

var berlin = time.FixedZone("CET", 3600)

func TestResolution_StartAndNext(t *testing.T) {
	at := time.Date(2026, 2, 28, 23, 58, 30, 0, berlin)
	for _, c := range []struct {
		r           Resolution
		start, next time.Time
	}{
		{FiveMinutes, time.Date(2026, 2, 28, 23, 55, 0, 0, berlin), time.Date(2026, 3, 1, 0, 0, 0, 0, berlin)},
		{Hour, time.Date(2026, 2, 28, 23, 0, 0, 0, berlin), time.Date(2026, 3, 1, 0, 0, 0, 0, berlin)},
		{Day, time.Date(2026, 2, 28, 0, 0, 0, 0, berlin), time.Date(2026, 3, 1, 0, 0, 0, 0, berlin)},
		{Month, time.Date(2026, 2, 1, 0, 0, 0, 0, berlin), time.Date(2026, 3, 1, 0, 0, 0, 0, berlin)},
		{Year, time.Date(2026, 1, 1, 0, 0, 0, 0, berlin), time.Date(2027, 1, 1, 0, 0, 0, 0, berlin)},
	} {
		if got := c.r.Start(at); !got.Equal(c.start) {
			t.Errorf("%s start %v, want %v", c.r, got, c.start)
		}
		if got := c.r.Next(c.r.Start(at)); !got.Equal(c.next) {
			t.Errorf("%s next %v, want %v", c.r, got, c.next)
		}
	}
}

// A delta lands in every resolution at once, in the router's days.
func TestHistory_DeltaInEveryResolution(t *testing.T) {
	db := openTestDB(t)
	db.SetHistory(berlin, DefaultRetention)
	s := NewState()
	// 23:58 on the last day of February in Berlin is 22:58 UTC.
	s.AddDelta(MeterSeries("wan"), time.Date(2026, 2, 28, 22, 58, 0, 0, time.UTC), Counts{Packets: 2, Bytes: 3000})
	s.AddDelta(MeterSeries("wan"), time.Date(2026, 2, 28, 23, 1, 0, 0, time.UTC), Counts{Packets: 1, Bytes: 100})
	s.AddDelta(HostSeries("02:00:00:00:01:02", DirDownload), time.Date(2026, 2, 28, 23, 1, 0, 0, time.UTC), Counts{Packets: 1, Bytes: 7})
	if err := db.Commit(s); err != nil {
		t.Fatal(err)
	}
	if len(s.Deltas) != 0 {
		t.Errorf("deltas kept after commit: %v", s.Deltas)
	}
	for _, c := range []struct {
		r    Resolution
		want []uint64 // wan bytes per bucket
	}{
		{FiveMinutes, []uint64{3000, 100}},
		{Hour, []uint64{3000, 100}},
		{Day, []uint64{3000, 100}},   // Feb 28 and Mar 1 in Berlin
		{Month, []uint64{3000, 100}}, // February and March
		{Year, []uint64{3100}},
	} {
		got, err := db.History(c.r, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		var bytes []uint64
		for _, b := range got {
			bytes = append(bytes, b.Of(MeterSeries("wan")).Bytes)
		}
		if len(bytes) != len(c.want) {
			t.Errorf("%s: wan %v, want %v", c.r, bytes, c.want)
			continue
		}
		for i := range bytes {
			if bytes[i] != c.want[i] {
				t.Errorf("%s: wan %v, want %v", c.r, bytes, c.want)
			}
		}
	}
	days, _ := db.History(Day, time.Date(2026, 3, 1, 0, 0, 0, 0, berlin), time.Time{})
	if len(days) != 1 || days[0].Of(HostSeries("02:00:00:00:01:02", DirDownload)).Bytes != 7 || days[0].Start.Day() != 1 {
		t.Errorf("March 1st: %+v", days)
	}
}

// Retention counts buckets that exist: a month switched off loses nothing.
func TestHistory_RetentionCountsBuckets(t *testing.T) {
	db := openTestDB(t)
	db.SetHistory(time.UTC, Retention{3, 3, 3, 3, 0})
	s := NewState()
	day0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, d := range []int{0, 1, 40, 41} { // off for over a month in between
		s.AddDelta(MeterSeries("wan"), day0.AddDate(0, 0, d), Counts{Packets: 1, Bytes: uint64(d + 1)})
		if err := db.Commit(s); err != nil {
			t.Fatal(err)
		}
	}
	days, _ := db.History(Day, time.Time{}, time.Time{})
	if len(days) != 3 || days[0].Of(MeterSeries("wan")).Bytes != 2 {
		t.Errorf("days kept %+v, want the last 3 that exist", days)
	}
	years, _ := db.History(Year, time.Time{}, time.Time{})
	if len(years) != 1 || years[0].Of(MeterSeries("wan")).Bytes != 1+2+41+42 {
		t.Errorf("year %+v", years)
	}
}

// A failed commit keeps the deltas for the next one.
func TestHistory_FailedCommitKeepsDeltas(t *testing.T) {
	db := openTestDB(t)
	s := NewState()
	s.AddDelta(MeterSeries("wan"), time.Now(), Counts{Packets: 1, Bytes: 10})
	db.Close()
	if err := db.Commit(s); err == nil {
		t.Fatal("commit to a closed database succeeded")
	}
	if len(s.Deltas) != 1 {
		t.Errorf("deltas after a failed commit: %v", s.Deltas)
	}
}
