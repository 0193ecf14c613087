package store

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// withoutDeferred is a dump without what a journal record defers (its
// five-minute rows and the element baselines) and without the marker that
// says baselines are behind; deferred is those entries alone, behind
// whether the marker was there.
func withoutDeferred(d string) (rest, deferred string, behind bool) {
	var r, f strings.Builder
	for _, line := range strings.SplitAfter(d, "\n") {
		switch {
		case strings.HasPrefix(line, `["meta"] "`+BaselinesBehindKey+`"`):
			behind = true
		case strings.HasPrefix(line, `["history" "5min"] "`), strings.HasPrefix(line, `["elements"] "`), strings.HasPrefix(line, `["service-elements"] "`):
			f.WriteString(line)
		default:
			r.WriteString(line)
		}
	}
	return r.String(), f.String(), behind
}

// A journal record leaves the five-minute rows and the element baselines
// out, and says the baselines are behind: restored from flash, the
// database is the live one but for them, which are as the base had them;
// PersistAll (a clean stop) writes them, the rows pruned and elements gone
// since included, and the restore is then the live file exactly.
func TestPersist_FineRowsAndBaselinesWaitForABaseOrACleanStop(t *testing.T) {
	noMinJournal(t)
	db := openTest(t)
	db.SetHistory(time.UTC, Retention{18, 0, 0, 0, 0}) // pruning deletes five-minute rows
	dest := filepath.Join(t.TempDir(), "netmon.db")
	s := sampleState()
	busyHour(t, db, s, t0, 0)
	if p, err := db.Persist(dest, false); err != nil || !p.Full {
		t.Fatalf("first persist %+v, %v: want a base", p, err)
	}
	_, baseFine, _ := withoutDeferred(liveDump(t, db))
	for hour := 1; hour <= 2; hour++ {
		busyHour(t, db, s, t0.Add(time.Duration(hour)*time.Hour), hour)
		p, err := db.Persist(dest, false)
		if err != nil || p.Full || p.Changes == 0 {
			t.Fatalf("hour %d: %+v, %v: want a journal record", hour, p, err)
		}
	}
	live := liveDump(t, db)
	liveRest, liveFine, _ := withoutDeferred(live)
	got, _ := restoredDump(t, dest)
	gotRest, gotFine, behind := withoutDeferred(got)
	if !behind {
		t.Error("restored from records that left the baselines out, without the marker that says so")
	}
	if gotRest != liveRest {
		t.Errorf("restored, but for the five-minute rows:\n%s\nlive:\n%s", gotRest, liveRest)
	}
	if gotFine != baseFine || gotFine == liveFine {
		t.Errorf("restored five-minute rows and baselines:\n%s\nwant the base's:\n%s", gotFine, baseFine)
	}
	p, err := db.PersistAll(dest)
	if err != nil || p.Full || p.Changes == 0 {
		t.Fatalf("the clean stop's persist: %+v, %v", p, err)
	}
	if got, _ := restoredDump(t, dest); got != live {
		t.Errorf("after PersistAll, restored:\n%s\nlive:\n%s", got, live)
	}
	if p, err := db.PersistAll(dest); err != nil || p.Bytes != 0 {
		t.Errorf("nothing left to write: %+v, %v", p, err)
	}
}

// A state restored from records that left the baselines out loads with
// BaselinesBehind; the first commit after the sampler dealt with it
// clears the marker, and a clean stop's record clears it on flash.
func TestPersist_BaselinesBehindLoadsAndClears(t *testing.T) {
	noMinJournal(t)
	db := openTest(t)
	dest := filepath.Join(t.TempDir(), "netmon.db")
	s := sampleState()
	busyHour(t, db, s, t0, 0)
	if _, err := db.Persist(dest, false); err != nil {
		t.Fatal(err)
	}
	busyHour(t, db, s, t0.Add(time.Hour), 1)
	if p, err := db.Persist(dest, false); err != nil || p.Full {
		t.Fatalf("%+v, %v: want a record", p, err)
	}
	restored := filepath.Join(t.TempDir(), "live.db")
	if _, err := RestoreReplaying(dest, restored); err != nil {
		t.Fatal(err)
	}
	rdb, err := Open(restored, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	st, err := rdb.Load()
	if err != nil || !st.BaselinesBehind {
		t.Fatalf("restored state: BaselinesBehind %v, %v; want set", st != nil && st.BaselinesBehind, err)
	}
	st.BaselinesBehind = false
	st.Touch()
	if err := rdb.Commit(st); err != nil {
		t.Fatal(err)
	}
	if st, err := rdb.Load(); err != nil || st.BaselinesBehind {
		t.Errorf("after a commit that dealt with it: BaselinesBehind still set (%v)", err)
	}
	if _, err := db.PersistAll(dest); err != nil {
		t.Fatal(err)
	}
	if got, _ := restoredDump(t, dest); strings.Contains(got, BaselinesBehindKey) {
		t.Error("after a clean stop's persist the flash still says its baselines are behind")
	}
}
