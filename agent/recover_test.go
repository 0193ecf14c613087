package agent_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netmon-agent/netmon-agent/agent"
	"github.com/netmon-agent/netmon-agent/agent/account/accounttest"
	"github.com/netmon-agent/netmon-agent/agent/agenttest"
	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/netfilter"
	"github.com/netmon-agent/netmon-agent/agent/netfilter/netfiltertest"
	"github.com/netmon-agent/netmon-agent/store"
)

// Damage done to a file, as power loss, a full flash or a careless hand
// leave it.
var damages = map[string]func(t *testing.T, path string){
	"truncated": func(t *testing.T, path string) {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, fi.Size()/2); err != nil {
			t.Fatal(err)
		}
	},
	"random bytes in the middle": func(t *testing.T, path string) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		for i := len(data) / 4; i < len(data)*3/4; i++ {
			data[i] = byte(rng.Uint32())
		}
		os.WriteFile(path, data, 0o600)
	},
	"zero length": func(t *testing.T, path string) { os.WriteFile(path, nil, 0o600) },
	"not a database": func(t *testing.T, path string) {
		os.WriteFile(path, bytes.Repeat([]byte("config agent 'main'\n\toption interval '30'\n"), 300), 0o600)
	},
}

// recoverRig opens an agent on fake iptables in a temporary directory.
type recoverRig struct {
	t    *testing.T
	cfg  *config.Config
	opts agent.Options
	logs *strings.Builder
}

func newRecoverRig(t *testing.T) *recoverRig {
	dir := t.TempDir()
	path := accounttest.WriteConfig(t, `
config agent
	option runtime_dir '`+dir+`/run'
	option database '`+dir+`/flash/netmon.db'
	option hosts '0'
config meter 'proxy'
	option chain 'INPUT'
	option src '192.0.2.10'
`)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	logs := &strings.Builder{}
	opts := agenttest.FakeOptions(dir)
	opts.Clock = &accounttest.Clock{T: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)}
	opts.Logf = func(f string, a ...any) { logs.WriteString(strings.TrimSpace(fmt.Sprintf(f, a...)) + "\n") }
	return &recoverRig{t: t, cfg: cfg, logs: logs, opts: opts}
}

// counted opens the agent, counts bytes through proxy with a day of history
// behind it, snapshots and closes; it returns the total.
func (r *recoverRig) counted(bytes uint64) uint64 {
	var fw *netfiltertest.Firewall
	opts := r.opts
	opts.NewFirewall = func(b netfilter.Backend, f netfilter.Family) (netfilter.Firewall, error) {
		x, err := r.opts.NewFirewall(b, f)
		if f == netfilter.IPv4 && err == nil {
			fw = x.(*netfiltertest.Firewall)
		}
		return x, err
	}
	a, err := agent.Open(r.cfg, opts)
	if err != nil {
		r.t.Fatal(err)
	}
	defer a.Close()
	clock := r.opts.Clock.(*accounttest.Clock)
	a.Sample()
	for range 288 { // a day of five-minute samples: a file of many pages
		clock.Advance(5 * time.Minute)
		fw.Count("proxy", 1, bytes/288)
		if err := a.Sample(); err != nil {
			r.t.Fatal(err)
		}
	}
	if _, err := a.Persist(); err != nil {
		r.t.Fatal(err)
	}
	total, _, _ := a.State().MeterTotal("proxy")
	return total.Bytes
}

func (r *recoverRig) open() *agent.Agent {
	r.t.Helper()
	a, err := agent.Open(r.cfg, r.opts)
	if err != nil {
		r.t.Fatalf("open after damage: %v\nlog:\n%s", err, r.logs)
	}
	r.t.Cleanup(func() { a.Close() })
	return a
}

func asideFiles(t *testing.T, path string) []string {
	m, _ := filepath.Glob(path + ".corrupt-*")
	return m
}

// A damaged live file is set aside and the snapshot restored: the totals
// are the snapshot's, nothing is lost.
func TestOpen_DamagedLiveFileRestoresTheSnapshot(t *testing.T) {
	for name, damage := range damages {
		t.Run(name, func(t *testing.T) {
			r := newRecoverRig(t)
			want := r.counted(288_000)
			damage(t, r.cfg.LiveDatabase())
			a := r.open()
			if got, _, _ := a.State().MeterTotal("proxy"); got.Bytes != want {
				t.Errorf("total %d after restoring, want %d\nlog:\n%s", got.Bytes, want, r.logs)
			}
			if name == "random bytes in the middle" && len(asideFiles(t, r.cfg.LiveDatabase())) == 0 {
				// Bytes that landed only on free pages harm nothing; the
				// file must then read back whole.
				if err := a.Verify(); err != nil {
					t.Errorf("kept a damaged file: %v", err)
				}
				return
			}
			if got := asideFiles(t, r.cfg.LiveDatabase()); len(got) != 1 {
				t.Errorf("damaged live file not set aside: %v\nlog:\n%s", got, r.logs)
			}
			if !strings.Contains(r.logs.String(), "restored live database") {
				t.Errorf("no restore logged:\n%s", r.logs)
			}
			for _, e := range a.State().Events {
				if e.Cause == store.CauseDatabase {
					t.Errorf("a reset recorded although the snapshot was restored: %+v", e)
				}
			}
		})
	}
}

// Live file and snapshot both damaged: both set aside, counting starts
// afresh, and the report says so.
func TestOpen_DamagedSnapshotStartsAfresh(t *testing.T) {
	for name, damage := range damages {
		if name == "random bytes in the middle" {
			continue // a gzip stream with garbage in it is the truncated case's kin; see below
		}
		if name == "not a database" {
			continue // another file at the snapshot's path: refused, below
		}
		t.Run(name, func(t *testing.T) {
			r := newRecoverRig(t)
			r.counted(288_000)
			os.Remove(r.cfg.LiveDatabase()) // a reboot emptied tmpfs
			damage(t, r.cfg.Database)
			a := r.open()
			if got, _, _ := a.State().MeterTotal("proxy"); got.Bytes != 0 {
				t.Errorf("total %d from a damaged snapshot", got.Bytes)
			}
			if got := asideFiles(t, r.cfg.Database); len(got) != 1 {
				t.Errorf("damaged snapshot not set aside: %v\nlog:\n%s", got, r.logs)
			}
			rep := a.Report("daemon")
			var b strings.Builder
			rep.WriteText(&b, time.UTC)
			if !strings.Contains(b.String(), "RESET DETECTED") || !strings.Contains(b.String(), "database was damaged") {
				t.Errorf("report does not say the history was reset:\n%s", b.String())
			}
			// The next start finds a sound file and sets nothing more aside.
			a.Close()
			if _, err := agent.Open(r.cfg, r.opts); err != nil {
				t.Fatal(err)
			}
			if got := asideFiles(t, r.cfg.Database); len(got) != 1 {
				t.Errorf("%d files set aside after a clean restart", len(got))
			}
		})
	}
}

// A snapshot whose compressed stream is damaged in the middle.
func TestOpen_SnapshotWithGarbageInside(t *testing.T) {
	r := newRecoverRig(t)
	r.counted(288_000)
	os.Remove(r.cfg.LiveDatabase())
	damages["random bytes in the middle"](t, r.cfg.Database)
	a := r.open()
	if got := asideFiles(t, r.cfg.Database); len(got) != 1 {
		t.Errorf("damaged snapshot not set aside: %v\nlog:\n%s", got, r.logs)
	}
	if got, _, _ := a.State().MeterTotal("proxy"); got.Bytes != 0 {
		t.Errorf("total %d from a damaged snapshot", got.Bytes)
	}
}

// store.Check names what is wrong with each damaged file, and passes a
// sound one, live or snapshot.
func TestCheck_NamesTheDamage(t *testing.T) {
	r := newRecoverRig(t)
	r.counted(288_000)
	for _, p := range []string{r.cfg.LiveDatabase(), r.cfg.Database} {
		if err := store.Check(p); err != nil {
			t.Errorf("sound %s: %v", p, err)
		}
	}
	for name, damage := range damages {
		for _, p := range []string{r.cfg.LiveDatabase(), r.cfg.Database} {
			dir := t.TempDir()
			c := filepath.Join(dir, filepath.Base(p))
			data, _ := os.ReadFile(p)
			os.WriteFile(c, data, 0o600)
			damage(t, c)
			err := store.Check(c)
			if err == nil {
				if name == "random bytes in the middle" && p == r.cfg.LiveDatabase() {
					continue // only free pages were hit
				}
				t.Errorf("%s %s passed the check", name, filepath.Base(p))
				continue
			}
			if strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), c) {
				t.Errorf("%s: error %q is not one line naming the file", name, err)
			}
		}
	}
}

// A file that is no snapshot at the snapshot's path (option database
// naming someone else's file) is never set aside or replaced: open refuses
// it in one line, and the file stays as it was.
func TestOpen_SnapshotPathHoldingAnotherFileIsRefused(t *testing.T) {
	r := newRecoverRig(t)
	r.counted(288_000)
	os.Remove(r.cfg.LiveDatabase())
	damages["not a database"](t, r.cfg.Database)
	before, _ := os.ReadFile(r.cfg.Database)
	_, err := agent.Open(r.cfg, r.opts)
	if !errors.Is(err, store.ErrNotOurs) || strings.Contains(err.Error(), "\n") {
		t.Errorf("open: %v", err)
	}
	if after, _ := os.ReadFile(r.cfg.Database); !bytes.Equal(after, before) || len(asideFiles(t, r.cfg.Database)) > 0 {
		t.Error("the file at the snapshot's path was changed or moved")
	}
}

// A symbolic link planted at the journal's path (the live file gone, as
// after a reboot), at the live file's or at the snapshot's is never
// followed: its target keeps every byte, and what refuses says why.
func TestOpen_SymlinksAreNeverFollowed(t *testing.T) {
	for _, c := range []struct {
		name string
		path func(cfg *config.Config) string
	}{
		{"journal", func(cfg *config.Config) string { return store.JournalPath(cfg.Database) }},
		{"live file", func(cfg *config.Config) string { return cfg.LiveDatabase() }},
		{"snapshot", func(cfg *config.Config) string { return cfg.Database }},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRecoverRig(t)
			r.counted(288_000)
			victim := filepath.Join(t.TempDir(), "victim")
			os.WriteFile(victim, []byte("precious\n"), 0o600)
			if c.name != "live file" {
				os.Remove(r.cfg.LiveDatabase()) // a reboot emptied tmpfs
			}
			link := c.path(r.cfg)
			os.Remove(link)
			if err := os.Symlink(victim, link); err != nil {
				t.Fatal(err)
			}
			a, err := agent.Open(r.cfg, r.opts)
			if err == nil {
				// Two samples a minute apart, each persisted: each has
				// something to write (the time of the last sample).
				for range 2 {
					r.opts.Clock.(*accounttest.Clock).Advance(time.Minute)
					a.Sample()
					if _, perr := a.Persist(); err == nil {
						err = perr
					}
				}
				a.Close()
			}
			if !errors.Is(err, store.ErrSymlink) {
				t.Errorf("open with a link at the %s: %v", c.name, err)
			}
			if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
				t.Errorf("the link's target was written: %q\nlog:\n%s", b, r.logs)
			}
		})
	}
}
