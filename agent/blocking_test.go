package agent_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/netmon-agent/netmon-agent/agent"
	"github.com/netmon-agent/netmon-agent/agent/account/accounttest"
	"github.com/netmon-agent/netmon-agent/agent/agenttest"
	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/control"
	"github.com/netmon-agent/netmon-agent/agent/hosts"
	"github.com/netmon-agent/netmon-agent/store"
)

// openBlocking opens an agent on fakes with per-host accounting and the
// neighbours of sources.
func openBlocking(t *testing.T, sources *accounttest.Sources) *agent.Agent {
	t.Helper()
	dir := t.TempDir()
	cfg, err := config.Load(accounttest.WriteConfig(t, "config agent\n\toption database '"+dir+"/flash/netmon.db'\n\toption runtime_dir '"+dir+"/run'\n"))
	if err != nil {
		t.Fatal(err)
	}
	opts := agenttest.FakeOptions(dir)
	opts.NewSources = func(*config.Config) hosts.Sources { return sources }
	a, err := agent.Open(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// block blocks host until lifted.
func block(a *agent.Agent, host string) (*store.Block, error) {
	return a.Restrict(control.Restriction{Kind: control.KindBlock, Host: host})
}

// unblock lifts host's blocks.
func unblock(a *agent.Agent, host string) (*store.Block, error) {
	return a.Restrict(control.Restriction{Kind: control.KindBlock, Lift: true, Host: host})
}

func blocked(a *agent.Agent) []string {
	var out []string
	for _, b := range a.Blocks().Blocks {
		out = append(out, b.Target)
	}
	return out
}

// A block made by address, before the neighbour table knew its MAC, is
// lifted by that address, by the MAC and by the name once they are known;
// so is a block made by MAC, by any of the host's addresses.
func TestUnblock_ByAnyNameTheHostHas(t *testing.T) {
	for _, by := range []string{"192.0.2.50", "02:00:00:00:00:50", "laptop", "::ffff:192.0.2.50"} {
		sources := &accounttest.Sources{}
		a := openBlocking(t, sources)
		if _, err := block(a, "192.0.2.50"); err != nil {
			t.Fatal(err)
		}
		sources.Neigh = map[netip.Addr]string{netip.MustParseAddr("192.0.2.50"): "02:00:00:00:00:50"}
		sources.Known = map[string]string{"02:00:00:00:00:50": "laptop"}
		if _, err := unblock(a, by); err != nil {
			t.Errorf("unblock %s of a block by address: %v", by, err)
		}
		if got := blocked(a); len(got) != 0 {
			t.Errorf("after unblock %s: %v", by, got)
		}
	}
	sources := &accounttest.Sources{Neigh: map[netip.Addr]string{netip.MustParseAddr("192.0.2.51"): "02:00:00:00:00:51"}}
	a := openBlocking(t, sources)
	if _, err := block(a, "02:00:00:00:00:51"); err != nil {
		t.Fatal(err)
	}
	if _, err := unblock(a, "192.0.2.51"); err != nil || len(blocked(a)) != 0 {
		t.Errorf("unblock by address of a block by MAC: %v, %v", err, blocked(a))
	}
	if _, err := unblock(a, "192.0.2.51"); !errors.Is(err, agent.ErrNotBlocked) {
		t.Errorf("second unblock: %v, want ErrNotBlocked", err)
	}
}

// An IPv4-mapped address is the IPv4 address, in the state and the sets.
func TestBlock_MappedAddressIsIPv4(t *testing.T) {
	a := openBlocking(t, &accounttest.Sources{})
	if _, err := block(a, "::ffff:192.0.2.3"); err != nil {
		t.Fatal(err)
	}
	if got := blocked(a); len(got) != 1 || got[0] != "192.0.2.3" {
		t.Errorf("blocks %v, want 192.0.2.3", got)
	}
}

// Only a LAN host's address can be blocked: anything else would cut off
// the router or the internet for everyone, or block nothing.
func TestBlock_RefusesWhatIsNoLANHost(t *testing.T) {
	a := openBlocking(t, &accounttest.Sources{Known: map[string]string{"02:00:00:00:00:09": "tv"}})
	for _, c := range []struct{ host, want string }{
		{"0.0.0.0", "not a unicast address"},
		{"::", "not a unicast address"},
		{"255.255.255.255", "not a unicast address"},
		{"224.0.0.1", "not a unicast address"},
		{"192.0.2.1", "the router's own address"},
		{"2001:db8:1::1", "the router's own address"},
		{"192.0.2.0", "network or broadcast address"},
		{"192.0.2.255", "network or broadcast address"},
		{"198.51.100.7", "outside the LAN's subnets"},
		{"2001:db8:ff::2", "outside the LAN's subnets"},
		{"fe80::1", "not a unicast address"},
		{"fe80::1%br-lan", "has a zone"},
		{"ff:ff:ff:ff:ff:ff", "multicast or broadcast MAC"},
		{"nobody", `unknown host "nobody"`},
	} {
		_, err := block(a, c.host)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("block %s: %v, want %q", c.host, err, c.want)
		}
	}
	if got := blocked(a); len(got) != 0 {
		t.Errorf("refused blocks are in force: %v", got)
	}
	// A host known only by its lease's name is blocked by its MAC.
	if _, err := block(a, "tv"); err != nil || blocked(a)[0] != "02:00:00:00:00:09" {
		t.Errorf("block by a leased name: %v, %v", err, blocked(a))
	}
}

// A throttle and a block of one host are lifted each by its own kind; a
// throttle's rates and the kind are checked before anything is in force.
func TestRestrict_EachKindLiftsItsOwn(t *testing.T) {
	a := openBlocking(t, &accounttest.Sources{})
	throttle := control.Restriction{Kind: control.KindThrottle, Host: "192.0.2.60", Rate: 2_000_000, RateUp: 1_000_000}
	if _, err := a.Restrict(throttle); err != nil {
		t.Fatal(err)
	}
	if _, err := unblock(a, "192.0.2.60"); !errors.Is(err, agent.ErrNotBlocked) {
		t.Errorf("unblock of a throttled host: %v, want ErrNotBlocked", err)
	}
	throttle.Lift = true
	if _, err := a.Restrict(throttle); err != nil || len(blocked(a)) != 0 {
		t.Errorf("unthrottle: %v, in force %v", err, blocked(a))
	}
	if _, err := a.Restrict(throttle); !errors.Is(err, agent.ErrNotThrottled) {
		t.Errorf("second unthrottle: %v, want ErrNotThrottled", err)
	}
	for _, c := range []struct {
		r    control.Restriction
		want error
	}{
		{control.Restriction{Kind: control.KindThrottle, Host: "192.0.2.61", Rate: 1000, RateUp: 2_000_000}, agent.ErrRate},
		{control.Restriction{Kind: control.KindThrottle, Host: "192.0.2.61", Rate: 2_000_000}, agent.ErrRate},
		{control.Restriction{Kind: "slow", Host: "192.0.2.61"}, agent.ErrRestrictionKind},
		{control.Restriction{Kind: "", Host: "192.0.2.61", Lift: true}, agent.ErrRestrictionKind},
	} {
		if _, err := a.Restrict(c.r); !errors.Is(err, c.want) {
			t.Errorf("%+v: %v, want %v", c.r, err, c.want)
		}
	}
	if got := blocked(a); len(got) != 0 {
		t.Errorf("refused restrictions are in force: %v", got)
	}
}
