package hosts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
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

// SystemSources reads the kernel's neighbour tables (ARP, and `ip -6
// neigh` with IPv6 on), the leases file, /etc/ethers and the names the
// config gives.
type SystemSources struct {
	LAN    string // the LAN device whose neighbours count
	IPv6   bool
	Leases string            // dnsmasq's lease file
	Ethers string            // /etc/ethers
	Config map[string]string // config host sections: MAC to name
	ARP    string            // /proc/net/arp
}

func (s *SystemSources) Neighbours() (map[netip.Addr]string, error) {
	out := map[netip.Addr]string{}
	for _, l := range s.leases() {
		out[l.addr] = l.mac
	}
	var errs []error
	if f, err := os.Open(s.ARP); err == nil {
		for a, m := range parseARP(f, s.LAN) {
			out[a] = m
		}
		f.Close()
	} else {
		errs = append(errs, fmt.Errorf("read IPv4 neighbours: %w", err))
	}
	if s.IPv6 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "ip", "-6", "neigh", "show", "dev", s.LAN)
		var stdout bytes.Buffer
		cmd.Stdout = &stdout
		if err := cmd.Run(); err == nil {
			for a, m := range parseIPNeigh(stdout.Bytes(), "") {
				out[a] = m
			}
		} else {
			errs = append(errs, fmt.Errorf("read IPv6 neighbours (ip -6 neigh): %w", err))
		}
	}
	return out, errors.Join(errs...)
}

func (s *SystemSources) leases() []lease {
	f, err := os.Open(s.Leases)
	if err != nil {
		return nil
	}
	defer f.Close()
	return parseLeases(f)
}

func (s *SystemSources) Names() map[string]string {
	names := map[string]string{}
	for _, l := range s.leases() {
		if l.name != "" {
			names[l.mac] = l.name
		}
	}
	if f, err := os.Open(s.Ethers); err == nil {
		for m, n := range parseEthers(f) {
			names[m] = n
		}
		f.Close()
	}
	for m, n := range s.Config {
		names[m] = n
	}
	return names
}
