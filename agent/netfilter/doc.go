// Package netfilter is everything that touches the kernel's tables: the
// rule language of our meters, the chains and comments we own
// (chains.go), the backend that holds them, resolved once (backend.go),
// behind one contract per object with one file per implementation, as
// bbolt's freelist does:
//
//   - Firewall (firewall.go, the table of one family as a Ruleset in
//     ruleset.go): iptables in iptables.go (iptables-save parsed in
//     iptables_save.go), native nftables in nftables.go and nftrule.go;
//   - Sets, the per-host address sets with per-element counters
//     (sets.go): ipset in ipset.go, native nftables in nftsets.go, and the
//     rules that use them (hostrules.go; nfthostchain.go for native
//     nftables); while a flowtable offloads
//     flows, native nftables count at the LAN's ports (nftports.go);
//   - who owns a table of our name (nftowner.go).
//
// Native nftables is changed with the nft binary and read over netlink
// (nftread.go, parsed in nftparse.go), with no process per sample; where
// netlink is refused, from nft's listing (nftlist.go).
//
// # Invariants
//
//   - We own only chains named with ChainPrefix, the jump at position 1 of
//     each built-in chain we use, and tables and sets named netmon; nothing
//     else is changed, ever.
//   - Every rule we install carries a generation in its comment, new at each
//     install: a reading under another generation comes from a counter that
//     started at zero.
//   - Every change is safe to repeat: Reconcile on its own result changes
//     nothing, and removing what is gone is success.
//   - A host's packet is counted in one place: the forward chain, or, once
//     the kernel has had a flowtable, the port chains (nftports.go, which
//     says why ports and not conntrack); the move is one transaction.
//   - Parsing is split from running the tools: ParseSave, ParseIpsetSave,
//     the nft listing parser and the netlink message parsers take bytes,
//     tested on real captures in testdata/.
//   - In nftables, everything of ours is in tables ip netmon and ip6
//     netmon; nothing of ours is in a table iptables-nft lists.
//
// It takes only what it needs (a family, a LAN device, a backend name),
// never the whole config. Fakes with the real failure modes are in
// netfiltertest.
//
// # How it stays exact
//
// # Firewall backends
//
// The meters live in one of two places, chosen by `option backend`:
//
//   - Native nftables (`nftables`; what `auto` picks on OpenWrt 22.03+ with
//     firewall4, and on servers whose iptables is iptables-nft): our own tables
//     `ip netmon` and `ip6 netmon`, which also hold the host sets. Base chains
//     `INPUT`, `FORWARD` and `OUTPUT` hooked at priority -2 (before the host
//     chain and the firewall's filter chains) hold only the jump to our chains
//     `netmon-INPUT`, ... which hold the meters, the return and the canary, as
//     below. Nothing of ours is in a table iptables-nft shows: `iptables-save`
//     prints nothing of ours, LuCI shows no "legacy rules" notice, and the
//     package needs neither `iptables-nft` nor `ip6tables-nft`. Changes (an
//     install, a heal, a new host) run `nft -f -`, one transaction each; every
//     sample reads tables, chains, rules with their counters and comments, sets
//     and their elements' counters over netlink (a small reader of our own
//     on `golang.org/x/sys`; google/nftables would have added 650 KB to the
//     mips binary), and the IPv6 neighbours too: no process per sample.
//     Where a sandbox refuses netlink, the `nft` binary reads instead, said once
//     in the log and by `doctor`.
//   - iptables (`iptables`, or `nft`/`legacy` for one variant's binaries;
//     what `auto` picks with iptables-legacy, on OpenWrt 21.02 and older): the
//     chains below in the filter table.
//
// `stop` removes ours from both, so switching backend leaves nothing behind;
// `doctor` warns when the backend not in use still holds chains of ours.
//
// # Chains, generations and the canary
//
// In each family we own chains named `netmon-INPUT`, `netmon-FORWARD` and
// `netmon-OUTPUT` (in the filter table, or in our nftables tables), and one
// jump at position 1 of each built-in chain a meter uses. Each meter is one counting rule (no target) in
// its chain, followed by a `RETURN` and a *canary*. Every rule carries a
// comment saying what it is, with a random *generation*:
// `netmon:m:METER:HASH:GEN`, `netmon-jump:GEN`, `netmon-return`,
// `netmon-canary:GEN`. Rules outside our chains and tables are never
// flushed, reordered or rewritten; our chains hold exactly what the config
// asks, so a rule someone adds inside one of them is removed at the next
// sample. `stop` deletes our jumps by their exact text and our chains, and
// the firewall without counters is identical before `start` and after
// `stop` (the lab test checks it, for every backend and both families).
//
// Tables of our name that are not ours. The nftables tables we create
// carry the comment `netmon-agent`. A `table ip netmon` (or `ip6`) without
// it is ours only if it holds nothing but our sets, chains and commented
// rules (made by a version before the comment; nft cannot add one to a table
// that exists). Any other is someone else's: nothing in it is read or
// changed, `start` and the daemon say so in one line (`table ip netmon is
// not netmon-agent's (rule handle 4 of chain forward has no comment of ours):
// it is left alone, and ipv4 is not counted until it is renamed or
// deleted`), the other family goes on counting, `stop` removes only ours, and
// `doctor` fails a `foreign table` check (`TestLab_ForeignTableIsLeftAlone`).
//
// On iptables, one sample runs one `iptables-save -c -t filter` per family and parses it
// itself (the go-iptables `-L` parser breaks on negated addresses and on
// iptables 1.8.9's columns); go-iptables, with a 5 s lock wait, makes the
// changes. Counters are read as absolute 64-bit values and never zeroed.
//
// Each meter's total is stored together with its baseline (the reading it
// was brought up to, its generation, and the kernel's boot id) in one
// transaction. A reading then adds:
//
//   - the difference, when generation and boot id match and it grew;
//   - all of itself when the generation differs (the rule was reinstalled
//     and counts from zero, even if its count already exceeds the old baseline:
//     the case the classic script undercounts), when the boot id differs (a
//     reboot), or when the chain was zeroed.
//
// Zeroing (`iptables -Z`, nftables' `reset rules`) is seen by the canary: a
// rule after the `RETURN`, never reached, installed with a count of one (`-c 1
// 1`, in nftables `counter packets 1 bytes 1`). Nothing but a
// zeroing sets it to zero, so a zeroing followed by more traffic than the old
// count is still seen. A reading below its baseline is a zeroing too.
//
// Each sample also heals: a missing jump, chain, meter rule, return or
// canary is put back (a jump that is no longer first gets a new one at the
// top before the old one goes), logged, and a vanished meter rule is recorded
// as a reset. The events (`reboot`, `zeroed`, `reinstalled`) are kept (the
// last 256) and shown by `report`, with a `RESET DETECTED` line for one in the
// last 24 hours.
//
// What that buys, each proven against the kernel in `cmd/netmon-agent`'s lab
// tests with exact byte and packet equality, on native nftables,
// iptables-legacy and iptables-nft:
//
// 1. SIGTERM and restart while traffic flows: nothing lost.
// 2. SIGKILL at random moments under steady traffic: nothing lost, nothing doubled.
// 3. Our jump or chains deleted under the daemon: restored within an interval.
// 4. Chains gone while stopped and recreated with larger counts: counted from zero.
// 5. `iptables -Z` and reboots: reset events, counting on from zero.
package netfilter
