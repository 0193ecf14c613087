package account_test

import (
	"fmt"
	"net/netip"
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

// BenchmarkSampleHosts is one sample's accounting at 254 busy hosts, as
// bench-flash loads a router: every host with its MAC in the neighbour
// table, an IPv4 and an IPv6 address, traffic both ways on both at every
// sample, on a service port (quic) and on one that is none. The sets are
// fakes, so this measures what the sampler does with what the kernel
// says (crediting, services, quotas, strays), not the reads themselves.
func BenchmarkSampleHosts(b *testing.B) {
	cfg := accounttest.MustConfig(b, "config agent 'main'\n\toption lan 'br-lan'\n")
	sets := netfiltertest.NewSets()
	src := &accounttest.Sources{Neigh: map[netip.Addr]string{}, Known: map[string]string{}}
	var addrs []string
	for i := 2; i < 256; i++ {
		mac := fmt.Sprintf("02:00:00:02:00:%02x", i)
		for _, a := range []string{fmt.Sprintf("198.18.1.%d", i), fmt.Sprintf("2001:db8:1::%x", i)} {
			src.Neigh[netip.MustParseAddr(a)] = mac
			addrs = append(addrs, a)
		}
		src.Known[mac] = fmt.Sprintf("host-%d", i)
	}
	clock := &accounttest.Clock{T: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	s := &account.Sampler{Config: cfg, Firewalls: []netfilter.Firewall{netfiltertest.NewFirewall(netfilter.IPv4), netfiltertest.NewFirewall(netfilter.IPv6)},
		State: store.NewState(), Clock: clock, Boot: func() (string, error) { return "b", nil }, NewGen: netfilter.NewGeneration,
		Logf: func(string, ...any) {}, Sets: sets, Sources: src}
	traffic := func() {
		for _, a := range addrs {
			for _, dir := range []string{store.DirDownload, store.DirUpload} {
				sets.Traffic(dir, a, 3, 1500)
				sets.ServiceTraffic(dir, a, "udp/443", 2, 1000)
				sets.ServiceTraffic(dir, a, "udp/9000", 1, 500)
			}
		}
	}
	if err := s.Sample(); err != nil { // makes the sets
		b.Fatal(err)
	}
	for range 2 {
		traffic()
		clock.Advance(time.Second)
		if err := s.Sample(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		traffic()
		clock.Advance(time.Second)
		b.StartTimer()
		if err := s.Sample(); err != nil {
			b.Fatal(err)
		}
	}
}
