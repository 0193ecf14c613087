#!/usr/bin/env bash
# Installs what the tests and the demo need, on Debian, only when missing:
# iproute2 (ip netns), both iptables backends, nft, ipset, ping, qemu-user (the mips and
# arm builds' tests), qemu-system-x86, busybox-static, cpio and iperf3 (the VM
# lab, scripts/vm.sh), shellcheck, chromium (the browser tests), lua5.1, msmtp
# and promtool. Needs root.
set -euo pipefail
need=()
command -v ip >/dev/null || need+=(iproute2)
for b in iptables-legacy iptables-nft ip6tables-legacy ip6tables-nft; do
	command -v "$b" >/dev/null || { need+=(iptables); break; }
done
command -v ping >/dev/null || need+=(iputils-ping)
command -v nft >/dev/null || need+=(nftables)
command -v ipset >/dev/null || need+=(ipset)
command -v qemu-mips-static >/dev/null && command -v qemu-arm-static >/dev/null || need+=(qemu-user-static)
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86) # the VM lab
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static) # the guest's shell, static
command -v cpio >/dev/null || need+=(cpio)
command -v iperf3 >/dev/null || need+=(iperf3)
command -v xz >/dev/null || need+=(xz-utils)
command -v shellcheck >/dev/null || need+=(shellcheck)
command -v chromium >/dev/null || need+=(chromium) # the web page's and LuCI's browser tests
command -v lua5.1 >/dev/null && command -v luac5.1 >/dev/null || need+=(lua5.1) # the Prometheus collector's test
command -v msmtp >/dev/null || need+=(msmtp)       # mail through an msmtp account
if ((${#need[@]})); then
	if [[ $EUID -ne 0 ]]; then
		echo "deps: missing ${need[*]}; run as root to install them" >&2
		exit 1
	fi
	echo "deps: installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${need[@]}"
fi
# promtool (the collector's output must pass `promtool check metrics`):
# only that binary, taken out of Debian's prometheus package, so no server
# is installed or started.
if ! command -v promtool >/dev/null; then
	if [[ $EUID -ne 0 ]]; then
		echo "deps: missing promtool; run as root to install it" >&2
		exit 1
	fi
	echo "deps: installing promtool from Debian's prometheus package"
	d=$(mktemp -d)
	(cd "$d" && chmod 0755 . && apt-get download -q prometheus >/dev/null 2>&1) || { apt-get update -q && (cd "$d" && apt-get download -q prometheus); }
	dpkg-deb --fsys-tarfile "$d"/prometheus_*.deb | tar -x -C "$d" ./usr/bin/promtool
	install -m 0755 "$d/usr/bin/promtool" /usr/local/bin/promtool
	rm -rf "$d"
fi
