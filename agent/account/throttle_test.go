package account_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/account/accounttest"
	"github.com/netmon-agent/netmon-agent/agent/netfilter/netfiltertest"
	"github.com/netmon-agent/netmon-agent/agent/report"
	"github.com/netmon-agent/netmon-agent/store"
)

// A throttle of a MAC puts a hashlimit rule per address and direction in
// our chain, none in the block sets; unblock leaves it, unthrottle lifts
// it, and a timed one expires.
func TestThrottle_RulesPerAddressAndLift(t *testing.T) {
	r := newHostRig(t)
	r.Sets.Traffic(store.DirDownload, "192.0.2.2", 1, 100)
	r.Sets.Traffic(store.DirDownload, "2001:db8::2", 1, 100)
	r.Sample()
	const mac = "02:00:00:00:00:0a"
	r.Sampler.Throttle(mac, time.Hour, "homework", 2_000_000, 1_000_000)
	r.Sample()
	v4, v6 := r.Fw4.Rendered(), r.Fw6.Rendered()
	for _, want := range []string{
		"-o br-lan ! -i br-lan -d 192.0.2.2 -m hashlimit --hashlimit-above 250000b/s --hashlimit-burst 253906b",
		"-i br-lan ! -o br-lan -s 192.0.2.2 -m hashlimit --hashlimit-above 125000b/s --hashlimit-burst 126953b",
	} {
		if !strings.Contains(v4, want) {
			t.Errorf("IPv4 chain lacks %q:\n%s", want, v4)
		}
	}
	if !strings.Contains(v6, `-d "2001:db8::2" -m hashlimit --hashlimit-above 250000b/s`) {
		t.Errorf("IPv6 chain lacks the throttle:\n%s", v6)
	}
	if strings.Contains(v4, "netmon-block4") || len(r.Sets.Sets["netmon-block4"].Elements) != 0 {
		t.Errorf("a throttle blocks:\n%s", v4)
	}
	hr := report.BuildHosts(r.Config, r.Sampler.State, nil, r.Clock.Now(), "daemon")
	for _, h := range hr.Hosts {
		if h.MAC == mac && (h.Blocked || !h.Throttled || h.ThrottleRate != 2_000_000 || h.ThrottleRateUp != 1_000_000) {
			t.Errorf("hosts shows %+v", h)
		}
	}
	if b := report.BuildBlocks(r.Sampler.State).Blocks; len(b) != 1 || b[0].Rate != 2_000_000 || b[0].RateUp != 1_000_000 {
		t.Errorf("blocks %+v", b)
	}
	if len(r.Sampler.Unblock(mac)) != 0 {
		t.Error("unblock lifted a throttle")
	}
	if len(r.Sampler.Unthrottle(mac)) != 1 {
		t.Error("unthrottle lifted nothing")
	}
	r.Sample()
	if strings.Contains(r.Fw4.Rendered(), "hashlimit") {
		t.Errorf("unthrottled, rules stay:\n%s", r.Fw4.Rendered())
	}
	// A block takes a throttle's place, and the other way round.
	r.Sampler.Throttle(mac, time.Minute, "", 2_000_000, 2_000_000)
	r.Sampler.Block(mac, 0, "")
	if b := r.Sampler.State.Blocks[mac]; b.Throttles() || len(r.Sampler.Unthrottle(mac)) != 0 {
		t.Errorf("block after throttle: %+v", b)
	}
	r.Sampler.Throttle(mac, time.Minute, "", 2_000_000, 2_000_000)
	r.Sample()
	if strings.Contains(r.Fw4.Rendered(), "DROP") != true || strings.Contains(r.Fw4.Rendered(), "netmon-block4") {
		t.Errorf("throttle after block:\n%s", r.Fw4.Rendered())
	}
	r.Clock.Advance(time.Minute)
	r.Sample()
	if len(r.Sampler.State.Blocks) != 0 || strings.Contains(r.Fw4.Rendered(), "hashlimit") {
		t.Errorf("expired throttle in force: %v\n%s", r.Sampler.State.Blocks, r.Fw4.Rendered())
	}
}

// A quota with action throttle slows the host until the next period
// instead of cutting it off; lifted by hand, it stays lifted.
func TestQuota_Throttles(t *testing.T) {
	r := newHostRig(t)
	cfg := strings.Replace(quotaConfig, "option action 'block'", "option action 'throttle'\n\toption rate '2mbit'", 1)
	if cfg == quotaConfig {
		t.Fatal("quotaConfig has no block action to replace")
	}
	r.Config = accounttest.MustConfig(t, cfg)
	r.Sampler.Config = r.Config
	r.Clock.T = time.Date(2026, 2, 27, 12, 0, 0, 0, time.UTC)
	r.Sets.Traffic(store.DirDownload, "192.0.2.2", 11, 11000)
	r.Sample()
	b := r.Sampler.State.Blocks["02:00:00:00:00:0a"]
	if b == nil || !b.Throttles() || b.Rate != 2_000_000 || b.RateUp != 2_000_000 || !b.Until.Equal(time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("quota throttle %+v", b)
	}
	r.Sample()
	if !strings.Contains(r.Fw4.Rendered(), "--hashlimit-above 250000b/s") {
		t.Errorf("no throttle rule:\n%s", r.Fw4.Rendered())
	}
	r.Sampler.Unthrottle("02:00:00:00:00:0a")
	r.Sets.Traffic(store.DirUpload, "192.0.2.2", 1, 100)
	r.Sample()
	if _, ok := r.Sampler.State.Blocks["02:00:00:00:00:0a"]; ok {
		t.Error("throttled again after a manual unthrottle in the same period")
	}
}

// A router without hashlimit refuses the throttle's rules; the host rules
// after them still go in and count, and the sample says what was refused.
func TestThrottle_WithoutHashlimitHostsStillCount(t *testing.T) {
	r := accounttest.NewRig(t, lanConfig)
	r.Sets = netfiltertest.NewSets()
	r.Sources = &accounttest.Sources{Neigh: map[netip.Addr]string{netip.MustParseAddr("192.0.2.2"): "02:00:00:00:00:0a"}}
	r.Restart()
	r.Fw4.Lacks = "hashlimit"
	r.Sampler.Throttle("02:00:00:00:00:0a", 0, "", 2_000_000, 2_000_000)
	err := r.Sampler.Sample() // the first: every rule goes in now
	if err == nil || !strings.Contains(err.Error(), "Couldn't load match `hashlimit'") {
		t.Errorf("sample: %v", err)
	}
	got := r.Fw4.Rendered()
	for _, want := range []string{"--match-set netmon-dl4 dst -j SET", "--match-set netmon-ul4 src -j SET", "netmon-return -j RETURN", "netmon-jump:"} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q with hashlimit missing:\n%s", want, got)
		}
	}
	r.Sets.Traffic(store.DirDownload, "192.0.2.2", 1, 50)
	r.Sampler.Sample()
	if a := r.Host("02:00:00:00:00:0a"); a.Download.Bytes != 50 {
		t.Errorf("a's download %d, want 50", a.Download.Bytes)
	}
}
