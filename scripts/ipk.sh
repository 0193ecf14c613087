#!/usr/bin/env bash
# Builds an OpenWrt .ipk without the OpenWrt SDK (whose Go support forces cgo
# and an old Go): the layout opkg reads, a gzipped tar of debian-binary,
# control.tar.gz and data.tar.gz, owned by root.
# Usage: scripts/ipk.sh OPENWRT_ARCH BINARY VERSION OUTDIR
set -euo pipefail
arch=$1 bin=$2 version=$3 out=$4
here=$(cd "$(dirname "$0")" && pwd)
src="$here/../openwrt"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

data="$work/data"
mkdir -p "$data/usr/sbin" "$data/etc/netmon"
cp -a "$src/files/." "$data/"
install -m 0755 "$bin" "$data/usr/sbin/netmon-agent"
chmod 0755 "$data/etc/init.d/netmon-agent" "$data/etc/uci-defaults/90-netmon-agent" \
	"$data/usr/share/netmon-agent/firewall.include"
chmod 0600 "$data/etc/config/netmon"
chmod 0700 "$data/etc/netmon"
chmod 0644 "$data/lib/upgrade/keep.d/netmon-agent" "$data/usr/share/luci/menu.d/luci-app-netmon.json" \
	"$data/usr/share/rpcd/acl.d/luci-app-netmon.json" "$data/www/luci-static/resources/view/netmon/overview.js"

ctl="$work/control"
mkdir -p "$ctl"
install -m 0755 "$src/control/postinst" "$src/control/prerm" "$ctl/"
install -m 0644 "$src/control/conffiles" "$ctl/"
size=$(du -sb "$data" | cut -f1)
cat >"$ctl/control" <<CONTROL
Package: netmon-agent
Version: $version
Depends: libc, iptables-nft, ip6tables-nft, nftables
Source: netmon-agent
Section: net
Architecture: $arch
Installed-Size: $size
Maintainer: netmon-agent developers
Description: Exact per-meter traffic accounting from netfilter's counters.
 Installs its own iptables chains, samples them, keeps totals that survive
 restarts, crashes, firewall reloads, counter zeroing and reboots.
CONTROL

# Reproducible: fixed owner, sorted names, one timestamp (the epoch) for all.
tarc() { tar --numeric-owner --owner=0 --group=0 --sort=name --mtime='@0' --format=gnu -czf "$@"; }
tarc "$work/control.tar.gz" -C "$ctl" .
tarc "$work/data.tar.gz" -C "$data" .
echo "2.0" >"$work/debian-binary"
mkdir -p "$out"
pkg="$out/netmon-agent_${version}_${arch}.ipk"
tar --numeric-owner --owner=0 --group=0 --mtime='@0' --format=gnu -czf "$pkg" -C "$work" ./debian-binary ./control.tar.gz ./data.tar.gz
printf '%-60s %9d bytes\n' "$pkg" "$(stat -c %s "$pkg")"
