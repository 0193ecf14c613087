package netfilter

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/netmon-agent/netmon-agent/store"
)

// A service set reads the same from each source: netlink's key registers,
// nft's text listing and ipset save.
func TestServiceSets_ReadFromEachSource(t *testing.T) {
	want := ServiceKey{Addr: netip.MustParseAddr("198.18.1.2"), ServicePort: ServicePort{Proto: 6, Port: 443}}
	key := make([]byte, 12)
	copy(key, want.Addr.AsSlice())
	key[4] = 6
	binary.BigEndian.PutUint16(key[8:], 443)
	if got, ok := parseServiceKey(key); !ok || got != want {
		t.Errorf("netlink key: %+v %v", got, ok)
	}
	if _, ok := parseServiceKey(key[:8]); ok {
		t.Error("an 8-byte key read as a service element")
	}

	d, err := parseNftList([]byte(`table ip netmon { # handle 7
	set netmon-sdl4 { # handle 3
		type ipv4_addr . inet_proto . inet_service
		size 65535
		flags dynamic
		counter
		elements = { 198.18.1.2 . tcp . 443 counter packets 5 bytes 3000, 198.18.1.2 . udp . 443 counter packets 1 bytes 100 }
	}
}
`))
	if err != nil {
		t.Fatal(err)
	}
	set := d.Sets["netmon-sdl4"]
	if set == nil || set.Services[want] != (store.Counts{Packets: 5, Bytes: 3000}) || len(set.Services) != 2 {
		t.Errorf("nft list: %+v", set)
	}

	sets, err := ParseIpsetSave([]byte("create netmon-sdl6 hash:ip,port family inet6 hashsize 1024 maxelem 65536 counters\n" +
		"add netmon-sdl6 2001:db8:1::2,udp:443 packets 2 bytes 240\n"))
	if err != nil {
		t.Fatal(err)
	}
	k6 := ServiceKey{Addr: netip.MustParseAddr("2001:db8:1::2"), ServicePort: ServicePort{Proto: 17, Port: 443}}
	if s := sets["netmon-sdl6"]; s == nil || s.Family != IPv6 || s.Services[k6] != (store.Counts{Packets: 2, Bytes: 240}) {
		t.Errorf("ipset save: %+v", s)
	}
	if _, err := ParseIpsetSave([]byte("create netmon-sdl4 hash:ip,port family inet counters\nadd netmon-sdl4 198.18.1.2,icmp:0 packets 1 bytes 1\n")); err == nil {
		t.Error("an element of another protocol read")
	}
}

func TestParseServicePort(t *testing.T) {
	for _, bad := range []string{"443", "tcp/0", "tcp/65536", "sctp/80", "tcp/", "/443", "tcp/4 43"} {
		if _, err := ParseServicePort(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if p, err := ParseServicePort(" UDP/53 "); err != nil || p.String() != "udp/53" {
		t.Errorf("UDP/53: %v %v", p, err)
	}
}
