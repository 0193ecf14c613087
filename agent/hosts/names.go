package hosts

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"
)

// NormalMAC returns a MAC in lower-case colon form, or "" if s is none.
// All-zero MACs (incomplete neighbour entries) are none too.
func NormalMAC(s string) string {
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 || bytes.Equal(hw, make([]byte, 6)) {
		return ""
	}
	return hw.String()
}

// parseARP reads /proc/net/arp: the IPv4 neighbours of device dev (all
// devices when dev is empty) with a complete hardware address.
func parseARP(r io.Reader, dev string) map[netip.Addr]string {
	out := map[netip.Addr]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		// IP address  HW type  Flags  HW address  Mask  Device
		f := strings.Fields(sc.Text())
		if len(f) < 6 || (dev != "" && f[5] != dev) || f[2] == "0x0" {
			continue
		}
		ip, err := netip.ParseAddr(f[0])
		mac := NormalMAC(f[3])
		if err == nil && mac != "" {
			out[ip] = mac
		}
	}
	return out
}

// parseIPNeigh reads `ip -6 neigh show`: "ADDR [dev DEV] lladdr MAC STATE".
func parseIPNeigh(out []byte, dev string) map[netip.Addr]string {
	m := map[netip.Addr]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 {
			continue
		}
		ip, err := netip.ParseAddr(f[0])
		if err != nil {
			continue
		}
		var mac, d string
		for i := 1; i+1 < len(f); i++ {
			switch f[i] {
			case "lladdr":
				mac = NormalMAC(f[i+1])
			case "dev":
				d = f[i+1]
			}
		}
		if mac == "" || dev != "" && d != "" && d != dev || f[len(f)-1] == "FAILED" {
			continue
		}
		m[ip.WithZone("")] = mac
	}
	return m
}

// A lease is what dnsmasq knows of a DHCPv4 client.
type lease struct {
	mac  string
	addr netip.Addr
	name string
}

// parseLeases reads dnsmasq's lease file: "EXPIRY MAC IP HOSTNAME CLIENT-ID"
// per line, "*" for no hostname. DHCPv6 lines (a "duid" line, then lines
// with an IAID where the MAC would be) carry no MAC and are skipped.
func parseLeases(r io.Reader) []lease {
	var out []lease
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 {
			continue
		}
		mac := NormalMAC(f[1])
		ip, err := netip.ParseAddr(f[2])
		if mac == "" || err != nil {
			continue
		}
		l := lease{mac: mac, addr: ip}
		if f[3] != "*" {
			l.name = CleanName(f[3])
		}
		out = append(out, l)
	}
	return out
}

// parseEthers reads /etc/ethers: "MAC NAME" per line, # comments.
func parseEthers(r io.Reader) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		if mac := NormalMAC(f[0]); mac != "" {
			if n := CleanName(f[1]); n != "" {
				out[mac] = n
			}
		}
	}
	return out
}

// CleanName makes a hostname a LAN device chose safe to print: devices pick
// their own names, so escape sequences and control characters go, and the
// length is bounded. HTML escaping is the HTML writer's job.
func CleanName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= 63 {
			break
		}
		// Bytes that are not UTF-8 decode as U+FFFD: they go too.
		if unicode.IsPrint(r) && !unicode.IsSpace(r) && r != utf8.RuneError {
			b.WriteRune(r)
		}
	}
	return b.String()
}
