package agent

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netmon-agent/netmon-agent/store"
)

// fakeClock is a settable clock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time { return c.t }

func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// fakeRig is a sampler over fake firewalls, with a fake boot id and clock,
// committing to a real store in a temporary directory.
type fakeRig struct {
	t       *testing.T
	cfg     *Config
	fw4     *fakeFirewall
	fw6     *fakeFirewall
	clock   *fakeClock
	boot    string
	sampler *Sampler
	db      *store.DB
	logs    []string
	// restarts counts daemon processes, to keep generations unique.
	restarts int
	// sets and sources, when set, turn per-host accounting on.
	sets    *fakeSets
	sources *fakeSources
}

func newFakeRig(t *testing.T, config string) *fakeRig {
	t.Helper()
	cfg := mustConfig(t, config)
	r := &fakeRig{
		t:     t,
		cfg:   cfg,
		fw4:   newFakeFirewall(IPv4),
		fw6:   newFakeFirewall(IPv6),
		clock: &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)},
		boot:  "boot-1",
	}
	db, err := store.Open(t.TempDir()+"/live.db", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	r.db = db
	r.restart()
	return r
}

// restart is a new daemon process: state loaded from the store, nothing
// kept from memory.
func (r *fakeRig) restart() {
	st, err := r.db.Load()
	if err != nil {
		r.t.Fatal(err)
	}
	r.sampler = &Sampler{
		Config:    r.cfg,
		Firewalls: []Firewall{r.fw4, r.fw6},
		State:     st,
		Clock:     r.clock,
		Boot:      func() (string, error) { return r.boot, nil },
		NewGen:    counterGen(),
		Logf:      func(f string, a ...any) { r.logs = append(r.logs, fmt.Sprintf(f, a...)) },
		Commit:    func() error { return r.db.Commit(r.sampler.State) },
	}
	if r.sets != nil {
		r.sampler.Sets, r.sampler.Sources = r.sets, r.sources
	}
	// Generations must differ across processes, as random ones do.
	r.restarts++
	prefix := fmt.Sprintf("p%d-", r.restarts)
	gen := r.sampler.NewGen
	r.sampler.NewGen = func() string { return prefix + gen() }
}

func (r *fakeRig) sample() {
	r.t.Helper()
	r.clock.advance(30 * time.Second)
	if err := r.sampler.Sample(); err != nil {
		r.t.Fatalf("sample: %v", err)
	}
}

func (r *fakeRig) commit() {
	r.t.Helper()
	if err := r.db.Commit(r.sampler.State); err != nil {
		r.t.Fatal(err)
	}
}

func (r *fakeRig) total(meter string) store.Counts {
	c, _, _ := r.sampler.State.MeterTotal(meter)
	return c
}

func mustConfig(t testing.TB, text string) *Config {
	t.Helper()
	secs, err := parseUCI("test.conf", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := configFromSections("test.conf", secs)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// fakeSources is a settable neighbour table and name list.
type fakeSources struct {
	neigh map[netip.Addr]string
	names map[string]string
}

func (s *fakeSources) Neighbours() (map[netip.Addr]string, error) {
	out := map[netip.Addr]string{}
	for a, m := range s.neigh {
		out[a] = m
	}
	return out, nil
}

func (s *fakeSources) Names() map[string]string { return s.names }

// newPipe is an in-memory pipe for key presses.
func newPipe() (*io.PipeReader, *io.PipeWriter) { return io.Pipe() }

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "netmon")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const twoMeters = `
config agent 'main'
	option interval '30'

config meter 'proxy'
	option chain 'INPUT'
	option src '192.0.2.10'

config meter 'all'
	option chain 'FORWARD'
`

func wantTotal(t *testing.T, r *fakeRig, meter string, bytes uint64) {
	t.Helper()
	if got := r.total(meter).Bytes; got != bytes {
		t.Errorf("meter %s: total %d bytes, want %d", meter, got, bytes)
	}
}

func lastCause(r *fakeRig, meter string) string {
	if e := r.sampler.State.LastReset(meter); e != nil {
		return e.Cause
	}
	return ""
}

const goldenConfig = `
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
