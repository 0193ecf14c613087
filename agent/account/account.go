// Package account is the sampler: it turns the kernel's counters into
// exact deltas and adds them to the totals in a store.State, for meters and
// for LAN hosts, and keeps quotas and blocks as state.
//
// # Invariants
//
//   - A delta is the reading minus its baseline, or the whole reading when
//     the counter restarted (another boot, another generation, zeroed by
//     someone else): see delta.go.
//   - Each baseline moves in the same State update as the total it brought
//     up to date, so whatever is committed can be continued exactly.
//   - Hosts plus "unattributed" add up to all forwarded LAN traffic.
//   - History is filed only under a believable clock; deltas wait until
//     then (history.go).
//
// A Sampler is used from one goroutine: the daemon's loop.
package account
