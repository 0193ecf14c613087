// Package nlbwmon reads the databases of nlbwmon, the conntrack-based
// traffic accounting OpenWrt ships (jow-/nlbwmon), for `netmon-agent
// import nlbwmon`. It reads; it never writes.
//
// nlbwmon keeps one file per accounting period, YYYYMMDD.db or .db.gz
// (gzip'ed with its `-Z`, OpenWrt's default), named by the period's first
// day. A file is nlbwmon's in-memory structs as they are (database.h): a
// 40-byte header (magic "nlbm", entry count, the period's date as the
// number YYYYMMDD, the interval) and 72-byte records (family, protocol,
// the remote port, the LAN host's MAC and address, connections, and
// packets and bytes out and in). Every count is big-endian, so a file
// means the same from a big-endian MIPS router as from x86_64; the layout
// is the one of every target whose 64-bit fields are 8-byte aligned, which
// is all but 32-bit x86 (28 and 68 bytes: refused, by name). IPv4
// addresses are the exception: nlbwmon stores them in the writing router's
// byte order, and the reader tells the orders apart by which one makes the
// file's addresses look like a LAN's (parse.go).
//
// # Invariants
//
//   - A file is read whole and checked before any of it is returned: its
//     magic, interval, date (and its name's, when it has one), an exact
//     record count with nothing after the last, each record's family. A
//     damaged or foreign file is an error naming it, and Read returns no
//     period at all when any file is bad (Each stops there).
//   - Memory is bounded: a header may claim at most MaxEntries records, no
//     more than it claims is read from a (possibly compressed) file, and
//     Each holds one file's records at a time.
package nlbwmon
