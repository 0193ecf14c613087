package store

import (
	"fmt"
	"math/rand/v2"
	"os"
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

// BenchmarkHistoryYears simulates three years of a router's life at the
// default settings: a sample every 30 s of every host (both directions)
// and four meters all moving, committed every five minutes. After each
// simulated year it reports the live file's size, and at the end how long
// the report's reads take over that history (what goes to flash is
// BenchmarkPersistSteady's: these deltas are constant, which compresses
// as no traffic does). Run with -benchtime=1x: one iteration is three
// years.
func BenchmarkHistoryYears(b *testing.B) {
	for _, hosts := range []int{32, 254} {
		b.Run(fmt.Sprintf("hosts=%d", hosts), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				simulateYears(b, hosts, 3)
			}
		})
	}
}

func simulateYears(b *testing.B, hosts, years int) {
	dir := b.TempDir()
	db, err := Open(filepath.Join(dir, "live.db"), time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.bolt.NoSync = true // tmpfs in real life; the sizes are what matter
	db.SetHistory(time.UTC, DefaultRetention)
	series := benchSeries(hosts)
	s := NewState()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t := start
	const commit = 5 * time.Minute
	for y := 1; y <= years; y++ {
		end := start.AddDate(y, 0, 0)
		for ; t.Before(end); t = t.Add(commit) {
			// Ten samples of 30 s: what one commit carries.
			for k, name := range series {
				s.AddDelta(name, t, Counts{Packets: uint64(10 + k), Bytes: uint64(12345 * (k + 1))})
			}
			if err := db.Commit(s); err != nil {
				b.Fatal(err)
			}
		}
		fi, err := os.Stat(db.Path())
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(fi.Size()), fmt.Sprintf("file-bytes-year%d", y))
	}
	// The report's reads: today's 5-minute buckets, 30 days, 25 months.
	t0 := time.Now()
	for _, q := range []struct {
		r    Resolution
		from time.Time
	}{{FiveMinutes, t.Add(-24 * time.Hour)}, {Hour, t.Add(-48 * time.Hour)}, {Day, t.AddDate(0, 0, -30)}, {Month, t.AddDate(-2, 0, 0)}, {Year, time.Time{}}} {
		if _, err := db.History(q.r, q.from, time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(t0).Microseconds()), "µs-history-reads")
}

// BenchmarkVerify walks a full-grown database the way every open of the
// live file does (Verify): 254 hosts and four meters with full retention
// of every resolution. It reports the file's size; ns/op is the cost a
// one-shot command (cron's sample, block) pays before it starts.
func BenchmarkVerify(b *testing.B) {
	dir := b.TempDir()
	db, err := Open(filepath.Join(dir, "live.db"), time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.bolt.NoSync = true
	db.SetHistory(time.UTC, DefaultRetention)
	series := benchSeries(254)
	s := NewState()
	end := time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC)
	file := func(from time.Time, step time.Duration) {
		for t := from; t.Before(end); t = t.Add(step) {
			for k, name := range series {
				s.AddDelta(name, t, Counts{Packets: uint64(10 + k), Bytes: uint64(12345 * (k + 1))})
			}
			if err := db.Commit(s); err != nil {
				b.Fatal(err)
			}
		}
	}
	file(end.AddDate(0, -25, 0), 24*time.Hour) // a day at a time: 400 days and 25 months
	file(end.AddDate(0, 0, -14), time.Hour)    // 14 days of hours
	file(end.Add(-48*time.Hour), 5*time.Minute)
	fi, _ := os.Stat(db.Path())
	b.ResetTimer()
	for range b.N {
		if err := db.Verify(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(fi.Size()), "file-bytes")
}

// BenchmarkHistoryReads is the report's history reads alone (a day of
// 5-minute buckets, two days of hours, 30 days, two years of months, all
// years) on a database holding those buckets for 254 hosts and four
// meters: the read half of BenchmarkHistoryYears, without three years of
// commits to build it.
func BenchmarkHistoryReads(b *testing.B) {
	db := openBenchDB(b, b.TempDir())
	defer db.Close()
	series := benchSeries(254)
	now := time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)
	var times []time.Time
	for t := now.AddDate(-3, 0, 0); t.Before(now.AddDate(0, 0, -30)); t = t.AddDate(0, 1, 0) {
		times = append(times, t) // a month each, for the months and years
	}
	for t := now.AddDate(0, 0, -30); t.Before(now.Add(-48 * time.Hour)); t = t.Add(24 * time.Hour) {
		times = append(times, t)
	}
	for t := now.Add(-48 * time.Hour); t.Before(now); t = t.Add(5 * time.Minute) {
		times = append(times, t)
	}
	commitAt(b, db, series, times)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rows := 0
		for _, q := range []struct {
			r    Resolution
			from time.Time
		}{{FiveMinutes, now.Add(-24 * time.Hour)}, {Hour, now.Add(-48 * time.Hour)}, {Day, now.AddDate(0, 0, -30)}, {Month, now.AddDate(-2, 0, 0)}, {Year, time.Time{}}} {
			bk, err := db.History(q.r, q.from, time.Time{})
			if err != nil {
				b.Fatal(err)
			}
			rows += len(bk)
		}
		if rows < 288+48+30+24 {
			b.Fatalf("read %d buckets, want at least %d", rows, 288+48+30+24)
		}
	}
}

// benchSeries names the series of four meters and hosts hosts, both
// directions.
func benchSeries(hosts int) []string {
	var series []string
	for _, m := range []string{"proxy", "offnet", "wan_in", "wan_out"} {
		series = append(series, MeterSeries(m))
	}
	for h := 0; h < hosts; h++ {
		mac := fmt.Sprintf("02:00:00:00:%02x:%02x", h/256, h%256)
		series = append(series, HostSeries(mac, DirDownload), HostSeries(mac, DirUpload))
	}
	return series
}

// openBenchDB opens a live database in dir as the daemon has it, without
// syncs (tmpfs in real life).
func openBenchDB(b *testing.B, dir string) *DB {
	b.Helper()
	db, err := Open(filepath.Join(dir, "live.db"), time.Second)
	if err != nil {
		b.Fatal(err)
	}
	db.bolt.NoSync = true
	db.SetHistory(time.UTC, DefaultRetention)
	return db
}

// fillHostState gives s what hosts busy hosts keep besides history: a
// Host each, two addresses with a download and an upload element each,
// and with services four services used, three service ports per address
// and direction.
func fillHostState(s *State, hosts int, services bool) {
	now := time.Date(2026, 1, 16, 12, 0, 0, 0, time.UTC)
	boot := "0d6f3c5e-8f7a-4b7e-9a61-3f1e2b4c5d6e/42.7"
	for i := range hosts {
		mac := fmt.Sprintf("02:00:00:00:%02x:%02x", i/256, i%256)
		big := Counts{Packets: uint64(1e6 + i), Bytes: uint64(1e9 + 12345*i)}
		busy := Usage{Download: big, Upload: big, Day: "2026-01-16", Month: "2026-01"}
		s.Hosts[mac] = &Host{MAC: mac, Name: fmt.Sprintf("host-%d", i), FirstSeen: now, LastSeen: now, Usage: busy}
		addrs := []string{fmt.Sprintf("198.18.%d.%d", i/250, i%250+2), fmt.Sprintf("2001:db8:1::%x:%x", i, i*7919)}
		for _, a := range addrs {
			for _, dir := range []string{DirDownload, DirUpload} {
				s.Elements[dir+"/"+a] = &Element{Counts: big, Boot: boot, MAC: mac, Changed: now}
				if !services {
					continue
				}
				for _, p := range []string{"tcp/443", "udp/443", "udp/53"} {
					s.ServiceElements[dir+"/"+a+"/"+p] = &Element{Counts: big, Boot: boot, MAC: mac, Changed: now}
				}
			}
		}
		if services {
			for _, name := range []string{"https", "quic", "dns", "ntp"} {
				s.Services[ServiceKey(mac, name)] = &ServiceUse{MAC: mac, Service: name, Usage: busy}
			}
		}
	}
	s.Touch()
}

// commitAt commits a delta of every series at each of times, one commit
// per time, and returns the state it committed.
func commitAt(b *testing.B, db *DB, series []string, times []time.Time) *State {
	b.Helper()
	s := NewState()
	for _, t := range times {
		for k, name := range series {
			s.AddDelta(name, t, Counts{Packets: uint64(10 + k), Bytes: uint64(12345 * (k + 1))})
		}
		if err := db.Commit(s); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// BenchmarkPersistSteady is what a router two years old, its five-minute
// and hourly history full and every host busy, writes to flash per day
// with the daemon's persist: a base, then an hourly journal record, a new
// base when the journal has grown to the base's size. The deltas and
// counters are random (log-uniform, 1 KiB to 1 GiB a bucket), as real
// traffic's are: constant ones would compress to nothing. It simulates
// three weeks (six without usage by service) after the base the daemon
// writes at start and reports the
// mean per day over whole cycles (from one new base to the last: the
// steady state), beside it what a whole compacted snapshot every hour
// would write, and how long a restore (a boot) of snapshot and journal
// takes at the end. Run with -benchtime=1x.
func BenchmarkPersistSteady(b *testing.B) {
	for _, hosts := range []int{32, 254} {
		for _, services := range []bool{true, false} {
			b.Run(fmt.Sprintf("hosts=%d/services=%v", hosts, services), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					persistWeek(b, hosts, services)
				}
			})
		}
	}
}

// persistWeek fills a database as BenchmarkPersistSteady says, with usage
// by service or without, then persists hourly for three weeks.
func persistWeek(b *testing.B, hosts int, services bool) {
	dir := b.TempDir()
	db := openBenchDB(b, dir)
	defer db.Close()
	rng := rand.New(rand.NewPCG(1, uint64(hosts)))
	series := benchSeries(hosts)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := fillTwoYears(b, db, series, start, rng)
	fillHostState(s, hosts, services)
	dest := filepath.Join(dir, "flash", "netmon.db")
	// Enough days for whole cycles: without usage by service the journal
	// grows slowly, and a new base comes every week or two.
	days := 21
	if !services {
		days = 42
	}
	w := persistHourly(b, db, s, series, start.AddDate(0, 0, 16), dest, days, rng)
	if _, _, err := db.Compact(); err != nil {
		b.Fatal(err)
	}
	whole, err := db.Snapshot(filepath.Join(dir, "whole.db"))
	if err != nil {
		b.Fatal(err)
	}
	if len(w.fulls) < 2 {
		b.Fatalf("%d new bases in %d days: no whole cycle to measure", len(w.fulls), days)
	}
	// Whole cycles: the hours after the first new base through the last.
	from, to := w.fulls[0], w.fulls[len(w.fulls)-1]
	var cycles int64
	for h := from + 1; h <= to; h++ {
		cycles += w.byHour[h]
	}
	// What a boot costs: the snapshot unpacked and the journal replayed,
	// as it is at the end.
	t0 := time.Now()
	rep, err := RestoreReplaying(dest, filepath.Join(dir, "restored.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(time.Since(t0).Milliseconds()), "restore-ms")
	b.ReportMetric(float64(rep.Records), "restore-records")
	b.ReportMetric(float64(cycles)*24/float64(to-from), "flash-bytes/day")
	b.ReportMetric(float64(w.journal)/float64(days), "journal-bytes/day")
	b.ReportMetric(float64(len(w.fulls))/float64(days), "bases/day")
	b.ReportMetric(float64(w.lastBase), "base-bytes")
	b.ReportMetric(float64(whole*24), "whole-snapshot-bytes/day")
}

// fillTwoYears commits two years of daily history before start and 16
// days of five-minute history from it: a router two years old.
func fillTwoYears(b *testing.B, db *DB, series []string, start time.Time, rng *rand.Rand) *State {
	var times []time.Time
	for t := start.AddDate(-2, 0, 0); t.Before(start); t = t.AddDate(0, 0, 1) {
		times = append(times, t)
	}
	for t := start; t.Before(start.AddDate(0, 0, 16)); t = t.Add(5 * time.Minute) {
		times = append(times, t)
	}
	s := NewState()
	for _, t := range times {
		randomDeltas(s, series, t, rng)
		if err := db.Commit(s); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// flashWrites is what persistHourly wrote to flash.
type flashWrites struct {
	journal, lastBase int64
	fulls             []int         // the hours a new base was written
	byHour            map[int]int64 // bytes by hour
}

// persistHourly runs the daemon's rhythm for days from now: a busy commit
// every five minutes, a persist to dest every hour (compacting first when
// a new base is due), and counts what reached flash.
func persistHourly(b *testing.B, db *DB, s *State, series []string, now time.Time, dest string, days int, rng *rand.Rand) flashWrites {
	w := flashWrites{byHour: map[int]int64{}}
	for hour := 0; hour <= days*24; hour++ {
		if hour > 0 {
			for m := 0; m < 60; m += 5 {
				randomDeltas(s, series, now, rng)
				busyState(s, now, rng)
				if err := db.Commit(s); err != nil {
					b.Fatal(err)
				}
				now = now.Add(5 * time.Minute)
			}
		}
		if db.PersistDue(dest) {
			if _, _, err := db.Compact(); err != nil {
				b.Fatal(err)
			}
		}
		p, err := db.Persist(dest, false)
		if err != nil {
			b.Fatal(err)
		}
		if hour == 0 {
			continue // the daemon's start
		}
		w.byHour[hour] = p.Bytes
		if p.Full {
			w.fulls = append(w.fulls, hour)
			w.lastBase = p.Bytes
		} else {
			w.journal += p.Bytes
		}
	}
	return w
}

// randomBytes is a bucket's traffic: log-uniform from 1 KiB to 1 GiB.
func randomBytes(rng *rand.Rand) Counts {
	n := uint64(rng.Int64N(1 << (10 + rng.IntN(20))))
	return Counts{Packets: n/900 + 1, Bytes: n + 64}
}

// randomDeltas gives every series a random delta at t.
func randomDeltas(s *State, series []string, t time.Time, rng *rand.Rand) {
	for _, name := range series {
		s.AddDelta(name, t, randomBytes(rng))
	}
}

// busyState moves every host, element and service use on by a random
// amount at t, as a sample of busy hosts does.
func busyState(s *State, t time.Time, rng *rand.Rand) {
	day, month := t.Format("2006-01-02"), t.Format("2006-01")
	for _, h := range s.Hosts {
		h.Usage.Add(DirDownload, randomBytes(rng), day, month)
		h.Usage.Add(DirUpload, randomBytes(rng), day, month)
		h.LastSeen = t
	}
	for _, u := range s.Services {
		u.Usage.Add(DirDownload, randomBytes(rng), day, month)
		u.Usage.Add(DirUpload, randomBytes(rng), day, month)
	}
	for _, m := range []map[string]*Element{s.Elements, s.ServiceElements} {
		for _, e := range m {
			e.Counts = e.Counts.Add(randomBytes(rng))
			e.Changed = t
		}
	}
	s.Touch()
}
