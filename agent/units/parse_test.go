package units

import (
	"strings"
	"testing"
	"time"
)

// Durations are bounded the same however they are written: 99999d and
// 1000000h were once "malformed" and accepted.
func TestParseDuration_Bounds(t *testing.T) {
	for in, want := range map[string]time.Duration{"30m": 30 * time.Minute, "7d": 7 * 24 * time.Hour, "1h30m": 90 * time.Minute, "3650d": MaxDuration, "1s": time.Second} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"99999d": "more than 3650d", "1000000h": "more than 3650d", "99999999999999999999d": "more than 3650d",
		"500ms": "less than a second", "0s": "malformed", "1.5d": "malformed", "0d": "malformed", "-5m": "malformed", "soon": "malformed", "": "malformed",
	} {
		if _, err := ParseDuration(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseDuration(%q): %v, want %q", in, err, want)
		}
	}
}

func TestParseDate_Years(t *testing.T) {
	for _, in := range []string{"1969-12-31", "9999-01-01", "1999-12-31 23:59"} {
		if _, err := ParseDate(in, time.UTC); err == nil || !strings.Contains(err.Error(), "out of range (2000-2199)") {
			t.Errorf("ParseDate(%q): %v", in, err)
		}
	}
	if _, err := ParseDate("2026-11-25 14:30", time.UTC); err != nil {
		t.Error(err)
	}
}

// A throttle's rate is written as tc writes it, and reads back the same.
func TestParseThrottle(t *testing.T) {
	for in, want := range map[string]uint64{"2mbit": 2e6, "500kbit": 5e5, "500k": 5e5, "1.5M": 1.5e6, "1gbit": 1e9, "8000": 8000} {
		got, err := ParseThrottle(in)
		if err != nil || got != want {
			t.Errorf("ParseThrottle(%q) = %d, %v; want %d", in, got, err, want)
		}
		if back, err := ParseThrottle(FormatBits(got)); err != nil || back != got {
			t.Errorf("FormatBits(%d) = %q reads back as %d, %v", got, FormatBits(got), back, err)
		}
	}
	for _, in := range []string{"", "fast", "2mbyte", "7999", "2gbit", "-1mbit", "NaN", "0"} {
		if _, err := ParseThrottle(in); err == nil || !strings.Contains(err.Error(), "from 8kbit to 1gbit") {
			t.Errorf("ParseThrottle(%q): %v", in, err)
		}
	}
	if got := FormatBits(2_500_000); got != "2.5mbit" {
		t.Errorf("FormatBits(2500000) = %q", got)
	}
}
