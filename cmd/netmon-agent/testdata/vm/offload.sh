#!/usr/bin/env bash
# Run in the VM lab (scripts/vm.sh) by TestVM_Offload: the lab of lab.sh
# behind firewall4's ruleset with flow offloading, the agent counting, and
# LAN host a moving data to and from internet host i over TCP, IPv4 and
# IPv6. Host a's own counters are the oracle. Each step prints one line
#   netmon-vm: result NAME {"agent_dl":N,"agent_ul":N,"oracle_dl":N,"oracle_ul":N,...}
# for the test to judge; the steps are in run_layout.
set -uo pipefail
here=$(pwd)
work=/tmp/work
mkdir -p "$work"
# shellcheck source=scripts/lab-session.sh
. "$here/lab-session.sh"
p=vm
mac_a=02:00:00:00:01:02
r() { ip netns exec "$p-r" "$@"; }
a() { ip netns exec "$p-a" "$@"; }
i() { ip netns exec "$p-i" "$@"; }
agent() { r ./netmon-agent --config "$work/netmon" "$@"; }

# fw4 LAYOUT: firewall4's ruleset as templates/ruleset.uc writes it with
# flow offloading: a flowtable on the zones' L3 devices (sw: software
# offload) or on the bridge's ports (hw: the device list of hardware
# offload), with counter unless the layout ends in -nocounter, and the
# offload rule first in the forward chain; masquerade on the WAN for IPv4.
# Layout "off" is the same ruleset without offloading, as firewall4 writes
# it once flow_offloading is switched off (and reloads, replacing the table).
fw4() {
	local devices='"br-lan", "wan"' counter='counter;' flowtable offload
	[[ $1 == hw* ]] && devices='"lana", "lanb", "wan"'
	[[ $1 == *nocounter ]] && counter=
	flowtable="flowtable ft { hook ingress priority 0; devices = { $devices }; $counter }"
	offload='meta l4proto { tcp, udp } flow offload @ft;'
	if [[ $1 == off ]]; then
		flowtable='' offload=''
	fi
	r nft -f - <<NFT
table inet fw4
flush table inet fw4
delete table inet fw4
table inet fw4 {
	$flowtable
	chain forward {
		type filter hook forward priority filter; policy drop;
		$offload
		ct state established,related accept comment "!fw4: Allow forwarded established and related flows"
		iifname "br-lan" accept
	}
	chain srcnat {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "wan" meta nfproto ipv4 masquerade
	}
}
NFT
}

# oracle: host a's own counters of what it received from and sent to the
# internet host's subnets.
oracle() {
	a nft -f - <<'NFT'
table inet oracle {
	chain in {
		type filter hook input priority -500; policy accept;
		ip saddr 198.19.0.0/24 counter comment "dl"
		ip6 saddr 2001:db8:ff::/64 counter comment "dl"
	}
	chain out {
		type filter hook output priority 500; policy accept;
		ip daddr 198.19.0.0/24 counter comment "ul"
		ip6 daddr 2001:db8:ff::/64 counter comment "ul"
	}
}
NFT
}

# oracle_bytes DIR: what host a's counters of DIR (dl or ul) say, in bytes.
oracle_bytes() {
	a nft list table inet oracle | awk -v dir="\"$1\"" '$NF == dir { for (i = 1; i < NF; i++) if ($i == "bytes") n += $(i + 1) } END { print n + 0 }'
}

# agent_bytes FIELD: host a's FIELD (download_bytes, upload_bytes) in the
# agent's host table, after a sample.
agent_bytes() {
	agent hosts --json | tr -d ' \n\t' | sed -n "s/.*\"mac\":\"$mac_a\"[^}]*\"$1\":\([0-9]*\).*/\1/p"
}

# service_bytes: host a's usage of service iperf (port 5201), download and
# upload.
service_bytes() {
	agent report --services --json | tr -d ' \n\t' |
		sed -n 's/.*"name":"iperf","download_bytes":\([0-9]*\),"upload_bytes":\([0-9]*\).*/"service_dl":\1,"service_ul":\2/p'
}

# result NAME [KEY VALUE...]: the agent's and the oracle's totals for host
# a, its usage of service iperf, and KEY VALUE pairs of the step's own.
result() {
	local name=$1 extra=""
	shift
	agent sample >/dev/null
	while (($# >= 2)); do
		extra+=",\"$1\":$2"
		shift 2
	done
	echo "netmon-vm: result $name {\"agent_dl\":$(agent_bytes download_bytes),\"agent_ul\":$(agent_bytes upload_bytes),\"oracle_dl\":$(oracle_bytes dl),\"oracle_ul\":$(oracle_bytes ul),$(service_bytes)$extra}"
}

start_daemon() {
	agent run >>"$work/log" 2>&1 &
	daemon=$!
	sleep 1.5
}

# transfer: 20 MB up and 20 MB down, IPv4 and IPv6.
transfer() {
	local dst
	for dst in 198.19.0.2 2001:db8:ff::2; do
		a iperf3 -c "$dst" -n 20M --connect-timeout 3000 >/dev/null || echo "netmon-vm: upload to $dst failed"
		a iperf3 -c "$dst" -n 20M -R --connect-timeout 3000 >/dev/null || echo "netmon-vm: download from $dst failed"
	done
}

# killed: a 20 MB download at 8 Mbit/s (20 s), during which the daemon is
# SIGKILLed for 15 s.
killed() {
	a iperf3 -c 198.19.0.2 -n 20M -R -b 8M --connect-timeout 3000 >/dev/null &
	local load=$!
	sleep 2
	kill -9 "$daemon"
	wait "$daemon" 2>/dev/null
	sleep 15
	start_daemon
	wait "$load" || echo "netmon-vm: the download across the kill failed"
}

# rate SECONDS: host a's download rate by its own counters, bytes/s.
rate() {
	local before after
	before=$(oracle_bytes dl)
	sleep "$1"
	after=$(oracle_bytes dl)
	echo $(((after - before) / $1))
}

# download SECONDS PORT: host a downloads at 40 Mbit/s, offloaded, for
# SECONDS in the background from the server on PORT; its pid is in $load.
download() {
	a iperf3 -c 198.19.0.2 -p "$2" -R -b 40M -t "$1" --connect-timeout 3000 >/dev/null 2>&1 &
	load=$!
	sleep 2
}

# restricted: during offloaded downloads, a block (what arrives in the 2 s
# after one interval), an unblock (a new download's rate), a throttle to 4
# Mbit/s (the rate over 4 s) and an unthrottle (the rate again).
restricted() {
	local free blocked unblocked throttled unthrottled
	download 8 5202
	free=$(rate 2)
	agent block "$mac_a" >/dev/null
	sleep 1.5
	blocked=$(rate 2)
	agent unblock "$mac_a" >/dev/null
	kill "$load" 2>/dev/null
	wait "$load" 2>/dev/null
	download 14 5203
	unblocked=$(rate 2)
	agent throttle "$mac_a" 4mbit >/dev/null
	sleep 2
	throttled=$(rate 4)
	agent unthrottle "$mac_a" >/dev/null
	sleep 1.5
	unthrottled=$(rate 2)
	wait "$load" 2>/dev/null
	result restricted free "$free" blocked "$blocked" unblocked "$unblocked" throttled "$throttled" unthrottled "$unthrottled"
}

# switched: offloading switched off and on again during a 20 MB download
# at 16 Mbit/s: firewall4 reloads, then runs its includes, ours among them
# (netmon-agent start).
switched() {
	a iperf3 -c 198.19.0.2 -n 20M -R -b 16M --connect-timeout 3000 >/dev/null &
	local load=$!
	sleep 3
	fw4 off
	agent start >/dev/null
	sleep 3
	fw4 sw
	agent start >/dev/null
	wait "$load" || echo "netmon-vm: the download across the switches failed"
}

# run_layout LAYOUT STEPS...: a fresh lab behind LAYOUT, then each step.
run_layout() {
	local layout=$1 step port
	shift
	"$here/lab.sh" up "$p"
	fw4 "$layout"
	oracle
	lab_config "$work/netmon" "wan_in" backend=nftables leases="$work/none"
	printf "\nconfig service 'iperf'\n\tlist port 'tcp/5201'\n" >>"$work/netmon"
	# One server a test: a client killed mid-test holds its server.
	for port in 5201 5202 5203; do
		i iperf3 -s -D -p "$port"
	done
	start_daemon
	for step in "$@"; do
		case $step in
		transfer) transfer && result "$layout" ;;
		killed) killed && result "$layout-killed" ;;
		restricted) restricted ;;
		switched) switched && result "$layout-switched" ;;
		esac
	done
	grep -i "offload\|egress" "$work/log" | sed 's/^/netmon-vm: log: /'
	agent stop >/dev/null
	wait "$daemon"
	if r nft list tables | grep -q netmon; then
		echo "netmon-vm: tables left after stop: $(r nft list tables | tr '\n' ' ')"
	fi
	"$here/lab.sh" down "$p"
	rm -rf "${work:?}"/*
}

run_layout sw transfer killed restricted switched
run_layout hw transfer killed
run_layout sw-nocounter transfer
