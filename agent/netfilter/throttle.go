package netfilter

import (
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"net/netip"
	"strconv"
	"strings"
)

// A Throttle slows one host: what its addresses download above Down and
// upload above Up, in bytes per second, is dropped. TCP backs off to the
// rate; nothing is queued, so the router spends no memory on it. Its rules
// come before the counting ones: what a throttle drops was never the
// host's, and the host's counts stay equal to its own counters.
//
// Each direction of each family has one bucket for the host, shared by all
// its addresses in that family (nftables: one rule with a set of them;
// iptables: hashlimit rules that share a name), so a host with several
// IPv6 addresses gets the rate once per family, not once per address.
type Throttle struct {
	Key      string       // the block's target: names the host's buckets
	Addrs    []netip.Addr // sorted
	Down, Up uint64       // bytes per second
}

// hashlimitBurst is what a throttled host may send at once before the
// rate holds, on iptables: a second of the rate, since hashlimit takes no
// less (and rounds the rate up a little), and never less than a few full
// packets.
func hashlimitBurst(rate uint64) uint64 { return max(rate+rate/64, 16384) }

// nftBurst is the same on nftables, which takes any: one full packet. The
// kernel's bucket holds a second of the rate more than the burst
// (nft_limit: tokens_max = unit × (rate + burst) / rate), already as much
// as hashlimit's.
const nftBurst = 1514

// addrsIn are t's addresses of family f.
func (t Throttle) addrsIn(f Family) []netip.Addr {
	var out []netip.Addr
	for _, a := range t.Addrs {
		if AddrFamily(a) == f {
			out = append(out, a)
		}
	}
	return out
}

// nftThrottleRules are t's dropping rules in family f: nothing when t has
// no address there.
func nftThrottleRules(lan string, f Family, t Throttle) []string {
	addrs := t.addrsIn(f)
	if len(addrs) == 0 {
		return nil
	}
	list := make([]string, len(addrs))
	for i, a := range addrs {
		list[i] = a.String()
	}
	set := "{ " + strings.Join(list, ", ") + " }"
	p := nftFamily(f)
	return []string{
		fmt.Sprintf(`oifname "%s" iifname != "%s" %s daddr %s %s`, lan, lan, p, set, nftLimit(t.Down)),
		fmt.Sprintf(`iifname "%s" oifname != "%s" %s saddr %s %s`, lan, lan, p, set, nftLimit(t.Up)),
	}
}

// nftLimit drops what goes over rate bytes per second.
func nftLimit(rate uint64) string {
	return fmt.Sprintf("limit rate over %d bytes/second burst %d bytes drop", rate, nftBurst)
}

// ThrottleWants are the iptables rules of ts in family f: per address and
// direction a hashlimit rule; a host's rules of one direction share their
// bucket by sharing the hashlimit's name.
func ThrottleWants(lan string, f Family, ts []Throttle) []Want {
	var ws []Want
	for _, t := range ts {
		for _, a := range t.addrsIn(f) {
			id := hex.EncodeToString(a.AsSlice())
			ws = append(ws,
				Want{Chain: "FORWARD", Class: classHost, Name: "@throttle-down-" + id,
					Match: hashlimit([]string{"-o", lan, "!", "-i", lan, "-d", a.String()}, t.Down, hashlimitName(t.Key, "down", t.Down))},
				Want{Chain: "FORWARD", Class: classHost, Name: "@throttle-up-" + id,
					Match: hashlimit([]string{"-i", lan, "!", "-o", lan, "-s", a.String()}, t.Up, hashlimitName(t.Key, "up", t.Up))})
		}
	}
	return ws
}

func hashlimit(match []string, rate uint64, name string) []string {
	return append(match, "-m", "hashlimit",
		"--hashlimit-above", strconv.FormatUint(rate, 10)+"b/s",
		"--hashlimit-burst", strconv.FormatUint(hashlimitBurst(rate), 10)+"b",
		"--hashlimit-name", name, "-j", "DROP")
}

// hashlimitName names the bucket of one host's direction at one rate, in
// the 15 characters hashlimit allows. The rate is in it because the kernel
// keeps a name's first settings for as long as a rule uses the name.
func hashlimitName(key, dir string, rate uint64) string {
	h := fnv.New32a()
	fmt.Fprintf(h, "%s/%s/%d", key, dir, rate)
	return fmt.Sprintf("netmon-%08x", h.Sum32())
}
