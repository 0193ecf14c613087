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
# Then, with opkg itself running inside the tree (so it runs the scripts as
# on the router, with PKG_UPGRADE set as it sets it), for the router
# package: an upgrade to a higher version, a reinstall, and a switch to
# netmon-agent-full and back. Each must succeed, leave the service enabled
# and started, the config and the snapshot in /etc/netmon/ untouched, and
# print no "Command failed". procd does not run: base-files' procd.sh is
# replaced by a stand-in that logs what procd would be asked (add or delete
# the service) to /tmp/procd.log in the tree; SRC/base-files/files must
# hold it as lib/functions/procd.sh.
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
# opkg inside the tree: the binary and the C library it links.
intree_opkg() { # intree_opkg ROOT
	local root=$1
	cp -a "$prefix/bin/opkg-cl" "$root/bin/opkg"
	ldd "$prefix/bin/opkg-cl" | grep -o '/[^ ]*' | while read -r lib; do
		mkdir -p "$root${lib%/*}" && cp -L "$lib" "$root$lib"
	done
	mkdir -p "$root/feed" "$root/usr/lib/opkg/lists"
	cp -a "$work/feed/." "$root/feed/"
	printf 'dest root /\nlists_dir ext /usr/lib/opkg/lists\narch all 1\narch x86_64 10\nsrc/gz local file:///feed\n' >"$root/etc/opkg.conf"
	for a in gzip gunzip zcat tar touch tee env cut wc sleep date; do ln -sf busybox "$root/bin/$a"; done
}
in_tree() { # in_tree ROOT COMMAND...: as root on the router
	local root=$1
	shift
	PATH=/usr/sbin:/usr/bin:/sbin:/bin LD_LIBRARY_PATH=/usr/lib chroot "$root" "$@"
}
started() { [ "$(grep -E '^(add|delete) netmon-agent' "$1/tmp/procd.log" | tail -n 1)" = "add netmon-agent" ]; }

# The same packages at a higher release, for the upgrade.
router=$(ls "$here"/../dist/netmon-agent_*_x86_64.ipk)
full=$(ls "$here"/../dist/netmon-agent-full_*_x86_64.ipk)
mkdir -p "$work/v2"
version=$(tar -xzOf "$router" ./control.tar.gz | tar -xzO ./control | sed -n 's/^Version: //p')
v2=${version%-r*}-r99
"$here/ipk.sh" netmon-agent x86_64 "$here/../dist/netmon-agent-x86_64" "$v2" "$work/v2" >/dev/null
router2=$(ls "$work"/v2/netmon-agent_*_x86_64.ipk)

echo "== upgrade, reinstall, variant switch (opkg in the tree)"
up="$work/upgrade"
rm -rf "$up" && tree "$up" && intree_opkg "$up"
cp "$router" "$up/tmp/v1.ipk" && cp "$router2" "$up/tmp/v2.ipk" && cp "$full" "$up/tmp/full.ipk"
in_tree "$up" opkg update >/dev/null
in_tree "$up" opkg install /tmp/v1.ipk >"$work/log" 2>&1 || cat "$work/log"
check "v1 installed, started" started "$up"
# What the daemon would have written (a snapshot: a gzip'ed database with
# two days of two hosts' history), and an owner's change to the config.
mkdir -p "$up/etc/netmon"
(cd "$here/.." && go run ./scripts/seedhistory -db "$work/seed.db" -macs 02:00:00:00:01:02-03 -days 2)
gzip -c "$work/seed.db" >"$up/etc/netmon/netmon.db"
snap=$(sha256sum <"$up/etc/netmon/netmon.db")
in_tree "$up" uci set netmon.main.interval=45 && in_tree "$up" uci commit netmon
for step in "upgrade to $v2:opkg install /tmp/v2.ipk" "reinstall:opkg install --force-reinstall /tmp/v2.ipk" \
	"switch to full:opkg remove netmon-agent;opkg install /tmp/full.ipk" "switch back:opkg remove netmon-agent-full;opkg install /tmp/v2.ipk"; do
	what=${step%%:*} cmds=${step#*:}
	: >"$up/tmp/procd.log"
	ok=1
	IFS=';' read -ra parts <<<"$cmds"
	for c in "${parts[@]}"; do
		# shellcheck disable=SC2086 # the command's words
		in_tree "$up" $c >>"$work/log.$$" 2>&1 || ok=0
	done
	check "$what: opkg succeeds" test "$ok" = 1
	check "$what: no 'omitting directory', no 'Command failed', no sha256sum warning" bash -c "! grep -Eq 'omitting directory|Command failed|sha256sum' '$work/log.$$'"
	check "$what: the service is enabled" test -L "$up/etc/rc.d/S99netmon-agent"
	check "$what: the service is started" started "$up"
	check "$what: the snapshot in /etc/netmon/ is untouched" test "$(sha256sum <"$up/etc/netmon/netmon.db")" = "$snap"
	check "$what: the owner's config change stays" grep -q "option interval '45'" "$up/etc/config/netmon"
	check "$what: the firewall include is there" in_tree "$up" /sbin/uci -q get firewall.netmon_agent
	[ -n "${VERBOSE:-}" ] && cat "$work/log.$$"
	rm -f "$work/log.$$"
done
check "upgrade: opkg's status has $v2 installed" bash -c "grep -A3 '^Package: netmon-agent$' '$up/usr/lib/opkg/status' | grep -q 'Version: $v2' && grep -A6 '^Package: netmon-agent$' '$up/usr/lib/opkg/status' | grep -q 'Status: install user installed'"
: >"$up/tmp/procd.log"
in_tree "$up" opkg remove netmon-agent >"$work/log" 2>&1 || true
check "remove: one stop, quietly" bash -c "! grep -q 'Command failed' '$work/log' && [ \"\$(grep -c '^delete netmon-agent' '$up/tmp/procd.log')\" = 1 ]"
check "remove: /etc/netmon/ stays" test -f "$up/etc/netmon/netmon.db"

# OLD=PACKAGE.ipk: a release from before conffiles named files only. opkg
# failed on the directory in the *new* package's conffiles (the old status
# has no checksum for it, so it is backed up as a new conffile, and cannot
# be); an upgrade from it to this one succeeds and keeps the config and the
# snapshot.
if [ -n "${OLD:-}" ]; then
	echo "== from $(basename "$OLD")"
	old="$work/old"
	rm -rf "$old" && tree "$old" && intree_opkg "$old"
	cp "$OLD" "$old/tmp/old.ipk" && cp "$router" "$old/tmp/new.ipk"
	in_tree "$old" opkg update >/dev/null
	in_tree "$old" opkg install /tmp/old.ipk >"$work/log" 2>&1 || cat "$work/log"
	mkdir -p "$old/etc/netmon" && cp "$up/etc/netmon/netmon.db" "$old/etc/netmon/netmon.db"
	: >"$old/tmp/procd.log"
	check "old: the upgrade to this version succeeds" in_tree "$old" opkg install /tmp/new.ipk
	check "old: the service is started" started "$old"
	check "old: the snapshot stays" test "$(sha256sum <"$old/etc/netmon/netmon.db")" = "$snap"
fi

echo "openwrt userland: $pass passed, $fail failed"
((fail == 0))
