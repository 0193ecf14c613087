package hosts

import (
	"encoding/binary"
	"maps"
	"net/netip"
	"os"
	"testing"

	"github.com/netmon-agent/netmon-agent/agent/netlink/netlinktest"
)

// testdata/netlink-neigh6.bin is the kernel's answer to an IPv6 neighbour
// dump in the lab router (length-prefixed payloads);
// ip-6-neigh-br-lan.txt is `ip -6 neigh show dev br-lan` at the same
// moment. br-lan was interface 2.
func TestParseNeighMsg_AgreesWithIPNeigh(t *testing.T) {
	b, err := os.ReadFile("testdata/netlink-neigh6.bin")
	if err != nil {
		t.Fatal(err)
	}
	got := map[netip.Addr]string{}
	var others int
	for len(b) >= 4 {
		n := int(binary.LittleEndian.Uint32(b))
		msg := netlinktest.Native(b[4:4+n], ndmsgLen, func(h []byte) {
			netlinktest.Swap32(h[4:8])  // ifindex
			netlinktest.Swap16(h[8:10]) // state
		})
		addr, mac, idx, ok, err := parseNeighMsg(msg, nil)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case ok && idx == 2:
			got[addr] = mac
		case ok:
			others++
		}
		for cut := 0; cut < n; cut++ {
			parseNeighMsg(msg[:cut], nil) // cut short: an error, never a panic
		}
		b = b[4+n:]
	}
	text, err := os.ReadFile("testdata/ip-6-neigh-br-lan.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := parseIPNeigh(text, "")
	if len(want) != 2 || !maps.Equal(got, want) {
		t.Errorf("netlink read %v, ip -6 neigh %v", got, want)
	}
	if others != 1 {
		t.Errorf("%d neighbours on other interfaces, want the wan peer", others)
	}
}
