package store

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
)

// Files that are not what they claim: a database path that names a
// directory, a FIFO or a device is refused before anything reads, moves or
// replaces it, and nothing here blocks on a FIFO.

// MaxDatabaseSize bounds a database file: bbolt maps the whole file, and a
// 32-bit router cannot map much more (years of history at hundreds of
// hosts stay far below it). What Restore reads is refused beyond it.
var MaxDatabaseSize int64 = 512 << 20

// ErrNotRegular means a path that must be a database file is something
// else: a directory, a FIFO, a device.
var ErrNotRegular = errors.New("not a regular file")

// ErrSymlink means a file of ours (the snapshot, its journal, the live
// file) is a symbolic link. None is ever followed: a link planted there
// cannot make us write over its target.
var ErrSymlink = errors.New("is a symbolic link, which is never followed")

// ErrNotOurs means a path that must be one of our files holds something
// else: it is never renamed, truncated or replaced.
var ErrNotOurs = errors.New("is not a netmon-agent file")

// openRegular opens path for reading without blocking on a FIFO, and
// refuses anything but a regular file. It follows a symbolic link: it is
// for files a user names (a backup to restore).
func openRegular(path string) (*os.File, error) { return openFile(path, 0) }

// openOurs is openRegular for a file of ours: a symbolic link is refused.
func openOurs(path string) (*os.File, error) { return openFile(path, syscall.O_NOFOLLOW) }

func openFile(path string, flags int) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|flags, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%s: %w", path, ErrSymlink)
	}
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s: %w (it is a %s)", path, ErrNotRegular, fileKind(fi.Mode()))
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// CheckRegular says whether path, if it exists, is a regular file and no
// symbolic link: a database path that names a directory, a device or a
// link must never be read, moved aside or replaced.
func CheckRegular(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case err != nil || fi.Mode().IsRegular():
		return nil
	case fi.Mode()&os.ModeSymlink != 0:
		return fmt.Errorf("%s: %w", path, ErrSymlink)
	}
	return fmt.Errorf("%s: %w (it is a %s)", path, ErrNotRegular, fileKind(fi.Mode()))
}

// CheckSnapshot says whether path, if it exists, may be our snapshot: a
// regular file, empty, or a snapshot (gzip with our comment, or of a bbolt
// database), or a plain bbolt database; and its journal, if there, a
// journal. A damaged snapshot still passes (its header survives); a file
// of someone else's named by option database does not, so it is never
// replaced.
func CheckSnapshot(path string) error {
	for _, p := range []string{path, JournalPath(path)} {
		if err := CheckRegular(p); err != nil {
			return err
		}
	}
	if err := checkHead(path, isSnapshotHead, "a snapshot (gzip of a bbolt database) or a bbolt database"); err != nil {
		return err
	}
	return checkHead(JournalPath(path), isJournalHead, "a journal")
}

// isJournalHead says whether b starts a journal, or what a power cut may
// leave of one being started: its header cut short, or zeros where the
// filesystem had not written it yet. Such a journal is left out at the
// next restore (journal.go); it must not keep the daemon from starting.
func isJournalHead(b []byte) bool {
	if strings.HasPrefix(string(b), journalMagic) || strings.HasPrefix(journalMagic, string(b)) {
		return true
	}
	return len(bytes.Trim(b, "\x00")) == 0
}

// checkHead reads the start of path, if it exists and is not empty, and
// refuses it unless ok says it is what want names.
func checkHead(path string, ok func([]byte) bool, want string) error {
	f, err := openOurs(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	if n == 0 || ok(head[:n]) {
		return nil
	}
	return fmt.Errorf("%s: %w: it is not %s; name another file", path, ErrNotOurs, want)
}

// isSnapshotHead says whether b starts a snapshot or a bbolt database.
func isSnapshotHead(b []byte) bool {
	if len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return false
		}
		if strings.HasPrefix(zr.Comment, generationPrefix) {
			return true
		}
		page := make([]byte, 32)
		n, _ := io.ReadFull(zr, page)
		return isBoltHead(page[:n])
	}
	return isBoltHead(b)
}

// isBoltHead says whether b starts a bbolt file: its first meta page's
// magic after the 16-byte page header, in either byte order (a snapshot
// from a big-endian router is still ours).
func isBoltHead(b []byte) bool {
	const magic = 0xED0CDAED
	return len(b) >= 20 && (binary.LittleEndian.Uint32(b[16:]) == magic || binary.BigEndian.Uint32(b[16:]) == magic)
}

func fileKind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&os.ModeNamedPipe != 0:
		return "FIFO"
	case m&os.ModeDevice != 0:
		return "device"
	case m&os.ModeSocket != 0:
		return "socket"
	}
	return "special file"
}
