#!/usr/bin/env bash
# What the real daemon writes to flash at 254 busy hosts: the lab's LAN
# gets 252 more hosts, each in a namespace of its own with its own MAC,
# behind one switch port (lab_hosts), and every second each of the 254
# uploads to the internet host and downloads from it, IPv4 and IPv6, on a
# service port (quic, 443/udp) and on one that is none (lab_busy), so the
# hosts, their addresses and their services all move all the time. The
# daemon persists every PERSIST seconds for MINUTES minutes; the script
# sums what it wrote to flash (its log's snapshot and journal lines) and
# reads its memory. It starts on a live database holding SEED_DAYS days of
# every host's history (scripts/seedhistory; 0: a fresh one). It also gives
# the daemon's CPU per sample under that load: the realistic figure (live
# hosts with MACs, traffic both ways on both families, a year of history).
# Needs root. Usage: [SEED_DAYS=365] scripts/bench-flash.sh [BINARY] [MINUTES] [PERSIST]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$(realpath "${1:-$here/../bin/netmon-agent}")
minutes=${2:-6}
persist=${3:-60}
seed=${SEED_DAYS:-365}
# shellcheck source=scripts/lab-session.sh
. "$here/lab-session.sh"
lab_session nmbf
r() { ip netns exec "$p-r" "$@"; }
lab_hosts

lab_config "$work/netmon" "router_in wan_in" commit_interval=10 persist_interval="$persist" leases="$work/none"

if ((seed > 0)); then
	mkdir -m 0700 "$work/run"
	(cd "$here/.." && go run ./scripts/seedhistory -db "$work/run/live.db" -days "$seed" \
		-macs 02:00:00:02:00:04-ff,02:00:00:00:01:02-03)
fi

secs=$((minutes * 60))
ip netns exec "$p-r" "$bin" --config "$work/netmon" run >"$work/log" 2>&1 &
daemon=$!
sleep 2
lab_busy "$secs"
# The daemon's CPU while the load runs: utime + stime from its stat, from
# 20 s in (the first samples fill the sets) to 20 s before the end; it
# samples once a second, so this is the CPU per sample with the commits
# and persists in it.
cpu() { awk '{ print $14 + $15 }' "/proc/$daemon/stat"; }
sleep 20
cpu0=$(cpu) t0=$(date +%s.%N)
sleep $((secs - 40))
cpu1=$(cpu) t1=$(date +%s.%N)
per_sample=$(awk -v c0="$cpu0" -v c1="$cpu1" -v t0="$t0" -v t1="$t1" -v hz="$(getconf CLK_TCK)" \
	'BEGIN { printf "%.2f ms over %.0f s", (c1 - c0) * 1000 / hz / (t1 - t0), t1 - t0 }')
rss=$(awk '/^(VmRSS|RssAnon|RssFile|RssShmem):/ { printf "%s %.1f MiB, ", $1, $2 / 1024 }' "/proc/$daemon/status")
hosts=$(r "$bin" --config "$work/netmon" hosts --json | grep -o '"mac"' | wc -l)
wait "${loads[@]}"
loads=()
sleep 20
kill -TERM "$daemon"
wait "$daemon" || true
daemon=

awk -v minutes="$minutes" -v persist="$persist" -v hosts="$hosts" -v seed="$seed" '
	/snapshot written to/ { s = $0; sub(/.*\(/, "", s); sub(/ bytes.*/, "", s); snaps++; snapb += s; last = s; each = each " " $3 " snapshot " s }
	/journal record written to/ { j = $0; sub(/.*\(/, "", j); sub(/ bytes.*/, "", j); recs++; recb += j; each = each " " $3 " record " j }
	/taking a last sample/ { each = each " " $3 " (stop)" }
	END {
		printf "  writes:%s\n", each
		printf "%d hosts seen, %d minutes, persist every %d s, %d days of history to start\n", hosts, minutes, persist, seed
		printf "  snapshots: %d, %d bytes in all (the last %d bytes)\n", snaps, snapb, last
		printf "  journal records: %d, %d bytes in all, %.0f bytes each\n", recs, recb, recs ? recb / recs : 0
		printf "  flash per day at this rate: %.2f MB (journal alone %.2f MB)\n",
			(snapb + recb) * 1440 / minutes / 1e6, recb * 1440 / minutes / 1e6
	}' "$work/log"
echo "  daemon memory near the end: ${rss%, }"
echo "  daemon CPU per sample (one a second, commits and persists included): $per_sample"
