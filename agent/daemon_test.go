package agent

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"
)

func TestRun_AnswersOnItsSocket(t *testing.T) {
	cfg, stop := runFake(t)
	defer stop()
	resp, err := Ask(cfg.SocketPath(), OpReport, time.Second)
	if err != nil || resp.Report == nil || resp.Report.Source != "daemon" || len(resp.Report.Meters) != 1 {
		t.Fatalf("report: %+v, %v", resp, err)
	}
	fi, err := os.Stat(cfg.SocketPath())
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket %v, %v: want mode 0600", fi, err)
	}
	if resp, err := Ask(cfg.SocketPath(), OpStart, 5*time.Second); err != nil || resp.Report.LastSample == nil {
		t.Errorf("start: %+v, %v", resp, err)
	}
	if _, err := Ask(cfg.SocketPath(), "format-disk", time.Second); err == nil {
		t.Error("an unknown request was accepted")
	}
}

// The daemon's figures are current to the last sample, committed or not,
// and a sample request writes the snapshot.
func TestRun_SampleRequestSnapshots(t *testing.T) {
	cfg, stop := runFake(t)
	defer stop()
	if _, err := Ask(cfg.SocketPath(), OpSample, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(cfg.Database)
	if before == nil {
		t.Fatal("no snapshot after the first sample")
	}
	resp, err := Ask(cfg.SocketPath(), OpSample, 5*time.Second)
	if err != nil || resp.Report.LastSample == nil {
		t.Fatalf("sample: %+v, %v", resp, err)
	}
}

func TestRun_SecondDaemonRefused(t *testing.T) {
	cfg, stop := runFake(t)
	defer stop()
	err := Run(context.Background(), cfg.Path, Options{
		NewFirewall: func(string, Family) (Firewall, error) { return newFakeFirewall(IPv4), nil },
		NewSets:     func(*Config) (Sets, error) { return newFakeSets(), nil },
		LockWait:    50 * time.Millisecond,
	})
	if err == nil {
		t.Fatal("a second daemon started")
	}
}

func TestRun_StopOnContextWritesSnapshotAndRemovesSocket(t *testing.T) {
	cfg, stop := runFake(t)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cfg.Database); err != nil {
		t.Errorf("no snapshot at exit: %v", err)
	}
	if _, err := Ask(cfg.SocketPath(), OpReport, time.Second); !errors.Is(err, ErrNoDaemon) {
		t.Errorf("after exit Ask says %v, want ErrNoDaemon", err)
	}
	r, err := ReadReport(cfg, time.Now())
	if err != nil || r.Source != "database" {
		t.Errorf("report after exit: %+v, %v", r, err)
	}
}
