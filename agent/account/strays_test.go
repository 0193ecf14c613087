package account_test

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/netmon-agent/netmon-agent/agent/account"
	"github.com/netmon-agent/netmon-agent/agent/netfilter"
	"github.com/netmon-agent/netmon-agent/store"
)

// flood sends one packet to each of n made-up addresses of the LAN's /64,
// as a scan from the internet does, into set dl6 (the kernel takes no more
// than netfilter.MaxElements).
func flood(r interface {
	Traffic(dir, addr string, packets, bytes uint64)
}, dir string, from, n int) {
	for i := from; i < from+n; i++ {
		r.Traffic(dir, fmt.Sprintf("2001:db8::%x:%x", i>>16, i&0xffff), 1, 80)
	}
}

// A scan of 70,000 addresses fills the set to its bound; the sample counts
// it as unattributed and keeps no more than KeepStrays of the addresses, in
// the kernel and in the state; the next real address is counted exactly,
// and the flood is logged once.
func TestStrays_AFloodIsEvictedAndARealHostStillCounts(t *testing.T) {
	r := newHostRig(t)
	dl6 := r.Sets.Sets[netfilter.SetName(store.DirDownload, netfilter.IPv6)]
	flood(r.Sets, store.DirDownload, 0x100, 70000)
	if len(dl6.Elements) != netfilter.MaxElements {
		t.Fatalf("the set holds %d, want its bound %d", len(dl6.Elements), netfilter.MaxElements)
	}
	r.Sample()
	if n := len(dl6.Elements); n > account.KeepStrays+len(r.Sources.Neigh) {
		t.Errorf("after the sample the set holds %d elements", n)
	}
	if n := len(r.Sampler.State.Elements); n > account.KeepStrays {
		t.Errorf("the state keeps %d elements", n)
	}
	u := r.Host(store.Unattributed)
	if u == nil || u.Download.Packets != netfilter.MaxElements || u.Download.Bytes != 80*netfilter.MaxElements {
		t.Errorf("unattributed %+v, want the %d packets the set counted", u, netfilter.MaxElements)
	}
	// The neighbour's address was let in with the eviction, before the
	// flood could fill the set again.
	if _, ok := dl6.Elements[netip.MustParseAddr("2001:db8::2")]; !ok {
		t.Error("the neighbour 2001:db8::2 was not admitted with the eviction")
	}
	flood(r.Sets, store.DirDownload, 0x20000, 70000) // the flood goes on
	r.Sets.Traffic(store.DirDownload, "2001:db8::2", 3, 3000)
	r.Sample()
	if a := r.Host("02:00:00:00:00:0a"); a == nil || a.Download.Bytes != 3000 || a.Download.Packets != 3 {
		t.Errorf("the real host during the flood: %+v", a)
	}
	r.Sample() // nothing evicted: the flood is over
	f := r.Sampler.Flood()
	if f == nil || !f.Over || f.Evicted == 0 || strings.Join(f.Sets, ",") != "netmon-dl6" {
		t.Errorf("flood %+v", f)
	}
	if n := strings.Count(strings.Join(r.Logs, "\n"), "flood: "); n != 1 {
		t.Errorf("the flood was logged %d times:\n%s", n, strings.Join(r.Logs, "\n"))
	}
	if !strings.Contains(strings.Join(r.Logs, "\n"), "flood over: ") {
		t.Errorf("the flood's end was not logged:\n%s", strings.Join(r.Logs, "\n"))
	}
}

// A few strays (a subnet routed behind another router) are no flood: they
// keep their elements and baselines, and count exactly from sample to
// sample.
func TestStrays_AFewAreKept(t *testing.T) {
	r := newHostRig(t)
	flood(r.Sets, store.DirUpload, 0x100, account.KeepStrays)
	r.Sample()
	flood(r.Sets, store.DirUpload, 0x100, account.KeepStrays)
	r.Sample()
	ul6 := r.Sets.Sets[netfilter.SetName(store.DirUpload, netfilter.IPv6)]
	if len(ul6.Elements) != account.KeepStrays || r.Sampler.Flood() != nil {
		t.Errorf("%d elements, flood %+v", len(ul6.Elements), r.Sampler.Flood())
	}
	if u := r.Host(store.Unattributed); u.Upload.Packets != 2*account.KeepStrays {
		t.Errorf("unattributed %+v", u)
	}
}
