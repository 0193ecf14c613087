package agent_test

import (
	"net/netip"
	"testing"

	"github.com/netmon-agent/netmon-agent/agent"
	"github.com/netmon-agent/netmon-agent/agent/account/accounttest"
	"github.com/netmon-agent/netmon-agent/agent/agenttest"
	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/hosts"
	"github.com/netmon-agent/netmon-agent/agent/netfilter"
	"github.com/netmon-agent/netmon-agent/agent/netfilter/netfiltertest"
	"github.com/netmon-agent/netmon-agent/agent/report"
	"github.com/netmon-agent/netmon-agent/store"
)

// A quota that appears mid-period (a reload) counts what the host used in
// the period before it, from history: committed and not yet committed.
func TestQuota_CountsUseFromBeforeItWasConfigured(t *testing.T) {
	dir := t.TempDir()
	base := "config agent\n\toption database '" + dir + "/flash/netmon.db'\n\toption runtime_dir '" + dir + "/run'\n"
	cfg, err := config.Load(accounttest.WriteConfig(t, base))
	if err != nil {
		t.Fatal(err)
	}
	sets := netfiltertest.NewSets()
	const mac = "02:00:00:00:00:0a"
	a := openWithHost(t, cfg, dir, sets, mac)
	defer a.Close()
	a.Sample()
	sets.Traffic(store.DirDownload, "192.0.2.2", 5, 5<<10)
	a.Sample()
	if err := a.Commit(); err != nil { // 5 KiB in the database's history
		t.Fatal(err)
	}
	sets.Traffic(store.DirUpload, "192.0.2.2", 2, 2<<10)
	a.Sample() // 2 KiB still in memory
	withQuota, err := config.Load(accounttest.WriteConfig(t, base+"\nconfig quota 'kid'\n\toption host '"+mac+"'\n\toption limit '6K'\n\toption period 'day'\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Reload(withQuota); err != nil {
		t.Fatal(err)
	}
	a.Sample() // no traffic since the reload
	h := hostOf(a, mac)
	if h == nil || h.QuotaPercent == nil || *h.QuotaPercent < 116 || *h.QuotaPercent > 117 {
		t.Fatalf("quota use %v, want 7 KiB of 6 KiB (116.7%%)", h)
	}
	if !h.Blocked {
		t.Error("a host already over its new quota is not blocked")
	}
}

func hostOf(a *agent.Agent, mac string) *report.HostReport {
	for _, h := range a.Hosts("test").Hosts {
		if h.MAC == mac {
			return &h
		}
	}
	return nil
}

// openWithHost opens an agent on fakes in dir whose host sets are sets and
// whose one LAN neighbour, 192.0.2.2, has MAC mac.
func openWithHost(t *testing.T, cfg *config.Config, dir string, sets *netfiltertest.Sets, mac string) *agent.Agent {
	t.Helper()
	opts := agenttest.FakeOptions(dir)
	opts.NewSets = func(*config.Config, netfilter.Backend) (netfilter.Sets, error) { return sets, nil }
	sources := &accounttest.Sources{Neigh: map[netip.Addr]string{netip.MustParseAddr("192.0.2.2"): mac}}
	opts.NewSources = func(*config.Config) hosts.Sources { return sources }
	a, err := agent.Open(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
