// Package store owns netmon-agent's database: the live bbolt file on tmpfs
// that the daemon commits its in-memory batch to, and the compressed snapshot
// of it on flash that survives a reboot.
//
// # Layout
//
// Buckets, all keyed by text except events:
//
//	counters  "METER/FAMILY" -> JSON Counter (total and baseline together)
//	canaries  "FAMILY/CHAIN" -> JSON Canary
//	events    8-byte big-endian unix nanoseconds + 4-byte sequence -> JSON Event
//	elements  "dl/ADDR", "ul/ADDR" -> JSON Element (an ipset element's baseline)
//	hosts     MAC or "unattributed" -> JSON Host
//	blocks    MAC or address -> JSON Block
//	quotas    "QUOTA/MAC" -> JSON QuotaUse
//	service-elements "dl/ADDR/tcp/443", "ul/..." -> JSON Element (a service set element's baseline)
//	services  "MAC/SERVICE" -> JSON ServiceUse
//	meta      "boot", "created", "last_sample", "version"
//
// Values are JSON so the file means the same on a big-endian MIPS router and
// on the machine a backup is read on (bbolt's own pages are native-endian,
// which only matters to the page layout, not to what we store).
//
// # Invariants
//
// A counter's total and its baseline are written in the same transaction, and
// so are the hosts' totals and their elements' baselines, so
// every committed state is one the kernel's counters can continue exactly.
// One Commit is one bbolt Update; nothing else writes.
//
// # Snapshots and the journal
//
// The snapshot on flash is the live file written by bbolt's WriteTo through
// gzip into a temporary file beside the target, fsynced and renamed over it:
// a reader sees the old snapshot or the new one, never half of one. Between
// snapshots, Persist appends to the snapshot's journal only what changed
// (journal.go states its invariants); Restore replays it. bbolt cannot open
// a file read-write on JFFS2 (no shared writable mmap), which is why flash
// only ever sees these plain writes.
package store
