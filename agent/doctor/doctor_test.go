package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/account"
	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/control"
	"github.com/netmon-agent/netmon-agent/agent/netfilter"
	"github.com/netmon-agent/netmon-agent/agent/netfilter/netfiltertest"
	"github.com/netmon-agent/netmon-agent/agent/report"
	"github.com/netmon-agent/netmon-agent/store"
)

// fakeMachine is a router as doctor sees it, healthy until a test breaks
// something.
type fakeMachine struct {
	t       *testing.T
	dir     string
	files   map[string]string     // ReadFile and Stat
	fs      map[string]Filesystem // Statfs, by path
	run     map[string]string     // command line -> output
	fws     map[netfilter.Family]*netfiltertest.Firewall
	sets    *netfiltertest.Sets
	synced  bool
	now     time.Time
	daemon  *report.Report
	noIp6   bool
	fwErr   error // what NewFirewall fails with, for every family
	setsErr error
	// nftSets makes the sets native nftables ones, which hold their rules.
	nftSets bool
}

// holdingSets are fake sets that hold their own rules, as native
// nftables sets do.
type holdingSets struct{ *netfiltertest.Sets }

func (holdingSets) HoldRules([]netfilter.Family, netfilter.HostRules) ([]string, error) {
	return nil, nil
}

func newFakeMachine(t *testing.T) *fakeMachine {
	m := &fakeMachine{t: t, dir: t.TempDir(), files: map[string]string{
		"/sys/class/net/br-lan":         "",
		"/sys/module/xt_set":            "",
		"/proc/sys/net/ipv4/ip_forward": "1\n",
		"/etc/config/firewall":          "config defaults\n\toption input 'REJECT'\n",
		"/proc/net/route":               "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\nwan\t00000000\t010013C6\t0003\t0\t0\t0\t00000000\t0\t0\t0\n",
	}, fs: map[string]Filesystem{}, run: map[string]string{
		"iptables --version":  "iptables v1.8.9 (nf_tables)",
		"ip6tables --version": "ip6tables v1.8.9 (nf_tables)",
		"nft list flowtables": "",
	}, fws: map[netfilter.Family]*netfiltertest.Firewall{netfilter.IPv4: netfiltertest.NewFirewall(netfilter.IPv4), netfilter.IPv6: netfiltertest.NewFirewall(netfilter.IPv6)},
		sets: netfiltertest.NewSets(), synced: true, now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	last := m.now.Add(-10 * time.Second)
	m.daemon = &report.Report{LastSample: &last}
	for _, n := range []string{"netmon-dl4", "netmon-ul4", "netmon-dl6", "netmon-ul6"} {
		m.sets.Sets[n] = &netfilter.IPSet{Name: n}
	}
	m.fs[filepath.Join(m.dir, "flash")] = Filesystem{Type: "overlay", Free: 4 << 20}
	m.fs[filepath.Join(m.dir, "run")] = Filesystem{Type: "tmpfs", Free: 20 << 20}
	for _, d := range []string{"flash", "run"} {
		os.MkdirAll(filepath.Join(m.dir, d), 0o700)
	}
	return m
}

const doctorMeters = `
config meter 'proxy'
	option chain 'INPUT'
	option src '192.168.0.10'

config meter 'wan_in'
	option chain 'FORWARD'
	option in 'wan'
`

func (m *fakeMachine) config(extra string) string {
	path := filepath.Join(m.dir, "netmon")
	text := "config agent 'main'\n\toption database '" + m.dir + "/flash/netmon.db'\n\toption runtime_dir '" + m.dir + "/run'\n" + extra + doctorMeters
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		m.t.Fatal(err)
	}
	return path
}

// install puts our rules in place, as the daemon would.
func (m *fakeMachine) install(cfgPath string) {
	cfg, err := config.Load(cfgPath)
	if err != nil {
		m.t.Fatal(err)
	}
	for f, fw := range m.fws {
		var wants []netfilter.Want
		for _, mt := range cfg.MetersIn(f) {
			wants = append(wants, netfilter.MeterWant(mt, f))
		}
		rs, _ := fw.Rules()
		if _, err := netfilter.Reconcile(fw, rs, wants, nil, netfiltertest.CounterGen()); err != nil {
			m.t.Fatal(err)
		}
	}
}

func (m *fakeMachine) system() System {
	return System{
		Now: func() time.Time { return m.now },
		ReadFile: func(p string) ([]byte, error) {
			if v, ok := m.files[p]; ok {
				return []byte(v), nil
			}
			if strings.HasPrefix(p, m.dir) {
				return os.ReadFile(p)
			}
			return nil, fs.ErrNotExist
		},
		Stat: func(p string) (os.FileInfo, error) {
			if _, ok := m.files[p]; ok {
				return os.Stat(m.dir)
			}
			if strings.HasPrefix(p, m.dir) {
				return os.Stat(p)
			}
			return nil, fs.ErrNotExist
		},
		LookPath: func(name string) (string, error) { return "/usr/sbin/" + name, nil },
		Run: func(name string, args ...string) ([]byte, error) {
			out, ok := m.run[strings.Join(append([]string{name}, args...), " ")]
			if !ok {
				return nil, errors.New("not found")
			}
			return []byte(out), nil
		},
		Statfs: func(p string) (Filesystem, error) {
			if f, ok := m.fs[p]; ok {
				return f, nil
			}
			return Filesystem{}, fs.ErrNotExist
		},
		ClockSynced: func() (bool, error) { return m.synced, nil },
		Resolve: func(backend string) netfilter.Backend {
			return netfilter.Backend{Choice: netfilter.Choice{Iptables: "auto", Why: "a test"}, Option: backend}
		},
		NewFirewall: func(b netfilter.Backend, f netfilter.Family) (netfilter.Firewall, error) {
			if b.Native {
				return nil, netfilter.ErrNoNft
			}
			if f == netfilter.IPv6 && m.noIp6 {
				return nil, netfilter.ErrNoIptables
			}
			if m.fwErr != nil {
				return nil, m.fwErr
			}
			return m.fws[f], nil
		},
		NewSets: func(*config.Config, netfilter.Backend) (netfilter.Sets, error) {
			if m.nftSets {
				return holdingSets{m.sets}, m.setsErr
			}
			return m.sets, m.setsErr
		},
		AskReport: func(string, time.Duration) (*report.Report, error) {
			if m.daemon == nil {
				return nil, control.ErrNoDaemon
			}
			return m.daemon, nil
		},
		FirewallConfig: "/etc/config/firewall",
	}
}

func findingOf(r *Report, check string) Finding {
	for _, f := range r.Findings {
		if f.Check == check {
			return f
		}
	}
	return Finding{}
}

func TestDoctor_HealthyRouterIsAllOK(t *testing.T) {
	m := newFakeMachine(t)
	cfg := m.config("")
	m.install(cfg)
	r := Run(cfg, m.system())
	for _, f := range r.Findings {
		if f.Status != StatusOK && f.Check != "database" { // no database file in this fake
			t.Errorf("%s: %s %s", f.Check, f.Status, f.Detail)
		}
	}
	for _, c := range []string{"config", "iptables", "iptables rules", "ip6tables", "ip6tables rules", "host sets", "daemon", "snapshot", "live database", "clock", "offload", "routing"} {
		if findingOf(r, c).Status != StatusOK {
			t.Errorf("no OK finding for %s", c)
		}
	}
}

// Each fault the doctor knows, one at a time, with its verdict and the
// exit code that goes with it.
// A fault is one way a machine is broken, and the finding doctor must
// make of it: check's status, with detail in its text.
type fault struct {
	name, check, status, detail string
	config                      string // more config sections
	breakIt                     func(m *fakeMachine)
}

var faults = []fault{
	{"jump deleted", "iptables rules", StatusFail, "no jump to netmon-INPUT", "", func(m *fakeMachine) {
		fw := m.fws[netfilter.IPv4]
		fw.Chains["INPUT"] = fw.Chains["INPUT"][1:]
	}},
	{"iptables and iptables-save on different backends", "iptables", StatusFail, "different backends", "", func(m *fakeMachine) {
		m.fwErr = fmt.Errorf("%w: iptables is legacy, iptables-save is nf_tables", netfilter.ErrMixedBackends)
	}},
	{"daemon stopped", "daemon", StatusWarn, "not running", "", func(m *fakeMachine) { m.daemon = nil }},
	{"a flood of made-up addresses", "flood", StatusWarn, "70000 addresses that are no LAN host's evicted from netmon-dl6 since", "", func(m *fakeMachine) {
		m.daemon.Flood = &account.Flood{Since: m.now.Add(-time.Minute), Last: m.now, Evicted: 70000, Sets: []string{"netmon-dl6"}}
	}},
	{"daemon stalled", "daemon", StatusFail, "last sample was 10m0s ago", "", func(m *fakeMachine) {
		last := m.now.Add(-10 * time.Minute)
		m.daemon.LastSample = &last
	}},
	{"snapshot on tmpfs", "snapshot", StatusWarn, "lost at every reboot", "", func(m *fakeMachine) {
		m.fs[filepath.Join(m.dir, "flash")] = Filesystem{Type: "tmpfs", Free: 4 << 20}
	}},
	{"flash read-only", "snapshot", StatusFail, "read-only filesystem", "", func(m *fakeMachine) {
		m.fs[filepath.Join(m.dir, "flash")] = Filesystem{Type: "overlay", Free: 4 << 20, ReadOnly: true}
	}},
	{"live on flash", "live database", StatusWarn, "wears flash", "", func(m *fakeMachine) {
		m.fs[filepath.Join(m.dir, "run")] = Filesystem{Type: "overlay", Free: 4 << 20}
	}},
	{"flash full", "snapshot space", StatusFail, "writes fail", "", func(m *fakeMachine) {
		m.fs[filepath.Join(m.dir, "flash")] = Filesystem{Type: "overlay", Free: 8 << 10}
	}},
	{"clock unset", "clock", StatusFail, "1970-01-01", "", func(m *fakeMachine) { m.now = time.Unix(40, 0) }},
	{"clock unsynced", "clock", StatusWarn, "not synchronised", "", func(m *fakeMachine) { m.synced = false }},
	{"software offloading", "offload", StatusFail, "flow_offloading", "", func(m *fakeMachine) {
		m.files["/etc/config/firewall"] = "config defaults\n\toption flow_offloading '1'\n"
	}},
	{"hardware offload flowtable", "offload", StatusFail, "flowtable ft", "", func(m *fakeMachine) {
		m.run["nft list flowtables"] = "table inet fw4 {\n\tflowtable ft {\n\t\thook ingress priority filter\n\t}\n}\n"
	}},
	{"bridged access point", "routing", StatusWarn, "ip_forward is 0", "", func(m *fakeMachine) {
		m.files["/proc/sys/net/ipv4/ip_forward"] = "0\n"
	}},
	{"default route through the LAN", "routing", StatusWarn, "bridged access point", "", func(m *fakeMachine) {
		m.files["/proc/net/route"] = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\nbr-lan\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\nbr-lan\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
	}},
	{"no such LAN", "routing", StatusFail, "option lan 'br-lan': no such interface", "", func(m *fakeMachine) {
		delete(m.files, "/sys/class/net/br-lan")
	}},
	{"host sets gone", "host sets", StatusFail, "netmon-dl4, netmon-ul4", "", func(m *fakeMachine) {
		delete(m.sets.Sets, "netmon-dl4")
		delete(m.sets.Sets, "netmon-ul4")
	}},
	{"no set tool", "host sets", StatusFail, "cannot run", "", func(m *fakeMachine) { m.setsErr = netfilter.ErrNoIpset }},
	{"no ip6tables, a meter counts IPv6", "ip6tables", StatusFail, "iptables binary not found", "", func(m *fakeMachine) { m.noIp6 = true }},
	{"no xt_set", "host sets", StatusWarn, "xt_set", "", func(m *fakeMachine) { delete(m.files, "/sys/module/xt_set") }},
	{"world-readable password", "config file", StatusWarn, "mode 0644", "config mail\n\tlist to 'a@example.org'\n\toption from 'r@example.org'\n\toption server 'smtp.example.org'\n\toption password 'secret'\n", func(m *fakeMachine) {
		os.Chmod(filepath.Join(m.dir, "netmon"), 0o644)
	}},
}

func TestDoctor_EachFault(t *testing.T) {
	for _, c := range faults {
		t.Run(c.name, func(t *testing.T) {
			m := newFakeMachine(t)
			cfg := m.config(c.config)
			m.install(cfg)
			c.breakIt(m)
			r := Run(cfg, m.system())
			f := findingOf(r, c.check)
			if f.Status != c.status || !strings.Contains(f.Detail, c.detail) {
				t.Errorf("%s: %s %q; want %s containing %q", c.check, f.Status, f.Detail, c.status, c.detail)
			}
			if f.Status != StatusOK && f.Fix == "" {
				t.Errorf("%s: no fix given", c.check)
			}
			want := map[string]int{StatusWarn: 1, StatusFail: 2}[c.status]
			if c.status == StatusWarn && r.Status == StatusFail {
				t.Errorf("a warning made the whole report FAIL: %+v", r.Findings)
			}
			if c.status == StatusFail && r.ExitCode() != want {
				t.Errorf("exit code %d, want %d", r.ExitCode(), want)
			}
		})
	}
}

func TestDoctor_BadConfigFailsAlone(t *testing.T) {
	m := newFakeMachine(t)
	path := filepath.Join(m.dir, "netmon")
	os.WriteFile(path, []byte("config meter 'x'\n\toption chain 'SIDEWAYS'\n"), 0o600)
	r := Run(path, m.system())
	if len(r.Findings) != 1 || r.Findings[0].Status != StatusFail || r.ExitCode() != 2 {
		t.Errorf("%+v", r)
	}
	var b strings.Builder
	r.WriteText(&b)
	if !strings.HasPrefix(b.String(), "FAIL  config") {
		t.Errorf("text:\n%s", b.String())
	}
}

// A journal cut short (a power loss mid-write) is a warning, not a damaged
// database: the snapshot and the records before it restore, and nothing is
// to be done.
func TestDoctor_JournalTornTailWarns(t *testing.T) {
	m := newFakeMachine(t)
	cfg := m.config("")
	m.install(cfg)
	snapshot := filepath.Join(m.dir, "flash", "netmon.db")
	db, err := store.Open(filepath.Join(t.TempDir(), "live.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := store.NewState()
	for i := range 2 {
		s.LastSample = m.now.Add(time.Duration(i) * time.Minute)
		s.Touch()
		if err := db.Commit(s); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Persist(snapshot, false); err != nil {
			t.Fatal(err)
		}
	}
	if r := Run(cfg, m.system()); findingOf(r, "database").Status != StatusOK {
		t.Fatalf("sound snapshot and journal: %+v", findingOf(r, "database"))
	}
	fi, err := os.Stat(store.JournalPath(snapshot))
	if err != nil {
		t.Fatal(err)
	}
	os.Truncate(store.JournalPath(snapshot), fi.Size()-2)
	f := findingOf(Run(cfg, m.system()), "database")
	if f.Status != StatusWarn || !strings.Contains(f.Detail, "journal") {
		t.Errorf("torn journal: %+v, want a warning naming the journal", f)
	}
}

// egressProbe is the command line of doctor's check for the egress hook.
const egressProbe = "nft -c add table netdev netmon-probe { chain egress { type filter hook egress device lo priority 0; } }"

// Under flow offloading doctor names what still misses offloaded flows,
// and says so of nothing when the hosts are counted at the LAN's ports and
// no FORWARD meter or service is configured.
func TestDoctor_OffloadSaysWhatItMisses(t *testing.T) {
	const software = "nftables flowtable ft"
	for _, c := range []struct {
		name, status, detail string
		forwardMeter, nft    bool
		egress, hw           bool
	}{
		{"hosts at the ports", StatusOK, "the hosts are counted at the LAN's ports", false, true, true, false},
		{"a FORWARD meter", StatusFail, "FORWARD meters wan_in miss", true, true, true, false},
		{"ipsets", StatusFail, "the hosts (ipsets count in the forward hook", false, false, true, false},
		{"no egress hook", StatusFail, "the hosts' downloads (this kernel has no netdev egress hook", false, true, false, false},
		{"hardware offload", StatusFail, "hardware offload forwards in the switch chip", false, true, true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := newFakeMachine(t)
			m.nftSets = c.nft
			flags := ""
			if c.hw {
				flags = "\t\tflags offload;\n"
			}
			m.run["nft list flowtables"] = "table inet fw4 {\n\tflowtable ft {\n\t\thook ingress priority filter\n" + flags + "\t}\n}\n"
			if c.egress {
				m.run[egressProbe] = ""
			}
			cfg := m.config("")
			if !c.forwardMeter {
				os.WriteFile(cfg, []byte("config agent 'main'\n\toption database '"+m.dir+"/flash/netmon.db'\n\toption runtime_dir '"+m.dir+"/run'\n"), 0o600)
			}
			m.install(cfg)
			f := findingOf(Run(cfg, m.system()), "offload")
			if f.Status != c.status || !strings.Contains(f.Detail, c.detail) || !strings.Contains(f.Detail, software) {
				t.Errorf("offload: %s %q; want %s containing %q", f.Status, f.Detail, c.status, c.detail)
			}
			if c.hw && !strings.Contains(f.Fix, "flow_offloading_hw=0") {
				t.Errorf("hardware offload's fix: %q", f.Fix)
			}
		})
	}
}
