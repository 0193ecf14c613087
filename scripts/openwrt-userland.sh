#!/usr/bin/env bash
# Runs the agent packages through OpenWrt's own userland built from its
# sources: opkg (opkg-lede), uci and libubox, with base-files' scripts.
# Not part of CI (the sources are fetched by hand); README's install
# section says what it showed. Usage, as root, after `make ipk`:
#   scripts/openwrt-userland.sh SRC [PACKAGE.ipk...]
# SRC holds the checkouts libubox/, uci/, opkg/ (openwrt/opkg-lede) and
# base-files/files/ (openwrt/openwrt package/base-files/files: at least
# lib/functions.sh, etc/rc.common, lib/functions/service.sh,
# lib/functions/procd.sh). Default packages: dist/netmon-agent{,-full}_*_x86_64.ipk.
#
# For each package it checks, in a fresh tree each time:
#   1. image build: opkg --offline-root installs it; the service is enabled
#      (etc/rc.d/S99netmon-agent) and the uci-defaults wait for first boot;
#   2. live install in a chroot with the real uci: default_postinst runs the
#      uci-defaults (the config keeps its comments and gets the LAN device,
#      leases and token; the firewall include is in /etc/config/firewall)
#      and enables the service;
#   3. remove: prerm-pkg runs, the service is disabled, the include is gone,
#      /etc/netmon/ stays.
set -euo pipefail
src=$(cd "$1" && pwd)
shift
here=$(cd "$(dirname "$0")" && pwd)
pkgs=("$@")
((${#pkgs[@]})) || pkgs=("$here"/../dist/netmon-agent_*_x86_64.ipk "$here"/../dist/netmon-agent-full_*_x86_64.ipk)
work=$(mktemp -d)
echo "working in $work"
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
prefix="$work/prefix"

build() { # build NAME [CMAKE ARGS...]
	local name=$1
	shift
	cmake -S "$src/$name" -B "$work/build-$name" -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_PREFIX_PATH="$prefix" \
		-DCMAKE_C_FLAGS="-I$prefix/include" -DCMAKE_EXE_LINKER_FLAGS="-L$prefix/lib -Wl,-rpath,$prefix/lib" \
		-DCMAKE_SHARED_LINKER_FLAGS="-L$prefix/lib" "$@" >/dev/null
	make -C "$work/build-$name" -j"$(nproc)" >/dev/null
	make -C "$work/build-$name" install >/dev/null
}
build libubox -DBUILD_LUA=OFF -DBUILD_EXAMPLES=OFF
build uci -DBUILD_LUA=OFF
build opkg -DBUILD_TESTS=OFF
opkg=$prefix/bin/opkg-cl

pass=0 fail=0
check() {
	local what=$1
	shift
	if "$@" >/dev/null 2>&1; then
		pass=$((pass + 1))
		echo "ok:   $what"
	else
		fail=$((fail + 1))
		echo "FAIL: $what"
	fi
}

# tree DIR: an image tree with base-files' scripts, busybox as /bin/sh, the
# real uci, an opkg config and stand-ins for the packages we depend on.
tree() {
	local root=$1
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc/config,etc/rc.d,tmp,var/lock,usr/lib/opkg/info,lib,dev}
	mknod -m 0666 "$root/dev/null" c 1 3
	cp -a "$src/base-files/files/." "$root/"
	cp /bin/busybox "$root/bin/busybox"
	for a in sh ash awk sed grep cat cp mv rm mkdir ln basename dirname tr head tail sort chmod readlink find; do
		ln -sf busybox "$root/bin/$a"
	done
	cp -a "$prefix/bin/uci" "$root/sbin/uci"
	mkdir -p "$root/usr/lib" && cp -a "$prefix"/lib/lib*.so* "$root/usr/lib/"
	# uci is linked against this machine's C library: bring it along.
	ldd "$prefix/bin/uci" | grep -o '/[^ ]*' | while read -r lib; do
		mkdir -p "$root${lib%/*}" && cp -L "$lib" "$root$lib"
	done
	printf 'config interface lan\n\toption device br-lan\n\toption proto static\n\nconfig interface wan\n\toption device eth1\n\toption proto dhcp\n' >"$root/etc/config/network"
	printf 'config dnsmasq\n\toption leasefile /tmp/dhcp.leases\n' >"$root/etc/config/dhcp"
	: >"$root/etc/config/firewall"
	printf 'dest root /\nlists_dir ext /usr/lib/opkg/lists\narch all 1\narch x86_64 10\nsrc/gz local file://%s/feed\n' "$work" >"$root/etc/opkg.conf"
}

# A local feed of empty packages for what the agent depends on.
mkdir -p "$work/feed"
for dep in libc nftables; do
	d=$(mktemp -d)
	mkdir -p "$d/c" "$d/d"
	printf 'Package: %s\nVersion: 1\nArchitecture: all\nDescription: stand-in\n' "$dep" >"$d/c/control"
	tar -czf "$d/control.tar.gz" -C "$d/c" . && tar -czf "$d/data.tar.gz" -C "$d/d" . && echo 2.0 >"$d/debian-binary"
	tar -czf "$work/feed/${dep}_1_all.ipk" -C "$d" ./debian-binary ./control.tar.gz ./data.tar.gz
	rm -rf "$d"
done
(cd "$work/feed" && for f in *.ipk; do
	tar -xzOf "$f" ./control.tar.gz | tar -xzO ./control
	echo "Filename: $f"
	echo
done) | gzip >"$work/feed/Packages.gz"

for pkg in "${pkgs[@]}"; do
	name=$(basename "$pkg")
	echo "== $name"
	img="$work/image"
	rm -rf "$img" && tree "$img"
	IPKG_INSTROOT=$img "$opkg" -f "$img/etc/opkg.conf" --offline-root "$img" update >/dev/null
	IPKG_INSTROOT=$img "$opkg" -f "$img/etc/opkg.conf" --offline-root "$img" install "$pkg" >"$work/log" 2>&1 || cat "$work/log"
	# As OpenWrt's include/rootfs.mk does after opkg: each postinst, with
	# IPKG_INSTROOT set.
	for script in "$img"/usr/lib/opkg/info/*.postinst; do
		IPKG_INSTROOT=$img bash "$script" >>"$work/log" 2>&1 || true
	done
	check "image build: installed" test -x "$img/usr/sbin/netmon-agent"
	check "image build: the service is enabled (S99netmon-agent)" test -L "$img/etc/rc.d/S99netmon-agent"
	check "image build: uci-defaults wait for the first boot" test -f "$img/etc/uci-defaults/90-netmon-agent"

	live="$work/live"
	rm -rf "$live" && tree "$live"
	cp "$pkg" "$live/tmp/pkg.ipk"
	comments=$(tar -xzOf "$pkg" ./data.tar.gz | tar -xzO ./etc/config/netmon | grep -c '#')
	"$opkg" -f "$live/etc/opkg.conf" --offline-root "$live" update >/dev/null
	# Installed as on the router: files with opkg into the tree, then the
	# postinst run inside it (no IPKG_INSTROOT), as opkg runs it live.
	IPKG_NO_SCRIPT=1 "$opkg" -f "$live/etc/opkg.conf" --offline-root "$live" install "$pkg" >"$work/log" 2>&1 || cat "$work/log"
	chroot "$live" /bin/sh -c 'PATH=/usr/sbin:/usr/bin:/sbin:/bin LD_LIBRARY_PATH=/usr/lib /bin/sh /usr/lib/opkg/info/netmon-agent*.postinst' >"$work/log" 2>&1 || true
	check "live: uci-defaults ran and were removed" test ! -e "$live/etc/uci-defaults/90-netmon-agent"
	check "live: the config keeps its comments" test "$(grep -c '#' "$live/etc/config/netmon")" = "$comments"
	check "live: LAN device, leases and WAN device filled in" bash -c "grep -q \"option lan 'br-lan'\" '$live/etc/config/netmon' && grep -q \"option leases '/tmp/dhcp.leases'\" '$live/etc/config/netmon' && grep -q \"option in 'eth1'\" '$live/etc/config/netmon'"
	check "live: a token was written" grep -Eq "option token '[0-9a-f]{32,}'" "$live/etc/config/netmon"
	check "live: the config loads" "$live/usr/sbin/netmon-agent" --config "$live/etc/config/netmon" report --json
	check "live: the firewall include, without reload" bash -c "chroot '$live' /sbin/uci get firewall.netmon_agent.path | grep -q firewall.include && ! chroot '$live' /sbin/uci -q get firewall.netmon_agent.reload"
	check "live: the service is enabled" test -L "$live/etc/rc.d/S99netmon-agent"
	chroot "$live" /bin/sh -c 'PATH=/usr/sbin:/usr/bin:/sbin:/bin LD_LIBRARY_PATH=/usr/lib /bin/sh /usr/lib/opkg/info/netmon-agent*.prerm' >"$work/log" 2>&1 || true
	check "remove: the service is disabled" test ! -e "$live/etc/rc.d/S99netmon-agent"
	check "remove: the firewall include is gone" bash -c "! chroot '$live' /sbin/uci -q get firewall.netmon_agent"
	check "remove: /etc/netmon/ stays" test -d "$live/etc/netmon"
done
echo "openwrt userland: $pass passed, $fail failed"
((fail == 0))
