package account

import "github.com/netmon-agent/netmon-agent/store"

// A Reading is one rule's counters as the kernel reported them, with the
// generation from the rule's comment.
type Reading struct {
	Generation string
	store.Counts
}

// delta says how much a reading adds to a total kept at base, and why the
// counter restarted if it did (cause is "" when it did not).
//
// The rules, in order:
//   - no baseline: the rule is new to us; everything it counted is new.
//   - another boot: the kernel's counters restarted with the machine.
//   - another generation: the rule was reinstalled and counts from zero,
//     even when its count already exceeds the old baseline.
//   - the chain's canary says it was zeroed, or the reading went down:
//     someone zeroed it; everything since is new.
//   - otherwise the counter only grew: the difference.
func delta(base *store.Baseline, r Reading, boot string, chainZeroed bool) (d store.Counts, cause string) {
	switch {
	case base == nil:
		return r.Counts, ""
	case base.Boot != boot:
		return r.Counts, store.CauseReboot
	case base.Generation != r.Generation:
		return r.Counts, store.CauseReinstalled
	case chainZeroed, r.Packets < base.Packets, r.Bytes < base.Bytes:
		return r.Counts, store.CauseZeroed
	}
	return store.Counts{Packets: r.Packets - base.Packets, Bytes: r.Bytes - base.Bytes}, ""
}
