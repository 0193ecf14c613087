package main

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// goodput is what host reads per second from the source at addr, measured
// over span after warm (a throttle's burst is spent in the warm-up).
func (l *lab) goodput(host, addr, warm, span string) float64 {
	l.t.Helper()
	cmd := exec.Command("ip", "netns", "exec", l.ns(host), selfPath(), "pull", addr, warm, span)
	cmd.Env = append(os.Environ(), "NETMON_LAB_HELPER=pull")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		rules, _ := l.exec("r", "nft", "list", "ruleset")
		l.t.Fatalf("pull %s from %s: %v %s\n%s", addr, host, err, stderr.String(), rules)
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		l.t.Fatalf("pull printed %q", out)
	}
	return n
}

// throttledGoodput is a throttled transfer's goodput once the bucket's
// first burst is spent: over 5 s after 1.5 s. The kernel's bucket holds a
// second of the rate and the burst (nft_limit's tokens_max is unit × (rate
// + burst) / rate; hashlimit takes no less), so TCP, stalled just before
// the window and catching up in it, gains at most that over the window:
// over 2 s and 3 s windows CI saw +25.7 % and +21.9 %.
func (l *lab) throttledGoodput(host, addr string) float64 {
	l.t.Helper()
	return l.goodput(host, addr, "1500ms", "5s")
}

// A throttled host's TCP goodput is its rate within ±20 % in each
// direction, IPv4 and IPv6; another host is not slowed; unthrottle gives
// the host its full speed back; a throttle survives a restart; the host's
// counts are what the router forwarded, exactly.
// The throttle's rates in the lab, in bytes per second, and what an
// unthrottled transfer beats.
const (
	labThrottleDown = 4_000_000 / 8
	labThrottleUp   = 2_000_000 / 8
	labUnthrottled  = 10.0 * labThrottleDown
)

func TestLab_ThrottleAndUnthrottle(t *testing.T) {
	forEachHostSets(t, func(t *testing.T, l *lab) {
		// Oracles: what the router sent out of a's port is its download;
		// what left by the WAN from a is its upload as the router
		// forwarded it (what the throttle dropped is in neither).
		l.hostOracle("a")
		l.addOracle("ip post", `oifname "wan" ip saddr 198.18.1.2`, "a-to-i")
		l.addOracle("ip6 post", `oifname "wan" ip6 saddr 2001:db8:1::2`, "a-to-i")
		l.startDaemon()
		l.startServer("i", "source")
		l.startServer("a", "source")
		l.helper("a", "udp", "198.19.0.2:9000", "3", "100") // a is seen, both families
		l.helper("a", "udp", "[2001:db8:ff::2]:9000", "3", "100")
		l.agent("sample")

		l.throttleHoldsItsRates()
		// Survives a restart and a firewall flush, as blocks do.
		l.stopDaemon(syscall.SIGTERM)
		l.deleteOurs()
		l.startDaemon()
		if got := l.goodput("a", "198.19.0.2:7100", "1500ms", "1500ms"); got > 1.5*labThrottleDown {
			t.Errorf("after a restart a downloads at %.0f B/s: not throttled to %d", got, labThrottleDown)
		}
		l.unthrottleLiftsIt()
		for _, bad := range []struct{ args, want string }{
			{"throttle " + macA, "throttle takes HOST RATE"},
			{"throttle " + macA + " 2mbyte", `rate "2mbyte" is not a rate from 8kbit to 1gbit`},
			{"throttle " + macA + " 2mbit --up 5gbit", "--up: rate"},
			{"unthrottle " + macA, "is not throttled"},
		} {
			if out, err := l.exec("r", l.agentArgs(strings.Fields(bad.args)...)...); err == nil || !strings.Contains(out, bad.want) {
				t.Errorf("%s: %v %s", bad.args, err, out)
			}
		}
	})
}

// throttleHoldsItsRates throttles host a to 4 Mbit/s down and 2 up: each
// way, in each family, a's goodput is within 20 % of it; b is not slowed;
// hosts shows the throttle; unblock does not lift it.
func (l *lab) throttleHoldsItsRates() {
	t := l.t
	t.Helper()
	within := func(got, want float64) bool { return got >= 0.8*want && got <= 1.2*want }
	out := l.agent("throttle", macA, "4mbit", "--up", "2mbit", "--reason", "homework")
	if !strings.Contains(out, "4mbit/2mbit") || !strings.Contains(out, "homework") {
		t.Errorf("throttle printed:\n%s", out)
	}
	for _, c := range []struct {
		what, host, addr string
		want             float64
	}{
		{"download over IPv4", "a", "198.19.0.2:7100", labThrottleDown},
		{"upload over IPv4", "i", "198.18.1.2:7100", labThrottleUp},
		{"download over IPv6", "a", "[2001:db8:ff::2]:7100", labThrottleDown},
		{"upload over IPv6", "i", "[2001:db8:1::2]:7100", labThrottleUp},
	} {
		got := l.throttledGoodput(c.host, c.addr)
		t.Logf("throttled %s: %.0f B/s of %.0f", c.what, got, c.want)
		if !within(got, c.want) {
			t.Errorf("throttled %s: %.0f B/s, want %.0f ±20%%", c.what, got, c.want)
		}
	}
	if got := l.goodput("b", "198.19.0.2:7100", "200ms", "500ms"); got < labUnthrottled {
		t.Errorf("b, not throttled, gets %.0f B/s", got)
	}
	h := l.hosts()[macA]
	if !h.Throttled || h.ThrottleRate != 4_000_000 || h.ThrottleRateUp != 2_000_000 || h.Blocked {
		t.Errorf("hosts shows a as %+v", h)
	}
	if out, err := l.exec("r", l.agentArgs("unblock", macA)...); err == nil || !strings.Contains(out, "is not blocked") {
		t.Errorf("unblock of a throttled host: %v %s", err, out)
	}
}

// unthrottleLiftsIt lifts a's throttle by its address: a is fast again
// both ways and shown so. What the throttle dropped is nobody's: a's
// counts equal what it received and what reached i from it, to the byte.
func (l *lab) unthrottleLiftsIt() {
	t := l.t
	t.Helper()
	l.agent("unthrottle", "198.18.1.2")
	for _, c := range []struct{ what, host, addr string }{
		{"download", "a", "198.19.0.2:7100"},
		{"upload", "i", "198.18.1.2:7100"},
	} {
		if got := l.goodput(c.host, c.addr, "200ms", "500ms"); got < labUnthrottled {
			t.Errorf("unthrottled %s: %.0f B/s", c.what, got)
		}
	}
	if h := l.hosts()[macA]; h.Throttled {
		t.Errorf("still shown throttled: %+v", h)
	}
	if out := l.agent("blocks"); !strings.Contains(out, "No blocks") {
		t.Errorf("blocks after unthrottle:\n%s", out)
	}
	settle()
	l.agent("sample")
	dl, _ := l.hostOracleCounts("a")
	ul := l.oracleReadings()["a-to-i"]
	if h := l.hosts()[macA]; h.DownloadBytes != dl[1] || h.UploadBytes != ul[1] || h.DownloadPackets != dl[0] || h.UploadPackets != ul[0] {
		t.Errorf("a counted down %d B %d p, up %d B %d p; it received %v, i received %v from it",
			h.DownloadBytes, h.DownloadPackets, h.UploadBytes, h.UploadPackets, dl, ul)
	}
}
