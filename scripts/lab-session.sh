#!/usr/bin/env bash
# Sourced by the scripts that run a lab for their whole length (demo.sh,
# bench.sh, bench-hosts.sh): `lab_session PREFIX` brings up the lab of
# lab.sh and a work directory ($work); on exit, however the script ends, it
# runs lab_cleanup_extra if the script defines one, stops the daemon whose
# pid is in $daemon, takes the lab down and removes $work.
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
