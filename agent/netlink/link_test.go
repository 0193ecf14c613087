package netlink

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

// A device's index comes from sysfs, as the kernel's own link dump gives
// it; a name that is a path is refused before anything is read.
func TestIfindex(t *testing.T) {
	got, err := Ifindex("lo")
	if err != nil {
		t.Fatal(err)
	}
	if ifi, err := net.InterfaceByName("lo"); err == nil && ifi.Index != got {
		t.Errorf("lo: %d, the link dump says %d", got, ifi.Index)
	}
	for _, bad := range []string{"", "..", "../../etc", "a/b", "averyveryverylongname"} {
		if _, err := Ifindex(bad); err == nil {
			t.Errorf("%q has an index", bad)
		}
	}
}

// addrMsg is an RTM_NEWADDR payload as the kernel writes it.
func addrMsg(family, bits byte, index uint32, attrs ...Attr) []byte {
	b := []byte{family, bits, 0, 0, 0, 0, 0, 0}
	binary.NativeEndian.PutUint32(b[4:], index)
	return append(b, Encode(attrs...)...)
}

func TestParseAddrMsg(t *testing.T) {
	for _, c := range []struct {
		name string
		msg  []byte
		want IfAddr
		ok   bool
	}{
		{"IPv4, local and address alike", addrMsg(unix.AF_INET, 24, 3,
			Attr{Type: unix.IFA_ADDRESS, Data: []byte{198, 18, 1, 1}}, Attr{Type: unix.IFA_LOCAL, Data: []byte{198, 18, 1, 1}}),
			IfAddr{3, netip.MustParsePrefix("198.18.1.1/24")}, true},
		{"point-to-point: local is ours, address the peer's", addrMsg(unix.AF_INET, 32, 7,
			Attr{Type: unix.IFA_ADDRESS, Data: []byte{198, 19, 0, 9}}, Attr{Type: unix.IFA_LOCAL, Data: []byte{198, 19, 0, 1}}),
			IfAddr{7, netip.MustParsePrefix("198.19.0.1/32")}, true},
		{"IPv6", addrMsg(unix.AF_INET6, 64, 3, Attr{Type: unix.IFA_ADDRESS, Data: netip.MustParseAddr("2001:db8:1::1").AsSlice()}),
			IfAddr{3, netip.MustParsePrefix("2001:db8:1::1/64")}, true},
		{"a prefix longer than the address", addrMsg(unix.AF_INET, 40, 3, Attr{Type: unix.IFA_ADDRESS, Data: []byte{198, 18, 1, 1}}), IfAddr{}, false},
		{"no address", addrMsg(unix.AF_INET, 24, 3), IfAddr{}, false},
	} {
		got, ok, err := ParseAddrMsg(c.msg)
		if err != nil || ok != c.ok || got != c.want {
			t.Errorf("%s: %+v %v %v, want %+v %v", c.name, got, ok, err, c.want, c.ok)
		}
	}
	if _, _, err := ParseAddrMsg([]byte{2, 24}); err == nil {
		t.Error("a short message parsed")
	}
}
