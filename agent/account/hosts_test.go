package account_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/account"
	"github.com/netmon-agent/netmon-agent/agent/account/accounttest"
	"github.com/netmon-agent/netmon-agent/agent/netfilter"
	"github.com/netmon-agent/netmon-agent/agent/netfilter/netfiltertest"
	"github.com/netmon-agent/netmon-agent/agent/report"
	"github.com/netmon-agent/netmon-agent/agent/units"
	"github.com/netmon-agent/netmon-agent/store"
)

const lanConfig = `
config agent 'main'
	option lan 'br-lan'
`

// newHostRig is a fakeRig with per-host accounting: hosts a (two
// addresses) and b known to the neighbour table, and a name for a.
func newHostRig(t *testing.T) *accounttest.Rig {
	r := accounttest.NewRig(t, lanConfig)
	r.Sets = netfiltertest.NewSets()
	r.Sources = &accounttest.Sources{
		Neigh: map[netip.Addr]string{
			netip.MustParseAddr("192.0.2.2"):   "02:00:00:00:00:0a",
			netip.MustParseAddr("2001:db8::2"): "02:00:00:00:00:0a",
			netip.MustParseAddr("192.0.2.3"):   "02:00:00:00:00:0b",
		},
		Known: map[string]string{"02:00:00:00:00:0a": "laptop"},
	}
	r.Restart()
	r.Sample() // makes the sets and installs the rules
	return r
}

func TestHosts_RulesAndSets(t *testing.T) {
	r := newHostRig(t)
	for _, name := range []string{"netmon-dl4", "netmon-ul4", "netmon-dl6", "netmon-ul6", "netmon-block4", "netmon-block6", "netmon-sdl4", "netmon-sul6"} {
		if r.Sets.Sets[name] == nil {
			t.Errorf("set %s not created", name)
		}
	}
	got := r.Fw4.Rendered()
	for _, want := range []string{
		"netmon-FORWARD 1 -o br-lan ! -i br-lan -m set ! --match-set netmon-dl4 dst -j SET --add-set netmon-dl4 dst -m comment --comment netmon:h:@download:",
		"netmon-FORWARD 2 -i br-lan ! -o br-lan -m set ! --match-set netmon-ul4 src -j SET --add-set netmon-ul4 src -m comment --comment netmon:h:@upload:",
		"netmon-FORWARD 3 -o br-lan ! -i br-lan -p tcp -m multiport --sports 443,80,53,853,22,993,465,587,995,3389 -m set ! --match-set netmon-sdl4 dst,src -j SET --add-set netmon-sdl4 dst,src",
		"netmon-FORWARD 6 -i br-lan ! -o br-lan -p udp -m multiport --dports 443,53,123,1194,51820 -m set ! --match-set netmon-sul4 src,dst -j SET --add-set netmon-sul4 src,dst",
		"netmon-FORWARD 7 -m comment --comment netmon-return -j RETURN",
		"FORWARD 1 -m comment --comment netmon-jump:GEN -j netmon-FORWARD",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in\n%s", want, got)
		}
	}
}

// A host is one row by MAC, its addresses folded in, and every byte lands
// with a host or in unattributed.
func TestHosts_CountsPerMACAcrossFamilies(t *testing.T) {
	r := newHostRig(t)
	r.Sets.Traffic(store.DirDownload, "192.0.2.2", 10, 10000)
	r.Sets.Traffic(store.DirDownload, "2001:db8::2", 5, 6000)
	r.Sets.Traffic(store.DirUpload, "192.0.2.2", 8, 800)
	r.Sets.Traffic(store.DirDownload, "192.0.2.3", 1, 100)
	r.Sets.Traffic(store.DirDownload, "192.0.2.99", 2, 200) // no MAC known
	r.Sample()
	a := r.Host("02:00:00:00:00:0a")
	if a.Download.Bytes != 16000 || a.Download.Packets != 15 || a.Upload.Bytes != 800 || a.Name != "laptop" {
		t.Errorf("host a %+v", a)
	}
	if strings.Join(a.Addresses, ",") != "192.0.2.2,2001:db8::2" {
		t.Errorf("host a addresses %v", a.Addresses)
	}
	if b := r.Host("02:00:00:00:00:0b"); b.Download.Bytes != 100 {
		t.Errorf("host b %+v", b)
	}
	if u := r.Host(store.Unattributed); u.Download.Bytes != 200 {
		t.Errorf("unattributed %+v", u)
	}
	// Growth only, the next time.
	r.Sets.Traffic(store.DirDownload, "192.0.2.2", 1, 1000)
	r.Sample()
	if a := r.Host("02:00:00:00:00:0a"); a.Download.Bytes != 17000 {
		t.Errorf("host a after more traffic: %d", a.Download.Bytes)
	}
}

// An address whose MAC turns up later: what it sent before stays in
// unattributed, what it sends after goes to its host, nothing twice.
func TestHosts_LateMACNothingLostNothingTwice(t *testing.T) {
	r := newHostRig(t)
	r.Sets.Traffic(store.DirUpload, "192.0.2.50", 3, 300)
	r.Sample()
	r.Sources.Neigh[netip.MustParseAddr("192.0.2.50")] = "02:00:00:00:00:50"
	r.Sets.Traffic(store.DirUpload, "192.0.2.50", 1, 50)
	r.Sample()
	if u := r.Host(store.Unattributed); u.Upload.Bytes != 300 {
		t.Errorf("unattributed %d", u.Upload.Bytes)
	}
	if h := r.Host("02:00:00:00:00:50"); h.Upload.Bytes != 50 {
		t.Errorf("late host %d", h.Upload.Bytes)
	}
	// The neighbour entry expires; the address keeps its last MAC.
	delete(r.Sources.Neigh, netip.MustParseAddr("192.0.2.50"))
	r.Sets.Traffic(store.DirUpload, "192.0.2.50", 1, 7)
	r.Sample()
	if h := r.Host("02:00:00:00:00:50"); h.Upload.Bytes != 57 {
		t.Errorf("after the neighbour expired %d, want 57", h.Upload.Bytes)
	}
}

// A crash: the committed element baselines and the kernel's set counters
// make up the difference.
func TestHosts_CrashLosesNothing(t *testing.T) {
	r := newHostRig(t)
	r.Sets.Traffic(store.DirDownload, "192.0.2.2", 1, 1000)
	r.Sample()
	r.Commit()
	r.Sets.Traffic(store.DirDownload, "192.0.2.2", 1, 500)
	r.Sample() // in memory only
	r.Sets.Traffic(store.DirDownload, "192.0.2.2", 1, 250)
	r.Restart()
	r.Sample()
	if a := r.Host("02:00:00:00:00:0a"); a.Download.Bytes != 1750 {
		t.Errorf("after a crash %d, want 1750", a.Download.Bytes)
	}
}

// An element that left its set (pruned, or the set was recreated) counts
// from zero when it comes back, even with more than it had.
func TestHosts_ElementBackCountsFromZero(t *testing.T) {
	r := newHostRig(t)
	r.Sets.Traffic(store.DirDownload, "192.0.2.3", 1, 100)
	r.Sample()
	delete(r.Sets.Sets["netmon-dl4"].Elements, netip.MustParseAddr("192.0.2.3"))
	r.Sample()
	r.Sets.Traffic(store.DirDownload, "192.0.2.3", 5, 5000)
	r.Sample()
	if b := r.Host("02:00:00:00:00:0b"); b.Download.Bytes != 5100 {
		t.Errorf("host b %d, want 5100", b.Download.Bytes)
	}
}

func TestHosts_RebootStartsElementsFromZero(t *testing.T) {
	r := newHostRig(t)
	r.Sets.Traffic(store.DirDownload, "192.0.2.3", 1, 100)
	r.Sample()
	r.Commit()
	r.Boot = "boot-2"
	r.Sets.Sets["netmon-dl4"].Elements[netip.MustParseAddr("192.0.2.3")] = store.Counts{Packets: 9, Bytes: 900}
	r.Restart()
	r.Sample()
	if b := r.Host("02:00:00:00:00:0b"); b.Download.Bytes != 1000 {
		t.Errorf("host b %d, want 1000", b.Download.Bytes)
	}
}

func TestHosts_IdleElementsArePruned(t *testing.T) {
	r := newHostRig(t)
	r.Sets.Traffic(store.DirDownload, "192.0.2.3", 1, 100)
	r.Sets.Traffic(store.DirDownload, "192.0.2.2", 1, 100)
	r.Sample()
	r.Clock.Advance(account.IdleElement - time.Hour)
	r.Sets.Traffic(store.DirDownload, "192.0.2.2", 1, 100)
	r.Sample()
	r.Clock.Advance(2 * time.Hour)
	r.Sample()
	els := r.Sets.Sets["netmon-dl4"].Elements
	if _, ok := els[netip.MustParseAddr("192.0.2.3")]; ok {
		t.Error("an element idle for two days is still in its set")
	}
	if _, ok := els[netip.MustParseAddr("192.0.2.2")]; !ok {
		t.Error("an active element was pruned")
	}
	if b := r.Host("02:00:00:00:00:0b"); b.Download.Bytes != 100 {
		t.Errorf("pruning lost the host's total: %d", b.Download.Bytes)
	}
}

func TestHosts_TodayAndThisMonthRollOver(t *testing.T) {
	r := newHostRig(t)
	r.Clock.T = time.Date(2026, 1, 31, 23, 59, 10, 0, time.UTC)
	r.Sets.Traffic(store.DirDownload, "192.0.2.3", 1, 100)
	r.Sample()
	r.Sets.Traffic(store.DirDownload, "192.0.2.3", 1, 40)
	r.Sample() // 2026-02-01 00:00:10 now
	b := r.Host("02:00:00:00:00:0b")
	if b.Day != "2026-02-01" || b.Today().Download.Bytes != 40 || b.Month != "2026-02" || b.ThisMonth().Download.Bytes != 40 || b.Download.Bytes != 140 {
		t.Errorf("after midnight on the month's last day: %+v", b)
	}
}

func TestHosts_RatesFromTheLastTwoSamples(t *testing.T) {
	r := newHostRig(t)
	r.Sets.Traffic(store.DirDownload, "192.0.2.2", 1, 3000)
	r.Sets.Traffic(store.DirUpload, "192.0.2.2", 1, 300)
	r.Sample() // 30 s after the previous one
	rate := r.Sampler.Rates()["02:00:00:00:00:0a"]
	if rate.Download != 100 || rate.Upload != 10 {
		t.Errorf("rate %+v, want 100 and 10 bytes/s", rate)
	}
	hr := report.BuildHosts(r.Config, r.Sampler.State, r.Sampler.Rates(), r.Clock.Now(), "daemon")
	if hr.Hosts[0].MAC != "02:00:00:00:00:0a" || hr.Hosts[0].DownloadRate != 100 {
		t.Errorf("busiest host first: %+v", hr.Hosts)
	}
	r.Sample()
	if rate := r.Sampler.Rates()["02:00:00:00:00:0a"]; rate.Download != 0 {
		t.Errorf("rate of an idle host %+v", rate)
	}
}

func TestHosts_TextFits100Columns(t *testing.T) {
	r := newHostRig(t)
	r.Sources.Known["02:00:00:00:00:0b"] = strings.Repeat("n", 63)
	r.Sets.Traffic(store.DirDownload, "192.0.2.3", 1, 1023<<30)
	r.Sets.Traffic(store.DirUpload, "192.0.2.3", 1, 1000<<30)
	r.Sets.Traffic(store.DirDownload, "2001:db8::2", 1, 100)
	r.Sample()
	var b strings.Builder
	report.BuildHosts(r.Config, r.Sampler.State, r.Sampler.Rates(), r.Clock.Now(), "daemon").WriteText(&b)
	for _, line := range strings.Split(b.String(), "\n") {
		if len(line) > 100 {
			t.Errorf("%d columns: %q", len(line), line)
		}
	}
	if !strings.Contains(b.String(), "laptop") {
		t.Errorf("table:\n%s", b.String())
	}
}

func TestHosts_OneIpsetProcessPerSample(t *testing.T) {
	r := newHostRig(t)
	r.Sample()
	r.Sets.Calls = 0
	r.Sample()
	if r.Sets.Calls != 1 {
		t.Errorf("%d ipset processes in a sample, want 1", r.Sets.Calls)
	}
}

func TestParseIpsetSave(t *testing.T) {
	in := []byte(`create netmon-dl4 hash:ip family inet hashsize 1024 maxelem 65536 counters bucketsize 12 initval 0x92429c90
add netmon-dl4 198.18.1.3 packets 10 bytes 10280
add netmon-dl4 198.18.1.2 packets 7 bytes 3696
create netmon-ul6 hash:ip family inet6 hashsize 1024 maxelem 65536 timeout 600 counters bucketsize 12 initval 0x1
add netmon-ul6 2001:db8:1::2 timeout 599 packets 18446744073709551615 bytes 18446744073709551615
create other hash:ip family inet hashsize 1024 maxelem 65536
add other 10.0.0.1
`)
	sets, err := netfilter.ParseIpsetSave(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(sets) != 2 || sets["other"] != nil {
		t.Fatalf("sets %v", sets)
	}
	dl := sets["netmon-dl4"]
	if !dl.Counters || dl.Family != netfilter.IPv4 || dl.Elements[netip.MustParseAddr("198.18.1.3")].Bytes != 10280 {
		t.Errorf("dl4 %+v", dl)
	}
	ul := sets["netmon-ul6"]
	if ul.Family != netfilter.IPv6 || ul.Elements[netip.MustParseAddr("2001:db8:1::2")].Packets != 18446744073709551615 {
		t.Errorf("ul6 %+v", ul)
	}
	for _, bad := range []string{"add netmon-x 1.2.3.4\n", "create netmon-a hash:ip\nadd netmon-a 1.2.3\n", "create netmon-a hash:ip\nadd netmon-a 1.2.3.4 packets x bytes 1\n"} {
		if _, err := netfilter.ParseIpsetSave([]byte(bad)); err == nil {
			t.Errorf("parsed %q", bad)
		}
	}
}

func TestHumanRate(t *testing.T) {
	for r, want := range map[float64]string{0: "-", 1: "1B/s", 999: "999B/s", 1000: "1.0K/s", 1536: "1.5K/s", 5 << 20: "5.0M/s", 1023.9 * (1 << 30): "1.0T/s"} {
		if got := units.FormatRate(r); got != want {
			t.Errorf("humanRate(%v) = %q, want %q", r, got, want)
		}
	}
}

// A failed ipset read leaves the host rules in place: the kernel keeps
// counting and the next read catches up.
func TestHosts_FailedReadKeepsRulesAndLosesNothing(t *testing.T) {
	r := newHostRig(t)
	r.Sets.Traffic(store.DirDownload, "192.0.2.2", 1, 100)
	r.Sample()
	before := r.Fw4.Rendered()
	r.Sampler.Sets = failingSets{r.Sets}
	r.Sets.Traffic(store.DirDownload, "192.0.2.2", 1, 50)
	r.Clock.Advance(30 * time.Second)
	if err := r.Sampler.Sample(); err == nil {
		t.Fatal("no error from a failed ipset read")
	}
	if got := r.Fw4.Rendered(); got != before {
		t.Errorf("rules changed after a failed read:\n%s\nwas:\n%s", got, before)
	}
	r.Sampler.Sets = r.Sets
	r.Sample()
	if a := r.Host("02:00:00:00:00:0a"); a.Download.Bytes != 150 {
		t.Errorf("after the failed read %d, want 150", a.Download.Bytes)
	}
}

type failingSets struct{ *netfiltertest.Sets }

func (failingSets) List() (map[string]*netfilter.IPSet, error) {
	return nil, errors.New("ipset: lock busy")
}

// A state restored from flash whose element baselines are behind its
// totals (store.State.BaselinesBehind): in the same boot the first sample
// takes the kernel's counters as baselines and credits nothing, never
// counting twice; after a reboot the counters are new and all of them
// count, as always.
func TestHosts_BaselinesBehindRebaseInTheSameBootOnly(t *testing.T) {
	const mac = "02:00:00:00:00:0a"
	r := newHostRig(t)
	r.Sets.Traffic(store.DirDownload, "192.0.2.2", 10, 1000)
	r.Sets.ServiceTraffic(store.DirDownload, "192.0.2.2", "tcp/443", 5, 600)
	r.Sample()
	r.Commit()
	// What a restore from records that left the baselines out gives: the
	// totals of the last record, the baselines of an older base.
	r.Restart()
	st := r.Sampler.State
	st.BaselinesBehind = true
	for _, e := range st.Elements {
		e.Counts = store.Counts{}
	}
	for _, e := range st.ServiceElements {
		e.Counts = store.Counts{}
	}
	r.Sets.Traffic(store.DirDownload, "192.0.2.2", 5, 500)
	r.Sample()
	if got := r.Host(mac).Download.Bytes; got != 1000 {
		t.Errorf("after a same-boot restore: %d bytes, want 1000 (nothing counted twice)", got)
	}
	if got := st.Services[store.ServiceKey(mac, "https")].Download.Bytes; got != 600 {
		t.Errorf("https after a same-boot restore: %d bytes, want 600", got)
	}
	if st.BaselinesBehind || !strings.Contains(strings.Join(r.Logs, "\n"), "restored from flash in the same boot") {
		t.Errorf("marker %v; log %q", st.BaselinesBehind, r.Logs)
	}
	r.Sets.Traffic(store.DirDownload, "192.0.2.2", 2, 200)
	r.Sample()
	if got := r.Host(mac).Download.Bytes; got != 1200 {
		t.Errorf("after the rebase: %d bytes, want 1200", got)
	}
	// After a reboot the kernel's counters start from zero: all of them
	// count, marker or not.
	st.BaselinesBehind = true
	r.Boot = "boot-2"
	for _, set := range r.Sets.Sets {
		clear(set.Elements)
		clear(set.Services)
	}
	r.Sets.Traffic(store.DirDownload, "192.0.2.2", 3, 300)
	r.Sample()
	if got := r.Host(mac).Download.Bytes; got != 1500 || st.BaselinesBehind {
		t.Errorf("after a reboot: %d bytes (want 1500), marker %v", got, st.BaselinesBehind)
	}
}

// The neighbour table is read again when a set holds an address it did
// not answer for (a new host is attributed at the sample it appears), not
// again for an address that stays unknown, and at least every
// NeighbourRefresh.
func TestHosts_NeighboursReadWhenTheyMayHaveChanged(t *testing.T) {
	r := newHostRig(t)
	second := func() {
		t.Helper()
		r.Clock.Advance(time.Second)
		if err := r.Sampler.Sample(); err != nil {
			t.Fatal(err)
		}
	}
	r.Sets.Traffic(store.DirDownload, "192.0.2.2", 1, 100)
	second()
	reads := r.Sources.Reads
	r.Sets.Traffic(store.DirDownload, "192.0.2.2", 1, 100)
	second()
	if r.Sources.Reads != reads {
		t.Errorf("a known host's traffic read the neighbours again (%d reads, want %d)", r.Sources.Reads, reads)
	}
	// A new host: its neighbour entry and its first packets together.
	r.Sources.Neigh[netip.MustParseAddr("192.0.2.9")] = "02:00:00:00:00:0c"
	r.Sets.Traffic(store.DirDownload, "192.0.2.9", 1, 700)
	second()
	if got := r.Host("02:00:00:00:00:0c").Download.Bytes; got != 700 || r.Sources.Reads != reads+1 {
		t.Errorf("new host: %d bytes (want 700), %d reads (want %d)", got, r.Sources.Reads, reads+1)
	}
	// An address no neighbour claims: read once, then left.
	r.Sets.Traffic(store.DirDownload, "192.0.2.77", 1, 50)
	second()
	second()
	if r.Sources.Reads != reads+2 {
		t.Errorf("an unknown address: %d reads, want %d", r.Sources.Reads, reads+2)
	}
	r.Clock.Advance(account.NeighbourRefresh)
	second()
	if r.Sources.Reads != reads+3 {
		t.Errorf("after NeighbourRefresh: %d reads, want %d", r.Sources.Reads, reads+3)
	}
}

// A host's addresses follow its elements: a new address joins at the
// sample it appears, one whose MAC moves to another host leaves, and one
// pruned as idle goes.
func TestHosts_AddressesFollowTheElements(t *testing.T) {
	r := newHostRig(t)
	r.Sets.Traffic(store.DirDownload, "192.0.2.2", 1, 100)
	r.Sets.Traffic(store.DirDownload, "192.0.2.3", 1, 100)
	r.Sample()
	a, b := "02:00:00:00:00:0a", "02:00:00:00:00:0b"
	addrs := func(mac string) string { return strings.Join(r.Host(mac).Addresses, ",") }
	if addrs(a) != "192.0.2.2" || addrs(b) != "192.0.2.3" {
		t.Fatalf("a %s, b %s", addrs(a), addrs(b))
	}
	r.Sources.Neigh[netip.MustParseAddr("192.0.2.4")] = a
	r.Sets.Traffic(store.DirUpload, "192.0.2.4", 1, 100)
	r.Sample()
	if addrs(a) != "192.0.2.2,192.0.2.4" {
		t.Errorf("a after a new address: %s", addrs(a))
	}
	r.Sources.Neigh[netip.MustParseAddr("192.0.2.4")] = b // DHCP gave it to b
	r.Sets.Traffic(store.DirUpload, "192.0.2.4", 1, 100)
	r.Sample()
	if addrs(a) != "192.0.2.2" || addrs(b) != "192.0.2.3,192.0.2.4" {
		t.Errorf("after the address moved: a %s, b %s", addrs(a), addrs(b))
	}
	r.Clock.Advance(account.IdleElement)
	r.Sets.Traffic(store.DirDownload, "192.0.2.3", 1, 100)
	r.Sample()
	r.Sample()
	if addrs(b) != "192.0.2.3" || addrs(a) != "" {
		t.Errorf("after the idle ones were pruned: a %q, b %q", addrs(a), addrs(b))
	}
}
