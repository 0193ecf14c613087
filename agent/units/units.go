// Package units reads and writes sizes, rates, durations and dates as
// people write them in a config or on a command line ("50G", "10M",
// "7d", "2026-11-25 14:30") and as reports print them ("1.2 GiB"), and
// the zone days are cut in: a POSIX TZ string as OpenWrt keeps it in
// /etc/TZ (timezone.go).
//
// Parsers accept only what they can represent exactly and say in one line
// what they accept; formatters never fail. It imports nothing but the
// standard library.
package units
