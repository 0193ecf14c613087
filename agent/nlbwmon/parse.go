package nlbwmon

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"

	"github.com/netmon-agent/netmon-agent/store"
)

// The layout of database.h on targets that align 64-bit fields to 8 bytes.
const (
	magic      = 0x6e6c626d // "nlbm"
	headerSize = 40
	recordSize = 72
	// MaxEntries bounds the records a file may claim: nlbwmon's own
	// default limit (OpenWrt's database_limit) is 10000; 100000 records
	// take about 10 MB here.
	MaxEntries = 100_000
)

const (
	afInet  = 2
	afInet6 = 10
)

var (
	// ErrForeign is a file that is no nlbwmon database.
	ErrForeign = errors.New("not an nlbwmon database")
	// ErrDamaged is an nlbwmon database that does not read whole.
	ErrDamaged = errors.New("damaged nlbwmon database")
)

// parse reads one period's file, decompressed, from r: the header, then
// exactly the records it counts.
func parse(r io.Reader) (*Period, error) {
	var h [headerSize]byte
	if n, err := io.ReadFull(r, h[:]); err != nil {
		return nil, fmt.Errorf("%w: %d bytes, shorter than its %d-byte header", ErrForeign, n, headerSize)
	}
	p, entries, err := parseHeader(h[:])
	if err != nil {
		return nil, err
	}
	rec := make([]byte, recordSize)
	p.Records = make([]Record, 0, min(entries, 4096))
	macs := map[[6]byte]string{} // a host's records share its MAC's text
	for i := range entries {
		if _, err := io.ReadFull(r, rec); err != nil {
			return nil, readShort(i, entries, err)
		}
		x, err := parseRecord(rec, macs)
		if err != nil {
			return nil, fmt.Errorf("%w: record %d of %d: %v", ErrDamaged, i+1, entries, err)
		}
		p.Records = append(p.Records, x)
	}
	p.orderIPv4()
	// Reading on to the end also checks a gzip'ed file's checksum.
	switch n, err := io.ReadFull(r, rec[:1]); {
	case n > 0:
		return nil, fmt.Errorf("%w: bytes after the %d records its header counts", ErrDamaged, entries)
	case !errors.Is(err, io.EOF):
		return nil, fmt.Errorf("%w: %v", ErrDamaged, err)
	}
	return p, nil
}

// readShort explains a file that ended inside record i.
func readShort(i, entries uint32, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: it ends in record %d of the %d its header counts", ErrDamaged, i+1, entries)
	}
	return fmt.Errorf("%w: %v", ErrDamaged, err)
}

// parseHeader reads the header: the period's date and interval, and how
// many records follow.
func parseHeader(h []byte) (*Period, uint32, error) {
	be := binary.BigEndian
	if m := be.Uint32(h[0:]); m != magic {
		return nil, 0, fmt.Errorf("%w (magic %08x, nlbwmon's is 6e6c626d \"nlbm\")", ErrForeign, m)
	}
	entries := be.Uint32(h[4:])
	if entries > MaxEntries {
		return nil, 0, fmt.Errorf("%w: its header counts %d records, more than the %d read", ErrDamaged, entries, MaxEntries)
	}
	start, ok := dateOf(be.Uint32(h[8:]))
	if !ok {
		return nil, 0, fmt.Errorf("%w: its period's date %d is no YYYYMMDD date", ErrDamaged, be.Uint32(h[8:]))
	}
	value := int32(be.Uint32(h[32:]))
	var iv Interval
	switch h[16] {
	case monthly:
		if value < -27 || value > 31 || value == 0 {
			return nil, 0, fmt.Errorf("%w: a monthly interval from day %d (nlbwmon's are -27 to 31)", ErrDamaged, value)
		}
		iv = Interval{Monthly: true, Day: int(value)}
	case fixed:
		if value <= 0 || value > 3660 {
			return nil, 0, fmt.Errorf("%w: an interval of %d days", ErrDamaged, value)
		}
		iv = Interval{Days: int(value)}
	default:
		if h[12] == monthly || h[12] == fixed {
			// i386 aligns 64-bit fields to 4 bytes: the interval is at 12.
			return nil, 0, fmt.Errorf("%w: written by a 32-bit x86 nlbwmon, whose layout (28-byte header, 68-byte records) this import does not read", ErrForeign)
		}
		return nil, 0, fmt.Errorf("%w: interval type %d (nlbwmon's are 1, monthly, and 2, fixed)", ErrDamaged, h[16])
	}
	return &Period{Start: start, Interval: iv}, entries, nil
}

// parseRecord reads one record; macs holds the MAC texts made so far.
func parseRecord(b []byte, macs map[[6]byte]string) (Record, error) {
	be := binary.BigEndian
	r := Record{Proto: b[1], Port: be.Uint16(b[2:]), Conns: be.Uint64(b[32:]),
		Upload:   store.Counts{Packets: be.Uint64(b[40:]), Bytes: be.Uint64(b[48:])},
		Download: store.Counts{Packets: be.Uint64(b[56:]), Bytes: be.Uint64(b[64:])}}
	switch b[0] {
	case afInet:
		r.Family, r.Addr = 4, netip.AddrFrom4([4]byte(b[16:20]))
	case afInet6:
		r.Family, r.Addr = 6, netip.AddrFrom16([16]byte(b[16:32]))
	default:
		return r, fmt.Errorf("address family %d (2, IPv4, or 10, IPv6)", b[0])
	}
	if mac := [6]byte(b[8:14]); mac != [6]byte{} {
		if r.MAC = macs[mac]; r.MAC == "" {
			r.MAC = net.HardwareAddr(mac[:]).String()
			macs[mac] = r.MAC
		}
	}
	return r, nil
}

// orderIPv4 puts the IPv4 addresses in the order they are written. nlbwmon
// stores an IPv4 address as htobe32(nla_get_u32(attribute)): in network
// order on a big-endian router, reversed on a little-endian one (x86, ARM,
// mipsel), and nothing in the file says which wrote it. Its addresses are
// all the LAN's (nlbwmon keeps the local end of each flow), so the order
// in which more of them are private or reserved for documentation and
// benchmarks is the right one.
func (p *Period) orderIPv4() {
	asIs, swapped := 0, 0
	for _, r := range p.Records {
		if r.Family == 4 {
			asIs += localLooking(r.Addr)
			swapped += localLooking(reverse4(r.Addr))
		}
	}
	if swapped <= asIs {
		return
	}
	for i, r := range p.Records {
		if r.Family == 4 {
			p.Records[i].Addr = reverse4(r.Addr)
		}
	}
}

func reverse4(a netip.Addr) netip.Addr {
	b := a.As4()
	return netip.AddrFrom4([4]byte{b[3], b[2], b[1], b[0]})
}

var lanLooking = []netip.Prefix{netip.MustParsePrefix("100.64.0.0/10"), netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("203.0.113.0/24")}

// localLooking is 1 for an address a LAN uses (RFC 1918, shared, link-
// local, documentation and benchmark ranges), else 0.
func localLooking(a netip.Addr) int {
	if a.IsPrivate() || a.IsLinkLocalUnicast() || slices.ContainsFunc(lanLooking, func(p netip.Prefix) bool { return p.Contains(a) }) {
		return 1
	}
	return 0
}
