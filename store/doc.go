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
// (journal.go states its invariants), but for the five-minute rows, which
// wait for the next snapshot or PersistAll (a clean stop): restored after
// a power cut, the database is the live one but for the five-minute rows
// since then. Restore replays the journal. bbolt cannot open
// a file read-write on JFFS2 (no shared writable mmap), which is why flash
// only ever sees these plain writes.
//
// # Storage and flash
//
// bbolt cannot open a file read-write on JFFS2, and every bbolt commit rewrites
// whole pages, so the live database is on tmpfs (`runtime_dir/live.db`) and
// flash only sees plain writes of two files:
//
//   - the snapshot (`database`): the live file compacted (rewritten in key
//     order without its free pages, verified, put in place), then bbolt's
//     `WriteTo` through gzip into a temporary file, fsync, rename. A compaction
//     that fails (a full tmpfs) is logged and the file goes as it is.
//   - its journal (`database` + `.journal`): what changed in the live file
//     since the last write to flash (keys put and deleted, bucket sequences),
//     one record per write: appended, framed by its length and CRC-32,
//     compressed, fsynced. A busy router's history is mostly rows that never
//     change once their bucket has passed, so a record is a small part of the
//     file.
//
// A daemon that starts (after every reboot), or a `sample` with no daemon,
// takes over the snapshot and journal it finds if they restore whole: its
// first write is a journal record of what the live file holds that they do
// not (computed against them, so it is exact whatever happened in between).
// With none, or none that restores, the first write is a snapshot. After
// that each write is a journal record (nothing at all when nothing changed), until the
// journal has grown to twice the snapshot's size (at least 64 KiB; only to
// its size when the filesystem would keep less than another snapshot and
// 256 KiB free), when the next write is a snapshot again and the old journal
// goes. A snapshot then costs half of what the journal grew by since the one
// before, and flash holds at most four snapshots' worth: the snapshot, the
// journal, and the next snapshot while it is written. It writes every
// `persist_interval`, on SIGTERM/SIGINT, on `sample` and `stop`, and at once
// after a block, an unblock or the since-last checkpoint. After a reboot the
// daemon restores the live database from the snapshot and replays the
// journal over it, record by record, and the log says how many; the
// baselines inside (with the old boot id) make the arithmetic above exact
// again.
//
//   - The snapshot carries a generation in its gzip header and the journal
//     names it in its first line: a journal left of an older snapshot (a write
//     cut short between the two files) is never replayed onto a newer one.
//
//   - A record cut short (a power loss, a full flash) ends the replay: the
//     snapshot and the records before it are restored, the tail is left out and
//     the log says how many bytes and why; `db check` names it; the daemon's
//     next record is written over it, never after it. A journal that cannot be
//     read at all is left out the same way, never a reason to refuse its
//     snapshot.
//
//   - `netmon_flash_written_bytes_total{kind="snapshot"|"journal"}` on
//     `/metrics` counts what the daemon wrote to flash.
//
//   - A daemon crash loses nothing: the live file and the kernel's counters
//     survive, and the committed baselines cover the gap. Resets and rule changes
//     are committed at once, so a crash cannot account them twice.
//
//   - A power loss loses at most `persist_interval` (default one hour) of traffic.
//
//   - `commit_interval` (default five minutes) only bounds tmpfs churn.
//
//   - A commit that fails (a full tmpfs, say) keeps the batch in memory and goes
//     with the next commit; the log says so once when it starts and once when it
//     ends. What waits is bounded: at most 40,000 history deltas (one per series
//     and five minutes, about 100 bytes each, so 4 MiB: `BenchmarkPendingDeltaMemory`)
//     and 256 events. Past that, deltas older than the newest hour are merged
//     into their hour (then day, then month): totals and the wider buckets stay
//     exact, only the five-minute view of that stretch loses detail. A failed
//     snapshot leaves the old one whole and is logged the same way. A journal
//     record that fails (a full flash) is cut off again: the journal stays
//     what it was and the next write tries a record again, which needs far
//     less room than a snapshot.
//
//   - Killed mid-commit (`TestStore_KilledMidCommit`: SIGKILL at a random moment,
//     200 times, of a process committing and persisting without pause), the
//     file always opens, passes the full check, and holds every total a commit
//     acknowledged, with history equal to the total. A snapshot cut short leaves
//     a temporary file that the next start removes. Restored with its journal,
//     the flash always held at least the total of the last persist that
//     returned, and history equal to it (each process takes over the journal
//     of the one before: about 17,000 records replayed over the 200 checks of
//     a run, some journals ending torn).
//
//   - Files are root's alone: directories the agent makes are 0700, the
//     databases and the socket 0600, and the daemon answers only clients whose
//     credentials (SO_PEERCRED) say root, even if someone loosened the modes.
//     No external command goes through a shell: each is an argument vector.
//
// Defaults: a snapshot of a database with no history (four meters in two
// families, 256 reset events) is 4.7–5.0 KiB compressed (`BenchmarkSnapshot`).
// What a router two years old writes a day, every host busy in every
// five-minute bucket with random amounts (`BenchmarkPersistSteady`, see
// Performance): 32 hosts 461 KB without usage by service and 1.01 MB with it
// (whole hourly snapshots: 14.5–15.0 MB); 254 hosts 3.26 MB and 7.40 MB (114–118
// MB). On a router with a small flash and many hosts, `option services '0'`
// halves it. Set `persist_interval` lower if an hour of traffic matters more
// than flash wear: the journal's part grows in proportion.
//
// # History
//
// Every delta a sample adds to a total is also filed by time: per meter, and
// per host and direction, in five-minute, hourly, daily, monthly and yearly
// buckets at once (the rollups are kept as deltas arrive, never recomputed).
// One database key holds one bucket of one resolution with every series that
// moved in it (a series dictionary and uvarints), so a year of daily history
// for 32 hosts is 400 small keys. Retention (`keep_*`) drops a resolution's
// oldest buckets beyond its count, at every commit.
//
// Time that misbehaves:
//
//   - Before the clock is believable (earlier than this code's date: a router
//     without a real-time clock boots in 1970), deltas wait in memory and are
//     filed at the first believable sample; totals count all along.
//   - A jump forward files the sample's bytes in the new time's bucket (buckets
//     hold bytes, so there is no spike); a step back files into an earlier
//     bucket and counts nothing twice: deltas come from counters, not clocks.
//   - A delta beyond `max_rate` since the previous reading is dropped, logged
//     and recorded; counting goes on from the new reading.
//
// Days and months begin at local midnight in the router's zone: `TZ` or
// `/etc/localtime`, or OpenWrt's `/etc/TZ` (a POSIX string such as
// `CET-1CEST,M3.5.0,M10.5.0/3`, so the day clocks change has 23 or 25 hours).
//
// The text layouts (`report`, each history view, `--top`, `--since-last`,
// `hosts`, `blocks`, the export and the HTML page) are pinned by golden files
// under `agent/report/testdata/golden`, made from 40 days of history committed through
// the real store: `go test ./agent -run Golden -update` rewrites them after a
// deliberate change, and the diff is the review.
package store
