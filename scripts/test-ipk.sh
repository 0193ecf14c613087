#!/usr/bin/env bash
# Unpacks every dist/*.ipk with tar alone, as opkg would, and checks the
# layout, the control fields, the paths and the modes. Usage:
# scripts/test-ipk.sh [PACKAGE...]; prints "N passed, N failed".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pass=0 fail=0
check() { # check DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@" >/dev/null 2>&1; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: $pkg: $what"
	fi
}
declare -A want_file=(
	[mips_24kc]="MSB.*MIPS" [mipsel_24kc]="LSB.*MIPS" [arm_cortex-a7_neon-vfpv4]="32-bit LSB.*ARM"
	[aarch64_generic]="aarch64" [x86_64]="x86-64"
)
pkgs=("$@")
((${#pkgs[@]})) || pkgs=("$here"/../dist/*.ipk)
for pkg in "${pkgs[@]}"; do
	[[ -f $pkg ]] || { echo "FAIL: no package $pkg (make ipk first)"; fail=$((fail + 1)); continue; }
	arch=$(basename "$pkg" .ipk)
	arch=${arch#netmon-agent_*_}
	w=$(mktemp -d)
	tar -xzf "$pkg" -C "$w"
	check "outer members are debian-binary, control.tar.gz, data.tar.gz" \
		test "$(tar -tzf "$pkg" | tr '\n' ' ')" = "./debian-binary ./control.tar.gz ./data.tar.gz "
	check "debian-binary is 2.0" test "$(cat "$w/debian-binary")" = "2.0"
	mkdir "$w/c" "$w/d"
	tar -xzf "$w/control.tar.gz" -C "$w/c"
	tar -xzf "$w/data.tar.gz" -C "$w/d"
	field() { sed -n "s/^$1: //p" "$w/c/control"; }
	check "Package" test "$(field Package)" = netmon-agent
	check "Architecture is $arch" test "$(field Architecture)" = "$arch"
	check "Version starts with a digit" grep -Eq '^Version: [0-9]' "$w/c/control"
	check "Depends on iptables-nft, ip6tables-nft and nftables (native per-host sets)" grep -Eq '^Depends: .*iptables-nft, ip6tables-nft, nftables' "$w/c/control"
	check "Installed-Size is the data's size" test "$(field Installed-Size)" -ge "$(stat -c %s "$w/d/usr/sbin/netmon-agent")"
	check "conffiles holds /etc/config/netmon" grep -qx /etc/config/netmon "$w/c/conffiles"
	for s in postinst prerm; do
		check "$s is executable" test -x "$w/c/$s"
	done
	check "control files owned by root" test -z "$(tar -tvzf "$w/control.tar.gz" | awk '$2 != "0/0"')"
	check "data files owned by root" test -z "$(tar -tvzf "$w/data.tar.gz" | awk '$2 != "0/0"')"
	mode() { tar -tvzf "$w/data.tar.gz" "./$1" | awk '{ print $1 }'; }
	check "binary mode" test "$(mode usr/sbin/netmon-agent)" = "-rwxr-xr-x"
	check "init script mode" test "$(mode etc/init.d/netmon-agent)" = "-rwxr-xr-x"
	check "uci-defaults mode" test "$(mode etc/uci-defaults/90-netmon-agent)" = "-rwxr-xr-x"
	check "firewall include mode" test "$(mode usr/share/netmon-agent/firewall.include)" = "-rwxr-xr-x"
	check "config mode" test "$(mode etc/config/netmon)" = "-rw-------"
	check "keep.d mode" test "$(mode lib/upgrade/keep.d/netmon-agent)" = "-rw-r--r--"
	check "database directory mode" test "$(mode etc/netmon/)" = "drwx------"
	check "binary is for $arch" bash -c "file '$w/d/usr/sbin/netmon-agent' | grep -Eq '${want_file[$arch]:-unknown}.*statically linked'"
	for f in usr/share/luci/menu.d/luci-app-netmon.json usr/share/rpcd/acl.d/luci-app-netmon.json; do
		check "$f mode" test "$(mode "$f")" = "-rw-r--r--"
		check "$f is JSON" python3 -m json.tool "$w/d/$f"
	done
	check "rpcd ACL lets LuCI run report --json" grep -q '"/usr/sbin/netmon-agent report --json": \[ "exec" \]' "$w/d/usr/share/rpcd/acl.d/luci-app-netmon.json"
	check "LuCI view is JavaScript" node --check "$w/d/www/luci-static/resources/view/netmon/overview.js"
	check "init script is procd's" grep -q '^USE_PROCD=1' "$w/d/etc/init.d/netmon-agent"
	check "keep.d keeps the config and the database" bash -c "grep -qx /etc/config/netmon '$w/d/lib/upgrade/keep.d/netmon-agent' && grep -qx /etc/netmon/ '$w/d/lib/upgrade/keep.d/netmon-agent'"
	check "the packaged config loads" bash -c "[ \"\$(uname -m)\" != x86_64 ] || [ '$arch' != x86_64 ] || '$w/d/usr/sbin/netmon-agent' --config '$w/d/etc/config/netmon' report --json | grep -q '\"name\": \"download\"'"
	rm -rf "$w"
done
echo "packages: $pass passed, $fail failed"
((fail == 0))
