package netfilter

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/netmon-agent/netmon-agent/agent/netlink"
	"github.com/netmon-agent/netmon-agent/store"
)

// elemAnswer is one answer of a set element dump as the kernel writes it
// (nfgenmsg, then NFTA_SET_ELEM_LIST_ELEMENTS of elements, each a key and
// a counter expression) for keys.
func elemAnswer(keys [][]byte) []byte {
	var elems []netlink.Attr
	for i, k := range keys {
		var bytes, packets [8]byte
		binary.BigEndian.PutUint64(bytes[:], uint64(1500*(i+1)))
		binary.BigEndian.PutUint64(packets[:], uint64(i+1))
		counter := netlink.Encode(netlink.Attr{Type: nftaExprName, Data: netlink.String("counter")},
			netlink.Attr{Type: nftaExprData, Data: netlink.Encode(netlink.Attr{Type: nftaCounterBytes, Data: bytes[:]}, netlink.Attr{Type: nftaCounterPackets, Data: packets[:]})})
		elems = append(elems, netlink.Attr{Type: nftaListElem, Data: netlink.Encode(
			netlink.Attr{Type: nftaSetElemKey, Data: netlink.Encode(netlink.Attr{Type: nftaDataValue, Data: k})},
			netlink.Attr{Type: nftaSetElemExpr, Data: counter})})
	}
	return append([]byte{2, 0, 0, 0}, netlink.Encode(netlink.Attr{Type: nftaSetElemListElements, Data: netlink.Encode(elems...)})...)
}

// BenchmarkParseElements reads a sample's worth of one family's elements
// at 254 hosts: a download set of 254 addresses and a service set of 508
// (two ports each).
func BenchmarkParseElements(b *testing.B) {
	var hosts, services [][]byte
	for i := 2; i < 256; i++ {
		a := netip.AddrFrom4([4]byte{198, 18, 1, byte(i)}).AsSlice()
		hosts = append(hosts, a)
		for _, port := range []uint16{443, 9000} {
			k := append(append([]byte{}, a...), 17, 0, 0, 0, byte(port>>8), byte(port), 0, 0)
			services = append(services, k)
		}
	}
	hostMsg, serviceMsg := elemAnswer(hosts), elemAnswer(services)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		set := &IPSet{Elements: map[netip.Addr]store.Counts{}}
		if err := parseNftElemMsg(hostMsg, set); err != nil || len(set.Elements) != 254 {
			b.Fatalf("%d elements, %v", len(set.Elements), err)
		}
		svc := &IPSet{Services: map[ServiceKey]store.Counts{}}
		if err := parseNftElemMsg(serviceMsg, svc); err != nil || len(svc.Services) != 508 {
			b.Fatalf("%d service elements, %v", len(svc.Services), err)
		}
	}
}
