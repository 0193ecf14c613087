package report_test

import (
	"testing"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/account/accounttest"
	"github.com/netmon-agent/netmon-agent/agent/report"
	"github.com/netmon-agent/netmon-agent/store"
)

// The since-last report counts what our totals grew by since the
// checkpoint: exact across a reboot in between, which it flags.
func TestSinceLast_CountsFromCheckpointAndFlagsResets(t *testing.T) {
	r := accounttest.NewRig(t, accounttest.TwoMeters)
	r.Sample() // installs
	r.Fw4.Count("proxy", 1, 1000)
	r.Sample()
	first := report.BuildSinceLast(r.Config, r.Sampler.State, r.Clock.Now(), "test")
	if !first.First || first.Meters[0].Bytes != 1000 || first.ResetDetected {
		t.Fatalf("first report %+v", first)
	}
	r.Sampler.State.Checkpoint = first.Checkpoint

	r.Clock.Advance(time.Hour)
	r.Fw4.Count("proxy", 1, 500)
	r.Sample()
	r.Fw4.Reboot()
	r.Fw6.Reboot()
	r.Boot = "boot-2"
	r.Sample() // reinstalls: counting goes on from zero
	r.Clock.Advance(time.Hour)
	r.Fw4.Count("proxy", 1, 200)
	r.Sample()

	next := report.BuildSinceLast(r.Config, r.Sampler.State, r.Clock.Now(), "test")
	if next.First || !next.From.Equal(first.To) {
		t.Errorf("second report from %v (first %v), want the first's end %v", next.From, next.First, first.To)
	}
	if got := next.Meters[0]; got.Name != "proxy" || got.Bytes != 700 || got.TotalBytes != 1700 {
		t.Errorf("proxy %+v, want 700 this period of 1700", got)
	}
	if !next.ResetDetected || len(next.Events) == 0 || next.Events[0].Cause != store.CauseReboot {
		t.Errorf("reset not reported: %v %+v", next.ResetDetected, next.Events)
	}
	// A reset before the checkpoint is not this period's.
	r.Sampler.State.Checkpoint = next.Checkpoint
	r.Clock.Advance(time.Hour)
	if last := report.BuildSinceLast(r.Config, r.Sampler.State, r.Clock.Now(), "test"); last.ResetDetected || last.Meters[0].Bytes != 0 {
		t.Errorf("third report %+v", last)
	}
}

// A database started afresh holds totals below the checkpoint: they count
// from zero rather than wrapping around.
func TestSinceLast_TotalsBelowCheckpoint(t *testing.T) {
	if got := report.Grown(store.Counts{Packets: 2, Bytes: 100}, store.Counts{Packets: 9, Bytes: 900}); got.Bytes != 100 {
		t.Errorf("grown = %+v, want the new total", got)
	}
	if got := report.Grown(store.Counts{Packets: 9, Bytes: 900}, store.Counts{Packets: 2, Bytes: 100}); got.Bytes != 800 || got.Packets != 7 {
		t.Errorf("grown = %+v", got)
	}
}
