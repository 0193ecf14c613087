package hosts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/netlink"
	"golang.org/x/sys/unix"
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

// SystemSources reads the kernel's neighbour tables (IPv4 and, with IPv6,
// IPv6, in one netlink dump; /proc/net/arp and `ip -6 neigh` where netlink
// is refused), the leases file, /etc/ethers and the names the config
// gives. It is safe for concurrent use (the sampler and a block resolve
// names at once).
type SystemSources struct {
	LAN    string // the LAN device whose neighbours count
	IPv6   bool
	Leases string            // dnsmasq's lease file
	Ethers string            // /etc/ethers
	Config map[string]string // config host sections: MAC to name
	ARP    string            // /proc/net/arp, read where netlink is refused

	mu sync.Mutex
	// readNeigh reads the kernel's neighbours into a map (nil: over
	// netlink, on sock); tests stand in for the kernel.
	readNeigh func(into map[netip.Addr]string) error
	sock      *netlink.Socket
	macs      macNames
	// leaseFile and ethersFile are the files as last read: read again
	// only when they changed.
	leaseFile, ethersFile nameFile
	leaseList             []lease
	ethers                map[string]string
	names                 map[string]string // what Names returns while the files stay
	// size is how many neighbours the last read found, to size the next
	// map.
	size int
}

// Neighbours reads the leases and the kernel's neighbours, which win. What
// cannot be read is in the error; the rest is still there.
func (s *SystemSources) Neighbours() (map[netip.Addr]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[netip.Addr]string, s.size)
	var errs []error
	leases, err := s.leases()
	if err != nil {
		errs = append(errs, err)
	}
	for _, l := range leases {
		out[l.addr] = l.mac
	}
	if err := s.kernelNeighbours(out); err != nil {
		errs = append(errs, err)
	}
	s.size = len(out)
	return out, errors.Join(errs...)
}

// kernelNeighbours adds the LAN's neighbours from the kernel to out.
func (s *SystemSources) kernelNeighbours(out map[netip.Addr]string) error {
	if s.readNeigh != nil {
		return s.readNeigh(out)
	}
	if s.sock == nil {
		s.sock = &netlink.Socket{Proto: unix.NETLINK_ROUTE}
		runtime.AddCleanup(s, func(sock *netlink.Socket) { sock.Close() }, s.sock)
	}
	err := readNeigh(s.LAN, s.IPv6, s.sock, &s.macs, out)
	if err == nil || !errors.Is(err, netlink.ErrRefused) {
		if err != nil {
			return fmt.Errorf("read neighbours: %w", err)
		}
		return nil
	}
	return s.neighByText(out)
}

// neighByText reads the neighbours where netlink is refused: the ARP
// table's file and `ip -6 neigh`.
func (s *SystemSources) neighByText(out map[netip.Addr]string) error {
	var errs []error
	if f, err := os.Open(s.ARP); err == nil {
		maps.Copy(out, parseARP(f, s.LAN))
		f.Close()
	} else {
		errs = append(errs, fmt.Errorf("read IPv4 neighbours: %w", err))
	}
	if !s.IPv6 {
		return errors.Join(errs...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "-6", "neigh", "show", "dev", s.LAN)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if err := cmd.Run(); err != nil {
		return errors.Join(append(errs, fmt.Errorf("read IPv6 neighbours (ip -6 neigh): %w", err))...)
	}
	maps.Copy(out, parseIPNeigh(stdout.Bytes(), ""))
	return errors.Join(errs...)
}

// maxNameFile bounds what is read of a leases or ethers file: dnsmasq's
// file for a few thousand leases is a fraction of it.
const maxNameFile = 4 << 20

// A nameFile is a leases or ethers file as last read, known by its inode,
// size and modification time: it is read and parsed again only when one of
// them changed (dnsmasq writes a new lease file when a lease changes),
// not at every sample.
type nameFile struct {
	stamp fileStamp
	read  bool
}

type fileStamp struct {
	dev, ino uint64
	size     int64
	mtime    int64 // nanoseconds
}

// changed reads path if it changed since the last call: ok is false when
// it did not (the caller keeps what it parsed). A missing file reads as
// empty. It never blocks: anything but a regular file (a FIFO someone put
// there, a device) is refused, and only maxNameFile bytes are read.
func (nf *nameFile) changed(path string) (r io.Reader, ok bool, err error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if errors.Is(err, os.ErrNotExist) {
		changed := nf.stamp != fileStamp{} || !nf.read
		nf.stamp, nf.read = fileStamp{}, true
		return strings.NewReader(""), changed, nil
	}
	if err != nil {
		nf.read = false
		return nil, false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		nf.read = false
		return nil, false, err
	}
	if !fi.Mode().IsRegular() {
		nf.read = false
		return nil, false, fmt.Errorf("%s is not a regular file (%s): not read", path, fi.Mode().Type())
	}
	stamp := fileStamp{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		stamp.dev, stamp.ino = uint64(st.Dev), uint64(st.Ino)
	}
	if nf.read && stamp == nf.stamp {
		return nil, false, nil
	}
	b, err := io.ReadAll(io.LimitReader(f, maxNameFile))
	if err != nil {
		nf.read = false
		return nil, false, err
	}
	nf.stamp, nf.read = stamp, true
	return bytes.NewReader(b), true, nil
}

// leases are the lease file's leases, parsed again only when it changed.
// Called with s.mu held.
func (s *SystemSources) leases() ([]lease, error) {
	r, changed, err := s.leaseFile.changed(s.Leases)
	if err != nil {
		s.leaseList, s.names = nil, nil
		return nil, fmt.Errorf("read leases: %w", err)
	}
	if changed {
		s.leaseList, s.names = parseLeases(r), nil
	}
	return s.leaseList, nil
}

// Names maps MACs to names: the leases, then /etc/ethers, then config
// host sections, each winning over the one before. Files that cannot be
// read give no names (Neighbours says why). The map is the one the last
// call returned while the files stay the same: callers do not change it.
func (s *SystemSources) Names() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	leases, _ := s.leases()
	r, changed, err := s.ethersFile.changed(s.Ethers)
	switch {
	case err != nil:
		s.ethers, s.names = nil, nil
	case changed:
		s.ethers, s.names = parseEthers(r), nil
	}
	if s.names != nil {
		return s.names
	}
	names := map[string]string{}
	for _, l := range leases {
		if l.name != "" {
			names[l.mac] = l.name
		}
	}
	maps.Copy(names, s.ethers)
	maps.Copy(names, s.Config)
	s.names = names
	return names
}
