#!/usr/bin/env bash
# Run in the VM lab (scripts/vm.sh) by TestVM_Offload: for each of
# firewall4's flowtable layouts, the lab of lab.sh behind a firewall4-like
# ruleset with flow offloading, the agent counting, and 20 MB each way
# over TCP between LAN host a and internet host i, IPv4 and IPv6. It
# prints, per layout, the agent's hosts and host a's own counters (the
# oracle) as JSON lines for the test to compare.
set -uo pipefail
here=$(pwd)
work=/tmp/work
mkdir -p "$work"
# shellcheck source=scripts/lab-session.sh
. "$here/lab-session.sh"
p=vm
r() { ip netns exec "$p-r" "$@"; }
a() { ip netns exec "$p-a" "$@"; }
i() { ip netns exec "$p-i" "$@"; }

# fw4 LAYOUT: firewall4's ruleset as it writes it with flow offloading
# (templates/ruleset.uc): a flowtable on the zones' L3 devices (software
# offload) or on the bridge's ports (the hardware layout), with or without
# counter, and the offload rule first in the forward chain; masquerade on
# the WAN for IPv4.
fw4() {
	local devices='"br-lan", "wan"' counter='counter;'
	[[ $1 == hw* ]] && devices='"lana", "lanb", "wan"'
	[[ $1 == *nocounter ]] && counter=
	r nft -f - <<NFT
table inet fw4 {
	flowtable ft {
		hook ingress priority 0;
		devices = { $devices };
		$counter
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
		meta l4proto { tcp, udp } flow offload @ft;
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

transfer() {
	local dst
	for dst in 198.19.0.2 2001:db8:ff::2; do
		a iperf3 -c "$dst" -n "${MB:-20}M" --connect-timeout 3000 >/dev/null || echo "netmon-vm: upload to $dst failed"
		a iperf3 -c "$dst" -n "${MB:-20}M" -R --connect-timeout 3000 >/dev/null || echo "netmon-vm: download from $dst failed"
	done
}

for layout in ${LAYOUTS:-sw hw sw-nocounter}; do
	"$here/lab.sh" up "$p"
	fw4 "$layout"
	oracle
	lab_config "$work/netmon" "wan_in" backend=nftables leases="$work/none"
	r ./netmon-agent --config "$work/netmon" run >"$work/log" 2>&1 &
	daemon=$!
	i iperf3 -s -D
	sleep 2
	transfer
	r ./netmon-agent --config "$work/netmon" sample >/dev/null
	echo "netmon-vm: hosts $layout $(r ./netmon-agent --config "$work/netmon" hosts --json | tr -d '\n\t ')"
	echo "netmon-vm: oracle $layout {\"download_bytes\":$(oracle_bytes dl),\"upload_bytes\":$(oracle_bytes ul)}"
	r ./netmon-agent --config "$work/netmon" stop >/dev/null
	wait "$daemon"
	"$here/lab.sh" down "$p"
	rm -rf "${work:?}"/*
done
