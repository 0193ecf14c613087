#!/usr/bin/env bash
# Makes agent/nlbwmon/testdata: databases that nlbwmon itself wrote, and
# what its own client (`nlbw -c csv`) says they hold, for the import's
# tests. Run by hand, once (CI cannot fetch nlbwmon); the files it made are
# committed with a README naming the commit and this script.
#
#   nlbwmon-testdata.sh NLBWMON PROTOCOLS OUTDIR
#
# NLBWMON is nlbwmon built from jow-/nlbwmon (cmake, with libubox built
# from openwrt/libubox, Debian's libnl-3-dev, libnl-genl-3-dev and zlib;
# `nlbw` is the same binary by another name), PROTOCOLS its protocols.txt.
# It runs in the router of a lab (lab.sh) behind a firewall4-like ruleset
# (conntrack, masquerade) with conntrack accounting on, under faketime
# (apt install faketime) in three months of 2026, while LAN hosts a and b
# move data to the internet host over TCP on port 443 (HTTPS in nlbwmon's
# list) and 5201 (in none: nlbwmon files it as protocol 0, port 0), IPv4
# and IPv6, a different amount each month:
#   OUTDIR/monthly/2026MM01.db.gz   -I 1 (months from the 1st), -Z
#   OUTDIR/fixed/20261005.db        -I 2026-10-05/7 (weeks), uncompressed
#   OUTDIR/*/YYYYMMDD.csv           nlbw -c csv -t YYYY-MM-DD, per period
set -euo pipefail
if (($# != 3)); then
	echo "usage: nlbwmon-testdata.sh NLBWMON PROTOCOLS OUTDIR" >&2
	exit 2
fi
nlbwmon=$(realpath "$1") protocols=$(realpath "$2") out=$(realpath -m "$3")
here=$(cd "$(dirname "$0")" && pwd)
p=nlbwt
r() { ip netns exec "$p-r" "$@"; }
work=$(mktemp -d)
cleanup() {
	pkill -x nlbwmon 2>/dev/null || true
	ip netns exec "$p-i" pkill iperf3 2>/dev/null || true
	"$here/lab.sh" down "$p"
	rm -rf "$work"
}
trap cleanup EXIT
ln -s "$nlbwmon" "$work/nlbw"
nlbw() { "$work/nlbw" -p "$protocols" "$@"; }

"$here/lab.sh" up "$p"
r sysctl -qw net.netfilter.nf_conntrack_acct=1 2>/dev/null || {
	r nft add table inet x && r nft delete table inet x
	r sysctl -qw net.netfilter.nf_conntrack_acct=1
}
r nft -f - <<'NFT'
table inet fw4 {
	chain forward {
		type filter hook forward priority filter; policy accept;
		ct state established,related accept
	}
	chain srcnat {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "wan" meta nfproto ipv4 masquerade
	}
}
NFT
r sysctl -qw net.netfilter.nf_conntrack_acct=1
for port in 443 5201; do
	ip netns exec "$p-i" iperf3 -s -D -p "$port"
done

# nlbwmon_at TIME DB INTERVAL [FLAGS...]: nlbwmon in the router with its
# clock at TIME (and running on from it), its database in DB.
nlbwmon_at() {
	local at=$1 db=$2 interval=$3
	shift 3
	mkdir -p "$db"
	r env FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f "@$at" "$nlbwmon" -o "$db" -I "$interval" \
		-s 198.18.1.0/24 -s 2001:db8:1::/64 -p "$protocols" -r 1s -i 1d "$@" >>"$work/log" 2>&1 &
	for _ in $(seq 50); do
		[[ -S /var/run/nlbwmon.sock ]] && return
		sleep 0.1
	done
	echo "nlbwmon did not start:" >&2
	cat "$work/log" >&2
	exit 1
}

stop_nlbwmon() {
	nlbw -c commit >/dev/null
	pkill -TERM -x nlbwmon
	while pgrep -x nlbwmon >/dev/null; do sleep 0.1; done
	rm -f /var/run/nlbwmon.sock
}

# traffic MB: host a moves MB up and 2*MB down on 443, host b MB each way
# on 5201, over IPv4 and IPv6.
traffic() {
	local mb=$1 dst
	for dst in 198.19.0.2 2001:db8:ff::2; do
		ip netns exec "$p-a" iperf3 -c "$dst" -p 443 -n "${mb}M" >/dev/null
		ip netns exec "$p-a" iperf3 -c "$dst" -p 443 -n "$((2 * mb))M" -R >/dev/null
		ip netns exec "$p-b" iperf3 -c "$dst" -p 5201 -n "${mb}M" >/dev/null
		ip netns exec "$p-b" iperf3 -c "$dst" -p 5201 -n "${mb}M" -R >/dev/null
	done
	sleep 3 # the last flows' counters, read every second
}

# csv DB AT DATE...: what nlbw says each period DATE holds, as a server
# started at AT (after every period) reads it back from DB.
csv() {
	local db=$1 at=$2 d
	shift 2
	nlbwmon_at "$at" "$db" "${interval:?}"
	for d in "$@"; do
		nlbw -c csv -t "$d" >"$db/${d//-/}.csv"
	done
	stop_nlbwmon
	# The period the server was in when stopped (empty) goes.
	for f in "$db"/*.db*; do
		b=${f##*/}
		[[ -e $db/${b%%.*}.csv ]] || rm -f "$f"
	done
}

rm -rf "$out"
mkdir -p "$out"
interval=1
for month in 09:1 10:2 11:3; do
	nlbwmon_at "2026-${month%%:*}-10 12:00:00" "$out/monthly" "$interval" -Z
	traffic "${month##*:}"
	stop_nlbwmon
done
csv "$out/monthly" "2026-12-02 12:00:00" 2026-09-01 2026-10-01 2026-11-01

interval=2026-10-05/7
nlbwmon_at "2026-10-06 12:00:00" "$out/fixed" "$interval"
traffic 1
stop_nlbwmon
csv "$out/fixed" "2026-11-02 12:00:00" 2026-10-05
ls -l "$out"/*
