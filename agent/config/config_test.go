package config_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/account/accounttest"
	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/netfilter"
	"github.com/netmon-agent/netmon-agent/agent/uci"
	"github.com/netmon-agent/netmon-agent/agent/units"
)

// The config from the issue, byte for byte.
const issueConfig = `config agent 'main'
	option interval '30'              # seconds between samples
	option commit_interval '300'      # seconds between commits to the live database
	option persist_interval '3600'    # seconds between snapshots to flash
	option database '/etc/netmon/netmon.db'   # durable copy, on flash
	option runtime_dir '/var/lib/netmon'      # live database, on tmpfs
	option lan 'br-lan'               # used by per-host accounting (separate issue)
	option wan 'wan'
	option leases '/tmp/dhcp.leases'

config meter 'proxy'
	option chain 'INPUT'
	option src '192.168.0.10'

config meter 'offnet'
	option chain 'INPUT'
	option src '!192.168.0.0/24'
`

func TestLoadConfig_IssueExample(t *testing.T) {
	cfg, err := config.Load(accounttest.WriteConfig(t, issueConfig))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Interval != 30*time.Second || cfg.CommitInterval != 300*time.Second || cfg.PersistInterval != time.Hour {
		t.Errorf("intervals %v %v %v", cfg.Interval, cfg.CommitInterval, cfg.PersistInterval)
	}
	if cfg.Database != "/etc/netmon/netmon.db" || cfg.RuntimeDir != "/var/lib/netmon" || cfg.LAN != "br-lan" || cfg.WAN != "wan" || cfg.Leases != "/tmp/dhcp.leases" {
		t.Errorf("paths %+v", cfg)
	}
	if len(cfg.Meters) != 2 {
		t.Fatalf("%d meters", len(cfg.Meters))
	}
	proxy, offnet := cfg.Meters[0], cfg.Meters[1]
	if proxy.Name != "proxy" || proxy.Chain != "INPUT" || proxy.Src.String() != "192.168.0.10" {
		t.Errorf("proxy %+v", proxy)
	}
	if offnet.Name != "offnet" || !offnet.Src.Negate || offnet.Src.String() != "!192.168.0.0/24" {
		t.Errorf("offnet %+v", offnet)
	}
	if !slices.Equal(offnet.Families(), []netfilter.Family{netfilter.IPv4}) {
		t.Errorf("offnet families %v", offnet.Families())
	}
}

func TestLoadConfig_Defaults(t *testing.T) {
	cfg, err := config.Load(accounttest.WriteConfig(t, "config meter 'm'\n\toption chain 'FORWARD'\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Interval != config.DefaultInterval || cfg.Database != config.DefaultDatabase || cfg.RuntimeDir != config.DefaultRuntimeDir || cfg.Backend != "auto" || !cfg.IPv6 {
		t.Errorf("defaults %+v", cfg)
	}
	if !slices.Equal(cfg.Meters[0].Families(), []netfilter.Family{netfilter.IPv4, netfilter.IPv6}) {
		t.Errorf("a meter without addresses counts in %v, want both", cfg.Meters[0].Families())
	}
}

func TestParseUCI_Syntax(t *testing.T) {
	text := `package netmon
# a comment line
config agent
	option interval "15"   # double quotes
	option wan wan0
config 'meter' "it's"
	option chain	INPUT
	list dport '80'
	option src 'a'"b"c
	option dst "say \"hi\""
`
	secs, err := uci.Parse("f", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if len(secs) != 2 || secs[0].Type != "agent" || secs[0].Name != "" || secs[1].Type != "meter" || secs[1].Name != "it's" {
		t.Fatalf("sections %+v", secs)
	}
	o := secs[1].Options
	if o[0].Value != "INPUT" || !o[1].List || o[1].Value != "80" || o[2].Value != "abc" || o[3].Value != `say "hi"` {
		t.Errorf("options %+v", o)
	}
	if secs[0].Options[0].Value != "15" || secs[0].Options[1].Line != 5 {
		t.Errorf("agent options %+v", secs[0].Options)
	}
}

// Every error names the file, the line and the bad value.
func TestLoadConfig_Errors(t *testing.T) {
	meter := "config meter 'm'\n\toption chain 'INPUT'\n"
	cases := []struct{ text, want string }{
		{meter + "\toption colour 'red'\n", `:3: meter m: unknown option "colour"`},
		{meter + "\toption src '192.168.0.300'\n", `:3: meter m: malformed address "192.168.0.300"`},
		{meter + "\toption src '10.0.0.0/33'\n", `:3: meter m: malformed address "10.0.0.0/33"`},
		{meter + meter, `:3: duplicate meter name "m" (first at line 1)`},
		{"config meter 'm'\n\toption chain 'PREROUTING'\n", `:2: meter m: chain "PREROUTING" is not supported`},
		{"config meter 'm'\n\toption src '10.0.0.1'\n", `:1: meter m: option chain is missing`},
		{"config meter\n\toption chain 'INPUT'\n", `:1: a meter section needs a name`},
		{"config meter 'a b'\n", `:1: bad meter name "a b"`},
		{"config agent\n\toption interval 'soon'\n", `:2: option interval: "soon" is not a number of seconds`},
		{"config agent\n\toption interval '-5'\n", `:2: option interval: "-5" must be a positive number`},
		// Values that once overflowed: a crash at start or reload, or a
		// silent 290 ms.
		{"config agent\n\toption interval '9300000000'\n", `:2: option interval: "9300000000" is more than 1h0m0s: at most 3600 seconds`},
		{"config agent\n\toption interval '18446744074'\n", `:2: option interval: "18446744074" is more than 1h0m0s`},
		{"config agent\n\toption interval '99999999999999999999'\n", `:2: option interval: "99999999999999999999" is not a number of seconds`},
		{"config agent\n\toption interval '5ms'\n", `:2: option interval: "5ms" is out of range: 10ms to 1h0m0s`},
		{"config agent\n\toption commit_interval '86401'\n", `:2: option commit_interval: "86401" is more than 24h0m0s`},
		{"config agent\n\toption persist_interval '1000h'\n", `:2: option persist_interval: "1000h" is out of range: 10ms to 168h0m0s`},
		{"config agent\n\toption keep_day '1000001'\n", `:2: option keep_day: "1000001" is not a number of buckets from 0 (keeps all) to 1000000`},
		{"config agent\n\toption gogc '99999999999999999999'\n", `:2: option gogc: "99999999999999999999" is not a positive percentage or off`},
		{"config agent\n\toption gomemlimit '1MiB'\n", `:2: option gomemlimit: "1MiB" is out of range: 4MiB to 1024GiB`},
		{"config agent\n\toption leases 'dhcp.leases'\n", `:2: option leases: "dhcp.leases" is not an absolute path`},
		{"config agent\n\toption database 'netmon.db'\n", `:2: option database: "netmon.db" is not an absolute path`},
		{"config agent\n\toption backend 'nftables'\n\toption sets 'ipset'\n", `: option sets 'ipset' needs an iptables backend`},
		{"config agent\n\toption backend 'ebtables'\n", `:2: option backend: "ebtables" is not auto, nftables, iptables, nft or legacy`},
		{"config agent\n\toption sets 'xtables'\n", `:2: option sets: "xtables" is not auto, nft or ipset`},
		{"config agent\n\toption max_rate 'fast'\n", `:2: option max_rate: malformed rate "fast"`},
		{"config agent\n\toption keep_day '-1'\n", `:2: option keep_day: "-1" is not a number of buckets`},
		{"config agent\n\toption lan 'br\"lan'\n", `:2: option lan: malformed interface name`},
		{"config agent\n\toption bogus '1'\n", `:2: unknown option "bogus" in the agent section`},
		{"config rule\n", `:1: unknown section type "rule"`},
		{"config host\n\toption mac '02:00:00:00:01:zz'\n\toption name 'x'\n", `:2: host: malformed MAC "02:00:00:00:01:zz"`},
		{"config host\n\toption name 'x'\n", `:1: a host section needs option mac and option name`},
		{"config quota 'q'\n\toption host '*'\n\toption limit 'lots'\n", `:3: quota q: malformed limit "lots"`},
		{"config quota 'q'\n\toption host '*'\n\toption limit '1G'\n\toption period 'week'\n", `:4: quota q: period "week" is not day or month`},
		{"config quota 'q'\n\toption limit '1G'\n", `:1: quota q needs option host`},
		{"config quota 'q'\n\toption host '*'\n\toption limit '1G'\n\toption action 'shame'\n", `:4: quota q: action "shame" is not block, throttle or warn`},
		{"config quota 'q'\n\toption host '*'\n\toption limit '1G'\n\toption action 'throttle'\n", `:1: quota q: action 'throttle' needs option rate`},
		{"config quota 'q'\n\toption host '*'\n\toption limit '1G'\n\toption rate '2mbit'\n", `:1: quota q: options rate and rate_up are for action 'throttle', not "block"`},
		{"config quota 'q'\n\toption host '*'\n\toption limit '1G'\n\toption action 'throttle'\n\toption rate '2mbyte'\n", `:5: quota q: rate "2mbyte" is not a rate from 8kbit to 1gbit`},
		{"config quota 'q'\n\toption host '*'\n\toption limit '1G'\n\tlist warn_at '120'\n", `:4: quota q: warn_at "120" is not a percent of the limit (1-100)`},
		{"config quota 'q'\n\toption host '*'\n\toption limit '1G'\n\tlist warn_at 'most'\n", `:4: quota q: warn_at "most" is not a percent of the limit (1-100)`},
		{"config quota 'q'\n\toption host '*'\n\toption limit '1G'\n\tlist limit '2G'\n", `:4: quota q: option limit takes one value, not a list`},
		{"config agent\n\toption period_start '32'\n", `:2: option period_start: "32" is not a day of month (1-31)`},
		{"config agent\n\toption gogc 'lots'\n", `:2: option gogc: "lots" is not a positive percentage or off`},
		{"config agent\n\toption gomemlimit '48MB'\n", `:2: option gomemlimit: "48MB" is not a size such as 48MiB`},
		{"option x 'y'\n", `:1: option "x" outside a config section`},
		{"config meter 'm'\n\toption chain 'INPUT\n", `:2: unterminated single quote`},
		{"config meter 'm'\n\toption chain 'INPUT' extra\n", `:2: option takes a name and one value`},
		{meter + "\tlist src '10.0.0.1'\n", `:3: meter m: option src takes one value, not a list`},
		{meter + "\toption dport '80'\n", `meter m: sport and dport need proto`},
		{meter + "\toption proto 'tcp'\n\toption dport '80000'\n", `:4: meter m: malformed port "80000"`},
		{meter + "\toption proto 'carrier-pigeon'\n", `:3: meter m: unknown protocol "carrier-pigeon"`},
		{meter + "\toption out 'eth0'\n", `:2: meter m: chain INPUT has no output interface`},
		{meter + "\toption src '10.0.0.1'\n\toption dst '2001:db8::1'\n", `meter m: src 10.0.0.1 and dst 2001:db8::1 are of different families`},
		{meter + "\toption proto 'icmp'\n\toption src '2001:db8::1'\n", `meter m: proto icmp does not fit its ipv6 addresses`},
		{meter + "\toption in 'eth 0'\n", `:3: meter m: malformed interface "eth 0"`},
		{"config agent\n\toption ipv6 '0'\n" + meter + "\toption src '2001:db8::1'\n", `meter m is IPv6 but option ipv6 is '0'`},
	}
	for _, tc := range cases {
		path := accounttest.WriteConfig(t, tc.text)
		_, err := config.Load(path)
		if err == nil {
			t.Errorf("config %q loaded; want error %q", tc.text, tc.want)
			continue
		}
		if !strings.HasPrefix(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config %q: error %q, want %q after the file name", tc.text, err, tc.want)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("error %q spans lines", err)
		}
	}
}

func TestLoadConfig_Missing(t *testing.T) {
	_, err := config.Load(filepath.Join(t.TempDir(), "nope"))
	if err == nil || !strings.Contains(err.Error(), "nope: config file not found") {
		t.Errorf("error %v", err)
	}
}

func TestLoadConfig_IntervalsNeverInverted(t *testing.T) {
	cfg, err := config.Load(accounttest.WriteConfig(t, "config agent\n\toption interval '60'\n\toption commit_interval '10'\n\toption persist_interval '20'\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CommitInterval != time.Minute || cfg.PersistInterval != time.Minute {
		t.Errorf("commit %v persist %v, want both raised to the interval", cfg.CommitInterval, cfg.PersistInterval)
	}
}

// The rule each meter option renders to, per family.
func TestMeter_Match(t *testing.T) {
	cases := []struct {
		options string
		fam     netfilter.Family
		want    string
	}{
		{"option src '192.168.0.10'", netfilter.IPv4, "-s 192.168.0.10/32"},
		{"option src '!192.168.0.0/24'", netfilter.IPv4, "! -s 192.168.0.0/24"},
		{"option src '192.168.0.77/24'", netfilter.IPv4, "-s 192.168.0.0/24"},
		{"option dst '2001:db8::/32'", netfilter.IPv6, "-d 2001:db8::/32"},
		{"option dst '!2001:DB8::1'", netfilter.IPv6, "! -d 2001:db8::1/128"},
		{"option in 'wan'", netfilter.IPv4, "-i wan"},
		{"option in 'eth+'", netfilter.IPv6, "-i eth+"},
		{"option proto 'udp'\n\toption sport '53'", netfilter.IPv4, "-p udp -m udp --sport 53"},
		{"option proto 'tcp'\n\toption dport '8000-8080'", netfilter.IPv6, "-p tcp -m tcp --dport 8000:8080"},
		{"option proto 'icmpv6'", netfilter.IPv6, "-p ipv6-icmp"},
		{"option proto 'icmp'", netfilter.IPv4, "-p icmp"},
		{"option proto '47'", netfilter.IPv4, "-p 47"},
		{"", netfilter.IPv4, ""},
	}
	for _, tc := range cases {
		cfg := accounttest.MustConfig(t, "config meter 'm'\n\toption chain 'FORWARD'\n\t"+tc.options+"\n")
		m := cfg.Meters[0]
		if !m.CountsIn(tc.fam) {
			t.Errorf("%q: does not count in %s", tc.options, tc.fam)
		}
		if got := strings.Join(m.Match(tc.fam), " "); got != tc.want {
			t.Errorf("%q: match %q, want %q", tc.options, got, tc.want)
		}
	}
}

func TestMeter_Families(t *testing.T) {
	cases := map[string][]netfilter.Family{
		"option src '10.0.0.1'":    {netfilter.IPv4},
		"option dst '2001:db8::1'": {netfilter.IPv6},
		"option proto 'icmp'":      {netfilter.IPv4},
		"option proto 'icmpv6'":    {netfilter.IPv6},
		"option proto 'tcp'":       {netfilter.IPv4, netfilter.IPv6},
		"option out 'wan'":         {netfilter.IPv4, netfilter.IPv6},
	}
	for opt, want := range cases {
		m := accounttest.MustConfig(t, "config meter 'm'\n\toption chain 'FORWARD'\n\t"+opt+"\n").Meters[0]
		if got := m.Families(); !slices.Equal(got, want) {
			t.Errorf("%q: families %v, want %v", opt, got, want)
		}
	}
}

func TestLoadConfig_RuntimeTuning(t *testing.T) {
	cfg, err := config.Load(accounttest.WriteConfig(t, "config agent\n\toption gogc '50'\n\toption gomemlimit '48MiB'\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GOGC != 50 || cfg.GOMemLimit != 48<<20 {
		t.Errorf("gogc %d gomemlimit %d", cfg.GOGC, cfg.GOMemLimit)
	}
	for v, want := range map[string]int64{"1000": 1000, "2KiB": 2048, "1GiB": 1 << 30, "7B": 7} {
		if n, err := units.ParseSize(v); err != nil || n != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", v, n, err, want)
		}
	}
}

// The config the package ships and the example of every option load.
func TestLoadConfig_Shipped(t *testing.T) {
	for _, p := range []string{"etc/config/netmon", "usr/share/netmon-agent/netmon.example"} {
		cfg, err := config.Load("../../openwrt/netmon-agent/files/" + p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if len(cfg.Meters) < 2 {
			t.Errorf("%s: %d meters", p, len(cfg.Meters))
		}
	}
	cfg, _ := config.Load("../../openwrt/netmon-agent/files/usr/share/netmon-agent/netmon.example")
	if cfg == nil || cfg.Mail == nil || cfg.Mail.MsmtpAccount != "default" || cfg.Mail.Sendmail != config.DefaultMsmtp || len(cfg.Quotas) != 1 {
		t.Errorf("example: mail %+v, quotas %v", cfg.Mail, cfg.Quotas)
	}
}
