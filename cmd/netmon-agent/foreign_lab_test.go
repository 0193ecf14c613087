package main

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// foreignNetmon is another program's table of our name, as found on a real
// router: a set and chains named as ours, and a drop rule of its own.
const foreignNetmon = `table ip netmon {
	set netmon-dl4 {
		type ipv4_addr
		elements = { 198.18.9.9 }
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
		ip saddr 198.18.9.9 drop comment "foreign-drop"
	}
	chain INPUT {
	}
}
`

// Another program's table ip netmon is never changed: start refuses it in
// one line that names it, IPv6 is counted all the same (exactly, by host
// a's own counters), doctor names the table, and stop removes our IPv6
// table and leaves the foreign one as it was.
func TestLab_ForeignTableIsLeftAlone(t *testing.T) {
	for _, backend := range []string{"nftables", "nft"} {
		t.Run(backend, func(t *testing.T) {
			l := newLab(t, backend)
			l.mustStdin("r", foreignNetmon, "nft", "-f", "-")
			before := l.must("r", "nft", "list", "table", "ip", "netmon")
			out, err := l.exec("r", l.agentArgs("start")...)
			if err == nil || !strings.Contains(out, "table ip netmon is not netmon-agent's") {
				t.Errorf("start on a foreign table: %v\n%s", err, out)
			}
			for _, line := range strings.Split(out, "\n") {
				if strings.Contains(line, "not netmon-agent's") && !strings.Contains(line, "rename") {
					t.Errorf("the refusal is not one line that says what to do: %q", line)
				}
			}
			t.Logf("start said:\n%s", out)
			l.hostOracle("a")
			l.startDaemon()
			l.helper("a", "udp", "[2001:db8:ff::2]:9000", "5", "1100")
			l.helper("a", "tcp", "[2001:db8:ff::2]:7000", "30000")
			settle()
			time.Sleep(500 * time.Millisecond)
			dl, ul := l.hostOracleCounts("a")
			a := l.hosts()[macA]
			if a.UploadBytes != ul[1] || a.DownloadBytes != dl[1] || ul[1] == 0 {
				t.Errorf("host a over IPv6: down %d B up %d B; its own counters: down %d B up %d B", a.DownloadBytes, a.UploadBytes, dl[1], ul[1])
			}
			got, _, _ := l.doctor()
			if !strings.HasPrefix(got["foreign table"], "FAIL ") || !strings.Contains(got["foreign table"], "table ip netmon") {
				t.Errorf("doctor's foreign table: %q", got["foreign table"])
			}
			if strings.Contains(got["host sets"], "netmon-dl6") {
				t.Errorf("doctor's host sets: %q", got["host sets"])
			}
			if after := l.must("r", "nft", "list", "table", "ip", "netmon"); after != before {
				t.Errorf("the daemon changed the foreign table:\n%s\nwas:\n%s", after, before)
			}
			l.stopDaemon(syscall.SIGTERM)
			out, _ = l.exec("r", l.agentArgs("stop")...)
			if after := l.must("r", "nft", "list", "table", "ip", "netmon"); after != before {
				t.Errorf("stop changed the foreign table:\n%s\nwas:\n%s\nstop said:\n%s", after, before, out)
			}
			if _, err := l.exec("r", "nft", "list", "table", "ip6", "netmon"); err == nil {
				t.Errorf("stop left our ip6 netmon:\n%s", out)
			}
		})
	}
}
