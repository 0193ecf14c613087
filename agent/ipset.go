package agent

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/netmon-agent/netmon-agent/store"
)

// Sets is the part of ipset the per-host accounting uses. The real one runs
// the ipset binary; tests use a fake.
type Sets interface {
	// List reads every set of ours with its elements and their counters, in
	// one process.
	List() (map[string]*IPSet, error)
	// Create makes a hash:ip set with counters; one that exists is fine.
	Create(name string, f Family) error
	Destroy(name string) error
	Add(name string, addr netip.Addr) error
	Del(name string, addr netip.Addr) error
}

// An IPSet is one set as `ipset save` prints it.
type IPSet struct {
	Name     string
	Family   Family
	Counters bool
	Elements map[netip.Addr]store.Counts
}

// ErrNoIpset means per-host accounting cannot run: no ipset binary.
var ErrNoIpset = errors.New("ipset not found")

// setPrefix starts the names of our sets, as chainPrefix does our chains.
const setPrefix = "netmon-"

// ipsetCmd runs the ipset binary.
type ipsetCmd struct{ path string }

// NewIpset returns the real Sets, or ErrNoIpset.
func NewIpset() (Sets, error) {
	p, err := exec.LookPath("ipset")
	if err != nil {
		return nil, fmt.Errorf("%w: install ipset (and on OpenWrt kmod-ipt-ipset)", ErrNoIpset)
	}
	return &ipsetCmd{path: p}, nil
}

func (s *ipsetCmd) run(args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, s.path, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("ipset %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

func (s *ipsetCmd) List() (map[string]*IPSet, error) {
	out, err := s.run("save")
	if err != nil {
		return nil, err
	}
	return parseIpsetSave(out)
}

func (s *ipsetCmd) Create(name string, f Family) error {
	fam := "inet"
	if f == IPv6 {
		fam = "inet6"
	}
	_, err := s.run("create", name, "hash:ip", "family", fam, "counters", "-exist")
	return err
}

func (s *ipsetCmd) Destroy(name string) error {
	_, err := s.run("destroy", name)
	return err
}

func (s *ipsetCmd) Add(name string, addr netip.Addr) error {
	_, err := s.run("add", name, addr.String(), "-exist")
	return err
}

func (s *ipsetCmd) Del(name string, addr netip.Addr) error {
	_, err := s.run("del", name, addr.String(), "-exist")
	return err
}

// parseIpsetSave reads `ipset save`: "create NAME TYPE OPTIONS..." lines and
// "add NAME ADDR [timeout N] [packets N bytes N]" lines. Sets not ours are
// skipped.
func parseIpsetSave(out []byte) (map[string]*IPSet, error) {
	sets := map[string]*IPSet{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	n := 0
	for sc.Scan() {
		n++
		f := strings.Fields(sc.Text())
		if len(f) < 2 || !strings.HasPrefix(f[1], setPrefix) {
			continue
		}
		switch f[0] {
		case "create":
			s := &IPSet{Name: f[1], Elements: map[netip.Addr]store.Counts{}}
			for i := 2; i < len(f); i++ {
				switch f[i] {
				case "counters":
					s.Counters = true
				case "family":
					if i+1 < len(f) && f[i+1] == "inet6" {
						s.Family = IPv6
					}
				}
			}
			sets[f[1]] = s
		case "add":
			s := sets[f[1]]
			if s == nil || len(f) < 3 {
				return nil, fmt.Errorf("ipset save line %d: element of an unknown set: %q", n, sc.Text())
			}
			addr, err := netip.ParseAddr(f[2])
			if err != nil {
				return nil, fmt.Errorf("ipset save line %d: malformed address %q", n, f[2])
			}
			var c store.Counts
			for i := 3; i+1 < len(f); i += 2 {
				v, err := strconv.ParseUint(f[i+1], 10, 64)
				if err != nil {
					return nil, fmt.Errorf("ipset save line %d: malformed %s %q", n, f[i], f[i+1])
				}
				switch f[i] {
				case "packets":
					c.Packets = v
				case "bytes":
					c.Bytes = v
				}
			}
			s.Elements[addr] = c
		}
	}
	return sets, sc.Err()
}
