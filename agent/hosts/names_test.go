package hosts

import (
	"maps"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseARP(t *testing.T) {
	in := `IP address       HW type     Flags       HW address            Mask     Device
198.18.1.2       0x1         0x2         02:00:00:00:01:02     *        br-lan
198.18.1.9       0x1         0x0         00:00:00:00:00:00     *        br-lan
198.19.0.2       0x1         0x6         02:00:00:00:FF:02     *        wan
`
	got := parseARP(strings.NewReader(in), "br-lan")
	if len(got) != 1 || got[netip.MustParseAddr("198.18.1.2")] != "02:00:00:00:01:02" {
		t.Errorf("br-lan neighbours %v", got)
	}
	all := parseARP(strings.NewReader(in), "")
	if all[netip.MustParseAddr("198.19.0.2")] != "02:00:00:00:ff:02" {
		t.Errorf("MAC not normalised: %v", all)
	}
}

func TestParseIPNeigh(t *testing.T) {
	in := []byte(`2001:db8:1::2 dev br-lan lladdr 02:00:00:00:01:02 REACHABLE
fe80::1 dev br-lan lladdr 02:00:00:00:01:03 router STALE
2001:db8:1::9 dev br-lan FAILED
2001:db8:ff::2 dev wan lladdr 02:00:00:00:ff:02 PERMANENT
2001:db8:1::3 lladdr 02:00:00:00:01:03 DELAY
`)
	got := parseIPNeigh(in, "br-lan")
	want := map[string]string{"2001:db8:1::2": "02:00:00:00:01:02", "fe80::1": "02:00:00:00:01:03", "2001:db8:1::3": "02:00:00:00:01:03"}
	if len(got) != len(want) {
		t.Errorf("got %v", got)
	}
	for a, m := range want {
		if got[netip.MustParseAddr(a)] != m {
			t.Errorf("%s: %q, want %q", a, got[netip.MustParseAddr(a)], m)
		}
	}
}

func TestParseLeases(t *testing.T) {
	in := `1764100000 02:00:00:00:01:02 198.18.1.2 laptop 01:02:00:00:00:01:02
1764100000 02:00:00:00:01:03 198.18.1.3 * *
duid 00:01:00:01:2c:4b:2a:10:02:00:00:00:01:01
1764100000 12345678 2001:db8:1::2 laptop 00:01:00:01
1764100000 02:00:00:00:01:04 198.18.1.4 evil` + "\x1b[31m\x07name" + ` *
garbage
`
	got := parseLeases(strings.NewReader(in))
	if len(got) != 3 {
		t.Fatalf("%d leases: %+v", len(got), got)
	}
	if got[0].mac != "02:00:00:00:01:02" || got[0].name != "laptop" || got[0].addr != netip.MustParseAddr("198.18.1.2") {
		t.Errorf("lease %+v", got[0])
	}
	if got[1].name != "" {
		t.Errorf("'*' became a name: %+v", got[1])
	}
	if got[2].name != "evil[31mname" {
		t.Errorf("escape sequence not removed: %q", got[2].name)
	}
}

func TestParseEthers(t *testing.T) {
	got := parseEthers(strings.NewReader("# comment\n02:00:00:00:01:02 printer # the old one\nbad line\n02-00-00-00-01-03\tnas\n"))
	if got["02:00:00:00:01:02"] != "printer" || got["02:00:00:00:01:03"] != "nas" || len(got) != 2 {
		t.Errorf("ethers %v", got)
	}
}

// A leases or ethers file that is a FIFO (or a device) is refused at once,
// never waited on: it once hung the daemon for good.
func TestSystemSources_FIFOIsRefusedWithoutBlocking(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "dhcp.leases")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	s := &SystemSources{LAN: "lo", Leases: fifo, Ethers: "/dev/zero", ARP: filepath.Join(dir, "arp")}
	s.readNeigh = func(map[netip.Addr]string) error { return nil } // not this machine's table
	done := make(chan error, 1)
	go func() {
		_, err := s.Neighbours()
		s.Names()
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "dhcp.leases is not a regular file") {
			t.Errorf("Neighbours: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("reading a FIFO as the leases file blocked")
	}
}

// The lease and ethers files are read again when they change (dnsmasq
// writes a new lease file), not at every sample; the kernel's neighbours
// win over a lease's address.
func TestSystemSources_NamesFollowTheFiles(t *testing.T) {
	dir := t.TempDir()
	leases, ethers := filepath.Join(dir, "dhcp.leases"), filepath.Join(dir, "ethers")
	write := func(path, text string) {
		t.Helper()
		// As dnsmasq does: a new file renamed over the old one.
		if err := os.WriteFile(path+".new", []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".new", path); err != nil {
			t.Fatal(err)
		}
	}
	write(leases, "1700000000 02:00:00:00:00:0a 198.18.1.2 laptop *\n")
	kernel := map[netip.Addr]string{netip.MustParseAddr("198.18.1.2"): "02:00:00:00:00:0b"}
	s := &SystemSources{LAN: "br-lan", Leases: leases, Ethers: ethers, Config: map[string]string{"02:00:00:00:00:0c": "tv"}}
	s.readNeigh = func(into map[netip.Addr]string) error { maps.Copy(into, kernel); return nil }
	if n := s.Names(); n["02:00:00:00:00:0a"] != "laptop" || n["02:00:00:00:00:0c"] != "tv" || len(n) != 2 {
		t.Errorf("names %v", n)
	}
	if nb, err := s.Neighbours(); err != nil || nb[netip.MustParseAddr("198.18.1.2")] != "02:00:00:00:00:0b" {
		t.Errorf("neighbours %v, %v: the kernel's MAC should win over the lease's", nb, err)
	}
	write(leases, "1700000000 02:00:00:00:00:0a 198.18.1.2 laptop2 *\n1700000000 02:00:00:00:00:0d 198.18.1.4 phone *\n")
	write(ethers, "02:00:00:00:00:0d printer\n")
	if n := s.Names(); n["02:00:00:00:00:0a"] != "laptop2" || n["02:00:00:00:00:0d"] != "printer" {
		t.Errorf("names after the files changed %v", n)
	}
	if err := os.Remove(leases); err != nil {
		t.Fatal(err)
	}
	if n := s.Names(); n["02:00:00:00:00:0a"] != "" || n["02:00:00:00:00:0d"] != "printer" {
		t.Errorf("names after the lease file went %v", n)
	}
}

// Interned MACs read as net.HardwareAddr prints them, and the table of
// them stays bounded whatever a LAN announces.
func TestMACNames_Bounded(t *testing.T) {
	var c macNames
	for i := range 3 * maxMACNames {
		hw := [6]byte{2, 0, 0, byte(i >> 16), byte(i >> 8), byte(i)}
		if got, want := c.text(hw), net.HardwareAddr(hw[:]).String(); got != want {
			t.Fatalf("%q, want %q", got, want)
		}
	}
	if len(c.m) > maxMACNames {
		t.Errorf("%d MACs kept, more than %d", len(c.m), maxMACNames)
	}
}
