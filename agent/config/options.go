package config

import (
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/netfilter"
	"github.com/netmon-agent/netmon-agent/agent/units"
	"github.com/netmon-agent/netmon-agent/store"
)

// The agent section's options. Every value is bounded: a number too large
// for its field, or a duration that would overflow, is an error naming
// what is accepted, never a silent wrap-around (README's config table
// states the ranges).

// Bounds of the options that take durations and counts.
const (
	MinInterval        = 10 * time.Millisecond // the lab samples that fast; a router never should
	MaxInterval        = time.Hour
	MaxCommitInterval  = 24 * time.Hour
	MaxPersistInterval = 7 * 24 * time.Hour
	MaxKeep            = 1_000_000 // buckets of one resolution: ten years of 5-minute buckets
	MaxGOGC            = 10_000
	MinGOMemLimit      = 4 << 20
	MaxGOMemLimit      = 1 << 40
)

// An agentOption checks one option's value and sets it in c; its error
// says what is accepted, without the option's name (the caller adds it).
type agentOption func(c *Config, v string) error

var agentOptions = map[string]agentOption{
	"interval":         durationOption(func(c *Config) *time.Duration { return &c.Interval }, MaxInterval),
	"commit_interval":  durationOption(func(c *Config) *time.Duration { return &c.CommitInterval }, MaxCommitInterval),
	"persist_interval": durationOption(func(c *Config) *time.Duration { return &c.PersistInterval }, MaxPersistInterval),
	"database":         setDatabase,
	"runtime_dir":      setRuntimeDir,
	"lan":              setLAN,
	"wan":              func(c *Config, v string) error { c.WAN = v; return nil },
	"leases":           pathOption(func(c *Config) *string { return &c.Leases }),
	"ethers":           pathOption(func(c *Config) *string { return &c.Ethers }),
	"period_start":     setPeriodStart,
	"hosts":            boolOption(func(c *Config) *bool { return &c.Hosts }),
	"services":         boolOption(func(c *Config) *bool { return &c.ServicesOn }),
	"public_read":      boolOption(func(c *Config) *bool { return &c.PublicRead }),
	"ipv6":             boolOption(func(c *Config) *bool { return &c.IPv6 }),
	"backend":          oneOf(func(c *Config) *string { return &c.Backend }, netfilter.Backends...),
	"sets":             oneOf(func(c *Config) *string { return &c.Sets }, "auto", "nft", "ipset"),
	"max_rate":         setMaxRate,
	"keep_5min":        keepOption(store.FiveMinutes),
	"keep_hour":        keepOption(store.Hour),
	"keep_day":         keepOption(store.Day),
	"keep_month":       keepOption(store.Month),
	"keep_year":        keepOption(store.Year),
	"gogc":             setGOGC,
	"gomemlimit":       setGOMemLimit,
	"listen":           setListen,
	"token":            setToken,
}

// parseInterval reads a duration option: whole seconds, as UCI configs
// write them, or a Go duration such as "500ms" (the lab runs in those),
// from MinInterval to max.
func parseInterval(v string, max time.Duration) (time.Duration, error) {
	t := strings.TrimSpace(v)
	if n, err := strconv.ParseInt(t, 10, 64); err == nil {
		if n <= 0 {
			return 0, fmt.Errorf("%q must be a positive number of seconds (at most %d)", v, max/time.Second)
		}
		if n > int64(max/time.Second) {
			return 0, fmt.Errorf("%q is more than %s: at most %d seconds", v, max, max/time.Second)
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(t)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number of seconds (or a duration such as 500ms)", v)
	}
	if d < MinInterval || d > max {
		return 0, fmt.Errorf("%q is out of range: %s to %s", v, MinInterval, max)
	}
	return d, nil
}

func durationOption(field func(*Config) *time.Duration, max time.Duration) agentOption {
	return func(c *Config, v string) error {
		d, err := parseInterval(v, max)
		if err == nil {
			*field(c) = d
		}
		return err
	}
}

func pathOption(field func(*Config) *string) agentOption {
	return func(c *Config, v string) error {
		if !strings.HasPrefix(v, "/") {
			return fmt.Errorf("%q is not an absolute path", v)
		}
		*field(c) = v
		return nil
	}
}

// systemDirs hold the system's own files: no database or runtime directory
// of ours goes under them (but /etc/netmon/, the packaged place).
var systemDirs = []string{"/bin", "/sbin", "/usr", "/lib", "/proc", "/sys", "/dev", "/etc"}

// ourPath checks that v is an absolute path, cleaned, outside systemDirs.
func ourPath(v string) (string, error) {
	if !strings.HasPrefix(v, "/") {
		return "", fmt.Errorf("%q is not an absolute path", v)
	}
	p := filepath.Clean(v)
	if p == "/etc/netmon" || strings.HasPrefix(p, "/etc/netmon/") {
		return p, nil
	}
	for _, d := range systemDirs {
		if p == d || strings.HasPrefix(p, d+"/") {
			return "", fmt.Errorf("%q is under %s, which holds the system's own files: use /etc/netmon/ or a directory of its own (/overlay, /mnt, /var/lib)", v, d)
		}
	}
	return p, nil
}

// setDatabase takes the snapshot's path: ours (ourPath), and, if a file is
// there, one a netmon snapshot could be, so nothing else is ever replaced.
func setDatabase(c *Config, v string) error {
	p, err := ourPath(v)
	if err != nil {
		return err
	}
	if err := store.CheckSnapshot(p); err != nil {
		return err
	}
	c.Database = p
	return nil
}

func setRuntimeDir(c *Config, v string) error {
	p, err := ourPath(v)
	if err == nil {
		c.RuntimeDir = p
	}
	return err
}

func boolOption(field func(*Config) *bool) agentOption {
	return func(c *Config, v string) error {
		b, err := units.ParseBool(v)
		if err == nil {
			*field(c) = b
		}
		return err
	}
}

func oneOf(field func(*Config) *string, values ...string) agentOption {
	return func(c *Config, v string) error {
		for _, ok := range values {
			if v == ok {
				*field(c) = v
				return nil
			}
		}
		return fmt.Errorf("%q is not %s or %s", v, strings.Join(values[:len(values)-1], ", "), values[len(values)-1])
	}
}

// intIn reads a whole number from min to max.
func intIn(v string, min, max int) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	return n, err == nil && n >= min && n <= max
}

func keepOption(res store.Resolution) agentOption {
	return func(c *Config, v string) error {
		n, ok := intIn(v, 0, MaxKeep)
		if !ok {
			return fmt.Errorf("%q is not a number of buckets from 0 (keeps all) to %d", v, MaxKeep)
		}
		c.Keep[res] = n
		return nil
	}
}

func setLAN(c *Config, v string) error {
	if !netfilter.ValidIface(v) || strings.ContainsAny(v, `"\;`) {
		return fmt.Errorf("malformed interface name %q", v)
	}
	c.LAN = v
	return nil
}

func setPeriodStart(c *Config, v string) error {
	n, ok := intIn(v, 1, 31)
	if !ok {
		return fmt.Errorf("%q is not a day of month (1-31)", v)
	}
	c.PeriodStart = n
	return nil
}

func setMaxRate(c *Config, v string) error {
	r, err := units.ParseRate(v)
	if err == nil {
		c.MaxRate = r
	}
	return err
}

func setGOGC(c *Config, v string) error {
	if v == "off" {
		c.GOGC = 0
		return nil
	}
	n, ok := intIn(v, 1, MaxGOGC)
	if !ok {
		return fmt.Errorf("%q is not a positive percentage or off (1 to %d)", v, MaxGOGC)
	}
	c.GOGC = n
	return nil
}

func setGOMemLimit(c *Config, v string) error {
	n, err := units.ParseSize(v)
	if err != nil {
		return err
	}
	if n < MinGOMemLimit || n > MaxGOMemLimit {
		return fmt.Errorf("%q is out of range: 4MiB to 1024GiB", v)
	}
	c.GOMemLimit = n
	return nil
}

func setListen(c *Config, v string) error {
	if v == "" {
		c.Listen = ""
		return nil
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("%q is not ADDRESS:PORT (192.168.1.1:8080, [::]:9465): %v", v, err)
	}
	if _, ok := intIn(port, 1, 65535); !ok {
		return fmt.Errorf("%q: malformed port %q", v, port)
	}
	if host != "" {
		if _, err := netip.ParseAddr(host); err != nil {
			return fmt.Errorf("%q: malformed address %q (an IP address, not a name)", v, host)
		}
	}
	c.Listen = v
	return nil
}

func setToken(c *Config, v string) error {
	if len(v) < 16 || len(v) > 256 || strings.ContainsAny(v, " \t\r\n") {
		return fmt.Errorf("must be 16 to 256 characters without spaces (netmon-agent token --new makes one)")
	}
	c.Token = v
	return nil
}
