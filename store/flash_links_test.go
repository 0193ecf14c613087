package store

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A symbolic link put where the journal goes is never followed: not by a
// new process taking the journal over, not by a record appended under a
// running one; its target keeps every byte, and the next write is a
// snapshot, which takes the link's place.
func TestPersist_JournalThatIsASymlinkIsNeverFollowed(t *testing.T) {
	for _, newProcess := range []bool{true, false} {
		p := newPersisting(t, 2)
		victim := filepath.Join(t.TempDir(), "victim")
		os.WriteFile(victim, []byte("precious\n"), 0o600)
		os.Remove(JournalPath(p.dest))
		if err := os.Symlink(victim, JournalPath(p.dest)); err != nil {
			t.Fatal(err)
		}
		if newProcess {
			p.reopen(t)
		}
		busyHour(t, p.DB, p.s, t0.Add(time.Duration(p.hour)*time.Hour), p.hour)
		p.hour++
		if _, err := p.Persist(p.dest, false); err != nil && !errors.Is(err, ErrSymlink) {
			t.Errorf("new process %v: %v", newProcess, err)
		}
		p.next(t)
		if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
			t.Errorf("new process %v: the link's target was written: %d bytes now", newProcess, len(b))
		}
		if fi, err := os.Lstat(JournalPath(p.dest)); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			t.Errorf("new process %v: the link is still where the journal goes", newProcess)
		}
	}
}

// What a power cut may leave of a journal being started (its header cut
// short, or zeros) still passes as ours: it is left out at the restore, and
// must not keep the daemon from starting. Another file does not.
func TestCheckSnapshot_TornJournalIsOurs(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "netmon.db")
	for _, c := range []struct {
		journal string
		ours    bool
	}{
		{journalMagic[:5], true},
		{journalMagic + "gen\n", true},
		{"\x00\x00\x00\x00", true},
		{"precious\n", false},
	} {
		os.WriteFile(JournalPath(db), []byte(c.journal), 0o600)
		if err := CheckSnapshot(db); (err == nil) != c.ours {
			t.Errorf("journal %q: %v", c.journal, err)
		}
	}
}
