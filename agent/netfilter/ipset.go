package netfilter

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/netmon-agent/netmon-agent/store"
)

// ErrNoIpset means per-host accounting cannot run: no ipset binary.
var ErrNoIpset = errors.New("ipset not found")

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

func (s *ipsetCmd) run(args ...string) ([]byte, error) { return s.runInput("", args...) }

// runInput runs ipset with stdin on its standard input.
func (s *ipsetCmd) runInput(stdin string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, s.path, args...)
	cmd.Stdin = strings.NewReader(stdin)
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
	return ParseIpsetSave(out)
}

func (s *ipsetCmd) Create(name string, f Family) error {
	fam := "inet"
	if f == IPv6 {
		fam = "inet6"
	}
	typ := "hash:ip"
	if IsServiceSet(name) {
		typ = "hash:ip,port"
	}
	_, err := s.run("create", name, typ, "family", fam, "counters", "maxelem", strconv.Itoa(MaxElements), "-exist")
	return err
}

func (s *ipsetCmd) Evict(name string, out, in []netip.Addr) error {
	var b strings.Builder
	for _, a := range out {
		fmt.Fprintf(&b, "del %s %s\n", name, a)
	}
	// The counters are given: ipset reuses a deleted element's slot and,
	// for an add without counters, leaves the old element's counts in it
	// (seen in the lab: a host admitted after a flood showed a flood
	// packet).
	for _, a := range in {
		fmt.Fprintf(&b, "add %s %s packets 0 bytes 0\n", name, a)
	}
	return s.restore(b.String())
}

func (s *ipsetCmd) EvictServices(name string, out []ServiceKey) error {
	var b strings.Builder
	for _, k := range out {
		fmt.Fprintf(&b, "del %s %s,%s:%d\n", name, k.Addr, ProtoName(k.Proto), k.Port)
	}
	return s.restore(b.String())
}

// restore runs `ipset restore -exist` on script: one process for any
// number of changes, missing and existing elements fine.
func (s *ipsetCmd) restore(script string) error {
	if script == "" {
		return nil
	}
	_, err := s.runInput(script, "restore", "-exist")
	return err
}

func (s *ipsetCmd) DelService(name string, k ServiceKey) error {
	_, err := s.run("del", name, fmt.Sprintf("%s,%s:%d", k.Addr, ProtoName(k.Proto), k.Port), "-exist")
	return err
}

// Remove destroys our sets; it must come after the rules that name them.
func (s *ipsetCmd) Remove() ([]string, error) {
	have, err := s.List()
	if err != nil {
		return nil, err
	}
	var done []string
	var errs []error
	for name := range have {
		if _, err := s.run("destroy", name); err != nil {
			errs = append(errs, fmt.Errorf("destroy set %s: %w", name, err))
			continue
		}
		done = append(done, "destroyed set "+name)
	}
	slices.Sort(done)
	return done, errors.Join(errs...)
}

func (s *ipsetCmd) Add(name string, addr netip.Addr) error {
	_, err := s.run("add", name, addr.String(), "-exist")
	return err
}

func (s *ipsetCmd) Del(name string, addr netip.Addr) error {
	_, err := s.run("del", name, addr.String(), "-exist")
	return err
}

// ParseIpsetSave reads `ipset save`: "create NAME TYPE OPTIONS..." lines and
// "add NAME ADDR [timeout N] [packets N bytes N]" lines. Sets not ours are
// skipped.
func ParseIpsetSave(out []byte) (map[string]*IPSet, error) {
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
			if len(f) > 2 && f[2] == "hash:ip,port" {
				s.Services = map[ServiceKey]store.Counts{}
			}
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
			var addr netip.Addr
			var key ServiceKey
			var err error
			if s.Services != nil {
				key, err = parseServiceText(f[2])
			} else if addr, err = netip.ParseAddr(f[2]); err != nil {
				err = fmt.Errorf("malformed address %q", f[2])
			}
			if err != nil {
				return nil, fmt.Errorf("ipset save line %d: %w", n, err)
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
			if s.Services != nil {
				s.Services[key] = c
			} else {
				s.Elements[addr] = c
			}
		}
	}
	return sets, sc.Err()
}
