package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The lab tests run the real netmon-agent binary in a router namespace of
// scripts/lab.sh, push real traffic through it, and compare each meter with
// an independent counter: iptables rules of the other backend in the sending
// host's OUTPUT chain. They need root, ip and both iptables backends; with
// CI set, a missing one fails the test instead of skipping it.

var (
	agentBin string // built once by TestMain
	labSeq   atomic.Int32
	repoRoot string
)

func TestMain(m *testing.M) {
	if h := os.Getenv("NETMON_LAB_HELPER"); h != "" {
		os.Exit(labHelper(h, os.Args[1:]))
	}
	code := func() int {
		dir, err := os.MkdirTemp("", "netmon-agent-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		wd, _ := os.Getwd()
		repoRoot = filepath.Join(wd, "..", "..")
		if theLabConf, err = readLabConf(filepath.Join(repoRoot, "scripts", "lab.conf")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		labMeters = theLabConf.meterSections("proxy", "offnet", "wan_in", "v6up")
		agentBin = filepath.Join(dir, "netmon-agent")
		build := exec.Command("go", "build", "-o", agentBin, ".")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build netmon-agent: %v\n%s", err, out)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

// requireLab skips, or with CI set fails, when the lab cannot be built.
func requireLab(t *testing.T) {
	t.Helper()
	if testing.Short() && os.Getenv("CI") == "" {
		t.Skip("lab tests are not short")
	}
	var missing []string
	if runtime.GOOS != "linux" {
		missing = append(missing, "linux")
	}
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	for _, bin := range []string{"ip", "iptables-legacy", "iptables-nft", "ip6tables-legacy", "ip6tables-nft", "iptables-legacy-save", "iptables-nft-save", "ping", "nft", "ipset"} {
		if _, err := exec.LookPath(bin); err != nil {
			missing = append(missing, bin)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := "lab needs " + strings.Join(missing, ", ") + " (make test installs them)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// backends are the values of option backend the lab tests run on: native
// nftables, and iptables in each variant.
var backends = []string{"nftables", "legacy", "nft"}

// A lab is one instance of scripts/lab.sh with netmon-agent configured in
// its router.
type lab struct {
	t        *testing.T
	prefix   string
	backend  string
	sets     string // option sets; "" leaves it to auto
	dir      string
	config   string
	interval string // the daemon's sampling interval
	commit   string // its commit_interval; "" is 1 s
	persist  string // its persist_interval; "" is an hour
	options  string // more option lines for the agent section
	// agentCmd runs netmon-agent: the host build, or a cross build under
	// qemu-user.
	agentCmd []string
	bootFile string
	daemon   *exec.Cmd
	log      *lockedBuffer
	waited   chan error
	bg       []*exec.Cmd
	// oracleRules are the oracles' nft rules, oracleBase what they had
	// counted before the last flush (oracle_lab_test.go).
	oracleRules []string
	oracleBase  map[string][2]uint64
}

// The lab's config (scripts/lab.conf) and the meters the lab tests run
// with, read by TestMain; oracles say which oracle rules (for packets from
// which host, in which family, to which destination) see the same packets
// as each meter.
var (
	theLabConf *labConf
	labMeters  string
)

type oracle struct {
	meter, host, cmd, dst string
}

var oracles = []oracle{
	{"proxy", "a", "iptables", "198.18.1.1"},
	{"offnet", "i", "iptables", "198.19.0.1"},
	{"wan_in", "i", "iptables", "198.18.1.0/24"},
	{"wan_in", "i", "ip6tables", "2001:db8:1::/64"},
	{"v6up", "a", "ip6tables", "2001:db8:ff::/64"},
}

func newLab(t *testing.T, backend string) *lab {
	t.Helper()
	requireLab(t)
	l := &lab{
		t:        t,
		prefix:   fmt.Sprintf("nm%d%d", os.Getpid()%100000, labSeq.Add(1)),
		backend:  backend,
		dir:      t.TempDir(),
		interval: "200ms",
		agentCmd: []string{agentBin},
	}
	t.Cleanup(l.teardown)
	if out, err := exec.Command(filepath.Join(repoRoot, "scripts", "lab.sh"), "up", l.prefix).CombinedOutput(); err != nil {
		t.Fatalf("lab.sh up: %v\n%s", err, out)
	}
	l.bootFile = filepath.Join(l.dir, "boot_id")
	l.setBoot("11111111-1111-1111-1111-111111111111")
	l.config = filepath.Join(l.dir, "netmon")
	l.writeConfig(labMeters)
	l.installOracles()
	for _, o := range oracles {
		l.meterOracle(o)
	}
	l.startSink("r")
	l.startSink("a")
	l.startSink("i")
	return l
}

func (l *lab) writeConfig(meters string) { l.writeConfigData(l.dir, meters) }

// writeConfigData writes l.config with the databases under dir.
func (l *lab) writeConfigData(dir, meters string) {
	l.t.Helper()
	options := []string{
		"option interval '" + l.interval + "'",
		"option commit_interval '" + or(l.commit, "1") + "'",
		"option persist_interval '" + or(l.persist, "3600") + "'",
		"option backend '" + l.backend + "'",
	}
	if l.sets != "" {
		options = append(options, "option sets '"+l.sets+"'")
	}
	options = append(options, strings.Split(strings.TrimSpace(l.options), "\n")...)
	text := theLabConf.agentSection(dir, options) + meters
	if err := os.WriteFile(l.config, []byte(text), 0o600); err != nil {
		l.t.Fatal(err)
	}
}

func or(s, dflt string) string {
	if s == "" {
		return dflt
	}
	return s
}

func (l *lab) setBoot(id string) {
	if err := os.WriteFile(l.bootFile, []byte(id+"\n"), 0o600); err != nil {
		l.t.Fatal(err)
	}
}

func (l *lab) teardown() {
	if l.daemon != nil && l.daemon.ProcessState == nil {
		l.daemon.Process.Kill()
		<-l.waited
	}
	for _, c := range l.bg {
		c.Process.Kill()
		c.Wait()
	}
	exec.Command(filepath.Join(repoRoot, "scripts", "lab.sh"), "down", l.prefix).Run()
	if l.t.Failed() && l.log != nil {
		l.t.Logf("daemon log:\n%s", l.log.String())
	}
}

func (l *lab) ns(host string) string { return l.prefix + "-" + host }

// exec runs a command in a lab host.
func (l *lab) exec(host string, args ...string) (string, error) {
	cmd := exec.Command("ip", append([]string{"netns", "exec", l.ns(host)}, args...)...)
	cmd.Env = append(os.Environ(), "NETMON_BOOT_ID_FILE="+l.bootFile)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (l *lab) must(host string, args ...string) string {
	l.t.Helper()
	out, err := l.exec(host, args...)
	if err != nil {
		l.t.Fatalf("%s: %v: %v\n%s", host, args, err, out)
	}
	return out
}

// agent runs netmon-agent in the router.
func (l *lab) agent(args ...string) string {
	l.t.Helper()
	return l.must("r", l.agentArgs(args...)...)
}

// agentArgs is the command line of netmon-agent with args, on l's config.
func (l *lab) agentArgs(args ...string) []string {
	return append(append(append([]string{}, l.agentCmd...), "--config", l.config), args...)
}

func (l *lab) startDaemon() {
	l.t.Helper()
	if l.log == nil {
		l.log = &lockedBuffer{}
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", l.ns("r")}, l.agentArgs("run")...)...)
	cmd.Env = append(os.Environ(), "NETMON_BOOT_ID_FILE="+l.bootFile)
	cmd.Stdout, cmd.Stderr = l.log, l.log
	if err := cmd.Start(); err != nil {
		l.t.Fatal(err)
	}
	l.daemon = cmd
	l.waited = make(chan error, 1)
	go func() { l.waited <- cmd.Wait() }()
	// Ready when it answers on its socket.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if l.reportSource() == "daemon" {
			return
		}
		select {
		case err := <-l.waited:
			l.t.Fatalf("daemon exited: %v\n%s", err, l.log.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	l.t.Fatalf("daemon did not answer\n%s", l.log.String())
}

// reportSource says where report got its figures: daemon, database, ...
func (l *lab) reportSource() string {
	out, err := l.exec("r", l.agentArgs("report", "--json")...)
	if err != nil {
		return ""
	}
	var r struct{ Source string }
	json.Unmarshal([]byte(out), &r)
	return r.Source
}

// stopDaemon signals the daemon and waits for it to exit.
func (l *lab) stopDaemon(sig syscall.Signal) {
	l.t.Helper()
	l.daemon.Process.Signal(sig)
	select {
	case err := <-l.waited:
		if sig == syscall.SIGTERM && err != nil {
			l.t.Fatalf("daemon exited with %v after SIGTERM\n%s", err, l.log.String())
		}
	case <-time.After(20 * time.Second):
		l.t.Fatalf("daemon did not exit on %v", sig)
	}
}

type meterJSON struct {
	Name      string `json:"name"`
	Bytes     uint64 `json:"bytes"`
	Packets   uint64 `json:"packets"`
	Since     string `json:"since"`
	LastReset *struct {
		Cause string `json:"cause"`
	} `json:"last_reset"`
}

// report returns report --json's meters by name.
func (l *lab) report() map[string]meterJSON {
	l.t.Helper()
	var r struct {
		Meters []meterJSON `json:"meters"`
	}
	out := l.agent("report", "--json")
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		l.t.Fatalf("report --json: %v\n%s", err, out)
	}
	m := map[string]meterJSON{}
	for _, x := range r.Meters {
		m[x.Name] = x
	}
	return m
}

// oracleCounts is what each meter's oracle counted: [packets, bytes] by
// meter name.
func (l *lab) oracleCounts() map[string][2]uint64 { return l.oracleReadings() }

// settle waits for in-flight packets (a TCP close's last ACK) to land.
func settle() { time.Sleep(150 * time.Millisecond) }

// expectExact samples and compares every meter with its oracle, plus extra
// bytes and packets the kernel counted for a meter outside the oracle's view
// (none, in all but one test).
func (l *lab) expectExact(what string) map[string]meterJSON {
	l.t.Helper()
	settle()
	l.agent("sample")
	got := l.report()
	want := l.oracleCounts()
	for _, name := range []string{"proxy", "offnet", "wan_in", "v6up"} {
		w := want[name]
		if w[1] == 0 {
			l.t.Errorf("%s: the oracle for %s saw no traffic; the test sends none?", what, name)
		}
		if g := got[name]; g.Bytes != w[1] || g.Packets != w[0] {
			l.t.Errorf("%s: meter %s counted %d bytes in %d packets; the senders sent %d bytes in %d packets",
				what, name, g.Bytes, g.Packets, w[1], w[0])
		}
	}
	return got
}

// traffic sends a mix of TCP, UDP and ICMP over IPv4 and IPv6 through every
// meter. scale multiplies the amounts.
func (l *lab) traffic(scale int) {
	l.t.Helper()
	n := strconv.Itoa(5 * scale)
	// a -> router: proxy
	l.helper("a", "udp", "198.18.1.1:9000", n, "1200")
	l.helper("a", "tcp", "198.18.1.1:7000", strconv.Itoa(60000*scale))
	l.must("a", "ping", "-q", "-c", "2", "-i", "0.01", "-s", "700", "198.18.1.1")
	// internet -> router: offnet
	l.helper("i", "udp", "198.19.0.1:9000", n, "333")
	l.must("i", "ping", "-q", "-c", "2", "-i", "0.01", "198.19.0.1")
	// internet -> LAN host, both families: wan_in
	l.helper("i", "udp", "198.18.1.2:9000", n, "900")
	l.helper("i", "tcp", "198.18.1.2:7000", strconv.Itoa(40000*scale))
	l.helper("i", "udp", "[2001:db8:1::2]:9000", n, "1000")
	l.must("i", "ping", "-q", "-6", "-c", "2", "-i", "0.01", "-s", "100", "2001:db8:1::2")
	// LAN host -> internet over IPv6: v6up
	l.helper("a", "udp", "[2001:db8:ff::2]:9000", n, "1100")
	l.helper("a", "tcp", "[2001:db8:ff::2]:7000", strconv.Itoa(30000*scale))
}

func (l *lab) helper(host string, args ...string) {
	l.t.Helper()
	self, _ := os.Executable()
	cmd := exec.Command("ip", append([]string{"netns", "exec", l.ns(host), self}, args...)...)
	cmd.Env = append(os.Environ(), "NETMON_LAB_HELPER="+args[0])
	if out, err := cmd.CombinedOutput(); err != nil {
		l.t.Fatalf("%s %v: %v\n%s", host, args, err, out)
	}
}

// startSink runs a TCP sink on port 7000 in host, for IPv4 and IPv6.
func (l *lab) startSink(host string) { l.startServer(host, "sink") }

// startServer runs a helper that serves until the lab ends: a sink, or a
// source (port 7100).
func (l *lab) startServer(host, mode string, args ...string) {
	l.t.Helper()
	self, _ := os.Executable()
	cmd := exec.Command("ip", append([]string{"netns", "exec", l.ns(host), self, mode}, args...)...)
	cmd.Env = append(os.Environ(), "NETMON_LAB_HELPER="+mode)
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		l.t.Fatal(err)
	}
	l.bg = append(l.bg, cmd)
	buf := make([]byte, 6)
	if _, err := io.ReadFull(stdout, buf); err != nil || string(buf) != "ready\n" {
		l.t.Fatalf("%s in %s did not start: %v", mode, host, err)
	}
}
