package units

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/netmon-agent/netmon-agent/store"
)

func TestPOSIXZone(t *testing.T) {
	cases := []struct {
		tz       string
		utc      time.Time
		wantName string
		wantOff  int
	}{
		{"CET-1CEST,M3.5.0,M10.5.0/3", time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC), "CET", 3600},
		{"CET-1CEST,M3.5.0,M10.5.0/3", time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC), "CEST", 7200},
		{"EST5EDT,M3.2.0,M11.1.0", time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC), "EDT", -4 * 3600},
		{"EST5EDT,M3.2.0,M11.1.0", time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC), "EST", -5 * 3600},
		{"<+0545>-5:45", time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC), "+0545", 5*3600 + 45*60},
		{"AEST-10AEDT,M10.1.0,M4.1.0/3", time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC), "AEDT", 11 * 3600},
		{"UTC0", time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC), "UTC", 0},
	}
	for _, c := range cases {
		loc, err := POSIXZone(c.tz)
		if err != nil {
			t.Errorf("%s: %v", c.tz, err)
			continue
		}
		if name, off := c.utc.In(loc).Zone(); name != c.wantName || off != c.wantOff {
			t.Errorf("%s at %v: %s %d, want %s %d", c.tz, c.utc, name, off, c.wantName, c.wantOff)
		}
	}
	for _, bad := range []string{"", "garbage", "CET", "CET-1CEST,M3.5.0,M10.5.0/3\nrm", "Europe/Berlin"} {
		if _, err := POSIXZone(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// The day the clocks go forward has 23 hours in OpenWrt's zone, as the
// daily buckets must.
func TestPOSIXZone_DaysFollowDST(t *testing.T) {
	loc, err := POSIXZone("CET-1CEST,M3.5.0,M10.5.0/3")
	if err != nil {
		t.Fatal(err)
	}
	day := store.Day.Start(time.Date(2026, 3, 29, 12, 0, 0, 0, loc))
	if got := store.Day.Next(day).Sub(day); got != 23*time.Hour {
		t.Errorf("2026-03-29 lasts %v, want 23h", got)
	}
}

func TestLocalZone_ReadsOpenWrtTZ(t *testing.T) {
	dir := t.TempDir()
	tzFile := filepath.Join(dir, "TZ")
	os.WriteFile(tzFile, []byte("CET-1CEST,M3.5.0,M10.5.0/3\n"), 0o644)
	t.Setenv("TZ", "")
	loc, changed, err := LocalZone(tzFile, filepath.Join(dir, "no-localtime"))
	if err != nil || !changed {
		t.Fatalf("LocalZone: %v, changed %v", err, changed)
	}
	if name, _ := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC).In(loc).Zone(); name != "CEST" {
		t.Errorf("zone %s, want CEST", name)
	}
	// With /etc/localtime Go's own zone stands.
	os.WriteFile(filepath.Join(dir, "localtime"), nil, 0o644)
	if _, changed, _ := LocalZone(tzFile, filepath.Join(dir, "localtime")); changed {
		t.Error("replaced the zone Go read from /etc/localtime")
	}
	// A POSIX string in TZ (procd passes the environment on) is read too.
	t.Setenv("TZ", "EST5EDT,M3.2.0,M11.1.0")
	if loc, changed, err := LocalZone(filepath.Join(dir, "none"), filepath.Join(dir, "none")); err != nil || !changed || loc == nil {
		t.Errorf("TZ string: %v, changed %v", err, changed)
	}
	// Nothing at all: Go's UTC stands, without complaint.
	t.Setenv("TZ", "")
	if _, changed, err := LocalZone(filepath.Join(dir, "none"), filepath.Join(dir, "none")); err != nil || changed {
		t.Errorf("no zone anywhere: %v, changed %v", err, changed)
	}
	os.WriteFile(tzFile, []byte("nonsense\n"), 0o644)
	if _, _, err := LocalZone(tzFile, filepath.Join(dir, "none")); err == nil {
		t.Error("a malformed /etc/TZ was accepted")
	}
}
