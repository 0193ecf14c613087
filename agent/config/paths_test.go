package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netmon-agent/netmon-agent/agent/account/accounttest"
	"github.com/netmon-agent/netmon-agent/agent/config"
)

// A database or runtime_dir among the system's own files, or a database
// path that holds a file no snapshot could be, is refused in one FILE:LINE
// line; the file is not touched. Our own files pass.
func TestLoadConfig_PathsThatAreNotOurs(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o600)
	os.Symlink(victim, filepath.Join(dir, "link"))
	journalVictim := filepath.Join(dir, "j.db")
	os.WriteFile(journalVictim+".journal", []byte("precious\n"), 0o600)
	for _, c := range []struct{ option, value, want string }{
		{"database", "/etc/shadow", "under /etc"},
		{"database", "/etc/netmon/../shadow", "under /etc"},
		{"database", "/usr/lib/x.db", "under /usr"},
		{"database", "/dev/sda", "under /dev"},
		{"runtime_dir", "/etc", "under /etc"},
		{"runtime_dir", "/proc/self", "under /proc"},
		{"database", victim, "is not a netmon-agent file"},
		{"database", filepath.Join(dir, "link"), "symbolic link"},
		{"database", journalVictim, "j.db.journal: is not a netmon-agent file: it is not a journal"},
		{"database", "/etc/netmon/netmon.db", ""},
		{"database", filepath.Join(dir, "new.db"), ""},
		{"runtime_dir", "/var/lib/netmon", ""},
	} {
		path := accounttest.WriteConfig(t, "config agent 'main'\n\toption "+c.option+" '"+c.value+"'\n")
		_, err := config.Load(path)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s %s: %v", c.option, c.value, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), path+":2:") || strings.Contains(err.Error(), "\n")):
			t.Errorf("%s %s: %v, want %q at %s:2", c.option, c.value, err, c.want, path)
		}
	}
	if b, _ := os.ReadFile(victim); string(b) != "root:x:0:0:root:/root:/bin/sh\n" {
		t.Error("the victim changed")
	}
}

// The program that sends mail runs as root: it must be an executable
// regular file named by an absolute path.
func TestLoadConfig_SendmailIsAnExecutableFile(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	os.WriteFile(plain, []byte("#!/bin/sh\n"), 0o644)
	for _, c := range []struct{ value, want string }{
		{"sendmail", "not an absolute path"},
		{filepath.Join(dir, "missing"), "no such file"},
		{plain, "not an executable regular file"},
		{dir, "not an executable regular file"},
		{"/bin/sh", ""},
	} {
		path := accounttest.WriteConfig(t, "config mail\n\tlist to 'a@example.org'\n\toption from 'b@example.org'\n\toption sendmail '"+c.value+"'\n")
		_, err := config.Load(path)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("sendmail %s: %v, want %q", c.value, err, c.want)
		}
	}
}

// Two services claiming one port: the second would never count, so the
// config is refused, naming both.
func TestLoadConfig_APortBelongsToOneService(t *testing.T) {
	path := accounttest.WriteConfig(t, "config agent 'main'\n\nconfig service 'alpha'\n\tlist port 'tcp/8080'\n\nconfig service 'beta'\n\tlist port 'udp/53'\n\tlist port 'tcp/8080'\n")
	_, err := config.Load(path)
	if err == nil || !strings.HasPrefix(err.Error(), path+":8:") || !strings.Contains(err.Error(), "service beta: port tcp/8080 is service alpha's") {
		t.Errorf("two services on tcp/8080: %v", err)
	}
	// A configured service may take a built-in one's port: it wins.
	path = accounttest.WriteConfig(t, "config agent 'main'\n\nconfig service 'intranet'\n\tlist port 'tcp/443'\n")
	if _, err := config.Load(path); err != nil {
		t.Errorf("a configured service on a built-in port: %v", err)
	}
}
