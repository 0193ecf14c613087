#!/usr/bin/env bash
# Sourced by the scripts that run a lab for their whole length (demo.sh,
# bench.sh, bench-hosts.sh, bench-flash.sh): `lab_session PREFIX` brings up
# the lab of lab.sh and a work directory ($work); on exit, however the
# script ends, it runs lab_cleanup_extra if the script defines one, stops
# the loads of lab_busy and the daemon whose pid is in $daemon, takes the
# lab down and removes $work.
# `lab_config FILE "METER..." [OPTION=VALUE...]` writes the lab's config
# (lab.conf) for this session to FILE.
# `lab_hosts` gives the LAN 252 more hosts (lab.sh hosts: each its own
# namespace and MAC, behind one switch port); `lab_busy SECONDS` then keeps
# all 254 busy for SECONDS: every second each uploads to the internet host and downloads
# from it, IPv4 and IPv6, on a service port (quic, 443/udp) and on one that
# is none (9000), a few datagrams of random sizes (scripts/flashload).
# Needs $here, the scripts directory, set by the sourcing script.
# shellcheck disable=SC2154

lab_session() {
	p=$1
	work=$(mktemp -d)
	daemon=
	loads=()
	trap lab_session_end EXIT
	"$here/lab.sh" up "$p"
}

lab_session_end() {
	if declare -F lab_cleanup_extra >/dev/null; then
		lab_cleanup_extra
	fi
	((${#loads[@]} == 0)) || kill "${loads[@]}" 2>/dev/null || true
	if [[ -n ${daemon:-} ]]; then
		kill "$daemon" 2>/dev/null || true
		wait "$daemon" 2>/dev/null || true
	fi
	"$here/lab.sh" down "$p"
	rm -rf "$work"
}

# lab_config FILE "METER..." [OPTION=VALUE...]: lab.conf with $work for
# @WORK@, the OPTIONs given first in the agent section (each replacing
# lab.conf's own), and only the meters named.
lab_config() {
	local file=$1 meters=$2
	shift 2
	awk -v work="$work" -v meters=" $meters " -v opts="$(printf '%s\n' "$@")" '
		BEGIN {
			n = split(opts, kv, "\n")
			for (j = 1; j <= n; j++) {
				if (kv[j] == "") continue
				eq = index(kv[j], "=")
				key = substr(kv[j], 1, eq - 1)
				set[key] = substr(kv[j], eq + 1)
				order[++keys] = key
			}
		}
		/^#/ { next }
		/^config / {
			name = $3; gsub("\047", "", name)
			keep = $2 == "agent" || ($2 == "meter" && index(meters, " " name " "))
			if (keep) print
			if ($2 == "agent")
				for (j = 1; j <= keys; j++) printf "\toption %s \047%s\047\n", order[j], set[order[j]]
			agent = $2 == "agent"
			next
		}
		!keep { next }
		agent && $1 == "option" && ($2 in set) { next }
		{ gsub("@WORK@", work); print }
	' "$here/lab.conf" >"$file"
}

lab_hosts() { "$here/lab.sh" hosts "$p" 252; }

lab_busy() {
	local secs=$1 fam pre inet top port load="$work/flashload"
	go build -o "$load" "$here/flashload"
	for fam in 4 6; do
		if [[ $fam == 4 ]]; then
			pre=198.18.1. inet=198.19.0.2 top=255
		else
			pre=2001:db8:1:: inet='[2001:db8:ff::2]' top=ff
		fi
		for port in 443 9000; do
			"$load" -from "${pre}4-$top" -netns "/run/netns/$p-h%d" -to "$inet:$port" -for "${secs}s" &
			loads+=($!)
			ip netns exec "$p-a" "$load" -from "${pre}2-2" -to "$inet:$port" -for "${secs}s" &
			loads+=($!)
			ip netns exec "$p-b" "$load" -from "${pre}3-3" -to "$inet:$port" -for "${secs}s" &
			loads+=($!)
			ip netns exec "$p-i" "$load" -port "$port" -to-each "${pre}2-$top" -dport 5000 -for "${secs}s" &
			loads+=($!)
		done
	done
}
