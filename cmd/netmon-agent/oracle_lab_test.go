package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Oracles: counters of our own in the router, where the agent counts, that
// say what it must find. They once sat in the hosts (iptables rules in a's
// INPUT and OUTPUT), but a veth link drops under load: on a busy machine the
// router forwarded a packet that its receiver never counted. Here nothing
// queues between an oracle and the agent's hook:
//
//   - bridge oracle, output: what the router sends out of a LAN host's
//     bridge port (what it forwarded to the host: download);
//   - bridge oracle, input: what arrives from a LAN host's bridge port
//     (upload, and a host's traffic to the router itself);
//   - ip/ip6 oracle, prerouting and postrouting: what arrives on and
//     leaves by the WAN interface.
//
// The bridge hooks see the packet from its IP header on, as iptables and
// our sets do. They are another table of another family, never the agent's:
// `nft flush ruleset` in a test goes through flushRuleset, which carries
// the oracles' counts over and puts them back.

const oracleTables = `table bridge oracle {
	chain out {
		type filter hook output priority 0;
	}
	chain in {
		type filter hook input priority 0;
	}
}
table ip oracle {
	chain pre {
		type filter hook prerouting priority -300;
	}
	chain post {
		type filter hook postrouting priority 300;
	}
}
table ip6 oracle {
	chain pre {
		type filter hook prerouting priority -300;
	}
	chain post {
		type filter hook postrouting priority 300;
	}
}
`

// The lab's LAN and the lab's whole range, per family: what is "outside
// the LAN" for a host's own traffic.
var labNets = []struct{ ip, lan, lab string }{
	{"ip", "198.18.1.0/24", "198.18.0.0/15"},
	{"ip6", "2001:db8:1::/64", "2001:db8::/32"},
}

// installOracles makes the oracle tables and puts back every rule added.
func (l *lab) installOracles() {
	l.t.Helper()
	script := oracleTables
	for _, r := range l.oracleRules {
		script += r + "\n"
	}
	l.mustStdin("r", script, "nft", "-f", "-")
}

// addOracle adds a counting rule named name to chain (family and chain:
// "bridge out", "ip pre", ...): match, then a counter.
func (l *lab) addOracle(chain, match, name string) {
	l.t.Helper()
	fam, ch, _ := strings.Cut(chain, " ")
	rule := fmt.Sprintf("add rule %s oracle %s %s counter comment %q", fam, ch, match, "oracle-"+name)
	l.oracleRules = append(l.oracleRules, rule)
	l.mustStdin("r", rule+"\n", "nft", "-f", "-")
}

var oracleCounter = regexp.MustCompile(`counter packets (\d+) bytes (\d+) comment "oracle-([^"]+)"`)

// oracleReadings sums the oracles' counters by name, with what they had
// counted before a flush.
func (l *lab) oracleReadings() map[string][2]uint64 {
	l.t.Helper()
	sum := map[string][2]uint64{}
	for k, v := range l.oracleBase {
		sum[k] = v
	}
	for _, fam := range []string{"bridge", "ip", "ip6"} {
		out, err := l.exec("r", "nft", "list", "table", fam, "oracle")
		if err != nil {
			l.t.Fatalf("the oracle table %s is gone (flush the ruleset with flushRuleset): %v\n%s", fam, err, out)
		}
		for _, m := range oracleCounter.FindAllStringSubmatch(out, -1) {
			p, _ := strconv.ParseUint(m[1], 10, 64)
			b, _ := strconv.ParseUint(m[2], 10, 64)
			c := sum[m[3]]
			sum[m[3]] = [2]uint64{c[0] + p, c[1] + b}
		}
	}
	return sum
}

// flushRuleset does what OpenWrt's firewall restart does to the router's
// nftables, `nft flush ruleset`, and gives the oracles their tables back
// with the counts they had.
func (l *lab) flushRuleset() {
	l.t.Helper()
	l.oracleBase = l.oracleReadings()
	l.must("r", "nft", "flush", "ruleset")
	l.installOracles()
}

// hostOracle counts, in the router, what it forwards to LAN host h from
// lab addresses outside the LAN ("hostdl-H") and what it receives from h
// for them ("hostul-H"), both families: h's download and upload.
func (l *lab) hostOracle(h string) {
	l.t.Helper()
	port := "lan" + h
	for _, n := range labNets {
		l.addOracle("bridge out", fmt.Sprintf("oifname %q %s saddr != %s %s saddr %s", port, n.ip, n.lan, n.ip, n.lab), "hostdl-"+h)
		l.addOracle("bridge in", fmt.Sprintf("iifname %q %s daddr != %s %s daddr %s", port, n.ip, n.lan, n.ip, n.lab), "hostul-"+h)
	}
}

// hostOracleCounts is host h's download and upload by its oracle:
// [packets, bytes] each.
func (l *lab) hostOracleCounts(h string) (dl, ul [2]uint64) {
	l.t.Helper()
	c := l.oracleReadings()
	return c["hostdl-"+h], c["hostul-"+h]
}

// meterOracle counts what meter o's own packets are, where they enter the
// router: from LAN host a's port, or on the WAN interface from i.
func (l *lab) meterOracle(o oracle) {
	l.t.Helper()
	fam := "ip"
	if o.cmd == "ip6tables" {
		fam = "ip6"
	}
	switch o.host {
	case "i":
		l.addOracle(fam+" pre", fmt.Sprintf(`iifname "wan" %s daddr %s`, fam, o.dst), o.meter)
	default:
		l.addOracle("bridge in", fmt.Sprintf("iifname %q %s daddr %s", "lan"+o.host, fam, o.dst), o.meter)
	}
}
