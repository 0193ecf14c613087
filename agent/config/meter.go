package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/netmon-agent/netmon-agent/agent/netfilter"
	"github.com/netmon-agent/netmon-agent/agent/uci"
)

func meterFromSection(s uci.Section, bad func(int, string, ...any) error) (netfilter.Meter, error) {
	m := netfilter.Meter{Name: s.Name}
	chainLine := s.Line
	for _, o := range s.Options {
		if o.List {
			return m, bad(o.Line, "meter %s: option %s takes one value, not a list", s.Name, o.Name)
		}
		v := strings.TrimSpace(o.Value)
		var err error
		switch o.Name {
		case "chain":
			m.Chain = strings.ToUpper(v)
			chainLine = o.Line
			if !slices.Contains(netfilter.MeterChains, m.Chain) {
				err = fmt.Errorf("chain %q is not supported (INPUT, OUTPUT or FORWARD)", v)
			}
		case "src":
			m.Src, err = netfilter.ParseAddress(v)
		case "dst":
			m.Dst, err = netfilter.ParseAddress(v)
		case "in":
			m.In = v
			if !netfilter.ValidIface(v) {
				err = fmt.Errorf("malformed interface %q", o.Value)
			}
		case "out":
			m.Out = v
			if !netfilter.ValidIface(v) {
				err = fmt.Errorf("malformed interface %q", o.Value)
			}
		case "proto":
			m.Proto = strings.ToLower(v)
			if !netfilter.ValidProto(m.Proto) {
				err = fmt.Errorf("unknown protocol %q", o.Value)
			}
		case "sport":
			m.Sport, err = netfilter.ParsePort(v)
		case "dport":
			m.Dport, err = netfilter.ParsePort(v)
		default:
			err = fmt.Errorf("unknown option %q", o.Name)
		}
		if err != nil {
			return m, bad(o.Line, "meter %s: %v", s.Name, err)
		}
	}
	if m.Chain == "" {
		return m, bad(s.Line, "meter %s: option chain is missing (INPUT, OUTPUT or FORWARD)", s.Name)
	}
	if m.Src.IsSet() && m.Dst.IsSet() && m.Src.Family() != m.Dst.Family() {
		return m, bad(s.Line, "meter %s: src %s and dst %s are of different families", s.Name, m.Src, m.Dst)
	}
	if m.Chain == "INPUT" && m.Out != "" {
		return m, bad(chainLine, "meter %s: chain INPUT has no output interface (option out)", s.Name)
	}
	if m.Chain == "OUTPUT" && m.In != "" {
		return m, bad(chainLine, "meter %s: chain OUTPUT has no input interface (option in)", s.Name)
	}
	if (m.Sport != "" || m.Dport != "") && !netfilter.PortProtos[m.Proto] {
		return m, bad(s.Line, "meter %s: sport and dport need proto tcp, udp, udplite, sctp or dccp", s.Name)
	}
	fams := m.Families()
	if m.Proto == "icmp" && len(fams) == 1 && fams[0] == netfilter.IPv6 || (m.Proto == "icmpv6" || m.Proto == "ipv6-icmp") && len(fams) == 1 && fams[0] == netfilter.IPv4 {
		return m, bad(s.Line, "meter %s: proto %s does not fit its %s addresses", s.Name, m.Proto, fams[0])
	}
	return m, nil
}
