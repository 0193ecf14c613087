package account_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/hosts"
	"github.com/netmon-agent/netmon-agent/agent/report"
	"github.com/netmon-agent/netmon-agent/store"
)

func TestBlocks_MACBlockDropsAllItsAddressesAndExpires(t *testing.T) {
	r := newHostRig(t)
	r.Sets.Traffic(store.DirDownload, "192.0.2.2", 1, 100)
	r.Sets.Traffic(store.DirDownload, "2001:db8::2", 1, 100)
	r.Sample()
	target, err := (hosts.Directory{State: r.Sampler.State, Neigh: r.Sources.Neigh}).Resolve("laptop")
	if err != nil || target != "02:00:00:00:00:0a" {
		t.Fatalf("resolve laptop: %q, %v", target, err)
	}
	r.Sampler.Block(target, time.Hour, "big download\x1b[2J")
	r.Sample()
	if _, ok := r.Sets.Sets["netmon-block4"].Elements[netip.MustParseAddr("192.0.2.2")]; !ok {
		t.Errorf("IPv4 address not in the block set: %v", r.Sets.Sets["netmon-block4"].Elements)
	}
	if _, ok := r.Sets.Sets["netmon-block6"].Elements[netip.MustParseAddr("2001:db8::2")]; !ok {
		t.Errorf("IPv6 address not in the block set: %v", r.Sets.Sets["netmon-block6"].Elements)
	}
	if got := r.Fw4.Rendered(); !strings.Contains(got, "-i br-lan -m mac --mac-source \"02:00:00:00:00:0a\" -j DROP") || !strings.Contains(got, "-m set --match-set netmon-block4 dst -j DROP") {
		t.Errorf("no MAC rule:\n%s", r.Fw4.Rendered())
	}
	hr := report.BuildHosts(r.Config, r.Sampler.State, nil, r.Clock.Now(), "daemon")
	for _, h := range hr.Hosts {
		if h.Blocked != (h.MAC == "02:00:00:00:00:0a") {
			t.Errorf("host %s blocked=%v", h.MAC, h.Blocked)
		}
	}
	if b := report.BuildBlocks(r.Sampler.State).Blocks; len(b) != 1 || b[0].Reason != "big download[2J" || b[0].Name != "laptop" {
		t.Errorf("blocks %+v", b)
	}
	// Still counted while blocked.
	r.Sets.Traffic(store.DirUpload, "192.0.2.2", 1, 60)
	r.Sample()
	if a := r.Host("02:00:00:00:00:0a"); a.Upload.Bytes != 60 {
		t.Errorf("blocked host's upload %d, want 60", a.Upload.Bytes)
	}
	// An hour later it lifts by itself, rules and set entries with it.
	r.Clock.Advance(time.Hour)
	r.Sample()
	if len(r.Sampler.State.Blocks) != 0 || len(r.Sets.Sets["netmon-block4"].Elements) != 0 || strings.Contains(r.Fw4.Rendered(), "DROP") {
		t.Errorf("expired block still in force: %v %v\n%s", r.Sampler.State.Blocks, r.Sets.Sets["netmon-block4"].Elements, r.Fw4.Rendered())
	}
}

func TestBlocks_AddressAndUnblock(t *testing.T) {
	r := newHostRig(t)
	// An address with no MAC known is blocked as itself.
	target, err := (hosts.Directory{State: r.Sampler.State, Neigh: r.Sources.Neigh}).Resolve("192.0.2.77")
	if err != nil || target != "192.0.2.77" {
		t.Fatalf("resolve: %q %v", target, err)
	}
	r.Sampler.Block(target, 0, "")
	r.Sample()
	if _, ok := r.Sets.Sets["netmon-block4"].Elements[netip.MustParseAddr("192.0.2.77")]; !ok {
		t.Error("address not blocked")
	}
	// An address of a known host blocks the host.
	if target, _ := (hosts.Directory{State: r.Sampler.State, Neigh: r.Sources.Neigh}).Resolve("192.0.2.3"); target != "02:00:00:00:00:0b" {
		t.Errorf("192.0.2.3 resolved to %q, want its MAC", target)
	}
	r.Clock.Advance(365 * 24 * time.Hour)
	r.Sample()
	if len(r.Sampler.State.Blocks) != 1 {
		t.Error("a block without --for expired")
	}
	if len(r.Sampler.Unblock("192.0.2.77")) != 1 || len(r.Sampler.Unblock("192.0.2.77")) != 0 {
		t.Error("unblock did not report what it did")
	}
	r.Sample()
	if len(r.Sets.Sets["netmon-block4"].Elements) != 0 {
		t.Error("unblocked address still in the set")
	}
}

func TestBlocks_ResolveErrors(t *testing.T) {
	r := newHostRig(t)
	if _, err := (hosts.Directory{State: r.Sampler.State, Neigh: r.Sources.Neigh}).Resolve("nobody"); !errors.Is(err, hosts.ErrUnknownHost) {
		t.Errorf("unknown name: %v", err)
	}
	r.Sampler.State.Hosts["02:00:00:00:00:01"] = &store.Host{Name: "twin"}
	r.Sampler.State.Hosts["02:00:00:00:00:02"] = &store.Host{Name: "Twin"}
	if _, err := (hosts.Directory{State: r.Sampler.State, Neigh: r.Sources.Neigh}).Resolve("twin"); err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Errorf("two hosts of one name: %v", err)
	}
	if m, _ := (hosts.Directory{State: r.Sampler.State, Neigh: nil}).Resolve("02-00-00-00-00-0B"); m != "02:00:00:00:00:0b" {
		t.Errorf("MAC not normalised: %q", m)
	}
}
