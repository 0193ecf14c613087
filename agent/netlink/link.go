package netlink

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Devices and their addresses, without the standard library's
// net.InterfaceByName and net.InterfaceAddrs: both dump every link with
// its statistics first, which at every sample was the biggest cost on a
// router with many ports.

// Ifindex is device dev's index, from sysfs: one small read. Where sysfs
// is not mounted it asks net.InterfaceByName.
func Ifindex(dev string) (int, error) {
	if !validDevice(dev) {
		return 0, fmt.Errorf("interface %q: not a device name", dev)
	}
	b, err := os.ReadFile("/sys/class/net/" + dev + "/ifindex")
	if err != nil {
		ifi, ierr := net.InterfaceByName(dev)
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

// An IfAddr is one address of this machine: its device's index and the
// address with its prefix length.
type IfAddr struct {
	Index  int
	Prefix netip.Prefix
}

const ifaddrmsgLen = 8 // struct ifaddrmsg

// ReadAddrs dumps every address of every device (RTM_GETADDR): one
// socket, one dump.
func ReadAddrs() ([]IfAddr, error) {
	c, err := Dial(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var out []IfAddr
	err = c.Dump(unix.RTM_GETADDR, make([]byte, ifaddrmsgLen), func(m []byte) error {
		a, ok, err := ParseAddrMsg(m)
		if ok {
			out = append(out, a)
		}
		return err
	})
	return out, err
}

// ParseAddrMsg reads one address message; ok is false for one that names
// no IP address. IFA_LOCAL is the address itself where there is one
// (IFA_ADDRESS is then a point-to-point link's peer).
func ParseAddrMsg(b []byte) (a IfAddr, ok bool, err error) {
	if len(b) < ifaddrmsgLen {
		return a, false, fmt.Errorf("address message of %d bytes", len(b))
	}
	bits, index := int(b[1]), int(binary.NativeEndian.Uint32(b[4:]))
	var addr, local netip.Addr
	err = Walk(b[ifaddrmsgLen:], func(at Attr) error {
		switch at.Type {
		case unix.IFA_ADDRESS:
			addr, _ = netip.AddrFromSlice(at.Data)
		case unix.IFA_LOCAL:
			local, _ = netip.AddrFromSlice(at.Data)
		}
		return nil
	})
	if local.IsValid() {
		addr = local
	}
	if err != nil || !addr.IsValid() || bits > addr.BitLen() {
		return a, false, err
	}
	return IfAddr{Index: index, Prefix: netip.PrefixFrom(addr.Unmap(), bits)}, true, nil
}
