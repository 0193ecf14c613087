package agent

import (
	"strings"
	"testing"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/hosts"
	"github.com/netmon-agent/netmon-agent/agent/netfilter"
	"github.com/netmon-agent/netmon-agent/agent/units"
)

// Fuzz tests for everything that reads text we do not write: the config,
// lease and neighbour files (host names are chosen by whoever is on the
// LAN), the firewall tools' output and command-line values. Seeds are the
// captures under testdata and the cases below; `go test` runs them, and
// `go test -fuzz FuzzX ./agent` searches further.

// oneLine asserts an error message is one line, as README promises.
func oneLine(t *testing.T, err error) {
	if err != nil && strings.ContainsAny(err.Error(), "\n\r") {
		t.Fatalf("error spans lines: %q", err)
	}
}

// FuzzArguments covers every value a command line or config option takes:
// addresses, MACs, durations, sizes, rates and dates.
func FuzzArguments(f *testing.F) {
	for _, s := range []string{"198.18.1.2", "!198.18.0.0/15", "2001:db8::/32", "02:00:00:00:01:02", "02-00-00-00-01-02",
		"30m", "7d", "1h30m", "10G", "1.5GiB", "24MiB", "100M", "2026-11-25", "2026-11-25 14:30", "-1", "", "9999999999999999999d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if a, err := netfilter.ParseAddress(s); err == nil && a.IsSet() {
			b, err := netfilter.ParseAddress(a.String())
			if err != nil || b != a {
				t.Fatalf("address %q -> %q -> %v, %v", s, a.String(), b, err)
			}
		} else {
			oneLine(t, err)
		}
		if m := hosts.NormalMAC(s); m != "" && hosts.NormalMAC(m) != m {
			t.Fatalf("MAC %q -> %q is not stable", s, m)
		}
		if d, err := units.ParseDuration(s); err == nil && d <= 0 {
			t.Fatalf("duration %q = %v", s, d)
		} else {
			oneLine(t, err)
		}
		if n, err := units.ParseSize(s); err == nil && n < 0 {
			t.Fatalf("size %q = %d", s, n)
		} else {
			oneLine(t, err)
		}
		_, err := units.ParseLimit(s)
		oneLine(t, err)
		if r, err := units.ParseRate(s); err == nil && !(r > 0) {
			t.Fatalf("rate %q = %v", s, r)
		} else {
			oneLine(t, err)
		}
		_, err = units.ParseDate(s, time.UTC)
		oneLine(t, err)
		_, err = units.POSIXZone(s)
		oneLine(t, err)
	})
}
