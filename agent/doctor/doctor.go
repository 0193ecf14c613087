package doctor

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/netmon-agent/netmon-agent/agent"
	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/control"
	"github.com/netmon-agent/netmon-agent/agent/netfilter"
	"github.com/netmon-agent/netmon-agent/agent/report"
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

// A Report is every finding, and the worst status among them.
type Report struct {
	Status   string    `json:"status"`
	Findings []Finding `json:"findings"`
}

// ExitCode is doctor's exit status: 0 all OK, 1 a WARN, 2 a FAIL.
func (r *Report) ExitCode() int {
	switch r.Status {
	case StatusFail:
		return 2
	case StatusWarn:
		return 1
	}
	return 0
}

// WriteText prints one line per finding, its fix indented below.
func (r *Report) WriteText(w io.Writer) error {
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

// System is what doctor looks at: the real machine, or a test's
// fakes.
type System struct {
	Now         func() time.Time
	ReadFile    func(path string) ([]byte, error)
	Stat        func(path string) (os.FileInfo, error)
	LookPath    func(name string) (string, error)
	Run         func(name string, args ...string) ([]byte, error) // an argument vector, no shell
	Statfs      func(path string) (Filesystem, error)
	ClockSynced func() (bool, error)
	Resolve     func(backend string) netfilter.Backend
	NewFirewall func(b netfilter.Backend, f netfilter.Family) (netfilter.Firewall, error)
	NewSets     func(cfg *config.Config, b netfilter.Backend) (netfilter.Sets, error)
	AskReport   func(socket string, timeout time.Duration) (*report.Report, error)
	// FirewallConfig is OpenWrt's firewall config, where offloading is
	// switched on.
	FirewallConfig string
}

// RealSystem is the machine doctor runs on.
func RealSystem() System {
	return System{
		Now:      time.Now,
		ReadFile: os.ReadFile,
		Stat:     os.Stat,
		LookPath: exec.LookPath,
		Run: func(name string, args ...string) ([]byte, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return exec.CommandContext(ctx, name, args...).CombinedOutput()
		},
		Statfs:      statfs,
		ClockSynced: clockSynced,
		Resolve:     netfilter.Resolve,
		NewFirewall: func(b netfilter.Backend, f netfilter.Family) (netfilter.Firewall, error) {
			return b.Firewall(f, nil)
		},
		NewSets: agent.SetsFor,
		AskReport: func(socket string, timeout time.Duration) (*report.Report, error) {
			return control.Ask[report.Report](socket, control.Request{Op: control.OpReport}, timeout)
		},
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

// Run runs every check against cfgPath's config.
func Run(cfgPath string, sys System) *Report {
	d := &doctor{sys: sys}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		d.fail("config", err.Error(), "correct the config; every check below needs it")
		return d.report()
	}
	d.cfg, d.backend = cfg, d.sys.Resolve(cfg.Backend)
	d.ok("config", fmt.Sprintf("%s: %d meters, per-host accounting %s", cfg.Path, len(cfg.Meters), onOff(cfg.Hosts)))
	d.configMode()
	d.firewall()
	d.sets()
	d.daemon()
	d.storage()
	d.clock()
	d.offload()
	d.routing()
	return d.report()
}

type doctor struct {
	sys System
	cfg *config.Config
	// backend is option backend resolved once, for every check.
	backend netfilter.Backend
	// nftHosts says the hosts are counted in native nftables sets, which
	// move to the LAN's ports under flow offloading.
	nftHosts bool
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

func (d *doctor) report() *Report {
	r := &Report{Status: StatusOK, Findings: d.findings}
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
