#!/usr/bin/env bash
# Measures one sample on the real kernel, in a lab router with four meters in
# two families and a 300-rule firewall of someone else's beside ours:
#   - iptables processes per sample (strace counts every execve),
#   - CPU time per sample (the daemon's own and its children's, from
#     /proc/PID/stat, over many samples, without strace),
# then the Go benchmarks (one sample's Go side; snapshot size, flash per day).
# Needs root. Usage: scripts/bench.sh [BINARY] [SECONDS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$(realpath "${1:-$here/../bin/netmon-agent}")
secs=${2:-20}
command -v strace >/dev/null || { apt-get update -q && apt-get install -y -q strace; }
# shellcheck source=scripts/lab-session.sh
. "$here/lab-session.sh"
lab_session nmbench
for ipt in iptables ip6tables; do
	for i in $(seq 150); do
		ip netns exec "$p-r" "$ipt" -A FORWARD -i br-lan -p tcp --dport $((1000 + i)) -m comment --comment "!fw3: rule $i" -j ACCEPT
	done
done
lab_config "$work/netmon" "proxy offnet wan_in wan_out" interval=100ms
samples() { grep -o 'exiting after [0-9]* samples' "$1" | grep -o '[0-9]*'; }

# 1. Processes per sample. The first sample installs our chains; start the
# count after it.
ip netns exec "$p-r" "$bin" --config "$work/netmon" start >/dev/null
ip netns exec "$p-r" strace -f -qq -e trace=execve -o "$work/strace" "$bin" --config "$work/netmon" run >"$work/log1" 2>&1 &
daemon=$!
sleep 5
# strace holds off SIGTERM; the agent is its child.
kill -TERM "$(pgrep -P "$daemon")"
wait "$daemon" || true
daemon=
n=$(samples "$work/log1")
execs=$(grep -c 'execve(' "$work/strace")
# One execve is the agent itself.
echo "processes per sample (iptables-save, ipset, ip): $(awk -v e="$execs" -v n="$n" 'BEGIN { printf "%.2f", (e - 1) / n }') ($((execs - 1)) over $n samples)"
grep 'execve(' "$work/strace" | grep -o 'execve("[^"]*"' | sort | uniq -c | sed 's/^/    /'

# 2. CPU per sample, without strace.
ip netns exec "$p-r" "$bin" --config "$work/netmon" run >"$work/log2" 2>&1 &
daemon=$!
sleep "$secs"
read -r ut st cut cst < <(awk '{ print $14, $15, $16, $17 }' "/proc/$daemon/stat")
kill -TERM "$daemon"; wait "$daemon" || true; daemon=
n=$(samples "$work/log2")
hz=$(getconf CLK_TCK)
awk -v u="$ut" -v s="$st" -v cu="$cut" -v cs="$cst" -v n="$n" -v hz="$hz" 'BEGIN {
	printf "CPU per sample: %.2f ms (agent %.2f ms + its processes %.2f ms), %d samples\n",
		(u + s + cu + cs) * 1000 / hz / n, (u + s) * 1000 / hz / n, (cu + cs) * 1000 / hz / n, n }'

# 3. Resident memory of a running daemon.
ip netns exec "$p-r" "$bin" --config "$work/netmon" run >"$work/log3" 2>&1 &
daemon=$!
sleep 3
echo "daemon resident memory: $(awk '/VmRSS/ { print $2, $3 }' "/proc/$daemon/status") (peak $(awk '/VmHWM/ { print $2, $3 }' "/proc/$daemon/status"))"
kill -TERM "$daemon"; wait "$daemon" || true; daemon=

cd "$here/.."
go test -run '^$' -bench . -benchmem ./agent/... ./store/... | grep -E '^Benchmark'
