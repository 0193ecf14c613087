package main

import (
	"os/exec"
	"regexp"
	"strings"
)

// The router's firewall as each backend under test has it: what the tests
// do to it (delete our jump, our chains, zero the counters) in that
// backend's own words, and what they read back.

// native reports whether the lab runs the native nftables backend.
func (l *lab) native() bool { return l.backend == "nftables" }

var nftCounter = regexp.MustCompile(`counter packets \d+ bytes \d+`)

// firewall is everything in the router's firewall that is not a counter:
// what must be the same before start and after stop.
func (l *lab) firewall() string {
	l.t.Helper()
	if l.native() {
		return nftCounter.ReplaceAllString(l.must("r", "nft", "list", "ruleset"), "counter")
	}
	return l.saveStripped("iptables") + "\n" + l.saveStripped("ip6tables")
}

// jumpFirst reports whether our jump is the first rule of builtin in
// family cmd (iptables or ip6tables).
func (l *lab) jumpFirst(cmd, builtin string) bool {
	l.t.Helper()
	if !l.native() {
		return firstRuleIsOurs(l.saveStripped(cmd), builtin)
	}
	out, err := l.exec("r", "nft", "list", "chain", nftFamilyOf(cmd), "netmon", builtin)
	if err != nil {
		return false
	}
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "table") || strings.HasPrefix(line, "chain") || strings.HasPrefix(line, "type") {
			continue
		}
		return strings.Contains(line, "jump netmon-"+builtin)
	}
	return false
}

func nftFamilyOf(cmd string) string {
	if cmd == "ip6tables" {
		return "ip6"
	}
	return "ip"
}

// deleteJump deletes our jump from IPv4's builtin chain.
func (l *lab) deleteJump(builtin string) {
	l.t.Helper()
	if !l.native() {
		l.must("r", "iptables-"+l.backend, "-D", builtin, "1")
		return
	}
	out := l.must("r", "nft", "-a", "list", "chain", "ip", "netmon", builtin)
	m := regexp.MustCompile(`jump netmon-\w+ .*# handle (\d+)`).FindStringSubmatch(out)
	if m == nil {
		l.t.Fatalf("no jump in %s:\n%s", builtin, out)
	}
	l.must("r", "nft", "delete", "rule", "ip", "netmon", builtin, "handle", m[1])
}

// deleteOurs deletes every chain of ours in both families, as a firewall
// reload that flushes everything would (with native nftables: our tables).
func (l *lab) deleteOurs() {
	l.t.Helper()
	if l.native() {
		for _, fam := range []string{"ip", "ip6"} {
			l.exec("r", "nft", "delete", "table", fam, "netmon") // gone already is fine
		}
		return
	}
	// One restore per family: atomic, as a firewall reload is. (-F then -X
	// races the daemon, which can put its jump back in between.)
	for _, cmd := range []string{"iptables", "ip6tables"} {
		l.mustStdin("r", "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n",
			cmd+"-"+l.backend+"-restore")
	}
}

// zeroOurs zeroes every counter of ours in both families, as iptables -Z
// or nft's `reset rules` do. nft 1.0.6 has no `reset rules`, so each rule
// is replaced by itself with a zero counter: same handle, same comment.
func (l *lab) zeroOurs() {
	l.t.Helper()
	if !l.native() {
		l.must("r", "iptables-"+l.backend, "-Z")
		l.must("r", "ip6tables-"+l.backend, "-Z")
		return
	}
	rule := regexp.MustCompile(`^\s*(.*counter packets \d+ bytes \d+.*) # handle (\d+)$`)
	for _, fam := range []string{"ip", "ip6"} {
		var chain string
		var script strings.Builder
		for _, line := range strings.Split(l.must("r", "nft", "-a", "list", "table", fam, "netmon"), "\n") {
			if f := strings.Fields(line); len(f) > 1 && f[0] == "chain" {
				chain = f[1]
			}
			if m := rule.FindStringSubmatch(line); m != nil && strings.HasPrefix(chain, "netmon-") {
				script.WriteString("replace rule " + fam + " netmon " + chain + " handle " + m[2] + " " +
					nftCounter.ReplaceAllString(m[1], "counter packets 0 bytes 0") + "\n")
			}
		}
		l.mustStdin("r", script.String(), "nft", "-f", "-")
	}
}

// oursInIptables is whatever of ours iptables-save and ip6tables-save
// print, in either variant.
func (l *lab) oursInIptables() string {
	l.t.Helper()
	var out strings.Builder
	for _, cmd := range []string{"iptables-nft-save", "ip6tables-nft-save", "iptables-legacy-save", "ip6tables-legacy-save"} {
		for _, line := range strings.Split(l.must("r", cmd), "\n") {
			if strings.Contains(line, "netmon") {
				out.WriteString(cmd + ": " + line + "\n")
			}
		}
	}
	return out.String()
}

// mustStdin runs a command in a lab host with stdin.
func (l *lab) mustStdin(host, stdin string, args ...string) string {
	l.t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", l.ns(host)}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		l.t.Fatalf("%s: %v: %v\n%s\nstdin:\n%s", host, args, err, out, stdin)
	}
	return string(out)
}
