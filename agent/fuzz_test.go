package agent

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
)

// Fuzz tests for everything that reads text we do not write: the config,
// lease and neighbour files (host names are chosen by whoever is on the
// LAN), the firewall tools' output and command-line values. Seeds are the
// captures under testdata and the cases below; `go test` runs them, and
// `go test -fuzz FuzzX ./agent` searches further.

func addFiles(f *testing.F, pattern string) {
	files, _ := filepath.Glob(filepath.Join("testdata", pattern))
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// oneLine asserts an error message is one line, as README promises.
func oneLine(t *testing.T, err error) {
	if err != nil && strings.ContainsAny(err.Error(), "\n\r") {
		t.Fatalf("error spans lines: %q", err)
	}
}

func FuzzConfig(f *testing.F) {
	f.Add([]byte(goldenConfig))
	f.Add([]byte(twoMeters))
	f.Add([]byte("config mail\n\tlist to 'a@example.org'\n\toption from \"b@example.org\"\n\toption sendmail '/usr/sbin/sendmail'\n"))
	f.Add([]byte("config quota 'kids'\n\toption host '*'\n\toption limit '10G'\n# c\nconfig host\n\toption mac '02:00:00:00:01:02'\n\toption name x\n"))
	f.Add([]byte("config meter 'm'\n\toption chain 'FORWARD'\n\toption src '!2001:db8::/32'\n\toption proto 'tcp'\n\toption dport '80-90'\n"))
	if data, err := os.ReadFile("../openwrt/files/etc/config/netmon"); err == nil {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		secs, err := parseUCI("fuzz.conf", bytes.NewReader(data))
		oneLine(t, err)
		if err != nil {
			return
		}
		cfg, err := configFromSections("fuzz.conf", secs)
		oneLine(t, err)
		if err != nil {
			return
		}
		for _, m := range cfg.Meters {
			if !validName(m.Name) {
				t.Fatalf("meter name %q accepted", m.Name)
			}
			for _, f := range Families {
				if m.CountsIn(f) {
					// Rules are built from it; they must not panic.
					_ = m.Match(f)
				}
			}
		}
	})
}

func FuzzLeasesAndNeighbours(f *testing.F) {
	f.Add([]byte("1764100000 02:00:00:00:01:02 198.18.1.2 laptop 01:02:00:00:00:01:02\nduid 00:01\n1764100000 12345678 2001:db8:1::2 laptop 00:01\n"))
	f.Add([]byte("198.18.1.2 dev br-lan lladdr 02:00:00:00:01:02 REACHABLE\n2001:db8:1::2 dev br-lan lladdr 02:00:00:00:01:02 STALE\nfe80::1 dev br-lan FAILED\n"))
	f.Add([]byte("IP address       HW type     Flags       HW address            Mask     Device\n198.18.1.2       0x1         0x2         02:00:00:00:01:02     *        br-lan\n"))
	f.Add([]byte("02:00:00:00:01:02 phone\n# comment\n02-00-00-00-01-03 tv\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, l := range parseLeases(bytes.NewReader(data)) {
			if !l.addr.IsValid() || normalMAC(l.mac) != l.mac {
				t.Fatalf("lease %+v", l)
			}
			saneName(t, l.name)
		}
		for _, name := range parseEthers(bytes.NewReader(data)) {
			saneName(t, name)
		}
		for addr, mac := range parseIPNeigh(data, "br-lan") {
			if !addr.IsValid() || normalMAC(mac) != mac {
				t.Fatalf("neighbour %v %q", addr, mac)
			}
		}
		for addr, mac := range parseARP(bytes.NewReader(data), "br-lan") {
			if !addr.IsValid() || normalMAC(mac) != mac {
				t.Fatalf("arp %v %q", addr, mac)
			}
		}
	})
}

// saneName asserts a host name is safe to print on a terminal: no control
// characters (escape sequences), valid UTF-8.
func saneName(t *testing.T, name string) {
	for _, r := range name {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			t.Fatalf("host name %q holds %U", name, r)
		}
	}
}

func FuzzIptablesSave(f *testing.F) {
	addFiles(f, "*tables*.save")
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, all := range []bool{false, true} {
			_, err := parseSave(data, all)
			oneLine(t, err)
		}
	})
}

func FuzzSetListings(f *testing.F) {
	addFiles(f, "nft-list-*.txt")
	f.Add([]byte("create netmon-dl4 hash:ip family inet hashsize 1024 maxelem 65536 counters\nadd netmon-dl4 198.18.1.2 packets 3 bytes 300\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sets, err := parseIpsetSave(data)
		oneLine(t, err)
		for _, s := range sets {
			for addr := range s.Elements {
				if !addr.IsValid() {
					t.Fatalf("ipset element %v", addr)
				}
			}
		}
		_, _, err = parseNftTable(data)
		oneLine(t, err)
	})
}

// FuzzArguments covers every value a command line or config option takes:
// addresses, MACs, durations, sizes, rates and dates.
func FuzzArguments(f *testing.F) {
	for _, s := range []string{"198.18.1.2", "!198.18.0.0/15", "2001:db8::/32", "02:00:00:00:01:02", "02-00-00-00-01-02",
		"30m", "7d", "1h30m", "10G", "1.5GiB", "24MiB", "100M", "2026-11-25", "2026-11-25 14:30", "-1", "", "9999999999999999999d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if a, err := parseAddress(s); err == nil && a.IsSet() {
			b, err := parseAddress(a.String())
			if err != nil || b != a {
				t.Fatalf("address %q -> %q -> %v, %v", s, a.String(), b, err)
			}
		} else {
			oneLine(t, err)
		}
		if m := normalMAC(s); m != "" && normalMAC(m) != m {
			t.Fatalf("MAC %q -> %q is not stable", s, m)
		}
		if d, err := ParseDuration(s); err == nil && d <= 0 {
			t.Fatalf("duration %q = %v", s, d)
		} else {
			oneLine(t, err)
		}
		if n, err := parseSize(s); err == nil && n < 0 {
			t.Fatalf("size %q = %d", s, n)
		} else {
			oneLine(t, err)
		}
		_, err := parseLimit(s)
		oneLine(t, err)
		if r, err := parseRate(s); err == nil && !(r > 0) {
			t.Fatalf("rate %q = %v", s, r)
		} else {
			oneLine(t, err)
		}
		_, err = ParseDate(s, time.UTC)
		oneLine(t, err)
		_, err = POSIXZone(s)
		oneLine(t, err)
	})
}
