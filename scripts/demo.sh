#!/usr/bin/env bash
# make demo: the main job on a throwaway lab. Builds nothing itself; give it
# the binary. Creates the namespaces of scripts/lab.sh, runs the daemon in
# the router, pushes traffic, shows the report, zeroes the counters behind
# the daemon's back, shows the reset being caught, and tears it all down.
set -euo pipefail
bin=$(realpath "${1:-bin/netmon-agent}")
here=$(cd "$(dirname "$0")" && pwd)
if [[ $EUID -ne 0 ]]; then
	echo "demo: needs root (network namespaces and the firewall); try sudo make demo" >&2
	exit 1
fi
# shellcheck source=scripts/lab-session.sh
. "$here/lab-session.sh"
p=nmdemo$$
lab_session "${p:0:10}"

# The page, the API and /metrics listen on the LAN; names from the leases.
lab_config "$work/netmon" "proxy offnet wan_in" leases="$work/dhcp.leases" \
	listen=198.18.1.1:8080 token=demo-token-0123456789

echo "2000000000 02:00:00:00:01:02 198.18.1.2 proxy-box *" >"$work/dhcp.leases"

r() { ip netns exec "$p-r" "$@"; }
agent() { r "$bin" --config "$work/netmon" "$@"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "config ($work/netmon)"
grep -v '^\s*$' "$work/netmon"
# ip netns exec execs the agent, so $! is the daemon itself.
ip netns exec "$p-r" "$bin" --config "$work/netmon" run >"$work/daemon.log" 2>&1 &
daemon=$!
sleep 1

say "traffic: the proxy pings the router, the internet pings it and sends to a LAN host"
ip netns exec "$p-a" ping -q -c 20 -i 0.02 -s 1400 198.18.1.1 | tail -2
ip netns exec "$p-i" ping -q -c 10 -i 0.02 198.19.0.1 | tail -2
# shellcheck disable=SC2016 # expanded by the inner bash
ip netns exec "$p-i" bash -c 'for i in $(seq 100); do printf "%1000s" x >/dev/udp/198.18.1.2/9000; done'
ip netns exec "$p-i" ping -6 -q -c 10 -i 0.02 -s 1200 2001:db8:1::2 | tail -2
ip netns exec "$p-b" ping -q -c 5 -i 0.02 -s 300 198.19.0.2 | tail -1
agent sample

say "netmon-agent report"
agent report

say "netmon-agent hosts (every LAN host, no configuration; names from the leases file)"
agent hosts

# A plain HTTP GET from LAN host b, with no curl needed.
get() {
	# shellcheck disable=SC2016 # expanded by the inner bash
	ip netns exec "$p-b" bash -c 'exec 3<>/dev/tcp/198.18.1.1/8080
		printf "GET %s HTTP/1.0\r\nAuthorization: Bearer demo-token-0123456789\r\n\r\n" "$1" >&3
		sed "1,/^\r$/d" <&3' _ "$1"
}
say "the web API, asked from LAN host b (the page is http://198.18.1.1:8080/)"
get /api/hosts | head -20
say "/metrics, as Prometheus scrapes it"
get /metrics | grep -E '^netmon_(meter|host)_bytes_total'

say "netmon-agent doctor (a lab is no router: expect a WARN or two)"
agent doctor || true

say "our rules in the router (backend auto: native nftables where iptables is iptables-nft)"
r nft list chain ip netmon netmon-INPUT
r iptables-save -c -t filter | grep -E 'netmon' || echo "(iptables-save: nothing of ours)"

# zero_ours CHAIN: what nftables' `reset rules` (1.0.7 and later) does to
# our IPv4 chain: each counter back to zero, same rule, same handle.
zero_ours() {
	r nft -a list chain ip netmon "$1" |
		sed -n "s/^[[:space:]]*\(.*counter packets [0-9]* bytes [0-9]*.*\) # handle \([0-9]*\)$/replace rule ip netmon $1 handle \2 \1/p" |
		sed 's/counter packets [0-9]* bytes [0-9]*/counter packets 0 bytes 0/' |
		r nft -f -
}

say "someone zeroes our counters, then more traffic arrives before our next sample"
agent sample
if r nft list chain ip netmon netmon-INPUT >/dev/null 2>&1; then
	zero_ours netmon-INPUT
else
	r iptables -Z
fi
ip netns exec "$p-a" ping -q -c 40 -i 0.02 -s 1400 198.18.1.1 | tail -1
agent sample
agent report

say "netmon-agent report --json (first meter)"
agent report --json | head -24

say "daemon log"
cat "$work/daemon.log"
