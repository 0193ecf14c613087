package hosts

import (
	"bytes"
	"testing"
	"unicode"
)

func FuzzLeasesAndNeighbours(f *testing.F) {
	f.Add([]byte("1764100000 02:00:00:00:01:02 198.18.1.2 laptop 01:02:00:00:00:01:02\nduid 00:01\n1764100000 12345678 2001:db8:1::2 laptop 00:01\n"))
	f.Add([]byte("198.18.1.2 dev br-lan lladdr 02:00:00:00:01:02 REACHABLE\n2001:db8:1::2 dev br-lan lladdr 02:00:00:00:01:02 STALE\nfe80::1 dev br-lan FAILED\n"))
	f.Add([]byte("IP address       HW type     Flags       HW address            Mask     Device\n198.18.1.2       0x1         0x2         02:00:00:00:01:02     *        br-lan\n"))
	f.Add([]byte("02:00:00:00:01:02 phone\n# comment\n02-00-00-00-01-03 tv\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, l := range parseLeases(bytes.NewReader(data)) {
			if !l.addr.IsValid() || NormalMAC(l.mac) != l.mac {
				t.Fatalf("lease %+v", l)
			}
			saneName(t, l.name)
		}
		for _, name := range parseEthers(bytes.NewReader(data)) {
			saneName(t, name)
		}
		for addr, mac := range parseIPNeigh(data, "br-lan") {
			if !addr.IsValid() || NormalMAC(mac) != mac {
				t.Fatalf("neighbour %v %q", addr, mac)
			}
		}
		for addr, mac := range parseARP(bytes.NewReader(data), "br-lan") {
			if !addr.IsValid() || NormalMAC(mac) != mac {
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
