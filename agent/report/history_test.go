package report_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/account/accounttest"
	"github.com/netmon-agent/netmon-agent/agent/report"
	"github.com/netmon-agent/netmon-agent/store"
)

// dayBytes reads meter's bytes per day from the rig's database.
func dayBytes(t *testing.T, r *accounttest.Rig, meter string) map[string]uint64 {
	t.Helper()
	r.Commit()
	buckets, err := r.DB.History(store.Day, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]uint64{}
	for _, b := range buckets {
		if c := b.Of(store.MeterSeries(meter)); c != (store.Counts{}) {
			out[b.Start.Format("2006-01-02")] = c.Bytes
		}
	}
	return out
}

func TestHistory_DeltasFiledByDay(t *testing.T) {
	r := accounttest.NewRig(t, accounttest.TwoMeters)
	// A delta is filed at the sample that reads it.
	r.Clock.T = time.Date(2026, 12, 30, 23, 58, 0, 0, time.Local)
	r.Sample() // 23:58:30
	r.Fw4.Count("proxy", 2, 1000)
	r.Sample() // 23:59:00
	r.Fw4.Count("proxy", 1, 300)
	r.Sample() // 23:59:30
	r.Fw4.Count("proxy", 1, 200)
	r.Fw6.Count("all", 1, 60)
	r.Sample() // 00:00:00 on the 31st
	got := dayBytes(t, r, "proxy")
	if got["2026-12-30"] != 1300 || got["2026-12-31"] != 200 || len(got) != 2 {
		t.Errorf("proxy by day %v, want 1300 on the 30th and 200 on the 31st", got)
	}
	years, _ := r.DB.History(store.Year, time.Time{}, time.Time{})
	if len(years) != 1 || years[0].Of(store.MeterSeries("proxy")).Bytes != 1500 || years[0].Of(store.MeterSeries("all")).Bytes != 60 {
		t.Errorf("year %+v", years)
	}
}

// A router without a clock boots in 1970: deltas wait, then are filed at
// the first believable time, never under 1970; totals count all along.
func TestHistory_UnbelievableClockHoldsDeltas(t *testing.T) {
	r := accounttest.NewRig(t, accounttest.TwoMeters)
	r.Clock.T = time.Date(1970, 1, 1, 0, 0, 10, 0, time.UTC)
	r.Sample()
	r.Fw4.Count("proxy", 3, 3000)
	r.Sample()
	accounttest.WantTotal(t, r, "proxy", 3000)
	if got := dayBytes(t, r, "proxy"); len(got) != 0 {
		t.Fatalf("history filed under an unbelievable clock: %v", got)
	}
	r.Clock.T = time.Date(2026, 12, 5, 10, 0, 0, 0, time.Local) // NTP synced
	r.Fw4.Count("proxy", 1, 100)
	r.Sample()
	got := dayBytes(t, r, "proxy")
	if got["2026-12-05"] != 3100 || len(got) != 1 {
		t.Errorf("history after the clock synced %v, want 3100 on 2026-12-05", got)
	}
}

// A clock that steps back neither crashes nor counts twice; one that jumps
// forward files the bytes, not a spike.
func TestHistory_ClockJumps(t *testing.T) {
	r := accounttest.NewRig(t, accounttest.TwoMeters)
	r.Clock.T = time.Date(2026, 12, 10, 12, 0, 0, 0, time.Local)
	r.Sample()
	r.Fw4.Count("proxy", 1, 100)
	r.Sample()
	r.Clock.T = time.Date(2026, 12, 9, 12, 0, 0, 0, time.Local) // back a day
	r.Fw4.Count("proxy", 1, 200)
	r.Sample()
	r.Clock.T = time.Date(2026, 12, 20, 12, 0, 0, 0, time.Local) // forward
	r.Fw4.Count("proxy", 1, 400)
	r.Sample()
	accounttest.WantTotal(t, r, "proxy", 700)
	got := dayBytes(t, r, "proxy")
	if got["2026-12-10"] != 100 || got["2026-12-09"] != 200 || got["2026-12-20"] != 400 {
		t.Errorf("history %v", got)
	}
	var sum uint64
	for _, v := range got {
		sum += v
	}
	if sum != 700 {
		t.Errorf("history sums to %d, total is 700", sum)
	}
}

// A delta faster than max_rate is dropped, logged and recorded; counting
// goes on from the new reading.
func TestHistory_BogusDeltaDropped(t *testing.T) {
	r := accounttest.NewRig(t, accounttest.TwoMeters)
	r.Config.MaxRate = 1e6
	r.Clock.T = time.Date(2026, 12, 10, 12, 0, 0, 0, time.Local)
	r.Sample()
	r.Fw4.Count("proxy", 1, 1000) // 1000 B in 30 s: fine
	r.Sample()
	r.Fw4.Count("proxy", 1, 1<<40) // a terabyte in 30 s at 1 Mbit/s: bogus
	r.Sample()
	r.Fw4.Count("proxy", 1, 500)
	r.Sample()
	accounttest.WantTotal(t, r, "proxy", 1500)
	if c := accounttest.LastCause(r, "proxy"); c != store.CauseBogus {
		t.Errorf("last event %q, want bogus", c)
	}
	if !strings.Contains(strings.Join(r.Logs, "\n"), "more than max_rate") {
		t.Errorf("no log line for the bogus delta:\n%s", strings.Join(r.Logs, "\n"))
	}
	if got := dayBytes(t, r, "proxy"); got["2026-12-10"] != 1500 {
		t.Errorf("history %v, want 1500", got)
	}
}

func TestBuildHistory_PendingAndLimit(t *testing.T) {
	loc := time.UTC
	day := func(d int) time.Time { return time.Date(2026, 12, d, 0, 0, 0, 0, loc) }
	buckets := []store.Bucket{
		store.NewBucket(day(1), map[string]store.Counts{store.MeterSeries("wan"): {Bytes: 100}, store.HostSeries("02:00:00:00:01:02", "dl"): {Bytes: 10}}),
		store.NewBucket(day(2), map[string]store.Counts{store.HostSeries("02:00:00:00:01:02", "ul"): {Bytes: 20}, store.HostSeries("02:00:00:00:01:03", "dl"): {Bytes: 5}}),
	}
	pending := map[store.DeltaKey]store.Counts{
		{Series: store.MeterSeries("wan"), Slot: day(2).Add(time.Hour).Unix()}: {Bytes: 7},
		{Series: store.MeterSeries("wan"), Slot: day(3).Add(time.Hour).Unix()}: {Bytes: 9},
	}
	now := day(3).Add(12 * time.Hour)
	r, err := report.BuildHistory(report.HistoryQuery{Resolution: "day", Limit: 2}, "", buckets, pending, loc, now, "test")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Rows) != 2 || !r.Rows[0].Start.Equal(day(2)) || r.Rows[0].Meters["wan"] != 7 || r.Rows[0].UploadBytes != 20 || r.Rows[0].DownloadBytes != 5 {
		t.Fatalf("rows %+v", r.Rows)
	}
	// The running day's rate counts up to now.
	if got := r.Rows[1].AverageRate; got != 0 {
		t.Errorf("day 3 moved no host bytes, rate %v", got)
	}
	h, _ := report.BuildHistory(report.HistoryQuery{Resolution: "day"}, "02:00:00:00:01:02", buckets, nil, loc, now, "test")
	if len(h.Rows) != 2 || h.Rows[0].DownloadBytes != 10 || h.Rows[1].DownloadBytes != 0 || h.Rows[1].UploadBytes != 20 {
		t.Errorf("host rows %+v", h.Rows)
	}
	m, _ := report.BuildHistory(report.HistoryQuery{Resolution: "day", Meter: "wan"}, "", buckets, nil, loc, now, "test")
	if m.Rows[0].Meters["wan"] != 100 || m.Rows[0].AverageRate != 100.0/86400 {
		t.Errorf("meter rows %+v", m.Rows)
	}
}

func TestWriteExport(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 12, d, 0, 0, 0, 0, time.UTC) }
	buckets := []store.Bucket{
		store.NewBucket(day(1), map[string]store.Counts{store.MeterSeries("wan"): {Bytes: 3 << 20}, store.MeterSeries("proxy"): {Bytes: 1 << 20},
			store.HostSeries("02:00:00:00:01:02", "dl"): {Bytes: 1 << 19}}),
		store.NewBucket(day(2), map[string]store.Counts{store.MeterSeries("wan"): {Bytes: 1 << 21}, store.HostSeries("02:00:00:00:01:02", "ul"): {Bytes: 1 << 20}}),
	}
	r, err := report.BuildHistory(report.HistoryQuery{Resolution: "day", Limit: 100, PerHost: true}, "", buckets, nil, time.UTC, day(3), "test")
	if err != nil {
		t.Fatal(err)
	}
	r.Names = map[string]string{"02:00:00:00:01:02": "laptop"}
	var b strings.Builder
	if err := report.WriteExport(&b, r, "tsv", "MiB"); err != nil {
		t.Fatal(err)
	}
	want := "Date\tproxy\twan\tlaptop download\tlaptop upload\n" +
		"2026-12-01\t1.000\t3.000\t0.500\t0.000\n" +
		"2026-12-02\t0.000\t2.000\t0.000\t1.000\n"
	if b.String() != want {
		t.Errorf("tsv:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	if err := report.WriteExport(&b, r, "json", "B"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"wan": 3145728`) || !strings.Contains(b.String(), `"Date": "2026-12-02"`) {
		t.Errorf("json:\n%s", b.String())
	}
	// Two hosts of one name keep a column pair each, told apart by MAC.
	r.Hosts = append(r.Hosts, "02:00:00:00:01:09")
	r.Names["02:00:00:00:01:09"] = "laptop"
	b.Reset()
	if err := report.WriteExport(&b, r, "json", "B"); err != nil {
		t.Fatal(err)
	}
	for _, col := range []string{`"laptop (02:00:00:00:01:02) download": 524288`, `"laptop (02:00:00:00:01:09) upload": 0`} {
		if !strings.Contains(b.String(), col) {
			t.Errorf("json without %s:\n%s", col, b.String())
		}
	}
	if err := report.WriteExport(&b, r, "xml", "B"); err == nil {
		t.Error("xml accepted")
	}
}

// The summary's months are billing months: period_start 31 ends February
// on the 28th; the estimate is a straight line over the period.
func TestBuildUsage_BillingMonths(t *testing.T) {
	cfg := accounttest.MustConfig(t, accounttest.TwoMeters)
	cfg.PeriodStart = 31
	loc := time.UTC
	at := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, loc) }
	now := time.Date(2026, 3, 15, 12, 0, 0, 0, loc) // period began Feb 28
	var buckets []store.Bucket
	for _, d := range []time.Time{at(1, 30), at(1, 31), at(2, 27), at(2, 28), at(3, 14), at(3, 15)} {
		buckets = append(buckets, store.NewBucket(d, map[string]store.Counts{store.MeterSeries("proxy"): {Bytes: uint64(d.Day())}}))
	}
	h, err := report.BuildHistory(report.HistoryQuery{Resolution: "day", Begin: report.UsageSince(cfg, now), Limit: report.AllRows}, "", buckets, nil, loc, now, "")
	if err != nil {
		t.Fatal(err)
	}
	us := report.BuildUsage(cfg, h, now)
	var u report.Usage
	for _, x := range us {
		if x.Name == "proxy" {
			u = x
		}
	}
	if u.Today != 15 || u.Yesterday != 14 {
		t.Errorf("today %d yesterday %d", u.Today, u.Yesterday)
	}
	if !u.MonthStart.Equal(at(2, 28)) || u.Month != 28+14+15 {
		t.Errorf("this period from %v: %d, want Feb 28: 57", u.MonthStart, u.Month)
	}
	if !u.LastMonthOf.Equal(at(1, 31)) || u.LastMonth != 31+27 {
		t.Errorf("last period from %v: %d, want Jan 31: 58", u.LastMonthOf, u.LastMonth)
	}
	// 57 bytes in 15.5 of the period's 31 days (Feb 28 to Mar 31).
	if want := uint64(57 * 31 / 15.5); u.Estimate != want {
		t.Errorf("estimate %d, want %d", u.Estimate, want)
	}
}

// Host names are the devices' choice: one that starts like a formula goes
// into a CSV or TSV header behind a ', as spreadsheet tools expect; JSON
// keeps it as it is.
func TestWriteExport_NamesThatLookLikeFormulas(t *testing.T) {
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	names := map[string]string{}
	series := map[string]store.Counts{}
	for i, n := range []string{"=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "plain"} {
		mac := fmt.Sprintf("02:00:00:00:01:%02x", i+2)
		names[mac] = n
		series[store.HostSeries(mac, "dl")] = store.Counts{Bytes: 1}
	}
	r, err := report.BuildHistory(report.HistoryQuery{Resolution: "day", Limit: 10, PerHost: true}, "", []store.Bucket{store.NewBucket(day, series)}, nil, time.UTC, day.AddDate(0, 0, 1), "test")
	if err != nil {
		t.Fatal(err)
	}
	r.Names = names
	for _, format := range []string{"csv", "tsv"} {
		var b strings.Builder
		if err := report.WriteExport(&b, r, format, "B"); err != nil {
			t.Fatal(err)
		}
		header, _, _ := strings.Cut(b.String(), "\n")
		for _, want := range []string{`'=HYPERLINK(`, `'+1 download`, `'-2 upload`, `'@SUM(A1) download`, `plain download`} {
			if !strings.Contains(header, want) {
				t.Errorf("%s header %q lacks %q", format, header, want)
			}
		}
		for _, cell := range strings.FieldsFunc(header, func(r rune) bool { return r == ',' || r == '\t' }) {
			if c := strings.Trim(cell, `"`); c != "" && strings.ContainsRune("=+-@", rune(c[0])) {
				t.Errorf("%s: a header cell starts a formula: %q", format, cell)
			}
		}
	}
}
