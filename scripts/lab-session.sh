#!/usr/bin/env bash
# Sourced by the scripts that run a lab for their whole length (demo.sh,
# bench.sh, bench-hosts.sh): `lab_session PREFIX` brings up the lab of
# lab.sh and a work directory ($work); on exit, however the script ends, it
# runs lab_cleanup_extra if the script defines one, stops the daemon whose
# pid is in $daemon, takes the lab down and removes $work.
# `lab_config FILE "METER..." [OPTION=VALUE...]` writes the lab's config
# (lab.conf) for this session to FILE.
# Needs $here, the scripts directory, set by the sourcing script.
# shellcheck disable=SC2154

lab_session() {
	p=$1
	work=$(mktemp -d)
	daemon=
	trap lab_session_end EXIT
	"$here/lab.sh" up "$p"
}

lab_session_end() {
	if declare -F lab_cleanup_extra >/dev/null; then
		lab_cleanup_extra
	fi
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
