#!/bin/sh
# install-files.sh DEST PACKAGE: installs what files.list says PACKAGE
# ships into the tree DEST, with its modes. The feed Makefile's install
# steps and scripts/ipk.sh both run it, so the two cannot differ.
set -e
dest=$1 pkg=$2
here=$(cd "$(dirname "$0")" && pwd)
grep -v '^#' "$here/files.list" | while read -r p mode path; do
	[ "$p" = "$pkg" ] || continue
	case "$path" in
	*/) mkdir -p "$dest$path" && chmod "$mode" "$dest$path" ;;
	*)
		mkdir -p "$dest${path%/*}"
		cp "$here/files$path" "$dest$path"
		chmod "$mode" "$dest$path"
		;;
	esac
done
