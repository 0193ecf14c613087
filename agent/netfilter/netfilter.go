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
//     rules that use them (hostrules.go);
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
//   - Parsing is split from running the tools: ParseSave, ParseIpsetSave,
//     the nft listing parser and the netlink message parsers take bytes,
//     tested on real captures in testdata/.
//   - In nftables, everything of ours is in tables ip netmon and ip6
//     netmon; nothing of ours is in a table iptables-nft lists.
//
// It takes only what it needs (a family, a LAN device, a backend name),
// never the whole config. Fakes with the real failure modes are in
// netfiltertest.
package netfilter
