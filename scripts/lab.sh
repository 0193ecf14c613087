#!/usr/bin/env bash
# A throwaway network lab made of namespaces, for the tests and the demo.
# Nothing here touches the root namespace: every link is created inside a
# namespace of the lab, and addresses come only from 198.18.0.0/15 and
# 2001:db8::/32 (reserved for benchmarks and documentation).
#
#   lab.sh up PREFIX     create PREFIX-r (router), PREFIX-a and PREFIX-b (LAN
#                        hosts) and PREFIX-i (an internet host)
#   lab.sh hosts PREFIX N  add N more LAN hosts (N <= 252), as a home LAN
#                        has them: each in a namespace of its own (PREFIX-hK
#                        for address .K, K from 4) with its own MAC
#                        (02:00:00:02:00:K), behind one switch (PREFIX-s)
#                        on one port of br-lan (lans); the router's
#                        neighbour table holds each one's MAC
#   lab.sh down PREFIX   delete them all (missing ones are fine)
#
#        PREFIX-a 198.18.1.2  2001:db8:1::2 ─┐
#                                           br-lan 198.18.1.1 2001:db8:1::1
#        PREFIX-b 198.18.1.3  2001:db8:1::3 ─┘   PREFIX-r
#                                           wan    198.19.0.1 2001:db8:ff::1
#        PREFIX-i 198.19.0.2  2001:db8:ff::2 ───┘
#
# Neighbours are static and IPv6 duplicate address detection is off, so the
# only packets that flow are the ones a test sends.
set -euo pipefail

cmd=${1:-}
p=${2:-}
if [[ -z $cmd || -z $p || ! $p =~ ^[a-z0-9]{1,10}$ ]]; then
	echo "usage: lab.sh up|down PREFIX (1-10 lowercase letters or digits)" >&2
	exit 2
fi

down() {
	local ns
	for ns in $(ip netns list | awk -v p="$p" '$1 ~ "^" p "-h[0-9]+$" { print $1 }') "$p-s" "$p-a" "$p-b" "$p-i" "$p-r"; do
		ip netns del "$ns" 2>/dev/null || true
	done
}

# hosts N: the hosts of `lab.sh hosts`, made with one `ip -batch` per
# namespace rather than a process per step (252 hosts in seconds).
hosts() {
	local n=$1 k mac r="$p-r" s="$p-s"
	if [[ ! $n =~ ^[0-9]+$ ]] || ((n < 1 || n > 252)); then
		echo "lab.sh hosts: N must be 1 to 252" >&2
		exit 2
	fi
	ip netns add "$s"
	ip -n "$s" link set lo up
	ip -n "$s" link add sw type bridge
	ip -n "$s" link set sw up
	ip -n "$r" link add lans type veth peer name uplink netns "$s"
	ip -n "$r" link set lans master br-lan up
	ip -n "$s" link set uplink master sw up
	for ((k = 4; k < 4 + n; k++)); do
		ip netns add "$p-h$k"
	done
	x() { printf '%x' "$1"; }
	for ((k = 4; k < 4 + n; k++)); do
		echo "link add p$k type veth peer name eth0 netns $p-h$k"
		echo "link set p$k master sw up"
	done | ip -n "$s" -batch -
	for ((k = 4; k < 4 + n; k++)); do
		mac=$(printf '02:00:00:02:00:%02x' "$k")
		ip netns exec "$p-h$k" sysctl -qw net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 \
			net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
		ip -n "$p-h$k" -batch - >/dev/null <<-EOF
			link set lo up
			link set eth0 address $mac up
			addr add 198.18.1.$k/24 dev eth0
			addr add 2001:db8:1::$(x "$k")/64 dev eth0 nodad
			route add default via 198.18.1.1
			route add ::/0 via 2001:db8:1::1
			neigh add 198.18.1.1 lladdr 02:00:00:00:01:01 dev eth0 nud permanent
			neigh add 2001:db8:1::1 lladdr 02:00:00:00:01:01 dev eth0 nud permanent
		EOF
		echo "neigh replace 198.18.1.$k lladdr $mac dev br-lan nud permanent"
		echo "neigh replace 2001:db8:1::$(x "$k") lladdr $mac dev br-lan nud permanent"
	done | ip -n "$r" -batch -
}

up() {
	down
	for ns in "$p-r" "$p-a" "$p-b" "$p-i"; do
		ip netns add "$ns"
		ip -n "$ns" link set lo up
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 \
			net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	done
	local r="$p-r"
	ip netns exec "$r" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	ip -n "$r" link add br-lan address 02:00:00:00:01:01 type bridge
	ip -n "$r" link set br-lan up

	# host letter, last octet
	for h in a:2 b:3; do
		local n=${h%%:*} o=${h##*:}
		ip -n "$r" link add "lan$n" type veth peer name eth0 netns "$p-$n"
		ip -n "$r" link set "lan$n" master br-lan up
		ip -n "$p-$n" link set eth0 address "02:00:00:00:01:0$o" up
		ip -n "$p-$n" addr add "198.18.1.$o/24" dev eth0
		ip -n "$p-$n" addr add "2001:db8:1::$o/64" dev eth0 nodad
		ip -n "$p-$n" route add default via 198.18.1.1
		ip -n "$p-$n" -6 route add default via 2001:db8:1::1
		ip -n "$p-$n" neigh add 198.18.1.1 lladdr 02:00:00:00:01:01 dev eth0 nud permanent
		ip -n "$p-$n" -6 neigh add 2001:db8:1::1 lladdr 02:00:00:00:01:01 dev eth0 nud permanent
		ip -n "$r" neigh add "198.18.1.$o" lladdr "02:00:00:00:01:0$o" dev br-lan nud permanent
		ip -n "$r" -6 neigh add "2001:db8:1::$o" lladdr "02:00:00:00:01:0$o" dev br-lan nud permanent
	done
	ip -n "$r" addr add 198.18.1.1/24 dev br-lan
	ip -n "$r" addr add 2001:db8:1::1/64 dev br-lan nodad

	ip -n "$r" link add wan address 02:00:00:00:ff:01 type veth peer name eth0 netns "$p-i"
	ip -n "$r" link set wan up
	ip -n "$p-i" link set eth0 address 02:00:00:00:ff:02 up
	ip -n "$r" addr add 198.19.0.1/24 dev wan
	ip -n "$r" addr add 2001:db8:ff::1/64 dev wan nodad
	ip -n "$p-i" addr add 198.19.0.2/24 dev eth0
	ip -n "$p-i" addr add 2001:db8:ff::2/64 dev eth0 nodad
	ip -n "$p-i" route add default via 198.19.0.1
	ip -n "$p-i" -6 route add default via 2001:db8:ff::1
	ip -n "$r" neigh add 198.19.0.2 lladdr 02:00:00:00:ff:02 dev wan nud permanent
	ip -n "$r" -6 neigh add 2001:db8:ff::2 lladdr 02:00:00:00:ff:02 dev wan nud permanent
	ip -n "$p-i" neigh add 198.19.0.1 lladdr 02:00:00:00:ff:01 dev eth0 nud permanent
	ip -n "$p-i" -6 neigh add 2001:db8:ff::1 lladdr 02:00:00:00:ff:01 dev eth0 nud permanent
}

case $cmd in
up) up ;;
down) down ;;
hosts) hosts "${3:-}" ;;
*)
	echo "usage: lab.sh up|down PREFIX, lab.sh hosts PREFIX N" >&2
	exit 2
	;;
esac
