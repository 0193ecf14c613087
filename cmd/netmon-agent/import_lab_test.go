package main

import (
	"encoding/binary"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nlbwDir holds databases nlbwmon itself wrote, three months of them,
// each with what `nlbw -c csv` printed for it (agent/nlbwmon/testdata).
func nlbwDir() string { return filepath.Join(repoRoot, "agent", "nlbwmon", "testdata", "monthly") }

// nlbwCSV is what nlbwmon's own client printed for the period starting on
// day: per MAC, download and upload bytes, in all and on tcp/443.
func nlbwCSV(t *testing.T, day string) (all, https map[string][2]uint64) {
	t.Helper()
	return nlbwCSVAt(t, filepath.Join(nlbwDir(), strings.ReplaceAll(day, "-", "")+".csv"))
}

// nlbwCSVAt reads nlbw's CSV of a period from path, as nlbwCSV does.
func nlbwCSVAt(t *testing.T, path string) (all, https map[string][2]uint64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	all, https = map[string][2]uint64{}, map[string][2]uint64{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n")[1:] {
		f := strings.Split(strings.ReplaceAll(line, `"`, ""), "\t")
		rx, _ := strconv.ParseUint(f[6], 10, 64)
		tx, _ := strconv.ParseUint(f[8], 10, 64)
		all[f[3]] = [2]uint64{all[f[3]][0] + rx, all[f[3]][1] + tx}
		if f[1] == "TCP" && f[2] == "443" {
			https[f[3]] = [2]uint64{https[f[3]][0] + rx, https[f[3]][1] + tx}
		}
	}
	return all, https
}

// monthsJSON is report --months --json's rows by month.
func (l *lab) monthsJSON() map[string][3]string {
	l.t.Helper()
	var r struct {
		Rows []struct {
			Start         time.Time `json:"start"`
			DownloadBytes uint64    `json:"download_bytes"`
			UploadBytes   uint64    `json:"upload_bytes"`
			Imported      string    `json:"imported"`
		} `json:"rows"`
	}
	out := l.agent("report", "--months", "--limit", "24", "--json")
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		l.t.Fatalf("report --months --json: %v\n%s", err, out)
	}
	m := map[string][3]string{}
	for _, row := range r.Rows {
		m[row.Start.Format("2006-01")] = [3]string{strconv.FormatUint(row.DownloadBytes, 10), strconv.FormatUint(row.UploadBytes, 10), row.Imported}
	}
	return m
}

// Three months nlbwmon wrote, imported into a database that began after
// them: without a daemon, each month's row and the hosts' totals equal
// what nlbw says to the byte, rows marked imported, HTTPS as service
// https; through the daemon again, nothing changes; a damaged file beside
// good ones is refused with one line naming it and nothing filed; and all
// of it survives a restart, from flash.
func TestLab_ImportNlbwmon(t *testing.T) {
	l := newLab(t, "nftables")
	l.agent("sample")
	out := l.agent("import", "nlbwmon", nlbwDir())
	if strings.Count(out, "imported") != 3 {
		t.Fatalf("first import:\n%s", out)
	}
	wantHosts := map[string][2]uint64{}
	wantHTTPS := map[string][2]uint64{}
	months := l.monthsJSON()
	for _, day := range []string{"2026-09-01", "2026-10-01", "2026-11-01"} {
		all, https := nlbwCSV(t, day)
		var dl, ul uint64
		for mac, c := range all {
			dl, ul = dl+c[0], ul+c[1]
			wantHosts[mac] = [2]uint64{wantHosts[mac][0] + c[0], wantHosts[mac][1] + c[1]}
		}
		for mac, c := range https {
			wantHTTPS[mac] = [2]uint64{wantHTTPS[mac][0] + c[0], wantHTTPS[mac][1] + c[1]}
		}
		want := [3]string{strconv.FormatUint(dl, 10), strconv.FormatUint(ul, 10), "nlbwmon"}
		if got := months[day[:7]]; got != want {
			t.Errorf("month %s: %v, nlbw says %v", day[:7], got, want)
		}
	}
	l.checkImportedHosts(wantHosts, wantHTTPS)
	if text := l.agent("report", "--months"); !strings.Contains(text, "*2026-10") || !strings.Contains(text, "imported from nlbwmon") {
		t.Errorf("report --months does not mark the imported months:\n%s", text)
	}

	l.startDaemon()
	if out := l.agent("import", "nlbwmon", nlbwDir()); strings.Count(out, "already imported") != 3 {
		t.Errorf("second import:\n%s", out)
	}
	bad := t.TempDir()
	for _, f := range []string{"20260901.db.gz", "20261001.db.gz"} {
		b, _ := os.ReadFile(filepath.Join(nlbwDir(), f))
		if f == "20261001.db.gz" {
			b = b[:len(b)/2]
		}
		os.WriteFile(filepath.Join(bad, f), b, 0o600)
	}
	out, err := l.exec("r", l.agentArgs("import", "nlbwmon", bad)...)
	if err == nil || !strings.Contains(out, filepath.Join(bad, "20261001.db.gz")) || strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Errorf("a damaged file: %v\n%s", err, out)
	}
	if got := l.monthsJSON(); !equalMonths(got, months) {
		t.Errorf("after the second and the refused import: %v, before %v", got, months)
	}
	l.stopDaemon(syscall.SIGTERM)
	os.RemoveAll(filepath.Join(l.dir, "run"))
	l.startDaemon()
	if got := l.monthsJSON(); !equalMonths(got, months) {
		t.Errorf("restored from flash: %v, before %v", got, months)
	}
	l.checkImportedHosts(wantHosts, wantHTTPS)
}

func equalMonths(a, b map[string][3]string) bool {
	for _, m := range []string{"2026-09", "2026-10", "2026-11"} {
		if a[m] != b[m] {
			return false
		}
	}
	return true
}

// checkImportedHosts compares the host table and the usage by service
// with nlbw's totals (the lab's own traffic is none).
func (l *lab) checkImportedHosts(want, https map[string][2]uint64) {
	l.t.Helper()
	hosts := l.hosts()
	for mac, w := range want {
		if h := hosts[mac]; h.DownloadBytes != w[0] || h.UploadBytes != w[1] {
			l.t.Errorf("host %s: %d down %d up; nlbw says %d and %d", mac, h.DownloadBytes, h.UploadBytes, w[0], w[1])
		}
	}
	var r servicesJSON
	if err := json.Unmarshal([]byte(l.agent("hosts", "--services", "--json")), &r); err != nil {
		l.t.Fatal(err)
	}
	got := map[string][2]uint64{}
	for _, h := range r.Hosts {
		for _, s := range h.Services {
			if s.Name == "https" {
				got[h.MAC] = [2]uint64{s.DownloadBytes, s.UploadBytes}
			}
		}
	}
	if len(https) == 0 || !maps.Equal(got, https) {
		l.t.Errorf("usage of https %v; nlbw says %v", got, https)
	}
}

// A week nlbwmon was counting when netmon-agent took over (its header's
// date moved to yesterday, the file written just now): the import files
// only what nlbwmon counted before our first sample. Host a moved data
// after it, which both counted: a ends with what nlbwmon says for the
// week, to the byte, not that plus our share.
func TestLab_ImportSplitsAtOurFirstSample(t *testing.T) {
	l := newLab(t, "nftables")
	l.startDaemon()
	l.helper("a", "tcp", "198.19.0.2:7000", "100000")
	l.waitFor(func() bool { return l.hosts()[macA].UploadBytes > 100000 }, "a's upload counted")
	ours := l.hosts()[macA]

	raw, err := os.ReadFile(filepath.Join(repoRoot, "agent", "nlbwmon", "testdata", "fixed", "20261005.db"))
	if err != nil {
		t.Fatal(err)
	}
	y, m, d := time.Now().AddDate(0, 0, -1).Date()
	day := uint32(y*10000 + int(m)*100 + d)
	binary.BigEndian.PutUint32(raw[8:], day)
	file := filepath.Join(l.dir, strconv.Itoa(int(day))+".db")
	os.WriteFile(file, raw, 0o600)
	out := l.agent("import", "nlbwmon", file)
	if !strings.Contains(out, "imported up to our first sample") {
		t.Fatalf("import:\n%s", out)
	}
	all, _ := nlbwCSVAt(t, filepath.Join(repoRoot, "agent", "nlbwmon", "testdata", "fixed", "20261005.csv"))
	a := l.hosts()[macA]
	if a.DownloadBytes != all[macA][0] || a.UploadBytes != all[macA][1] {
		t.Errorf("a: %d down %d up after the import (%d and %d by our own counting); nlbw says the week was %d and %d",
			a.DownloadBytes, a.UploadBytes, ours.DownloadBytes, ours.UploadBytes, all[macA][0], all[macA][1])
	}
}
