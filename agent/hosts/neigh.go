package hosts

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

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

// ifindex is device dev's index, from sysfs: one small read, where
// net.InterfaceByName dumps every link with its statistics (a sample's
// biggest cost once, on a router with many ports).
func ifindex(dev string) (int, error) {
	if !validDevice(dev) {
		return 0, fmt.Errorf("interface %q: not a device name", dev)
	}
	b, err := os.ReadFile("/sys/class/net/" + dev + "/ifindex")
	if err != nil {
		ifi, ierr := net.InterfaceByName(dev) // no sysfs mounted
		if ierr != nil {
			return 0, fmt.Errorf("interface %s: %w", dev, ierr)
		}
		return ifi.Index, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("interface %s: ifindex %q: %w", dev, b, err)
	}
	return n, nil
}

// validDevice reports whether dev can name a device: no path in it.
func validDevice(dev string) bool {
	return dev != "" && dev != "." && dev != ".." && len(dev) < 16 && !strings.ContainsAny(dev, "/ \x00")
}

// readNeigh6 dumps the IPv6 neighbours of device dev.
func readNeigh6(dev string) (map[netip.Addr]string, error) {
	index, err := ifindex(dev)
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
