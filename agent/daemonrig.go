package agent

import (
	"context"
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
