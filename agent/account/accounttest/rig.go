package accounttest

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/account"
	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/netfilter"
	"github.com/netmon-agent/netmon-agent/agent/netfilter/netfiltertest"
	"github.com/netmon-agent/netmon-agent/agent/uci"
	"github.com/netmon-agent/netmon-agent/store"
)

// fakeClock is a settable clock.
type Clock struct{ T time.Time }

func (c *Clock) Now() time.Time { return c.T }

func (c *Clock) Advance(d time.Duration) { c.T = c.T.Add(d) }

// fakeRig is a sampler over fake firewalls, with a fake boot id and clock,
// committing to a real store in a temporary directory.
type Rig struct {
	t       *testing.T
	Config  *config.Config
	Fw4     *netfiltertest.Firewall
	Fw6     *netfiltertest.Firewall
	Clock   *Clock
	Boot    string
	Sampler *account.Sampler
	DB      *store.DB
	Logs    []string
	// restarts counts daemon processes, to keep generations unique.
	restarts int
	// sets and sources, when set, turn per-host accounting on.
	Sets    *netfiltertest.Sets
	Sources *Sources
}

func NewRig(t *testing.T, config string) *Rig {
	t.Helper()
	cfg := MustConfig(t, config)
	r := &Rig{
		t:      t,
		Config: cfg,
		Fw4:    netfiltertest.NewFirewall(netfilter.IPv4),
		Fw6:    netfiltertest.NewFirewall(netfilter.IPv6),
		Clock:  &Clock{T: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)},
		Boot:   "boot-1",
	}
	db, err := store.Open(t.TempDir()+"/live.db", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	r.DB = db
	r.Restart()
	return r
}

// Restart is a new daemon process: state loaded from the store, nothing
// kept from memory.
func (r *Rig) Restart() {
	st, err := r.DB.Load()
	if err != nil {
		r.t.Fatal(err)
	}
	r.Sampler = &account.Sampler{
		Config:    r.Config,
		Firewalls: []netfilter.Firewall{r.Fw4, r.Fw6},
		State:     st,
		Clock:     r.Clock,
		Boot:      func() (string, error) { return r.Boot, nil },
		NewGen:    netfiltertest.CounterGen(),
		Logf:      func(f string, a ...any) { r.Logs = append(r.Logs, fmt.Sprintf(f, a...)) },
		Commit:    func() error { return r.DB.Commit(r.Sampler.State) },
	}
	if r.Sets != nil {
		r.Sampler.Sets, r.Sampler.Sources = r.Sets, r.Sources
	}
	// Generations must differ across processes, as random ones do.
	r.restarts++
	prefix := fmt.Sprintf("p%d-", r.restarts)
	gen := r.Sampler.NewGen
	r.Sampler.NewGen = func() string { return prefix + gen() }
}

func (r *Rig) Sample() {
	r.t.Helper()
	r.Clock.Advance(30 * time.Second)
	if err := r.Sampler.Sample(); err != nil {
		r.t.Fatalf("sample: %v", err)
	}
}

func (r *Rig) Commit() {
	r.t.Helper()
	if err := r.DB.Commit(r.Sampler.State); err != nil {
		r.t.Fatal(err)
	}
}

func (r *Rig) Total(meter string) store.Counts {
	c, _, _ := r.Sampler.State.MeterTotal(meter)
	return c
}

func MustConfig(t testing.TB, text string) *config.Config {
	t.Helper()
	secs, err := uci.Parse("test.conf", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.FromSections("test.conf", secs)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Sources is a settable neighbour table and name list.
type Sources struct {
	Neigh map[netip.Addr]string
	Known map[string]string // MAC to name
	Reads int               // calls of Neighbours
}

func (s *Sources) Neighbours() (map[netip.Addr]string, error) {
	s.Reads++
	out := map[netip.Addr]string{}
	for a, m := range s.Neigh {
		out[a] = m
	}
	return out, nil
}

func (s *Sources) Names() map[string]string { return s.Known }

// NewPipe is an in-memory pipe for key presses.
func NewPipe() (*io.PipeReader, *io.PipeWriter) { return io.Pipe() }

func WriteConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "netmon")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const TwoMeters = `
config agent 'main'
	option interval '30'

config meter 'proxy'
	option chain 'INPUT'
	option src '192.0.2.10'

config meter 'all'
	option chain 'FORWARD'
`

func WantTotal(t *testing.T, r *Rig, meter string, bytes uint64) {
	t.Helper()
	if got := r.Total(meter).Bytes; got != bytes {
		t.Errorf("meter %s: total %d bytes, want %d", meter, got, bytes)
	}
}

func LastCause(r *Rig, meter string) string {
	if e := r.Sampler.State.LastReset(meter); e != nil {
		return e.Cause
	}
	return ""
}

const GoldenConfig = `
config agent 'main'
	option interval '30'
	option period_start '15'
	option hosts '1'

config meter 'proxy'
	option chain 'INPUT'
	option src '192.0.2.10'

config meter 'offnet'
	option chain 'FORWARD'
`

// Host is the host of key in the state, or an empty one.
func (r *Rig) Host(key string) *store.Host {
	h := r.Sampler.State.Hosts[key]
	if h == nil {
		return &store.Host{}
	}
	return h
}
