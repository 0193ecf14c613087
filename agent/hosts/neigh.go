package hosts

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"github.com/netmon-agent/netmon-agent/agent/netlink"
	"golang.org/x/sys/unix"
)

// The IPv6 neighbour table over netlink (RTM_GETNEIGH), what `ip -6 neigh
// show dev LAN` prints, without the process.

const ndmsgLen = 12 // struct ndmsg

// neighRequest is the dump request for family's neighbours.
func neighRequest(family byte) []byte {
	req := make([]byte, ndmsgLen)
	req[0] = family
	return req
}

// parseNeighMsg reads one neighbour: its address and MAC, on interface
// ifindex. ok is false for an entry that names no MAC yet or failed, as
// `ip neigh` shows them without lladdr or as FAILED. macs interns the MAC's
// text (nil: a new string each time).
func parseNeighMsg(b []byte, macs *macNames) (addr netip.Addr, mac string, ifindex int, ok bool, err error) {
	if len(b) < ndmsgLen {
		return addr, "", 0, false, fmt.Errorf("neighbour message of %d bytes", len(b))
	}
	ifindex = int(int32(binary.NativeEndian.Uint32(b[4:])))
	state := binary.NativeEndian.Uint16(b[8:])
	it := netlink.Iter(b[ndmsgLen:])
	for it.Next() {
		switch a := it.Attr(); a.Type {
		case unix.NDA_DST:
			addr, _ = netip.AddrFromSlice(a.Data)
		case unix.NDA_LLADDR:
			if len(a.Data) == 6 {
				mac = macs.text([6]byte(a.Data))
			}
		}
	}
	if err := it.Err(); err != nil {
		return addr, "", 0, false, err
	}
	ok = addr.IsValid() && mac != "" && state&(unix.NUD_FAILED|unix.NUD_INCOMPLETE|unix.NUD_NOARP) == 0
	return addr.Unmap(), mac, ifindex, ok, nil
}

// macNames interns MACs' text: the same few hundred MACs are read at every
// sample, and a string each was most of what reading the neighbours
// allocated. It is bounded by maxMACNames.
type macNames struct{ m map[[6]byte]string }

const maxMACNames = 4096

func (c *macNames) text(hw [6]byte) string {
	if c == nil {
		return net.HardwareAddr(hw[:]).String()
	}
	if s, ok := c.m[hw]; ok {
		return s
	}
	if c.m == nil || len(c.m) >= maxMACNames {
		c.m = map[[6]byte]string{}
	}
	s := net.HardwareAddr(hw[:]).String()
	c.m[hw] = s
	return s
}

// readNeigh dumps the neighbours of device dev into into, on sock: IPv4
// (what /proc/net/arp lists) and, with ipv6, IPv6, in one request. A neighbour table dump of
// family AF_UNSPEC answers for every family.
func readNeigh(dev string, ipv6 bool, sock *netlink.Socket, macs *macNames, into map[netip.Addr]string) error {
	index, err := netlink.Ifindex(dev)
	if err != nil {
		return err
	}
	family := byte(unix.AF_INET)
	if ipv6 {
		family = unix.AF_UNSPEC
	}
	return sock.Dump(unix.RTM_GETNEIGH, neighRequest(family), func(m []byte) error {
		addr, mac, idx, ok, err := parseNeighMsg(m, macs)
		if ok && idx == index && (ipv6 || addr.Is4()) {
			into[addr] = mac
		}
		return err
	})
}
