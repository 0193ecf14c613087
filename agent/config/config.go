package config

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/hosts"
	"github.com/netmon-agent/netmon-agent/agent/netfilter"
	"github.com/netmon-agent/netmon-agent/agent/uci"
	"github.com/netmon-agent/netmon-agent/store"
)

// DefaultConfigPath is where OpenWrt keeps our UCI config.
const DefaultPath = "/etc/config/netmon"

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
	// ServicesOn counts each host's usage by service (option services);
	// Services are the configured ones, then the built-in ones.
	ServicesOn bool
	Services   []Service

	// Backend is where the meters go: auto, nftables, iptables, or nft or
	// legacy (the iptables binaries of that variant). See netfilter.Choose.
	Backend string
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

	Meters []netfilter.Meter
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

// Load reads and validates the UCI config at path.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", path, ErrNoConfig)
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	sections, err := uci.Parse(path, f)
	if err != nil {
		return nil, err
	}
	return FromSections(path, sections)
}

// FromSections builds the config from the sections of the file at path
// (named in errors), with every value checked.
func FromSections(path string, sections []uci.Section) (*Config, error) {
	r := &reader{c: defaults(path), path: path, meters: map[string]int{}}
	for _, s := range sections {
		read, ok := sectionReaders[s.Type]
		if !ok {
			return nil, r.bad(s.Line, "unknown section type %q (want agent, meter, host, quota, service or mail)", s.Type)
		}
		if err := read(r, s); err != nil {
			return nil, err
		}
	}
	return r.finish()
}

func defaults(path string) *Config {
	return &Config{
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
		ServicesOn:      true,
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
}

// A reader fills a Config section by section.
type reader struct {
	c      *Config
	path   string
	meters map[string]int // meter name -> its line, to refuse duplicates
	// services are the config service sections read so far.
	services []Service
	agents   int
}

// bad is an error at line of the file: "FILE:LINE: problem"; sections
// with no line (from arguments) are "FILE: problem".
func (r *reader) bad(line int, format string, a ...any) error {
	if line <= 0 {
		return fmt.Errorf("%s: %s", r.path, fmt.Sprintf(format, a...))
	}
	return fmt.Errorf("%s:%d: %s", r.path, line, fmt.Sprintf(format, a...))
}

// sectionReaders read each section type of the file.
var sectionReaders = map[string]func(r *reader, s uci.Section) error{
	"agent":   (*reader).agent,
	"meter":   (*reader).meter,
	"host":    (*reader).host,
	"quota":   (*reader).quota,
	"mail":    (*reader).mail,
	"service": (*reader).service,
}

func (r *reader) agent(s uci.Section) error {
	if r.agents++; r.agents > 1 {
		return r.bad(s.Line, "a second agent section")
	}
	for _, o := range s.Options {
		if o.List {
			return r.bad(o.Line, "option %s takes one value, not a list", o.Name)
		}
		set, ok := agentOptions[o.Name]
		if !ok {
			return r.bad(o.Line, "unknown option %q in the agent section", o.Name)
		}
		if err := set(r.c, o.Value); err != nil {
			return r.bad(o.Line, "option %s: %v", o.Name, err)
		}
	}
	return nil
}

func (r *reader) meter(s uci.Section) error {
	if s.Name == "" {
		return r.bad(s.Line, "a meter section needs a name (config meter 'NAME')")
	}
	if !netfilter.ValidName(s.Name) {
		return r.bad(s.Line, "bad meter name %q: use letters, digits, '_' and '-', at most 32", s.Name)
	}
	if first, dup := r.meters[s.Name]; dup {
		return r.bad(s.Line, "duplicate meter name %q (first at line %d)", s.Name, first)
	}
	r.meters[s.Name] = s.Line
	m, err := meterFromSection(s, r.bad)
	if err != nil {
		return err
	}
	r.c.Meters = append(r.c.Meters, m)
	return nil
}

func (r *reader) host(s uci.Section) error {
	mac, name := "", ""
	for _, o := range s.Options {
		switch {
		case o.List:
			return r.bad(o.Line, "host: option %s takes one value, not a list", o.Name)
		case o.Name == "mac":
			if mac = hosts.NormalMAC(o.Value); mac == "" {
				return r.bad(o.Line, "host: malformed MAC %q", o.Value)
			}
		case o.Name == "name":
			if name = hosts.CleanName(o.Value); name == "" {
				return r.bad(o.Line, "host: empty name %q", o.Value)
			}
		default:
			return r.bad(o.Line, "host: unknown option %q", o.Name)
		}
	}
	if mac == "" || name == "" {
		return r.bad(s.Line, "a host section needs option mac and option name")
	}
	r.c.HostNames[mac] = name
	return nil
}

func (r *reader) quota(s uci.Section) error {
	q, err := quotaFromSection(s, r.bad)
	if err != nil {
		return err
	}
	if r.c.HasQuota(q.Name) {
		return r.bad(s.Line, "duplicate quota name %q", q.Name)
	}
	r.c.Quotas = append(r.c.Quotas, q)
	return nil
}

func (r *reader) mail(s uci.Section) error {
	if r.c.Mail != nil {
		return r.bad(s.Line, "a second mail section")
	}
	m, err := MailFromSection(s, r.bad)
	if err != nil {
		return err
	}
	r.c.Mail = m
	return nil
}

// finish settles what depends on more than one section.
func (r *reader) finish() (*Config, error) {
	c := r.c
	if err := c.finishServices(r.services); err != nil {
		return nil, fmt.Errorf("%s: %w", r.path, err)
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
	if c.Backend == "nftables" && c.Sets == "ipset" {
		return nil, fmt.Errorf("%s: option sets 'ipset' needs an iptables backend; with backend 'nftables' the host sets are nft (leave sets 'auto')", r.path)
	}
	if !c.IPv6 {
		for _, m := range c.Meters {
			if m.Src.IsSet() && m.Src.Family() == netfilter.IPv6 || m.Dst.IsSet() && m.Dst.Family() == netfilter.IPv6 {
				return nil, fmt.Errorf("%s: meter %s is IPv6 but option ipv6 is '0'", r.path, m.Name)
			}
		}
	}
	return c, nil
}

// MetersIn returns the meters that count in family f.
func (c *Config) MetersIn(f netfilter.Family) []netfilter.Meter {
	var out []netfilter.Meter
	for _, m := range c.Meters {
		if m.CountsIn(f) && (f == netfilter.IPv4 || c.IPv6) {
			out = append(out, m)
		}
	}
	return out
}

// LiveDatabase is the path of the live bbolt file on tmpfs.
func (c *Config) LiveDatabase() string { return c.RuntimeDir + "/live.db" }

// SocketPath is the daemon's control socket.
func (c *Config) SocketPath() string { return c.RuntimeDir + "/netmon.sock" }
