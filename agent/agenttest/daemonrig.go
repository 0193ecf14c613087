package agenttest

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/netmon-agent/netmon-agent/agent"
	"github.com/netmon-agent/netmon-agent/agent/account/accounttest"
	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/control"
	"github.com/netmon-agent/netmon-agent/agent/daemon"
	"github.com/netmon-agent/netmon-agent/agent/hosts"
	"github.com/netmon-agent/netmon-agent/agent/netfilter"
	"github.com/netmon-agent/netmon-agent/agent/netfilter/netfiltertest"
)

// RunFake starts the daemon on fake iptables in a temporary directory.
func RunFake(t *testing.T) (cfg *config.Config, stop func() error) {
	t.Helper()
	return RunFakeWith(t, "")
}

// RunFakeWith is runFake with more config sections.
func RunFakeWith(t *testing.T, sections string) (cfg *config.Config, stop func() error) {
	t.Helper()
	return RunFakeAgent(t, "", sections)
}

// RunFakeAgent is runFake with more agent options and config sections.
func RunFakeAgent(t *testing.T, options, sections string) (cfg *config.Config, stop func() error) {
	t.Helper()
	dir := t.TempDir()
	path := accounttest.WriteConfig(t, `
config agent
	option interval '20ms'
	option runtime_dir '`+dir+`/run'
	option database '`+dir+`/flash/netmon.db'
`+options+`
config meter 'proxy'
	option chain 'INPUT'
	option src '192.0.2.10'
`+sections)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	opts := FakeOptions(dir)
	opts.Logf = t.Logf
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- daemon.Run(ctx, path, opts) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := control.Ask[struct{}](cfg.SocketPath(), control.Request{Op: control.OpBlocks}, time.Second); err == nil {
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

// FakeOptions are an agent's seams for tests in the root namespace: a
// boot id file in dir, fake iptables (IPv4 only), fake sets and neighbours,
// a LAN of 192.0.2.0/24 and 2001:db8:1::/64 with the router at .1 and ::1;
// never the real ipset or iptables.
func FakeOptions(dir string) agent.Options {
	boot := filepath.Join(dir, "boot_id")
	os.WriteFile(boot, []byte("b1\n"), 0o600)
	fw := netfiltertest.NewFirewall(netfilter.IPv4)
	return agent.Options{
		BootIDPath: boot,
		NewSets:    func(*config.Config, netfilter.Backend) (netfilter.Sets, error) { return netfiltertest.NewSets(), nil },
		NewSources: func(*config.Config) hosts.Sources { return &accounttest.Sources{} },
		LANAddrs: func(string) ([]netip.Prefix, map[netip.Addr]bool, error) {
			return []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8:1::/64")},
				map[netip.Addr]bool{netip.MustParseAddr("192.0.2.1"): true, netip.MustParseAddr("2001:db8:1::1"): true}, nil
		},
		NewFirewall: func(_ netfilter.Backend, f netfilter.Family) (netfilter.Firewall, error) {
			if f == netfilter.IPv6 {
				return nil, netfilter.ErrNoIptables
			}
			return fw, nil
		},
	}
}
