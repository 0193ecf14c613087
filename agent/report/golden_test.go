package report_test

import (
	"bytes"
	"encoding/xml"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/account"
	"github.com/netmon-agent/netmon-agent/agent/account/accounttest"
	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/report"
	"github.com/netmon-agent/netmon-agent/store"
)

// The golden files under testdata/golden pin every text layout a person
// reads: a change to one shows up as a diff in review. `go test ./agent
// -run Golden -update` rewrites them; read the diff before committing it.

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./agent/report -run Golden -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

var goldenHosts = []struct{ mac, name string }{
	{"02:00:00:00:01:02", "laptop"},
	{"02:00:00:00:01:03", "tv"},
	{"02:00:00:00:01:04", ""},
}

// goldenNow is the fixture's "now": mid-afternoon, 40 days of history.
var goldenNow = time.Date(2026, 11, 25, 15, 40, 0, 0, time.UTC)

// goldenRig is a live database holding 40 days of deterministic hourly
// traffic for two meters and three hosts, committed through the store (so
// the rollups are the real ones), and the state beside it.
func goldenRig(t *testing.T) (*config.Config, *store.DB, *store.State) {
	t.Helper()
	// Days and months are cut in local time: pin it so the files do not
	// depend on the machine.
	time.Local = time.UTC
	cfg := accounttest.MustConfig(t, accounttest.GoldenConfig)
	db, err := store.Open(filepath.Join(t.TempDir(), "live.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetHistory(time.UTC, cfg.Keep)

	st := store.NewState()
	start := goldenNow.Add(-40 * 24 * time.Hour).Truncate(time.Hour)
	st.Created = start
	series := []string{store.MeterSeries("proxy"), store.MeterSeries("offnet")}
	for _, h := range goldenHosts {
		series = append(series, store.HostSeries(h.mac, store.DirDownload), store.HostSeries(h.mac, store.DirUpload))
	}
	totals := map[string]store.Counts{}
	n := 0
	for at := start; at.Before(goldenNow); at = at.Add(time.Hour) {
		n++
		evening := uint64(1)
		if hr := at.Hour(); hr >= 18 && hr <= 23 {
			evening = 4
		}
		for i, s := range series {
			b := uint64((n*7919+i*104729)%997+1) * 40000 * evening
			if strings.HasSuffix(s, "/ul") {
				b /= 8
			}
			d := store.Counts{Packets: b / 1000, Bytes: b}
			st.AddDelta(s, at.Add(10*time.Minute), d)
			totals[s] = totals[s].Add(d)
		}
		if at.Hour() == 0 { // commit a day at a time, as a daemon would many times over
			if err := db.Commit(st); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := db.Commit(st); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"proxy", "offnet"} {
		st.Counters[m+"/ipv4"] = &store.Counter{Meter: m, Family: "ipv4", Total: totals[store.MeterSeries(m)], Since: start}
	}
	for _, h := range goldenHosts {
		dl, ul := totals[store.HostSeries(h.mac, store.DirDownload)], totals[store.HostSeries(h.mac, store.DirUpload)]
		// Today: 123 MiB down, 12 MiB up.
		today := store.Directions{Download: dl.Since(store.Counts{Bytes: 123 << 20}), Upload: ul.Since(store.Counts{Bytes: 12 << 20})}
		st.Hosts[h.mac] = &store.Host{MAC: h.mac, Name: h.name, Addresses: []string{"198.18.1." + h.mac[len(h.mac)-1:]},
			FirstSeen: start, LastSeen: goldenNow, Usage: store.Usage{Download: dl, Upload: ul, Day: "2026-11-25", DayStart: today}}
	}
	st.LastSample = goldenNow
	return cfg, db, st
}

func TestGolden_Summary(t *testing.T) {
	cfg, db, st := goldenRig(t)
	st.AddEvent(store.Event{Time: goldenNow.Add(-3 * time.Hour), Cause: store.CauseReboot, Meter: "proxy", Family: "ipv4"})
	r := report.BuildReport(cfg, st, goldenNow, "daemon")
	report.AddUsage(r, cfg, db, st, goldenNow)
	var b bytes.Buffer
	if err := r.WriteText(&b, time.UTC); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "report.txt", b.Bytes())
}

func TestGolden_HistoryViews(t *testing.T) {
	cfg, db, st := goldenRig(t)
	_ = cfg
	for name, q := range map[string]report.HistoryQuery{
		"report-5min.txt":         {Resolution: "5min", Limit: 6},
		"report-hours.txt":        {Resolution: "hour"},
		"report-days.txt":         {Resolution: "day"},
		"report-months.txt":       {Resolution: "month"},
		"report-years.txt":        {Resolution: "year"},
		"report-top.txt":          {Resolution: "day", Top: true},
		"report-days-meter.txt":   {Resolution: "day", Meter: "proxy", Limit: 7},
		"report-hours-host.txt":   {Resolution: "hour", Host: "laptop", Limit: 12},
		"report-days-between.txt": {Resolution: "day", Begin: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 8, 0, 0, 0, 0, time.UTC)},
	} {
		h, err := report.BuildHistoryFrom(db, st, nil, q, goldenNow, "daemon")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var b bytes.Buffer
		if err := h.WriteText(&b); err != nil {
			t.Fatal(err)
		}
		checkGolden(t, name, b.Bytes())
	}
}

func TestGolden_Export(t *testing.T) {
	_, db, st := goldenRig(t)
	h, err := report.BuildHistoryFrom(db, st, nil, report.HistoryQuery{Resolution: "day", Limit: 7, PerHost: true}, goldenNow, "daemon")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := report.WriteExport(&b, h, "tsv", "MiB"); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "export-days.tsv", b.Bytes())
}

func TestGolden_Hosts(t *testing.T) {
	cfg, _, st := goldenRig(t)
	st.Blocks["02:00:00:00:01:03"] = &store.Block{Target: "02:00:00:00:01:03", Created: goldenNow.Add(-time.Hour), Until: goldenNow.Add(time.Hour), Reason: "homework"}
	rates := map[string]account.Rate{"02:00:00:00:01:02": {Download: 1.5 * 1024 * 1024, Upload: 40 * 1024}}
	var b bytes.Buffer
	if err := report.BuildHosts(cfg, st, rates, goldenNow, "daemon").WriteText(&b); err != nil {
		t.Fatal(err)
	}
	b.WriteString("\n")
	if err := report.BuildBlocks(st).WriteText(&b, time.UTC); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "hosts.txt", b.Bytes())
}

func TestGolden_SinceLast(t *testing.T) {
	cfg, _, st := goldenRig(t)
	var b bytes.Buffer
	first := report.BuildSinceLast(cfg, st, goldenNow, "daemon")
	if err := first.WriteText(&b, time.UTC); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "since-last-first.txt", b.Bytes())

	// A day later, after a reboot: the checkpoint is the first report's.
	st.Checkpoint = first.Checkpoint
	later := goldenNow.Add(24 * time.Hour)
	st.AddEvent(store.Event{Time: goldenNow.Add(5 * time.Hour), Cause: store.CauseReboot, Meter: "proxy", Family: "ipv4"})
	st.Counters["proxy/ipv4"].Total = st.Counters["proxy/ipv4"].Total.Add(store.Counts{Packets: 1000, Bytes: 3 << 30})
	h := st.Hosts["02:00:00:00:01:03"]
	h.Download = h.Download.Add(store.Counts{Packets: 100, Bytes: 700 << 20})
	b.Reset()
	if err := report.BuildSinceLast(cfg, st, later, "daemon").WriteText(&b, time.UTC); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "since-last-reset.txt", b.Bytes())
}

func goldenHTML(t *testing.T, sinceLast bool) []byte {
	cfg, db, st := goldenRig(t)
	st.Hosts["02:00:00:00:01:03"].Name = `<script>alert("tv")</script>`
	st.AddEvent(store.Event{Time: goldenNow.Add(-3 * time.Hour), Cause: store.CauseReboot, Meter: "proxy", Family: "ipv4"})
	r := report.BuildReport(cfg, st, goldenNow, "daemon")
	report.AddUsage(r, cfg, db, st, goldenNow)
	days, err := report.BuildHistoryFrom(db, st, nil, report.ChartQuery(goldenNow), goldenNow, "daemon")
	if err != nil {
		t.Fatal(err)
	}
	month, err := report.BuildHistoryFrom(db, st, nil, report.MonthHostsQuery(cfg, goldenNow), goldenNow, "daemon")
	if err != nil {
		t.Fatal(err)
	}
	var sl *report.SinceLastReport
	title := "Network usage"
	if sinceLast {
		st.Checkpoint = &store.Checkpoint{Time: goldenNow.Add(-24 * time.Hour), Totals: map[string]store.Counts{}}
		sl = report.BuildSinceLast(cfg, st, goldenNow, "daemon")
		title = "Network Usage Report - 2026-11-25"
	}
	var b bytes.Buffer
	if err := report.BuildHTMLReport(title, "router.lan", r, sl, days, month, time.UTC, goldenNow).WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestGolden_HTML(t *testing.T) {
	page := goldenHTML(t, false)
	checkGolden(t, "report.html", page)
	checkSelfContained(t, page)
	mail := goldenHTML(t, true)
	checkGolden(t, "mail.html", mail)
	checkSelfContained(t, mail)
	if !bytes.Contains(mail, []byte("RESET DETECTED")) {
		t.Error("the mail's page does not flag the reboot")
	}
}

// checkSelfContained asserts the page fetches and runs nothing, escapes
// what a LAN host chose as its name, and draws a well-formed chart of 30
// days.
func checkSelfContained(t *testing.T, page []byte) {
	t.Helper()
	s := string(page)
	for _, bad := range []string{"<script", "http://", "https://", "src=", "@import", "url("} {
		if strings.Contains(s, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	if !strings.Contains(s, "&lt;script&gt;") {
		t.Error("a hostile host name is not escaped")
	}
	i, j := strings.Index(s, "<svg"), strings.Index(s, "</svg>")
	if i < 0 || j < i {
		t.Fatal("no chart")
	}
	d := xml.NewDecoder(strings.NewReader(s[i : j+len("</svg>")]))
	rects := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("chart is not well-formed SVG: %v", err)
		}
		if e, ok := tok.(xml.StartElement); ok && e.Name.Local == "rect" {
			rects++
		}
	}
	if rects != 2*report.ChartDays {
		t.Errorf("chart has %d bars, want %d", rects, 2*report.ChartDays)
	}
}
