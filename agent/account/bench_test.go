package account_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/account"
	"github.com/netmon-agent/netmon-agent/agent/account/accounttest"
	"github.com/netmon-agent/netmon-agent/agent/netfilter"
	"github.com/netmon-agent/netmon-agent/agent/netfilter/netfiltertest"
	"github.com/netmon-agent/netmon-agent/store"
)

// BenchmarkSample is the Go side of one sample with four meters in two
// families: parsing both tables, deltas, healing checks. The iptables-save
// processes it replaces with a fake are measured by scripts/bench.sh.
func BenchmarkSample(b *testing.B) {
	cfg := accounttest.MustConfig(b, `
config meter 'proxy'
	option chain 'INPUT'
	option src '192.0.2.10'
config meter 'offnet'
	option chain 'INPUT'
	option src '!192.0.2.0/24'
config meter 'wan_in'
	option chain 'FORWARD'
	option in 'wan'
config meter 'wan_out'
	option chain 'FORWARD'
	option out 'wan'
`)
	fw4, fw6 := netfiltertest.NewFirewall(netfilter.IPv4), netfiltertest.NewFirewall(netfilter.IPv6)
	// A router's own firewall: fw3/fw4-sized rule sets beside ours.
	for _, fw := range []*netfiltertest.Firewall{fw4, fw6} {
		for i := 0; i < 150; i++ {
			fw.Append("FORWARD", "-i", "br-lan", "-p", "tcp", "--dport", fmt.Sprint(1000+i), "-m", "comment", "--comment", "!fw3: rule", "-j", "ACCEPT")
		}
	}
	clock := &accounttest.Clock{T: time.Now()}
	s := &account.Sampler{Config: cfg, Firewalls: []netfilter.Firewall{fw4, fw6}, State: store.NewState(), Clock: clock,
		Boot: func() (string, error) { return "b", nil }, NewGen: netfilter.NewGeneration, Logf: func(string, ...any) {}}
	if err := s.Sample(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fw4.Count("wan_in", 10, 10000)
		clock.Advance(30 * time.Second)
		if err := s.Sample(); err != nil {
			b.Fatal(err)
		}
	}
}
