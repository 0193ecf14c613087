package netfilter

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/netmon-agent/netmon-agent/store"
)

// Per-host usage by service. For each family and direction a set keyed by
// the LAN address, the protocol and the remote port (the source port of a
// download packet, the destination port of an upload packet) counts, like
// the host sets, every forwarded packet of a known service port: the rule
// adds an element the first time and the set's counter does the rest, one
// lookup per packet. Ports not in the service table are never added, so a
// set holds at most (addresses × service ports) elements; what they carry
// is the host's total minus its services, "other".
//
// nftables: a set of type ipv4_addr . inet_proto . inet_service, the rule
// matching the ports through an anonymous set. ipset: hash:ip,port, the
// rule matching the ports with multiport (15 at most per rule). A
// non-first IPv4 fragment carries no port and counts as other.

// A ServicePort is a protocol (6 tcp, 17 udp) and a port.
type ServicePort struct {
	Proto uint8
	Port  uint16
}

// String is "tcp/443".
func (p ServicePort) String() string { return ProtoName(p.Proto) + "/" + strconv.Itoa(int(p.Port)) }

// ParseServicePort reads "tcp/443" or "udp/53".
func ParseServicePort(s string) (ServicePort, error) {
	proto, port, ok := strings.Cut(strings.ToLower(strings.TrimSpace(s)), "/")
	n, err := strconv.Atoi(port)
	p := ServicePort{Port: uint16(n)}
	switch proto {
	case "tcp":
		p.Proto = 6
	case "udp":
		p.Proto = 17
	default:
		ok = false
	}
	if !ok || err != nil || n < 1 || n > 65535 {
		return p, fmt.Errorf("port %q is not tcp/N or udp/N (1-65535)", s)
	}
	return p, nil
}

// ProtoName names the protocols a service can have.
func ProtoName(p uint8) string {
	switch p {
	case 6:
		return "tcp"
	case 17:
		return "udp"
	}
	return strconv.Itoa(int(p))
}

// A ServiceKey is one element of a service set.
type ServiceKey struct {
	Addr netip.Addr
	ServicePort
}

// ServiceSetName names our service set for direction dir in family f:
// netmon-sdl4, netmon-sul6, ...
func ServiceSetName(dir string, f Family) string { return SetName("s"+dir, f) }

// IsServiceSet tells a service set's name from an address set's.
func IsServiceSet(name string) bool {
	rest, ok := strings.CutPrefix(name, setPrefix+"s")
	return ok && (len(rest) == 3 || len(rest) == 4 && rest[0] == 'p') // dl4, or a port set's pdl4
}

// servicePortSet is ports as an nft set of protocol . port.
func servicePortSet(ports []ServicePort) string {
	list := make([]string, len(ports))
	for i, p := range ports {
		list[i] = fmt.Sprintf("%s . %d", ProtoName(p.Proto), p.Port)
	}
	return "{ " + strings.Join(list, ", ") + " }"
}

// nftServiceRules count ports for family f, nothing without ports.
func nftServiceRules(lan string, f Family, ports []ServicePort) []string {
	if len(ports) == 0 {
		return nil
	}
	set := servicePortSet(ports)
	p := nftFamily(f)
	return []string{
		fmt.Sprintf(`oifname "%s" iifname != "%s" meta l4proto . th sport %s update @%s { %s daddr . meta l4proto . th sport }`,
			lan, lan, set, ServiceSetName(store.DirDownload, f), p),
		fmt.Sprintf(`iifname "%s" oifname != "%s" meta l4proto . th dport %s update @%s { %s saddr . meta l4proto . th dport }`,
			lan, lan, set, ServiceSetName(store.DirUpload, f), p),
	}
}

// ServiceWants are the iptables rules counting ports in family f: per
// direction and protocol, one rule per 15 ports (multiport's most).
func ServiceWants(lan string, f Family, ports []ServicePort) []Want {
	var ws []Want
	for _, dir := range []string{store.DirDownload, store.DirUpload} {
		set := ServiceSetName(dir, f)
		for _, proto := range []uint8{6, 17} {
			var nums []string
			for _, p := range ports {
				if p.Proto == proto {
					nums = append(nums, strconv.Itoa(int(p.Port)))
				}
			}
			for i := 0; i < len(nums); i += 15 {
				group := nums[i:min(i+15, len(nums))]
				var m []string
				if dir == store.DirDownload {
					m = []string{"-o", lan, "!", "-i", lan, "-p", ProtoName(proto), "-m", "multiport", "--sports", strings.Join(group, ","),
						"-m", "set", "!", "--match-set", set, "dst,src", "-j", "SET", "--add-set", set, "dst,src"}
				} else {
					m = []string{"-i", lan, "!", "-o", lan, "-p", ProtoName(proto), "-m", "multiport", "--dports", strings.Join(group, ","),
						"-m", "set", "!", "--match-set", set, "src,dst", "-j", "SET", "--add-set", set, "src,dst"}
				}
				ws = append(ws, Want{Chain: "FORWARD", Class: classHost, Name: fmt.Sprintf("@svc-%s-%s-%d", dir, ProtoName(proto), i/15), Match: m})
			}
		}
	}
	return ws
}

// parseServiceKey reads an nftables element key of a service set: the
// address, then the protocol and the port, each in a 4-byte register
// (port in network order).
func parseServiceKey(b []byte) (ServiceKey, bool) {
	var k ServiceKey
	if len(b) != 12 && len(b) != 24 {
		return k, false
	}
	n := len(b) - 8
	a, _ := netip.AddrFromSlice(b[:n])
	k.Addr, k.Proto, k.Port = a, b[n], binary.BigEndian.Uint16(b[n+4:])
	return k, true
}

// parseServiceText reads a service element as nft ("198.18.1.2 . tcp .
// 443") or ipset ("198.18.1.2,tcp:443") print it.
func parseServiceText(s string) (ServiceKey, error) {
	var k ServiceKey
	var addr, proto, port string
	if a, rest, ok := strings.Cut(s, ","); ok {
		addr = a
		proto, port, _ = strings.Cut(rest, ":")
	} else {
		parts := strings.Split(s, " . ")
		if len(parts) != 3 {
			return k, fmt.Errorf("malformed service element %q", s)
		}
		addr, proto, port = parts[0], parts[1], parts[2]
	}
	a, err := netip.ParseAddr(strings.TrimSpace(addr))
	if err != nil {
		return k, fmt.Errorf("malformed service element %q", s)
	}
	sp, err := ParseServicePort(strings.TrimSpace(proto) + "/" + strings.TrimSpace(port))
	if err != nil {
		return k, fmt.Errorf("malformed service element %q", s)
	}
	return ServiceKey{Addr: a, ServicePort: sp}, nil
}

// sortedPorts puts ports in a fixed order, so a rule's text (and its
// comment hash) does not change with a map's.
func sortedPorts(ports []ServicePort) []ServicePort {
	out := slices.Clone(ports)
	slices.SortFunc(out, func(a, b ServicePort) int {
		if a.Proto != b.Proto {
			return int(a.Proto) - int(b.Proto)
		}
		return int(a.Port) - int(b.Port)
	})
	return slices.Compact(out)
}
