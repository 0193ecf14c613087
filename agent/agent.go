// Package agent is netmon-agent's runtime: it opens the config, the live
// database and the firewalls together (Agent), holds the table of the
// changes a person makes (changes.go: what the daemon's loop, package
// daemon, and a command with no daemon both run), and is the
// daemon-or-disk facade the command line calls: every Read* and the
// one-shot commands ask a running daemon first and fall back to the
// database on disk.
//
// The kernel counts; we only read. The path of one sample, kernel to
// flash:
//
//  1. netfilter reads each family's filter table with its counters in one
//     process (iptables-save -c) and our host sets in one more (ipset save
//     or nft list), and parses them.
//  2. account turns each reading into a delta against its stored baseline
//     (the counter grew: the difference; it restarted: all of it) and adds
//     it to the totals and the history in the in-memory store.State.
//  3. netfilter.Reconcile heals our chains; what it reinstalls gets a new
//     generation and a zero baseline.
//  4. Every commit_interval the daemon commits the State to the live bbolt
//     file on tmpfs (store), totals and baselines in one transaction.
//  5. Every persist_interval, and on stop, it writes to flash what changed
//     (store.DB.Persist: a journal record, or now and then a whole
//     snapshot: temporary file, fsync, rename).
//
// Packages, each importing only those before it: units, uci, netfilter,
// hosts, config, account, report, mail, control, web, this one, daemon,
// doctor;
// store below them all, and cmd/netmon-agent above, wiring only. The test
// TestImports_PointDown keeps it so.
package agent
