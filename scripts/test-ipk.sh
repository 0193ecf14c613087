#!/usr/bin/env bash
# Unpacks every dist/*.ipk with tar alone, as opkg would, and checks the
# layout, the control fields and scripts, the paths and modes against
# openwrt/netmon-agent/files.list, and runs the x86_64 package's
# uci-defaults under a uci that rewrites what it commits. Usage:
# scripts/test-ipk.sh [PACKAGE...]; prints "N passed, N failed".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src="$here/../openwrt"
pass=0 fail=0
check() { # check DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@" >/dev/null 2>&1; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: ${pkg##*/}: $what"
	fi
}
declare -A want_file=(
	[mips_24kc]="MSB.*MIPS" [mipsel_24kc]="LSB.*MIPS" [arm_cortex-a7_neon-vfpv4]="32-bit LSB.*ARM"
	[aarch64_generic]="aarch64" [x86_64]="x86-64"
)
# apk's version grammar (OpenWrt 25.12), which opkg takes too.
version_re='^[0-9]+(\.[0-9]+)*(~[0-9a-f]+)?-r[0-9]+$'

# listed PACKAGE: "MODE PATH" lines of files.list for PACKAGE, sorted.
listed() { awk -v p="$1" '$1 == p { print $2, $3 }' "$src/netmon-agent/files.list" | sort; }
# shipped: "MODE PATH" of the data files and directories in $w/data.tar.gz.
shipped() {
	tar -tvzf "$w/data.tar.gz" | awk '{ m = $1; p = $6; sub(/^\./, "", p); if (p == "/" || p == "") next;
		printf "%s %s\n", m, p }' | sort
}
mode_of() { # octal mode of ls-style permissions, directories with a /
	awk '{ t = substr($1, 1, 1); s = 0; for (i = 2; i <= 10; i++) { s = s * 2 + (substr($1, i, 1) != "-") }
		printf "%04o %s%s\n", s, $2, (t == "d" && $2 !~ /\/$/ ? "/" : "") }'
}

# agrees PACKAGE [EXTRA...]: every entry files.list has for PACKAGE is in
# the package with its mode, and every file in the package is listed or
# one of EXTRA (what the build adds: the binary, keep.d).
agrees() {
	local p=$1 line
	shift
	local have
	have=$(shipped | mode_of)
	while read -r line; do
		grep -qxF "$line" <<<"$have" || { echo "missing: $line"; return 1; }
	done < <(listed "$p")
	while read -r _ path; do
		[[ $path == */ ]] && continue
		grep -q " $path$" < <(listed "$p") && continue
		printf '%s\n' "$@" | grep -qxF "$path" || { echo "not listed: $path"; return 1; }
	done <<<"$have"
}

# uci_defaults_test DIR: runs the unpacked x86_64 agent package's
# uci-defaults on its config with a fake uci; the config must keep every
# comment and get the detected values.
uci_defaults_test() {
	local d=$1 t
	t=$(mktemp -d)
	cp "$d/etc/config/netmon" "$t/netmon"
	mkdir "$t/bin"
	cat >"$t/bin/uci" <<'UCI'
#!/bin/sh
# A stand-in for uci: gets from $T/state (CONFIG.SECTION.OPTION=VALUE) or,
# with -c DIR, from DIR's netmon file; records batches; a commit of netmon
# rewrites the file without comments, as real uci does.
dir=
while [ $# -gt 0 ]; do case $1 in -q) shift ;; -c) dir=$2; shift 2 ;; *) break ;; esac; done
case $1 in
get)
	case $2 in
	netmon.*)
		sec=${2#netmon.}; opt=${sec#*.}; sec=${sec%%.*}
		awk -v s="$sec" -v o="$opt" '$1 == "config" { n = $3; gsub(/[\047"]/, "", n); here = (n == s) }
			here && $1 == "option" && $2 == o { v = $3; gsub(/[\047"]/, "", v); print v; found = 1; exit }
			END { exit !found }' "${dir:-/etc/config}/netmon" ;;
	*) awk -v k="$2" 'index($0, k "=") == 1 { print substr($0, length(k) + 2); found = 1; exit } END { exit !found }' "$T/state" ;;
	esac ;;
batch) cat >>"$T/batch" ;;
commit) [ "$2" = netmon ] && grep -v '^[[:space:]]*#' "$T/netmon" >"$T/netmon.x" && mv "$T/netmon.x" "$T/netmon"; echo "commit $2" >>"$T/batch" ;;
*) echo "$*" >>"$T/batch" ;;
esac
UCI
	chmod 0755 "$t/bin/uci"
	printf 'network.wan.device=eth9\nnetwork.wan.proto=dhcp\nnetwork.lan.device=br-test\ndhcp.@dnsmasq[0].leasefile=/tmp/test.leases\n' >"$t/state"
	local before
	before=$(grep -c '#' "$t/netmon")
	T=$t PATH="$t/bin:$PATH" NETMON_UCI_CONFIG="$t/netmon" NETMON_AGENT="$d/usr/sbin/netmon-agent" sh "$d/etc/uci-defaults/90-netmon-agent"
	check "uci-defaults keeps every comment of the config" test "$(grep -c '#' "$t/netmon")" = "$before"
	check "uci-defaults points the guide at the example file" grep -q /usr/share/netmon-agent/netmon.example "$t/netmon"
	check "uci-defaults sets the LAN device" grep -q "^	option lan 'br-test'" "$t/netmon"
	check "uci-defaults sets the lease file" grep -q "^	option leases '/tmp/test.leases'" "$t/netmon"
	check "uci-defaults puts the WAN device in the meters" test "$(grep -c "option \(in\|out\) 'eth9'" "$t/netmon")" = 3
	check "uci-defaults writes a token" grep -Eq "^	option token '[0-9a-f]{32,}'$" "$t/netmon"
	check "uci-defaults never commits netmon" bash -c "! grep -q 'commit netmon' '$t/batch'"
	check "uci-defaults adds the firewall include without 'reload'" bash -c "grep -q 'firewall.netmon_agent.path=/usr/share/netmon-agent/firewall.include' '$t/batch' && ! grep -q reload '$t/batch'"
	check "the edited config loads" bash -c "'$d/usr/sbin/netmon-agent' --config '$t/netmon' report --json | grep -q '\"name\": \"download\"'"
	T=$t PATH="$t/bin:$PATH" NETMON_UCI_CONFIG="$t/netmon" NETMON_AGENT="$d/usr/sbin/netmon-agent" sh "$d/etc/uci-defaults/90-netmon-agent"
	check "uci-defaults run twice changes nothing more" test "$(grep -c "option token" "$t/netmon")" = 1
	rm -rf "$t"
}

# image_build_test DIR: installs the unpacked agent package into an image
# tree as opkg --offline-root does (the files, the .list, the control
# files in usr/lib/opkg/info) and runs its postinst with IPKG_INSTROOT
# set, on stand-ins for base-files' default_postinst and rc.common written
# from what they do in an image build: enable each listed init script by
# its START and STOP. The service must end up enabled.
image_build_test() {
	local d=$1 c=$2 root
	root=$(mktemp -d)
	cp -a "$d/." "$root/"
	mkdir -p "$root/usr/lib/opkg/info" "$root/etc/rc.d" "$root/lib"
	(cd "$d" && find . -type f | sed 's/^\.//') >"$root/usr/lib/opkg/info/netmon-agent.list"
	for f in "$c"/*; do cp "$f" "$root/usr/lib/opkg/info/netmon-agent.${f##*/}"; done
	cat >"$root/lib/functions.sh" <<'FUNCS'
default_postinst() {
	root=$IPKG_INSTROOT
	pkgname=$(basename "${1%.*}")
	for i in $(grep -s "^/etc/init.d/" "$root/usr/lib/opkg/info/${pkgname}.list"); do
		if [ -n "$root" ]; then /bin/sh "$root/etc/rc.common" "$root$i" enable; else "$i" enable && "$i" start; fi
	done
}
FUNCS
	cat >"$root/etc/rc.common" <<'RC'
initscript=$1
action=$2
. "$initscript" 2>/dev/null
name=$(basename "$initscript")
[ "$action" = enable ] && ln -sf "../init.d/$name" "$IPKG_INSTROOT/etc/rc.d/S$START$name" && ln -sf "../init.d/$name" "$IPKG_INSTROOT/etc/rc.d/K$STOP$name"
RC
	IPKG_INSTROOT=$root sh "$root/usr/lib/opkg/info/netmon-agent.postinst" >/dev/null 2>&1
	check "postinst in an image build enables the service (S99, K10)" test -L "$root/etc/rc.d/S99netmon-agent" -a -L "$root/etc/rc.d/K10netmon-agent"
	check "postinst in an image build runs no uci-defaults (first boot does)" test -f "$root/etc/uci-defaults/90-netmon-agent"
	rm -rf "$root"
}

check_agent() { # the agent packages: $1 netmon-agent or netmon-agent-full, $2 arch
	local name=$1 arch=$2 other=netmon-agent-full
	[[ $name == netmon-agent-full ]] && other=netmon-agent
	check "Depends on nftables, not on iptables" grep -qx 'Depends: libc, nftables' "$w/c/control"
	check "Provides netmon-agent-any" grep -qx 'Provides: netmon-agent-any' "$w/c/control"
	check "Conflicts with $other" grep -qx "Conflicts: $other" "$w/c/control"
	check "Installed-Size is at least the binary's" test "$(field Installed-Size)" -ge "$(stat -c %s "$w/d/usr/sbin/netmon-agent")"
	# opkg backs every conffile up on upgrade and cannot copy a directory.
	check "conffiles are files: the config" test "$(cat "$w/c/conffiles")" = /etc/config/netmon
	check "keep.d is the conffiles" cmp "$w/c/conffiles" "$w/d/lib/upgrade/keep.d/$name"
	check "sysupgrade keeps /etc/netmon/ (keep.d/netmon-agent-db)" grep -qx /etc/netmon/ "$w/d/lib/upgrade/keep.d/netmon-agent-db"
	check "postinst is OpenWrt's default_postinst, also in an image build" bash -c "grep -q '^default_postinst \"\$0\" \"\$@\"' '$w/c/postinst' && ! grep -q 'IPKG_INSTROOT\" ] && exit' '$w/c/postinst'"
	check "prerm is OpenWrt's default_prerm" grep -q '^default_prerm ' "$w/c/prerm"
	check "prerm-pkg leaves rules and include alone on upgrade" bash -c "grep -q 'PKG_UPGRADE' '$w/c/prerm-pkg'"
	check "prerm-pkg stops the service once (default_prerm stops it)" bash -c "! grep -q 'init.d/netmon-agent stop' '$w/c/prerm-pkg'"
	for s in postinst prerm prerm-pkg; do
		check "$s is executable" test -x "$w/c/$s"
	done
	check "files and modes are files.list's, the binary and keep.d" agrees netmon-agent /usr/sbin/netmon-agent "/lib/upgrade/keep.d/$name"
	check "binary mode" test "$(tar -tvzf "$w/data.tar.gz" ./usr/sbin/netmon-agent | awk '{ print $1 }')" = "-rwxr-xr-x"
	check "binary is for $arch" bash -c "file '$w/d/usr/sbin/netmon-agent' | grep -Eq '${want_file[$arch]:-unknown}.*statically linked'"
	if [[ $name == netmon-agent ]]; then
		check "the router build has no web server and no SMTP client" bash -c "! grep -aq -e 'net/http.(\*Server).Serve' -e 'net/smtp.(\*Client)' '$w/d/usr/sbin/netmon-agent'"
	else
		check "the full build has the web server and the SMTP client" bash -c "grep -aq 'net/http.(\*Server).Serve' '$w/d/usr/sbin/netmon-agent' && grep -aq 'net/smtp.(\*Client)' '$w/d/usr/sbin/netmon-agent'"
	fi
	check "init script is procd's" grep -q '^USE_PROCD=1' "$w/d/etc/init.d/netmon-agent"
	image_build_test "$w/d" "$w/c"
	if [[ $arch == x86_64 && $(uname -m) == x86_64 ]]; then
		check "the packaged config loads" bash -c "'$w/d/usr/sbin/netmon-agent' --config '$w/d/etc/config/netmon' report --json | grep -q '\"name\": \"download\"'"
		check "the example config loads" bash -c "sed 's|/etc/netmon/|$w/db/|; s|/var/lib/netmon|$w/run|' '$w/d/usr/share/netmon-agent/netmon.example' >'$w/example' && '$w/d/usr/sbin/netmon-agent' --config '$w/example' report --json | grep -q '\"name\": \"dns_out\"'"
		check "metrics prints the exposition" bash -c "'$w/d/usr/sbin/netmon-agent' --config '$w/d/etc/config/netmon' metrics | grep -q '^netmon_meter_bytes_total{meter=\"download\"} 0$'"
		uci_defaults_test "$w/d"
	fi
}

check_luci() {
	local root=/usr/share
	check "menu entry" test -f "$w/d$root/luci/menu.d/luci-app-netmon.json"
	for f in luci/menu.d/luci-app-netmon.json rpcd/acl.d/luci-app-netmon.json; do
		check "$f is JSON" python3 -m json.tool "$w/d$root/$f"
		check "$f mode" test "$(tar -tvzf "$w/data.tar.gz" "./usr/share/$f" | awk '{ print $1 }')" = "-rw-r--r--"
	done
	check "the ACL grants cgi-io exec" grep -q '"cgi-io": \[ "exec" \]' "$w/d$root/rpcd/acl.d/luci-app-netmon.json"
	check "the settings group grants uci netmon" python3 -c "import json,sys; g=json.load(open(sys.argv[1]))[\"luci-app-netmon-settings\"]; sys.exit(g[\"write\"][\"uci\"] != [\"netmon\"])" "$w/d$root/rpcd/acl.d/luci-app-netmon.json"
	for v in overview history maintenance settings; do
		check "the $v view is JavaScript" node --check "$w/d/www/luci-static/resources/view/netmon/$v.js"
	done
	check "the ACL grants ubus file exec (for Block)" grep -q '"file": \[ "exec" \]' "$w/d$root/rpcd/acl.d/luci-app-netmon.json"
	check "Depends on netmon-agent-any" grep -Eq '^Depends: .*netmon-agent-any' "$w/c/control"
}

check_collector() {
	check "files and modes are files.list's" agrees prometheus-node-exporter-lua-netmon
	check "the collector is Lua" bash -c "command -v luac5.1 >/dev/null && luac5.1 -p '$w/d/usr/lib/lua/prometheus-collectors/netmon.lua'"
	check "Depends on the exporter and netmon-agent-any" grep -Eq '^Depends: prometheus-node-exporter-lua, netmon-agent-any' "$w/c/control"
}

pkgs=("$@")
((${#pkgs[@]})) || pkgs=("$here"/../dist/*.ipk)
for pkg in "${pkgs[@]}"; do
	[[ -f $pkg ]] || { echo "FAIL: no package $pkg (make ipk first)"; fail=$((fail + 1)); continue; }
	base=$(basename "$pkg" .ipk)
	name=${base%%_*} arch=${base#*_}
	arch=${arch#*_} # NAME_VERSION_ARCH; architectures have underscores too
	w=$(mktemp -d)
	tar -xzf "$pkg" -C "$w"
	check "outer members are debian-binary, control.tar.gz, data.tar.gz" \
		test "$(tar -tzf "$pkg" | tr '\n' ' ')" = "./debian-binary ./control.tar.gz ./data.tar.gz "
	check "debian-binary is 2.0" test "$(cat "$w/debian-binary")" = "2.0"
	mkdir "$w/c" "$w/d"
	tar -xzf "$w/control.tar.gz" -C "$w/c"
	tar -xzf "$w/data.tar.gz" -C "$w/d"
	field() { sed -n "s/^$1: //p" "$w/c/control"; }
	check "Package is $name" test "$(field Package)" = "$name"
	check "Architecture is $arch" test "$(field Architecture)" = "$arch"
	check "Version fits apk and opkg ($(field Version))" bash -c "[[ '$(field Version)' =~ $version_re ]]"
	check "control files owned by root" test -z "$(tar -tvzf "$w/control.tar.gz" | awk '$2 != "0/0"')"
	check "data files owned by root" test -z "$(tar -tvzf "$w/data.tar.gz" | awk '$2 != "0/0"')"
	case $name in
	netmon-agent | netmon-agent-full) check_agent "$name" "$arch" ;;
	luci-app-netmon) check_luci ;;
	prometheus-node-exporter-lua-netmon) check_collector ;;
	*) check "a package this script knows" false ;;
	esac
	rm -rf "$w"
done
echo "packages: $pass passed, $fail failed"
((fail == 0))
