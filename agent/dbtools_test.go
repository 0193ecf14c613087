package agent_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netmon-agent/netmon-agent/agent"
	"github.com/netmon-agent/netmon-agent/agent/account/accounttest"
	"github.com/netmon-agent/netmon-agent/agent/agenttest"
	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/store"
)

// dbConfig is a config whose database lives under dir.
func dbConfig(t *testing.T, dir string) *config.Config {
	t.Helper()
	cfg, err := config.Load(accounttest.WriteConfig(t, "config agent\n\toption database '"+dir+"/flash/netmon.db'\n\toption runtime_dir '"+dir+"/run'\n"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// A backup never replaces the database's own files, whatever the path
// looks like, and a directory is named as one; with the daemon running
// (which once replaced its live file and returned 0) and without.
func TestBackup_RefusesTheDatabasesOwnFiles(t *testing.T) {
	dir := t.TempDir()
	cfg := dbConfig(t, dir)
	a, err := agent.Open(cfg, agenttest.FakeOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	a.Sample()
	a.Persist()
	a.Close()
	link := filepath.Join(dir, "link.db")
	os.Symlink(cfg.LiveDatabase(), link)
	check := func(when string) {
		for _, dest := range []string{cfg.LiveDatabase(), cfg.Database, link, filepath.Join(dir, "run", "..", "run", "live.db")} {
			if _, err := agent.BackupDatabase(cfg, dest, false); !errors.Is(err, agent.ErrOwnFile) {
				t.Errorf("%s: backup to %s: %v, want ErrOwnFile", when, dest, err)
			}
		}
		if _, err := agent.BackupDatabase(cfg, dir, false); err == nil || !strings.Contains(err.Error(), "is a directory") {
			t.Errorf("%s: backup to a directory: %v", when, err)
		}
		for _, c := range agent.CheckDatabases(cfg, nil) {
			if c.Error != "" {
				t.Errorf("%s: after refused backups: %s", when, c.Error)
			}
		}
	}
	check("no daemon")
	_, stop := agenttest.RunFakeAgent(t, "\toption database '"+dir+"/flash/netmon.db'\n\toption runtime_dir '"+dir+"/run'\n", "")
	defer stop()
	check("daemon")
}

// Database paths that name a directory are a config mistake, said so; the
// directory is never moved aside (it once was, as a corrupt database).
func TestOpen_DatabaseThatIsADirectory(t *testing.T) {
	dir := t.TempDir()
	cfg := dbConfig(t, dir)
	os.MkdirAll(cfg.Database, 0o700)
	_, err := agent.Open(cfg, agenttest.FakeOptions(dir))
	if !errors.Is(err, store.ErrNotRegular) || !strings.Contains(err.Error(), "option database") {
		t.Errorf("Open: %v", err)
	}
	if fi, err := os.Stat(cfg.Database); err != nil || !fi.IsDir() {
		t.Errorf("the directory was moved: %v", err)
	}
	if _, err := agent.ReadReport(cfg, time.Now()); !errors.Is(err, store.ErrNotRegular) {
		t.Errorf("ReadReport: %v", err)
	}
	if _, err := agent.RestoreDatabase(cfg, agent.Options{}, cfg.Database); !errors.Is(err, store.ErrNotRegular) {
		t.Errorf("RestoreDatabase: %v", err)
	}
}
