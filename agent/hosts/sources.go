package hosts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/netmon-agent/netmon-agent/agent/netlink"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// HostSources tell who an address is and what a MAC is called.
type Sources interface {
	// Neighbours maps LAN addresses to MACs (the kernel's neighbour tables
	// and the DHCP leases).
	Neighbours() (map[netip.Addr]string, error)
	// Names maps MACs to names: config host sections, then /etc/ethers,
	// then the leases.
	Names() map[string]string
}

// SystemSources reads the kernel's neighbour tables (ARP, and with IPv6 on
// the IPv6 table over netlink), the leases file, /etc/ethers and the names
// the config gives.
type SystemSources struct {
	LAN    string // the LAN device whose neighbours count
	IPv6   bool
	Leases string            // dnsmasq's lease file
	Ethers string            // /etc/ethers
	Config map[string]string // config host sections: MAC to name
	ARP    string            // /proc/net/arp
}

// Neighbours reads the leases, the ARP table and (with IPv6) the IPv6
// neighbours. What cannot be read is in the error; the rest is still there.
func (s *SystemSources) Neighbours() (map[netip.Addr]string, error) {
	out := map[netip.Addr]string{}
	var errs []error
	leases, err := s.leases()
	if err != nil {
		errs = append(errs, err)
	}
	for _, l := range leases {
		out[l.addr] = l.mac
	}
	if f, err := os.Open(s.ARP); err == nil {
		for a, m := range parseARP(f, s.LAN) {
			out[a] = m
		}
		f.Close()
	} else {
		errs = append(errs, fmt.Errorf("read IPv4 neighbours: %w", err))
	}
	if s.IPv6 {
		neigh, err := s.neigh6()
		for a, m := range neigh {
			out[a] = m
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}

// neigh6 reads the IPv6 neighbours on the LAN over netlink, or with `ip -6
// neigh` where netlink is refused.
func (s *SystemSources) neigh6() (map[netip.Addr]string, error) {
	m, err := readNeigh6(s.LAN)
	if err == nil || !errors.Is(err, netlink.ErrRefused) {
		if err != nil {
			err = fmt.Errorf("read IPv6 neighbours: %w", err)
		}
		return m, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "-6", "neigh", "show", "dev", s.LAN)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("read IPv6 neighbours (ip -6 neigh): %w", err)
	}
	return parseIPNeigh(stdout.Bytes(), ""), nil
}

// maxNameFile bounds what is read of a leases or ethers file: dnsmasq's
// file for a few thousand leases is a fraction of it.
const maxNameFile = 4 << 20

// readNameFile reads a leases or ethers file that a missing file leaves
// empty. It never blocks: anything but a regular file (a FIFO someone put
// there, a device) is refused, and only maxNameFile bytes are read.
func readNameFile(path string) (io.Reader, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if errors.Is(err, os.ErrNotExist) {
		return strings.NewReader(""), nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%s): not read", path, fi.Mode().Type())
	}
	b, err := io.ReadAll(io.LimitReader(f, maxNameFile))
	return bytes.NewReader(b), err
}

func (s *SystemSources) leases() ([]lease, error) {
	r, err := readNameFile(s.Leases)
	if err != nil {
		return nil, fmt.Errorf("read leases: %w", err)
	}
	return parseLeases(r), nil
}

// Names maps MACs to names: the leases, then /etc/ethers, then config
// host sections, each winning over the one before. Files that cannot be
// read give no names (Neighbours says why).
func (s *SystemSources) Names() map[string]string {
	names := map[string]string{}
	leases, _ := s.leases()
	for _, l := range leases {
		if l.name != "" {
			names[l.mac] = l.name
		}
	}
	if r, err := readNameFile(s.Ethers); err == nil {
		for m, n := range parseEthers(r) {
			names[m] = n
		}
	}
	for m, n := range s.Config {
		names[m] = n
	}
	return names
}
