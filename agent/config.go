package agent

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/netmon-agent/netmon-agent/store"
)

// DefaultConfigPath is where OpenWrt keeps our UCI config.
const DefaultConfigPath = "/etc/config/netmon"

// Config is the agent's settings and meters, read from a UCI file.
type Config struct {
	Path string // the file it came from

	// Interval between samples. Rates and the kernel's counters need nothing
	// finer; 30 s matches nlbwmon's refresh.
	Interval time.Duration
	// CommitInterval between writes of the in-memory batch to the live
	// database on tmpfs. A crash loses nothing (the baselines committed with
	// the totals let the kernel's counters fill the gap), so this only bounds
	// tmpfs churn.
	CommitInterval time.Duration
	// PersistInterval between snapshots to flash: the most a power loss can
	// cost, and the knob for flash wear.
	PersistInterval time.Duration

	Database   string // durable snapshot, on flash
	RuntimeDir string // live database and control socket, on tmpfs

	LAN    string
	WAN    string
	Leases string
	Ethers string

	// Hosts turns per-host accounting on: every LAN device's download and
	// upload, through ipsets (hosts.go).
	Hosts bool
	// HostNames are the names `config host` sections give MACs; they win
	// over leases and /etc/ethers.
	HostNames map[string]string
	// MaxRate is the fastest believable traffic of one counter, in bits per
	// second: a delta that would mean more is bogus (history.go).
	MaxRate float64
	// Keep is how many history buckets of each resolution are kept.
	Keep store.Retention
	// PeriodStart is the billing day of month (1-31) for monthly quotas.
	PeriodStart int
	Quotas      []Quota

	Backend string // auto, nft or legacy: which iptables binaries to run
	// Sets says what holds the per-host sets: nft (a table of our own with
	// native nftables sets), ipset, or auto (nft when iptables is the nft
	// backend and the nft binary is there; ipset otherwise).
	Sets string
	IPv6 bool // meter IPv6 with ip6tables

	// GOGC and GOMemLimit tune the Go runtime of the daemon for small
	// routers, as the GOGC and GOMEMLIMIT variables would (-1: unset;
	// GOGC 0 means off).
	GOGC       int
	GOMemLimit int64

	// Listen is the address the daemon serves its page, API and /metrics
	// on ("192.168.1.1:8080"); empty: no web server.
	Listen string
	// Token is the bearer token every web request needs, except reads when
	// PublicRead is on; changes always need it.
	Token      string
	PublicRead bool

	Meters []Meter
	// Mail is `config mail`: where `netmon-agent mail` sends the report;
	// nil without one.
	Mail *MailConfig
}

// Defaults, chosen for a router's flash: see README's "Flash" section.
const (
	DefaultInterval        = 30 * time.Second
	DefaultCommitInterval  = 300 * time.Second
	DefaultPersistInterval = 3600 * time.Second
	DefaultDatabase        = "/etc/netmon/netmon.db"
	DefaultRuntimeDir      = "/var/lib/netmon"
)

// ErrNoConfig means the config file does not exist.
var ErrNoConfig = errors.New("config file not found")

// LoadConfig reads and validates the UCI config at path.
func LoadConfig(path string) (*Config, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", path, ErrNoConfig)
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	sections, err := parseUCI(path, f)
	if err != nil {
		return nil, err
	}
	return configFromSections(path, sections)
}

func configFromSections(path string, sections []uciSection) (*Config, error) {
	c := &Config{
		Path:            path,
		Interval:        DefaultInterval,
		CommitInterval:  DefaultCommitInterval,
		PersistInterval: DefaultPersistInterval,
		Database:        DefaultDatabase,
		RuntimeDir:      DefaultRuntimeDir,
		LAN:             "br-lan",
		WAN:             "wan",
		Leases:          "/tmp/dhcp.leases",
		Ethers:          "/etc/ethers",
		Hosts:           true,
		HostNames:       map[string]string{},
		PeriodStart:     1,
		MaxRate:         10e9,
		Keep:            store.DefaultRetention,
		Backend:         "auto",
		Sets:            "auto",
		IPv6:            true,
		GOGC:            -1,
		GOMemLimit:      -1,
	}
	bad := func(line int, format string, a ...any) error {
		return fmt.Errorf("%s:%d: %s", path, line, fmt.Sprintf(format, a...))
	}
	seen := map[string]int{}
	agents := 0
	for _, s := range sections {
		switch s.Type {
		case "agent":
			agents++
			if agents > 1 {
				return nil, bad(s.Line, "a second agent section")
			}
			for _, o := range s.Options {
				if o.List {
					return nil, bad(o.Line, "option %s takes one value, not a list", o.Name)
				}
				if err := c.setAgentOption(o); err != nil {
					return nil, bad(o.Line, "%v", err)
				}
			}
		case "meter":
			if s.Name == "" {
				return nil, bad(s.Line, "a meter section needs a name (config meter 'NAME')")
			}
			if !validName(s.Name) {
				return nil, bad(s.Line, "bad meter name %q: use letters, digits, '_' and '-', at most 32", s.Name)
			}
			if first, dup := seen[s.Name]; dup {
				return nil, bad(s.Line, "duplicate meter name %q (first at line %d)", s.Name, first)
			}
			seen[s.Name] = s.Line
			m, err := meterFromSection(s, bad)
			if err != nil {
				return nil, err
			}
			c.Meters = append(c.Meters, m)
		case "host":
			mac, name := "", ""
			for _, o := range s.Options {
				switch {
				case o.List:
					return nil, bad(o.Line, "host: option %s takes one value, not a list", o.Name)
				case o.Name == "mac":
					if mac = normalMAC(o.Value); mac == "" {
						return nil, bad(o.Line, "host: malformed MAC %q", o.Value)
					}
				case o.Name == "name":
					if name = cleanName(o.Value); name == "" {
						return nil, bad(o.Line, "host: empty name %q", o.Value)
					}
				default:
					return nil, bad(o.Line, "host: unknown option %q", o.Name)
				}
			}
			if mac == "" || name == "" {
				return nil, bad(s.Line, "a host section needs option mac and option name")
			}
			c.HostNames[mac] = name
		case "quota":
			q, err := quotaFromSection(s, bad)
			if err != nil {
				return nil, err
			}
			if c.hasQuota(q.Name) {
				return nil, bad(s.Line, "duplicate quota name %q", q.Name)
			}
			c.Quotas = append(c.Quotas, q)
		case "mail":
			if c.Mail != nil {
				return nil, bad(s.Line, "a second mail section")
			}
			m, err := mailFromSection(s, bad)
			if err != nil {
				return nil, err
			}
			c.Mail = m
		default:
			return nil, bad(s.Line, "unknown section type %q (want agent, meter, host, quota or mail)", s.Type)
		}
	}
	for i := range c.Quotas {
		if c.Quotas[i].Start == 0 {
			c.Quotas[i].Start = c.PeriodStart
		}
	}
	if c.CommitInterval < c.Interval {
		c.CommitInterval = c.Interval
	}
	if c.PersistInterval < c.CommitInterval {
		c.PersistInterval = c.CommitInterval
	}
	if !c.IPv6 {
		for _, m := range c.Meters {
			if m.Src.IsSet() && m.Src.Family() == IPv6 || m.Dst.IsSet() && m.Dst.Family() == IPv6 {
				return nil, fmt.Errorf("%s: meter %s is IPv6 but option ipv6 is '0'", path, m.Name)
			}
		}
	}
	return c, nil
}

func (c *Config) setAgentOption(o uciOption) error {
	v := o.Value
	switch o.Name {
	case "interval":
		return setDuration(&c.Interval, o)
	case "commit_interval":
		return setDuration(&c.CommitInterval, o)
	case "persist_interval":
		return setDuration(&c.PersistInterval, o)
	case "database":
		return setPath(&c.Database, o)
	case "runtime_dir":
		return setPath(&c.RuntimeDir, o)
	case "lan":
		if !validIface(v) || strings.ContainsAny(v, `"\;`) {
			return fmt.Errorf("option lan: malformed interface name %q", v)
		}
		c.LAN = v
	case "wan":
		c.WAN = v
	case "leases":
		c.Leases = v
	case "ethers":
		c.Ethers = v
	case "period_start":
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 31 {
			return fmt.Errorf("option period_start: %q is not a day of month (1-31)", v)
		}
		c.PeriodStart = n
	case "hosts":
		b, err := parseBool(v)
		if err != nil {
			return fmt.Errorf("option hosts: %v", err)
		}
		c.Hosts = b
	case "backend":
		switch v {
		case "auto", "nft", "legacy":
			c.Backend = v
		default:
			return fmt.Errorf("option backend: %q is not auto, nft or legacy", v)
		}
	case "max_rate":
		r, err := parseRate(v)
		if err != nil {
			return fmt.Errorf("option max_rate: %v", err)
		}
		c.MaxRate = r
	case "keep_5min", "keep_hour", "keep_day", "keep_month", "keep_year":
		res, _ := store.ParseResolution(strings.TrimPrefix(o.Name, "keep_"))
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("option %s: %q is not a number of buckets (0 keeps all)", o.Name, v)
		}
		c.Keep[res] = n
	case "sets":
		switch v {
		case "auto", "nft", "ipset":
			c.Sets = v
		default:
			return fmt.Errorf("option sets: %q is not auto, nft or ipset", v)
		}
	case "gogc":
		if v == "off" {
			c.GOGC = 0
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return fmt.Errorf("option gogc: %q is not a positive percentage or off", v)
		}
		c.GOGC = n
	case "gomemlimit":
		n, err := parseSize(v)
		if err != nil {
			return fmt.Errorf("option gomemlimit: %v", err)
		}
		c.GOMemLimit = n
	case "listen":
		if v == "" {
			c.Listen = ""
			return nil
		}
		host, port, err := net.SplitHostPort(v)
		if err != nil {
			return fmt.Errorf("option listen: %q is not ADDRESS:PORT (192.168.1.1:8080, [::]:9465): %v", v, err)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("option listen: %q: malformed port %q", v, port)
		}
		if host != "" {
			if _, err := netip.ParseAddr(host); err != nil {
				return fmt.Errorf("option listen: %q: malformed address %q (an IP address, not a name)", v, host)
			}
		}
		c.Listen = v
	case "token":
		if len(v) < 16 || strings.ContainsAny(v, " \t\r\n") {
			return fmt.Errorf("option token: must be at least 16 characters without spaces (netmon-agent token --new makes one)")
		}
		c.Token = v
	case "public_read":
		b, err := parseBool(v)
		if err != nil {
			return fmt.Errorf("option public_read: %v", err)
		}
		c.PublicRead = b
	case "ipv6":
		b, err := parseBool(v)
		if err != nil {
			return fmt.Errorf("option ipv6: %v", err)
		}
		c.IPv6 = b
	default:
		return fmt.Errorf("unknown option %q in the agent section", o.Name)
	}
	return nil
}

// setDuration accepts whole seconds, as UCI configs write them, or a Go
// duration such as "500ms" (the lab uses those to run in seconds).
func setDuration(d *time.Duration, o uciOption) error {
	v := strings.TrimSpace(o.Value)
	if n, err := strconv.Atoi(v); err == nil {
		if n <= 0 {
			return fmt.Errorf("option %s: %q must be a positive number of seconds", o.Name, o.Value)
		}
		*d = time.Duration(n) * time.Second
		return nil
	}
	x, err := time.ParseDuration(v)
	if err != nil || x < 10*time.Millisecond {
		return fmt.Errorf("option %s: %q is not a number of seconds", o.Name, o.Value)
	}
	*d = x
	return nil
}

func setPath(p *string, o uciOption) error {
	if !strings.HasPrefix(o.Value, "/") {
		return fmt.Errorf("option %s: %q is not an absolute path", o.Name, o.Value)
	}
	*p = o.Value
	return nil
}

func meterFromSection(s uciSection, bad func(int, string, ...any) error) (Meter, error) {
	m := Meter{Name: s.Name}
	chainLine := s.Line
	for _, o := range s.Options {
		if o.List {
			return m, bad(o.Line, "meter %s: option %s takes one value, not a list", s.Name, o.Name)
		}
		v := strings.TrimSpace(o.Value)
		var err error
		switch o.Name {
		case "chain":
			m.Chain = strings.ToUpper(v)
			chainLine = o.Line
			if !slices.Contains(meterChains, m.Chain) {
				err = fmt.Errorf("chain %q is not supported (INPUT, OUTPUT or FORWARD)", v)
			}
		case "src":
			m.Src, err = parseAddress(v)
		case "dst":
			m.Dst, err = parseAddress(v)
		case "in":
			m.In = v
			if !validIface(v) {
				err = fmt.Errorf("malformed interface %q", o.Value)
			}
		case "out":
			m.Out = v
			if !validIface(v) {
				err = fmt.Errorf("malformed interface %q", o.Value)
			}
		case "proto":
			m.Proto = strings.ToLower(v)
			if !validProto(m.Proto) {
				err = fmt.Errorf("unknown protocol %q", o.Value)
			}
		case "sport":
			m.Sport, err = parsePort(v)
		case "dport":
			m.Dport, err = parsePort(v)
		default:
			err = fmt.Errorf("unknown option %q", o.Name)
		}
		if err != nil {
			return m, bad(o.Line, "meter %s: %v", s.Name, err)
		}
	}
	if m.Chain == "" {
		return m, bad(s.Line, "meter %s: option chain is missing (INPUT, OUTPUT or FORWARD)", s.Name)
	}
	if m.Src.IsSet() && m.Dst.IsSet() && m.Src.Family() != m.Dst.Family() {
		return m, bad(s.Line, "meter %s: src %s and dst %s are of different families", s.Name, m.Src, m.Dst)
	}
	if m.Chain == "INPUT" && m.Out != "" {
		return m, bad(chainLine, "meter %s: chain INPUT has no output interface (option out)", s.Name)
	}
	if m.Chain == "OUTPUT" && m.In != "" {
		return m, bad(chainLine, "meter %s: chain OUTPUT has no input interface (option in)", s.Name)
	}
	if (m.Sport != "" || m.Dport != "") && !portProtos[m.Proto] {
		return m, bad(s.Line, "meter %s: sport and dport need proto tcp, udp, udplite, sctp or dccp", s.Name)
	}
	fams := m.Families()
	if m.Proto == "icmp" && len(fams) == 1 && fams[0] == IPv6 || (m.Proto == "icmpv6" || m.Proto == "ipv6-icmp") && len(fams) == 1 && fams[0] == IPv4 {
		return m, bad(s.Line, "meter %s: proto %s does not fit its %s addresses", s.Name, m.Proto, fams[0])
	}
	return m, nil
}

func (c *Config) hasQuota(name string) bool {
	for _, q := range c.Quotas {
		if q.Name == name {
			return true
		}
	}
	return false
}

func quotaFromSection(s uciSection, bad func(int, string, ...any) error) (Quota, error) {
	q := Quota{Name: s.Name, Period: "month", Action: "block"}
	if !validName(q.Name) {
		return q, bad(s.Line, "a quota section needs a name (config quota 'NAME')")
	}
	for _, o := range s.Options {
		if o.List {
			return q, bad(o.Line, "quota %s: option %s takes one value, not a list", q.Name, o.Name)
		}
		v := strings.TrimSpace(o.Value)
		var err error
		switch o.Name {
		case "host":
			q.Host = v
			if v == "" {
				err = fmt.Errorf("empty host")
			}
		case "limit":
			q.Limit, err = parseLimit(v)
		case "period":
			q.Period = v
			if v != "day" && v != "month" {
				err = fmt.Errorf("period %q is not day or month", v)
			}
		case "period_start":
			q.Start, err = strconv.Atoi(v)
			if err != nil || q.Start < 1 || q.Start > 31 {
				err = fmt.Errorf("period_start %q is not a day of month (1-31)", v)
			}
		case "action":
			q.Action = v
			if v != "block" && v != "warn" {
				err = fmt.Errorf("action %q is not block or warn", v)
			}
		default:
			err = fmt.Errorf("unknown option %q", o.Name)
		}
		if err != nil {
			return q, bad(o.Line, "quota %s: %v", q.Name, err)
		}
	}
	if q.Host == "" || q.Limit == 0 {
		return q, bad(s.Line, "quota %s needs option host (a MAC, a name or '*') and option limit", q.Name)
	}
	return q, nil
}

// MetersIn returns the meters that count in family f.
func (c *Config) MetersIn(f Family) []Meter {
	var out []Meter
	for _, m := range c.Meters {
		if m.CountsIn(f) && (f == IPv4 || c.IPv6) {
			out = append(out, m)
		}
	}
	return out
}

// LiveDatabase is the path of the live bbolt file on tmpfs.
func (c *Config) LiveDatabase() string { return c.RuntimeDir + "/live.db" }

// SocketPath is the daemon's control socket.
func (c *Config) SocketPath() string { return c.RuntimeDir + "/netmon.sock" }
