package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// `netmon-agent doctor` explains why numbers could be wrong or missing:
// one finding per check, each OK, WARN or FAIL with the fix. It changes
// nothing: our rules are planned against a firewall that only records.

// Finding statuses, in rising order of trouble.
const (
	StatusOK   = "OK"
	StatusWarn = "WARN"
	StatusFail = "FAIL"
)

// A Finding is one check's verdict.
type Finding struct {
	Check  string `json:"check"`
	Status string `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// A DoctorReport is every finding, and the worst status among them.
type DoctorReport struct {
	Status   string    `json:"status"`
	Findings []Finding `json:"findings"`
}

// ExitCode is doctor's exit status: 0 all OK, 1 a WARN, 2 a FAIL.
func (r *DoctorReport) ExitCode() int {
	switch r.Status {
	case StatusFail:
		return 2
	case StatusWarn:
		return 1
	}
	return 0
}

// WriteText prints one line per finding, its fix indented below.
func (r *DoctorReport) WriteText(w io.Writer) error {
	var b bytes.Buffer
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "%-4s  %-15s %s\n", f.Status, f.Check, sanitize(f.Detail))
		if f.Fix != "" && f.Status != StatusOK {
			fmt.Fprintf(&b, "%-4s  %-15s fix: %s\n", "", "", sanitize(f.Fix))
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// sanitize keeps control characters (a host name's, a file's) off the
// terminal.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

// A Filesystem is what statfs tells of the one a path is on.
type Filesystem struct {
	Type     string // tmpfs, ramfs, overlay, squashfs, ubifs, jffs2, ext4, ...
	Free     int64  // bytes available
	ReadOnly bool
}

// DoctorSystem is what doctor looks at: the real machine, or a test's
// fakes.
type DoctorSystem struct {
	Now         func() time.Time
	ReadFile    func(path string) ([]byte, error)
	Stat        func(path string) (os.FileInfo, error)
	LookPath    func(name string) (string, error)
	Run         func(name string, args ...string) ([]byte, error) // an argument vector, no shell
	Statfs      func(path string) (Filesystem, error)
	ClockSynced func() (bool, error)
	NewFirewall func(backend string, f Family) (Firewall, error)
	NewSets     func(cfg *Config) (Sets, error)
	Ask         func(socket, op string, timeout time.Duration) (*Response, error)
	// FirewallConfig is OpenWrt's firewall config, where offloading is
	// switched on.
	FirewallConfig string
}

// RealSystem is the machine doctor runs on.
func RealSystem() DoctorSystem {
	return DoctorSystem{
		Now:      time.Now,
		ReadFile: os.ReadFile,
		Stat:     os.Stat,
		LookPath: exec.LookPath,
		Run: func(name string, args ...string) ([]byte, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return exec.CommandContext(ctx, name, args...).CombinedOutput()
		},
		Statfs:         statfs,
		ClockSynced:    clockSynced,
		NewFirewall:    NewIptables,
		NewSets:        NewSets,
		Ask:            Ask,
		FirewallConfig: "/etc/config/firewall",
	}
}

// filesystem magic numbers of statfs(2).
var fsTypes = map[int64]string{
	0x01021994: "tmpfs", 0x858458f6: "ramfs", 0x794c7630: "overlay", 0x73717368: "squashfs",
	0x24051905: "ubifs", 0x72b6: "jffs2", 0xef53: "ext4", 0x9123683e: "btrfs", 0x58465342: "xfs",
	0x4d44: "vfat", 0xf2f52010: "f2fs", 0x6969: "nfs",
}

func statfs(path string) (Filesystem, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return Filesystem{}, err
	}
	name, ok := fsTypes[int64(st.Type)]
	if !ok {
		name = fmt.Sprintf("0x%x", st.Type)
	}
	return Filesystem{Type: name, Free: int64(st.Bavail) * int64(st.Bsize), ReadOnly: st.Flags&unix.ST_RDONLY != 0}, nil
}

// clockSynced asks the kernel whether an NTP client disciplines the clock.
func clockSynced() (bool, error) {
	var tx unix.Timex
	state, err := unix.Adjtimex(&tx)
	if err != nil {
		return false, err
	}
	return state != unix.TIME_ERROR && tx.Status&unix.STA_UNSYNC == 0, nil
}

// Doctor runs every check against cfgPath's config.
func Doctor(cfgPath string, sys DoctorSystem) *DoctorReport {
	d := &doctor{sys: sys}
	cfg, err := LoadConfig(cfgPath)
	if err != nil {
		d.fail("config", err.Error(), "correct the config; every check below needs it")
		return d.report()
	}
	d.cfg = cfg
	d.ok("config", fmt.Sprintf("%s: %d meters, per-host accounting %s", cfg.Path, len(cfg.Meters), onOff(cfg.Hosts)))
	d.configMode()
	d.iptables()
	d.sets()
	d.daemon()
	d.storage()
	d.clock()
	d.offload()
	d.routing()
	return d.report()
}

type doctor struct {
	sys      DoctorSystem
	cfg      *Config
	findings []Finding
}

func (d *doctor) add(status, check, detail, fix string) {
	d.findings = append(d.findings, Finding{Check: check, Status: status, Detail: detail, Fix: fix})
}
func (d *doctor) ok(check, detail string)        { d.add(StatusOK, check, detail, "") }
func (d *doctor) warn(check, detail, fix string) { d.add(StatusWarn, check, detail, fix) }
func (d *doctor) fail(check, detail, fix string) { d.add(StatusFail, check, detail, fix) }
func (d *doctor) failIf(bad bool, check, detail, fix string) {
	if bad {
		d.fail(check, detail, fix)
	} else {
		d.warn(check, detail, fix)
	}
}

func (d *doctor) report() *DoctorReport {
	r := &DoctorReport{Status: StatusOK, Findings: d.findings}
	for _, f := range d.findings {
		if f.Status == StatusFail || f.Status == StatusWarn && r.Status == StatusOK {
			r.Status = f.Status
		}
	}
	return r
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// configMode: the config may hold the mail password.
func (d *doctor) configMode() {
	fi, err := d.sys.Stat(d.cfg.Path)
	if err != nil {
		return
	}
	if d.cfg.Mail != nil && d.cfg.Mail.Password != "" && fi.Mode().Perm()&0o077 != 0 {
		d.warn("config file", fmt.Sprintf("%s holds the mail password and is mode %04o", d.cfg.Path, fi.Mode().Perm()),
			"chmod 600 "+d.cfg.Path)
	}
}

// iptables: each family's binaries, version, and our rules in place.
func (d *doctor) iptables() {
	for _, f := range Families {
		if f == IPv6 && !d.cfg.IPv6 {
			continue
		}
		bin, _ := Binaries(d.cfg.Backend, f)
		check := strings.TrimSuffix(bin, "-"+d.cfg.Backend)
		needed := len(d.cfg.MetersIn(f)) > 0
		fw, err := d.sys.NewFirewall(d.cfg.Backend, f)
		if err != nil {
			fix := "install it (OpenWrt: opkg install iptables-nft ip6tables-nft; Debian: apt-get install iptables)"
			if f == IPv6 && !needed {
				fix += ", or set option ipv6 '0'"
			}
			d.failIf(needed || f == IPv4, check, err.Error(), fix)
			continue
		}
		version := ""
		if out, err := d.sys.Run(bin, "--version"); err == nil {
			version = strings.TrimSpace(string(out))
		}
		d.ok(check, strings.TrimSpace(version+", backend "+d.cfg.Backend))
		d.chains(fw, check)
	}
}

// chains plans our rules against fw without changing it: anything the plan
// would add is missing.
func (d *doctor) chains(fw Firewall, check string) {
	wants := []Want{}
	for _, m := range d.cfg.MetersIn(fw.Family()) {
		wants = append(wants, meterWant(m, fw.Family()))
	}
	if len(wants) == 0 {
		return
	}
	rs, err := fw.Rules()
	if err != nil {
		d.fail(check+" rules", err.Error(), "")
		return
	}
	plan, err := Reconcile(&recordingFirewall{Firewall: fw}, rs, wants, nil, func() string { return "doctor" })
	if err != nil {
		d.fail(check+" rules", err.Error(), "")
		return
	}
	var missing []string
	for _, c := range plan.Changes {
		if strings.HasPrefix(c, "created ") || strings.HasPrefix(c, "added jump") || strings.HasPrefix(c, "installed ") {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		first := strings.NewReplacer("created chain", "no chain", "added jump", "no jump", "installed meter", "no rule for meter").Replace(missing[0])
		d.fail(check+" rules", fmt.Sprintf("%d of our rules are missing (%s): traffic passes uncounted", len(missing), first),
			"netmon-agent start, or start the daemon: it puts them back within one interval")
		return
	}
	d.ok(check+" rules", fmt.Sprintf("our chains are in place, each jump first in its built-in chain (%d meters)", len(wants)))
}

// recordingFirewall reads through to the real one and changes nothing.
type recordingFirewall struct{ Firewall }

func (recordingFirewall) NewChain(string) error               { return nil }
func (recordingFirewall) ClearChain(string) error             { return nil }
func (recordingFirewall) DeleteChain(string) error            { return nil }
func (recordingFirewall) Insert(string, int, ...string) error { return nil }
func (recordingFirewall) Append(string, ...string) error      { return nil }
func (recordingFirewall) Delete(string, ...string) error      { return nil }

// sets: what holds the per-host sets, and that ours are there.
func (d *doctor) sets() {
	if !d.cfg.Hosts {
		return
	}
	sets, err := d.sys.NewSets(d.cfg)
	if err != nil {
		d.fail("host sets", "per-host accounting is on but cannot run: "+err.Error(),
			"OpenWrt: opkg install nftables (or ipset kmod-ipt-ipset); Debian: apt-get install nftables ipset; or set option hosts '0'")
		return
	}
	kind := "nftables sets (table ip netmon)"
	if _, own := sets.(RuleHolder); !own {
		kind = "ipsets"
		if !d.xtSetLoaded() {
			d.warn("host sets", "the kernel's xt_set match is not loaded: the ipset rules cannot be installed",
				"OpenWrt: opkg install kmod-ipt-ipset; elsewhere: modprobe xt_set")
		}
	}
	have, err := sets.List()
	if err != nil {
		d.fail("host sets", "read "+kind+": "+err.Error(), "")
		return
	}
	var missing []string
	for _, f := range Families {
		if f == IPv6 && !d.cfg.IPv6 {
			continue
		}
		for _, dir := range []string{"dl", "ul"} {
			if name := setName(dir, f); have[name] == nil {
				missing = append(missing, name)
			}
		}
	}
	if len(missing) > 0 {
		d.fail("host sets", fmt.Sprintf("%s missing: %s; no host is counted", kind, strings.Join(missing, ", ")),
			"netmon-agent start, or start the daemon")
		return
	}
	n := 0
	for _, s := range have {
		n += len(s.Elements)
	}
	d.ok("host sets", fmt.Sprintf("%s, %d addresses counted", kind, n))
}

func (d *doctor) xtSetLoaded() bool {
	if _, err := d.sys.Stat("/sys/module/xt_set"); err == nil {
		return true
	}
	b, err := d.sys.ReadFile("/proc/net/ip_tables_matches")
	return err == nil && bytes.Contains(append([]byte("\n"), b...), []byte("\nset\n"))
}

// daemon: running, and sampling on time.
func (d *doctor) daemon() {
	resp, err := d.sys.Ask(d.cfg.SocketPath(), OpReport, 5*time.Second)
	if errors.Is(err, ErrNoDaemon) {
		d.warn("daemon", "not running: nothing samples but cron, and a firewall reload's losses go unseen until then",
			"service netmon-agent start (systemd: systemctl start netmon-agent)")
		return
	}
	if err != nil || resp.Report == nil {
		d.fail("daemon", fmt.Sprintf("does not answer on %s: %v", d.cfg.SocketPath(), err), "service netmon-agent restart")
		return
	}
	last := resp.Report.LastSample
	if last == nil {
		d.warn("daemon", "running, but has not sampled yet", "")
		return
	}
	age := d.sys.Now().Sub(*last)
	if age > 3*d.cfg.Interval+10*time.Second {
		d.fail("daemon", fmt.Sprintf("running, but its last sample was %s ago (interval %s)", age.Round(time.Second), d.cfg.Interval),
			"logread -e netmon-agent (journalctl -u netmon-agent) says why; service netmon-agent restart")
		return
	}
	d.ok("daemon", fmt.Sprintf("running; last sample %s ago", age.Round(time.Second)))
}

// storage: where the databases are, their room, and their health.
func (d *doctor) storage() {
	flashDir, liveDir := dirOf(d.cfg.Database), d.cfg.RuntimeDir
	if fs, err := d.sys.Statfs(existing(d.sys, flashDir)); err == nil {
		switch {
		case fs.ReadOnly:
			d.fail("snapshot", fmt.Sprintf("%s is on a read-only filesystem: no snapshot is written, a reboot loses what was counted", flashDir),
				"point option database at a writable directory on flash (the default /etc/netmon)")
		case fs.Type == "tmpfs" || fs.Type == "ramfs":
			d.warn("snapshot", fmt.Sprintf("%s is on %s: history and totals are lost at every reboot", d.cfg.Database, fs.Type),
				"option database '/etc/netmon/netmon.db' (on flash)")
		default:
			d.ok("snapshot", fmt.Sprintf("%s on %s, written every %s", d.cfg.Database, fs.Type, d.cfg.PersistInterval))
		}
		d.room("snapshot space", flashDir, fs, d.cfg.Database)
	} else {
		d.fail("snapshot", fmt.Sprintf("%s: %v", flashDir, err), "")
	}
	if fs, err := d.sys.Statfs(existing(d.sys, liveDir)); err == nil {
		switch {
		case fs.ReadOnly:
			d.fail("live database", fmt.Sprintf("runtime_dir %s is on a read-only filesystem", liveDir), "option runtime_dir '/var/lib/netmon' (tmpfs on OpenWrt)")
		case fs.Type != "tmpfs" && fs.Type != "ramfs":
			d.warn("live database", fmt.Sprintf("runtime_dir %s is on %s, not tmpfs: every commit writes there, which wears flash", liveDir, fs.Type),
				"option runtime_dir on a tmpfs (/var/lib/netmon on OpenWrt, /run/netmon elsewhere); on a disk rather than flash this is harmless")
		default:
			d.ok("live database", fmt.Sprintf("%s on %s", d.cfg.LiveDatabase(), fs.Type))
		}
		d.room("live space", liveDir, fs, d.cfg.LiveDatabase())
	}
	checks := CheckDatabases(d.cfg, nil)
	if len(checks) == 0 {
		d.warn("database", "none yet", "netmon-agent start")
		return
	}
	for _, c := range checks {
		if c.Error != "" {
			d.fail("database", c.Error, "the daemon sets a damaged file aside at its next start (service netmon-agent restart); db restore FILE brings back a backup")
			return
		}
	}
	d.ok("database", fmt.Sprintf("%d files verified whole", len(checks)))
}

// room warns when dir cannot hold another copy of file.
func (d *doctor) room(check, dir string, fs Filesystem, file string) {
	var size int64
	if fi, err := d.sys.Stat(file); err == nil {
		size = fi.Size()
	}
	need := 2*size + 256<<10
	switch {
	case fs.Free < 64<<10:
		d.fail(check, fmt.Sprintf("%s has %s free: writes fail (what is counted waits in memory)", dir, kib(fs.Free)), "free space on that filesystem")
	case fs.Free < need:
		d.warn(check, fmt.Sprintf("%s has %s free, less than twice the database (%s)", dir, kib(fs.Free), kib(size)), "free space, or db compact")
	default:
		d.ok(check, fmt.Sprintf("%s free in %s", kib(fs.Free), dir))
	}
}

func kib(n int64) string {
	if n >= 10<<20 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d KiB", n>>10)
}

func dirOf(path string) string {
	if i := strings.LastIndexByte(path, '/'); i > 0 {
		return path[:i]
	}
	return "/"
}

// existing is dir or its nearest parent that exists: the filesystem a
// directory we are yet to make will be on.
func existing(sys DoctorSystem, dir string) string {
	for dir != "/" {
		if _, err := sys.Stat(dir); err == nil {
			return dir
		}
		dir = dirOf(dir)
	}
	return dir
}

// clock: days and months are cut by the wall clock.
func (d *doctor) clock() {
	now := d.sys.Now()
	if now.Before(EarliestBelievable) {
		d.fail("clock", fmt.Sprintf("the clock says %s: history waits until it is set", now.UTC().Format(time.RFC3339)),
			"enable NTP (System > System > Time synchronisation; uci set system.ntp.enabled=1)")
		return
	}
	synced, err := d.sys.ClockSynced()
	switch {
	case err != nil:
		d.warn("clock", "cannot tell whether it is synchronised: "+err.Error(), "")
	case !synced:
		d.warn("clock", "not synchronised by NTP: a jump later moves where traffic is filed (totals stay exact)",
			"enable the NTP client (uci set system.ntp.enabled=1; uci commit; service sysntpd restart)")
	default:
		d.ok("clock", "synchronised, "+now.Format("2006-01-02 15:04 MST"))
	}
}

// offload: a flow the kernel offloads skips the forward hook, so neither
// our FORWARD meters nor the host sets see it.
func (d *doctor) offload() {
	var where []string
	if b, err := d.sys.ReadFile(d.sys.FirewallConfig); err == nil {
		if sections, err := parseUCI(d.sys.FirewallConfig, bytes.NewReader(b)); err == nil {
			for _, s := range sections {
				if s.Type != "defaults" {
					continue
				}
				for _, o := range s.Options {
					if (o.Name == "flow_offloading" || o.Name == "flow_offloading_hw") && o.Value == "1" {
						where = append(where, d.sys.FirewallConfig+": "+o.Name)
					}
				}
			}
		}
	}
	if _, err := d.sys.LookPath("nft"); err == nil {
		if out, err := d.sys.Run("nft", "list", "flowtables"); err == nil {
			for _, line := range strings.Split(string(out), "\n") {
				if f := strings.Fields(line); len(f) >= 2 && f[0] == "flowtable" {
					where = append(where, "nftables flowtable "+f[1])
				}
			}
		}
	}
	if len(where) == 0 {
		d.ok("offload", "no flow offloading")
		return
	}
	forwarded := d.cfg.Hosts
	for _, m := range d.cfg.Meters {
		forwarded = forwarded || m.Chain == "FORWARD"
	}
	d.failIf(forwarded, "offload", fmt.Sprintf("flow offloading is on (%s): offloaded flows bypass the counters, so hosts and FORWARD meters miss most of their traffic",
		strings.Join(where, ", ")),
		"uci set firewall.@defaults[0].flow_offloading=0; uci set firewall.@defaults[0].flow_offloading_hw=0; uci commit firewall; service firewall restart")
}

// routing: per-host accounting and FORWARD meters need routed traffic.
func (d *doctor) routing() {
	forwarded := d.cfg.Hosts
	for _, m := range d.cfg.Meters {
		forwarded = forwarded || m.Chain == "FORWARD"
	}
	if !forwarded {
		return
	}
	if d.cfg.Hosts {
		if _, err := d.sys.Stat("/sys/class/net/" + d.cfg.LAN); err != nil {
			d.fail("routing", fmt.Sprintf("option lan '%s': no such interface, so no host is ever counted", d.cfg.LAN),
				"set option lan to the LAN bridge (ip link shows it; br-lan on OpenWrt)")
			return
		}
	}
	b, err := d.sys.ReadFile("/proc/sys/net/ipv4/ip_forward")
	if err == nil && strings.TrimSpace(string(b)) == "0" {
		d.warn("routing", "this machine forwards no IPv4 (ip_forward is 0): a bridged access point routes nothing, so hosts and FORWARD meters stay at zero",
			"meter on the router that routes (or, on a server, set net.ipv4.ip_forward=1 if it should route)")
		return
	}
	if dev := defaultRouteDevice(d.sys); dev == d.cfg.LAN {
		d.warn("routing", fmt.Sprintf("the default route leaves through the LAN (%s), as on a bridged access point: its clients' traffic is bridged to the router upstream, never routed here, so hosts and FORWARD meters stay at zero", dev),
			"run netmon-agent on the router that routes")
		return
	}
	d.ok("routing", "IPv4 forwarding on, LAN "+d.cfg.LAN)
}

// defaultRouteDevice reads the IPv4 default route's device from
// /proc/net/route; "" when there is none.
func defaultRouteDevice(sys DoctorSystem) string {
	b, err := sys.ReadFile("/proc/net/route")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) >= 8 && f[1] == "00000000" && f[7] == "00000000" {
			return f[0]
		}
	}
	return ""
}
