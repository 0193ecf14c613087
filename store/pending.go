package store

import "time"

// While commits fail (a full tmpfs, a failing disk), deltas wait in memory.
// A router has little of it, so what waits is bounded: past
// MaxPendingDeltas entries, deltas older than the newest hour are merged
// into the first five minutes of their hour, and if that is not enough,
// into the first of their day, then of their month. Totals, and every
// bucket at least as wide as what was merged into, stay exact; only the
// finer views of that stretch lose their detail.

// MaxPendingDeltas bounds the history deltas held in memory between
// commits: one per series (a meter, or one direction of a host) and five
// minutes, about 100 bytes each (BenchmarkPendingDeltaMemory), so 4 MiB at
// most.
const MaxPendingDeltas = 40000

// coarsen merges old deltas into wider slots until at most three quarters
// of MaxPendingDeltas remain, or everything older than the newest hour is
// merged into its month.
func (s *State) coarsen() {
	var newest int64
	for k := range s.Deltas {
		newest = max(newest, k.Slot)
	}
	keepFrom := newest - 3600
	for _, r := range []Resolution{Hour, Day, Month} {
		merged := make(map[DeltaKey]Counts, len(s.Deltas)/2)
		for k, c := range s.Deltas {
			if k.Slot < keepFrom {
				k.Slot = r.Start(time.Unix(k.Slot, 0)).Unix()
			}
			merged[k] = merged[k].Add(c)
		}
		s.Deltas = merged
		if len(s.Deltas) <= MaxPendingDeltas*3/4 {
			return
		}
	}
}
