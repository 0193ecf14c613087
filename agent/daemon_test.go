package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// runFake starts the daemon on fake iptables in a temporary directory.
func runFake(t *testing.T) (cfg *Config, stop func() error) {
	t.Helper()
	return runFakeWith(t, "")
}

// runFakeWith is runFake with more config sections.
func runFakeWith(t *testing.T, sections string) (cfg *Config, stop func() error) {
	t.Helper()
	return runFakeAgent(t, "", sections)
}

// runFakeAgent is runFake with more agent options and config sections.
func runFakeAgent(t *testing.T, options, sections string) (cfg *Config, stop func() error) {
	t.Helper()
	dir := t.TempDir()
	path := writeConfig(t, `
config agent
	option interval '20ms'
	option runtime_dir '`+dir+`/run'
	option database '`+dir+`/flash/netmon.db'
`+options+`
config meter 'proxy'
	option chain 'INPUT'
	option src '192.0.2.10'
`+sections)
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	opts := fakeOptions(dir)
	opts.Logf = t.Logf
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, path, opts) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := Ask(cfg.SocketPath(), OpReport, time.Second); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("daemon never answered: %v", <-done)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cfg, func() error {
		cancel()
		return <-done
	}
}

// fakeOptions are an agent's seams for tests in the root namespace: a
// boot id file in dir, fake iptables (IPv4 only), fake sets and neighbours;
// never the real ipset or iptables.
func fakeOptions(dir string) Options {
	boot := filepath.Join(dir, "boot_id")
	os.WriteFile(boot, []byte("b1\n"), 0o600)
	fw := newFakeFirewall(IPv4)
	return Options{
		BootIDPath: boot,
		NewSets:    func(*Config) (Sets, error) { return newFakeSets(), nil },
		NewSources: func(*Config) HostSources { return &fakeSources{} },
		NewFirewall: func(_ string, f Family) (Firewall, error) {
			if f == IPv6 {
				return nil, ErrNoIptables
			}
			return fw, nil
		},
	}
}

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
