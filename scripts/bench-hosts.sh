#!/usr/bin/env bash
# What per-host accounting costs each forwarded packet, on the real kernel:
# forwarded UDP packets/s from the lab's internet host to a LAN host with no
# accounting, with our rules and 16 or 254 hosts in the sets, and, for
# contrast, 254 hosts the wrtbwmon way (two linear rules each); where the
# agent picks native nftables sets, also 254 hosts in ipsets. Runs are
# interleaved (the order rotates each round), ROUNDS rounds of SECONDS each;
# medians and their ratios to no accounting are printed. Then, at 254
# hosts, the processes a sample starts, and the daemon's CPU per sample
# and resident memory twice: synthetic (the sets filled by hand, no
# traffic, a sample every 100 ms) and realistic (252 more hosts, each its
# own namespace and MAC behind one switch port, all 254 busy both ways on
# both families, a sample a second: lab_busy in lab-session.sh). Two
# meters count all along (INPUT and FORWARD), as on a router that has
# both kinds.
# Needs root. Usage: [BACKEND=auto|nftables|nft|legacy] scripts/bench-hosts.sh [BINARY] [ROUNDS] [SECONDS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$(realpath "${1:-$here/../bin/netmon-agent}")
rounds=${2:-7}
secs=${3:-3}
backend=${BACKEND:-auto}
# The iptables of the wrtbwmon-style rules (and of our chains on an
# iptables backend).
ipt=iptables
[[ $backend == nft || $backend == legacy ]] && ipt=iptables-$backend
need=()
command -v iperf3 >/dev/null || need+=(iperf3)
command -v strace >/dev/null || need+=(strace)
command -v ipset >/dev/null || need+=(ipset)
command -v nft >/dev/null || need+=(nftables)
if ((${#need[@]})); then apt-get update -q && apt-get install -y -q "${need[@]}"; fi

# The iperf3 server this script started, stopped by its pid (never by a
# pattern, which could match someone else's process).
lab_cleanup_extra() { [[ ! -s "$work/iperf3.pid" ]] || kill "$(cat "$work/iperf3.pid")" 2>/dev/null || true; }
# shellcheck source=scripts/lab-session.sh
. "$here/lab-session.sh"
lab_session nmbh
r() { ip netns exec "$p-r" "$@"; }
sets_kinds=(auto ipset)
[[ $backend == nftables ]] && sets_kinds=(auto)
for sets in "${sets_kinds[@]}"; do
	lab_config "$work/netmon-$sets" "router_in wan_in" interval=100ms leases="$work/none" backend="$backend" sets="$sets"
done
cp "$work/netmon-auto" "$work/netmon"
agent() { r "$bin" --config "$work/netmon" "$@" >/dev/null 2>&1; }
ip netns exec "$p-a" iperf3 -s -p 5299 -D -I "$work/iperf3.pid"

# fill N FAMILY: put N LAN addresses of FAMILY (4 or 6) into our download and
# upload sets, whichever kind holds them.
fill() {
	local n=$1 fam=$2 addrs
	if [[ $fam == 4 ]]; then
		addrs=$(seq -f '198.18.1.%g' 2 $((n + 1)))
	else
		addrs=$(seq -f '2001:db8:1::%g' 2 $((n + 1)))
	fi
	# A real router has a neighbour entry, with a MAC, for each host it
	# forwards to; without one the daemon takes the addresses for made-up
	# ones and evicts them (a flood). The lab's own hosts (.2, .3) have
	# theirs already.
	echo "$addrs" | awk -v dev=br-lan 'NR > 2 { printf "neigh replace %s lladdr 02:00:00:03:%02x:%02x dev %s nud permanent\n", $1, int(NR / 256), NR % 256, dev }' >"$work/neigh.batch"
	r ip -batch "$work/neigh.batch"
	local table=ip
	[[ $fam == 6 ]] && table=ip6
	if r nft list table "$table" netmon >/dev/null 2>&1; then
		for set in "netmon-dl$fam" "netmon-ul$fam"; do
			r nft add element "$table" netmon "$set" "{ $(echo "$addrs" | paste -sd,) }"
		done
	else
		for a in $addrs; do
			r ipset add -exist "netmon-dl$fam" "$a"
			r ipset add -exist "netmon-ul$fam" "$a"
		done
	fi
}

setup() { # none | hostsN | ipsetN | linear254
	agent stop
	r "$ipt" -F FORWARD
	case $1 in
	hosts* | ipset*)
		sets=auto
		[[ $1 == ipset* ]] && sets=ipset
		r "$bin" --config "$work/netmon-$sets" start >/dev/null 2>&1
		fill "${1#"${1%%[0-9]*}"}" 4
		;;
	linear254)
		for i in $(seq 2 255); do
			r "$ipt" -A FORWARD -d "198.18.1.$i"
			r "$ipt" -A FORWARD -s "198.18.1.$i"
		done
		;;
	esac
}

rx() { ip netns exec "$p-a" cat /sys/class/net/eth0/statistics/rx_packets; }
measure() {
	local before after
	before=$(rx)
	ip netns exec "$p-i" iperf3 -c 198.18.1.2 -p 5299 -u -b 0 -l 16 -t "$secs" >/dev/null
	after=$(rx)
	echo $(((after - before) / secs))
}

configs=(none hosts16 hosts254 linear254)
# Where auto picks native nftables sets, ipsets through iptables-nft too.
if [[ $backend != nftables ]] && r nft --version >/dev/null 2>&1 && r "$ipt" --version | grep -q nf_tables; then
	configs+=(ipset254)
fi
declare -A runs
# ROUNDS 0 skips the forwarding measurement: the CPU per sample only.
for ((round = 0; round < rounds; round++)); do
	for ((k = 0; k < ${#configs[@]}; k++)); do
		c=${configs[$(((k + round) % ${#configs[@]}))]}
		setup "$c"
		runs[$c]+="$(measure) "
	done
done
setup none
((rounds == 0)) || {
median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
base=$(echo "${runs[none]}" | median)
echo "forwarded UDP packets/s (16-byte payloads), backend $backend, median of $rounds interleaved ${secs}s runs:"
for c in "${configs[@]}"; do
	m=$(echo "${runs[$c]}" | median)
	awk -v c="$c" -v m="$m" -v b="$base" -v all="${runs[$c]}" 'BEGIN { printf "  %-10s %9d pps  %6.1f%% of none   (runs: %s)\n", c, m, 100 * m / b, all }'
done
}

# cpu_per_sample LOG INTERVAL LABEL: run the daemon with config $work/netmon
# and print its CPU per sample (it and its children) and memory: its CPU
# time over 60 s from 20 s in (the first samples make the sets and rules)
# over the samples due in that time, one every INTERVAL seconds.
cpu_per_sample() {
	local log=$1 interval=$2 label=$3 c0 c1 t0 t1 rss
	ip netns exec "$p-r" "$bin" --config "$work/netmon" run >"$log" 2>&1 &
	daemon=$!
	sleep 20
	cpu() { awk '{ print $14 + $15, $16 + $17 }' "/proc/$daemon/stat"; }
	c0=$(cpu) t0=$(date +%s.%N)
	sleep 60
	c1=$(cpu) t1=$(date +%s.%N)
	rss=$(awk '/^(VmRSS|RssAnon|RssFile|RssShmem):/ { printf "%s %.1f MiB, ", $1, $2 / 1024 }' "/proc/$daemon/status")
	kill -TERM "$daemon"
	wait "$daemon" || true
	daemon=
	awk -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v iv="$interval" -v hz="$(getconf CLK_TCK)" -v label="$label" 'BEGIN {
		split(c0, a, " "); split(c1, b, " "); n = (t1 - t0) / iv
		printf "  %s: CPU per sample %.2f ms (agent %.2f ms + processes %.2f ms), %d samples\n",
			label, (b[1] - a[1] + b[2] - a[2]) * 1000 / hz / n, (b[1] - a[1]) * 1000 / hz / n, (b[2] - a[2]) * 1000 / hz / n, n }'
	echo "    daemon memory at the end: ${rss%, }"
}

# Synthetic: 254 addresses put in the sets by hand, neighbours with MACs
# but no hosts behind them and no traffic, a sample every 100 ms.
setup hosts254
fill 254 6 # and the IPv6 sets, as busy as IPv4
# Not through r(): $! must be the process itself (ip netns exec execs).
ip netns exec "$p-r" strace -f -qq -e trace=execve -o "$work/strace" "$bin" --config "$work/netmon" run >"$work/log1" 2>&1 &
daemon=$!
sleep 5
kill -TERM "$(pgrep -P "$daemon")"
wait "$daemon" || true
daemon=
n=$(grep -o 'exiting after [0-9]* samples' "$work/log1" | grep -o '[0-9]*')
echo "at 254 hosts (IPv4 and IPv6 sets full), processes over $n samples (one is the agent; --version ones are at start):"
grep 'execve(' "$work/strace" | grep -o 'execve("[^"]*"' | sort | uniq -c | sed 's/^/    /'
cpu_per_sample "$work/log2" 0.1 "synthetic (sets filled by hand, no traffic, every 100 ms)"

# Realistic: 252 more hosts, each its own namespace and MAC behind one
# switch port, all 254 busy both ways on both families (lab_busy), a
# sample a second as lab.conf has it; the sets fill from the traffic.
agent stop
lab_hosts
lab_config "$work/netmon" "router_in wan_in" leases="$work/none" backend="$backend"
lab_busy 90
sleep 2
cpu_per_sample "$work/log3" 1 "realistic (254 hosts with MACs, traffic both ways on both families, every second)"
