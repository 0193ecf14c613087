#!/usr/bin/env bash
# Builds OpenWrt .ipk packages without the OpenWrt SDK: the layout opkg
# reads, a gzipped tar of debian-binary, control.tar.gz and data.tar.gz,
# owned by root, with the control scripts every OpenWrt package gets. What
# goes in is what openwrt/netmon-agent/files.list says (through the same
# install-files.sh the feed Makefile runs) and the LuCI app's tree.
# Usage: scripts/ipk.sh PACKAGE ARCH BINARY VERSION OUTDIR
#   PACKAGE netmon-agent or netmon-agent-full (ARCH and BINARY as built),
#   luci-app-netmon or prometheus-node-exporter-lua-netmon (ARCH all, BINARY -)
set -euo pipefail
pkg=$1 arch=$2 bin=$3 version=$4 out=$5
here=$(cd "$(dirname "$0")" && pwd)
src="$here/../openwrt"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
data="$work/data" ctl="$work/control"
mkdir -p "$data" "$ctl"

desc="Exact per-meter and per-host traffic accounting from netfilter's counters."
case $pkg in
netmon-agent | netmon-agent-full)
	"$src/netmon-agent/install-files.sh" "$data" netmon-agent
	install -D -m 0755 "$bin" "$data/usr/sbin/netmon-agent"
	install -m 0755 "$src/netmon-agent/control/postinst" "$src/netmon-agent/control/prerm" \
		"$src/netmon-agent/control/prerm-pkg" "$ctl/"
	install -m 0644 "$src/netmon-agent/control/conffiles" "$ctl/"
	# What the OpenWrt build does with conffiles: sysupgrade keeps them.
	install -D -m 0644 "$ctl/conffiles" "$data/lib/upgrade/keep.d/$pkg"
	depends="libc, nftables"
	provides="netmon-agent-any"
	if [[ $pkg == netmon-agent ]]; then
		conflicts="netmon-agent-full"
		desc="$desc The router build: mail through msmtp or sendmail, no web server (LuCI and the collector instead)."
	else
		conflicts="netmon-agent"
		desc="$desc The full build: also its own SMTP client and web page with /metrics."
	fi
	;;
luci-app-netmon)
	cp -a "$src/luci-app-netmon/root/." "$data/"
	mkdir -p "$data/www"
	cp -a "$src/luci-app-netmon/htdocs/." "$data/www/"
	find "$data" -type f -exec chmod 0644 {} +
	depends="libc, netmon-agent-any, luci-base"
	desc="LuCI support for netmon-agent: Status > Traffic meters."
	;;
prometheus-node-exporter-lua-netmon)
	"$src/netmon-agent/install-files.sh" "$data" "$pkg"
	depends="prometheus-node-exporter-lua, netmon-agent-any"
	desc="Prometheus node exporter collector for netmon-agent (netmon-agent metrics)."
	;;
*)
	echo "ipk.sh: unknown package $pkg" >&2
	exit 1
	;;
esac
if [[ $pkg == luci-app-netmon || $pkg == prometheus-node-exporter-lua-netmon ]]; then
	# The wrappers OpenWrt's build writes for every package.
	install -m 0755 "$src/netmon-agent/control/postinst" "$src/netmon-agent/control/prerm" "$ctl/"
fi

size=$(du -sb "$data" | cut -f1)
{
	echo "Package: $pkg"
	echo "Version: $version"
	echo "Depends: $depends"
	[[ -n ${provides:-} ]] && echo "Provides: $provides"
	[[ -n ${conflicts:-} ]] && echo "Conflicts: $conflicts"
	echo "Source: netmon-agent"
	echo "Section: net"
	echo "Architecture: $arch"
	echo "Installed-Size: $size"
	echo "Maintainer: netmon-agent developers"
	echo "Description: $desc"
} >"$ctl/control"

# Reproducible: fixed owner, sorted names, one timestamp (the epoch) for all.
tarc() { tar --numeric-owner --owner=0 --group=0 --sort=name --mtime='@0' --format=gnu -czf "$@"; }
tarc "$work/control.tar.gz" -C "$ctl" .
tarc "$work/data.tar.gz" -C "$data" .
echo "2.0" >"$work/debian-binary"
mkdir -p "$out"
# Earlier versions of this package go: a feed, and test-ipk.sh, take what
# is in the directory.
rm -f "$out/${pkg}_"*"_${arch}.ipk"
ipk="$out/${pkg}_${version}_${arch}.ipk"
tar --numeric-owner --owner=0 --group=0 --mtime='@0' --format=gnu -czf "$ipk" -C "$work" ./debian-binary ./control.tar.gz ./data.tar.gz
printf '%-78s %9d bytes\n' "$ipk" "$(stat -c %s "$ipk")"
