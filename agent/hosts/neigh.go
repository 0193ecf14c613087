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
// `ip neigh` shows them without lladdr or as FAILED.
func parseNeighMsg(b []byte) (addr netip.Addr, mac string, ifindex int, ok bool, err error) {
	if len(b) < ndmsgLen {
		return addr, "", 0, false, fmt.Errorf("neighbour message of %d bytes", len(b))
	}
	ifindex = int(int32(binary.NativeEndian.Uint32(b[4:])))
	state := binary.NativeEndian.Uint16(b[8:])
	attrs, err := netlink.Attrs(b[ndmsgLen:])
	if err != nil {
		return addr, "", 0, false, err
	}
	for _, a := range attrs {
		switch a.Type {
		case unix.NDA_DST:
			addr, _ = netip.AddrFromSlice(a.Data)
		case unix.NDA_LLADDR:
			if len(a.Data) == 6 {
				mac = net.HardwareAddr(a.Data).String()
			}
		}
	}
	ok = addr.IsValid() && mac != "" && state&(unix.NUD_FAILED|unix.NUD_INCOMPLETE|unix.NUD_NOARP) == 0
	return addr.Unmap(), mac, ifindex, ok, nil
}

// readNeigh6 dumps the IPv6 neighbours of device dev.
func readNeigh6(dev string) (map[netip.Addr]string, error) {
	index, err := netlink.Ifindex(dev)
	if err != nil {
		return nil, err
	}
	c, err := netlink.Dial(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	out := map[netip.Addr]string{}
	err = c.Dump(unix.RTM_GETNEIGH, neighRequest(unix.AF_INET6), func(m []byte) error {
		addr, mac, idx, ok, err := parseNeighMsg(m)
		if ok && idx == index {
			out[addr] = mac
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
