// Package netfilter is everything that touches the kernel's tables: the
// rule language of our meters, the chains and comments we own in the
// filter table (chains.go), reading a table with its counters in one
// process (ruleset.go, firewall.go), the per-host address sets with
// per-element counters in ipset or native nftables (ipset.go, nftsets.go)
// and the rules that use them (hostrules.go).
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
//   - Parsing is split from running the tools: ParseSave, ParseIpsetSave
//     and the nft listing parser take bytes, tested on real captures in
//     testdata/.
//
// It takes only what it needs (a family, a LAN device, a backend name),
// never the whole config. Fakes with the real failure modes are in
// netfiltertest.
package netfilter
