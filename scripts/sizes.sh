#!/usr/bin/env bash
# What each Go package costs in a binary: text, read-only and initialised
# data symbols summed per package (go tool nm -size), largest first.
# Zero-filled memory (bss, and the 32 MiB crypto/internal/fips140/drbg.memory
# reservation, which is virtual until touched) takes no room in the file and
# is left out. Usage: scripts/sizes.sh BINARY [N]
set -euo pipefail
bin=$1
n=${2:-15}
printf 'file size: %d bytes\n' "$(stat -c %s "$bin")"
go tool nm -size "$bin" | awk '
	$3 ~ /^[TtRrDd]$/ && $4 != "crypto/internal/fips140/drbg.memory" {
		name = $4
		if (name ~ /^(go|type):/) { pkg = substr(name, 1, index(name, ":")) }
		else {
			# the package path ends at the first dot after the last slash
			slash = 0
			for (i = 1; i <= length(name); i++) if (substr(name, i, 1) == "/") slash = i
			rest = substr(name, slash + 1)
			dot = index(rest, ".")
			pkg = dot ? substr(name, 1, slash + dot - 1) : name
		}
		sum[pkg] += $2
	}
	END { for (p in sum) printf "%10d  %s\n", sum[p], p }' | sort -rn | head -n "$n"
