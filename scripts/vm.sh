#!/usr/bin/env bash
# A VM lab for what this machine's kernel lacks (flowtables, netdev egress):
# a Debian kernel from Debian's packages booted in qemu (software
# emulation: no /dev/kvm here), with an initramfs of busybox, bash, nft,
# iproute2, iperf3, the kernel's netfilter modules and the files of a test.
# Nothing but packages is fetched; nothing of this machine's network,
# firewall or kernel is touched.
#
#   vm.sh kernel SERIES          unpack the newest Debian 12 kernel of SERIES
#                                (6.1 or 6.12) under $VM_CACHE and print its
#                                directory (vmlinuz, lib/modules, version)
#   vm.sh initramfs KDIR DIR OUT build OUT: the guest, with DIR as /netmon
#   vm.sh run KDIR INITRD NAME   boot it; /init runs /netmon/NAME with bash,
#                                prints its output on the console, then
#                                "netmon-vm: exit CODE", and powers off
#
# VM_CACHE defaults to /var/cache/netmon-agent-vm.
set -euo pipefail

cache=${VM_CACHE:-/var/cache/netmon-agent-vm}
# The modules the guest loads (with what they depend on): nothing
# autoloads in an initramfs.
modules=(veth bridge nf_conntrack nf_conntrack_netlink nf_nat nf_tables nft_ct nft_nat nft_chain_nat
	nft_masq nft_limit nft_reject_inet nft_meta_bridge nf_flow_table nf_flow_table_inet nft_flow_offload)

usage() {
	sed -n '9,16p' "$0" >&2
	exit 2
}

need() {
	local missing=()
	command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
	dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
	command -v cpio >/dev/null || missing+=(cpio)
	command -v iperf3 >/dev/null || missing+=(iperf3)
	command -v nft >/dev/null || missing+=(nftables)
	command -v depmod >/dev/null || missing+=(kmod)
	command -v xz >/dev/null || missing+=(xz-utils)
	if ((${#missing[@]})); then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2
	fi
}

# package SERIES: the newest Debian 12 kernel image package of SERIES.
package() {
	local pattern
	case $1 in
	6.1) pattern='^linux-image-6\.1\.0-[0-9]+-amd64$' ;;
	6.12) pattern='^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$' ;;
	*) usage ;;
	esac
	apt-cache pkgnames linux-image- | grep -E "$pattern" | sort -V | tail -1
}

kernel() {
	local pkg dir
	pkg=$(package "$1")
	[[ -n $pkg ]] || {
		echo "vm.sh: no Debian kernel package of series $1 (apt-get update?)" >&2
		exit 1
	}
	dir=$cache/$pkg
	if [[ ! -s $dir/version ]]; then
		rm -rf "$dir"
		mkdir -p "$dir/deb"
		(cd "$dir/deb" && apt-get download "$pkg" >&2)
		dpkg-deb -x "$dir"/deb/*.deb "$dir/root"
		local kver
		kver=$(ls "$dir/root/lib/modules")
		cp "$dir/root/boot/vmlinuz-$kver" "$dir/vmlinuz"
		find "$dir/root/lib/modules" -name '*.ko.xz' -exec xz -d {} +
		depmod -b "$dir/root" "$kver"
		rm -rf "$dir/deb"
		echo "$kver" >"$dir/version"
	fi
	echo "$dir"
}

# copy_bin ROOT BINARY: BINARY and its shared libraries into ROOT.
copy_bin() {
	local root=$1 bin=$2 lib
	mkdir -p "$root$(dirname "$bin")"
	cp -L "$bin" "$root$bin"
	for lib in $(ldd "$bin" 2>/dev/null | grep -o '/[^ ]*' || true); do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}

initramfs() {
	local kdir=$1 files=$2 out=$3 root kver mod
	kver=$(cat "$kdir/version")
	root=$(mktemp -d)
	trap 'rm -rf "$root"' RETURN
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,run,tmp,modules,etc,var}
	cp /bin/busybox "$root/bin/busybox"
	for b in /usr/bin/bash /usr/sbin/nft /usr/bin/iperf3 /usr/bin/ip /sbin/ip; do
		[[ -e $b ]] && copy_bin "$root" "$(readlink -f "$b")"
	done
	ln -sf "$(readlink -f /usr/bin/bash)" "$root/bin/bash"
	ln -sf "$(readlink -f "$(command -v ip)")" "$root/sbin/ip"
	ln -sf "$(readlink -f "$(command -v nft)")" "$root/sbin/nft"
	ln -sf "$(readlink -f "$(command -v iperf3)")" "$root/bin/iperf3"
	# Modules in load order, each once.
	: >"$root/modules/order"
	for mod in "${modules[@]}"; do
		modprobe -d "$kdir/root" -S "$kver" --show-depends "$mod" | while read -r verb path _; do
			[[ $verb == insmod ]] || continue
			local name
			name=$(basename "$path")
			grep -qxF "$name" "$root/modules/order" && continue
			cp "$path" "$root/modules/$name"
			echo "$name" >>"$root/modules/order"
		done
	done
	cp -r "$files" "$root/netmon"
	cat >"$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s
export PATH=/sbin:/usr/sbin:/bin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs run /run
mount -t tmpfs tmp /tmp
for m in $(cat /modules/order); do insmod /modules/$m || echo "netmon-vm: insmod $m failed"; done
name=$(sed -n 's/.*netmon.run=\([^ ]*\).*/\1/p' /proc/cmdline)
echo "netmon-vm: kernel $(uname -r), running $name"
cd /netmon && bash "/netmon/$name" </dev/null 2>&1
echo "netmon-vm: exit $?"
poweroff -f
INIT
	chmod 0755 "$root/init"
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out"
}

run() {
	local kdir=$1 initrd=$2 name=$3
	# -no-reboot with panic=-1: a panic ends qemu instead of looping.
	timeout "${VM_TIMEOUT:-600}" qemu-system-x86_64 -accel tcg,thread=multi -smp 2 -m 768 -nographic -no-reboot \
		-kernel "$kdir/vmlinuz" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 quiet loglevel=3 netmon.run=$name"
}

case ${1:-} in
kernel)
	(($# == 2)) || usage
	need
	kernel "$2"
	;;
initramfs)
	(($# == 4)) || usage
	need
	initramfs "$2" "$3" "$4"
	;;
run)
	(($# == 4)) || usage
	run "$2" "$3" "$4"
	;;
*) usage ;;
esac
