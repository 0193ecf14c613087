package daemon_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/netmon-agent/netmon-agent/agent"
	"github.com/netmon-agent/netmon-agent/agent/agenttest"
	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/control"
	"github.com/netmon-agent/netmon-agent/agent/daemon"
	"github.com/netmon-agent/netmon-agent/agent/netfilter"
	"github.com/netmon-agent/netmon-agent/agent/netfilter/netfiltertest"
	"github.com/netmon-agent/netmon-agent/agent/report"
	"github.com/netmon-agent/netmon-agent/store"
)

func TestRun_AnswersOnItsSocket(t *testing.T) {
	cfg, stop := agenttest.RunFake(t)
	defer stop()
	resp, err := control.Ask[report.Report](cfg.SocketPath(), control.Request{Op: control.OpReport}, time.Second)
	if err != nil || resp.Source != "daemon" || len(resp.Meters) != 1 {
		t.Fatalf("report: %+v, %v", resp, err)
	}
	fi, err := os.Stat(cfg.SocketPath())
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket %v, %v: want mode 0600", fi, err)
	}
	if resp, err := control.Ask[report.Report](cfg.SocketPath(), control.Request{Op: control.OpStart}, 5*time.Second); err != nil || resp.LastSample == nil {
		t.Errorf("start: %+v, %v", resp, err)
	}
	if _, err := control.Ask[report.Report](cfg.SocketPath(), control.Request{Op: "format-disk"}, time.Second); err == nil {
		t.Error("an unknown request was accepted")
	}
}

// The daemon's figures are current to the last sample, committed or not,
// and a sample request writes the snapshot.
func TestRun_SampleRequestSnapshots(t *testing.T) {
	cfg, stop := agenttest.RunFake(t)
	defer stop()
	if _, err := control.Ask[report.Report](cfg.SocketPath(), control.Request{Op: control.OpSample}, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(cfg.Database)
	if before == nil {
		t.Fatal("no snapshot after the first sample")
	}
	resp, err := control.Ask[report.Report](cfg.SocketPath(), control.Request{Op: control.OpSample}, 5*time.Second)
	if err != nil || resp.LastSample == nil {
		t.Fatalf("sample: %+v, %v", resp, err)
	}
}

// After its first snapshot the daemon writes journal records, and its
// /metrics count what it wrote to flash: the two files' sizes, to the byte.
func TestRun_CountsWhatItWritesToFlash(t *testing.T) {
	cfg, stop := agenttest.RunFake(t)
	defer stop()
	for range 3 {
		if _, err := control.Ask[report.Report](cfg.SocketPath(), control.Request{Op: control.OpSample}, 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	m, err := control.Ask[report.Metrics](cfg.SocketPath(), control.Request{Op: control.OpMetrics}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := os.Stat(cfg.Database)
	if err != nil {
		t.Fatal(err)
	}
	journal, err := os.Stat(store.JournalPath(cfg.Database))
	if err != nil {
		t.Fatalf("no journal after three samples: %v", err)
	}
	if got := m.Daemon.FlashBytes; got["snapshot"] != uint64(snap.Size()) || got["journal"] != uint64(journal.Size()) {
		t.Errorf("flash bytes %v, want snapshot %d and journal %d", got, snap.Size(), journal.Size())
	}
}

func TestRun_SecondDaemonRefused(t *testing.T) {
	cfg, stop := agenttest.RunFake(t)
	defer stop()
	err := daemon.Run(context.Background(), cfg.Path, agent.Options{
		NewFirewall: func(netfilter.Backend, netfilter.Family) (netfilter.Firewall, error) {
			return netfiltertest.NewFirewall(netfilter.IPv4), nil
		},
		NewSets:  func(*config.Config, netfilter.Backend) (netfilter.Sets, error) { return netfiltertest.NewSets(), nil },
		LockWait: 50 * time.Millisecond,
	})
	if err == nil {
		t.Fatal("a second daemon started")
	}
}

func TestRun_StopOnContextWritesSnapshotAndRemovesSocket(t *testing.T) {
	cfg, stop := agenttest.RunFake(t)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cfg.Database); err != nil {
		t.Errorf("no snapshot at exit: %v", err)
	}
	if _, err := control.Ask[report.Report](cfg.SocketPath(), control.Request{Op: control.OpReport}, time.Second); !errors.Is(err, control.ErrNoDaemon) {
		t.Errorf("after exit Ask says %v, want ErrNoDaemon", err)
	}
	r, err := agent.ReadReport(cfg, time.Now())
	if err != nil || r.Source != "database" {
		t.Errorf("report after exit: %+v, %v", r, err)
	}
}
