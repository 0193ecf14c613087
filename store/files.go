package store

import (
	"errors"
	"fmt"
	"os"
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

// openRegular opens path for reading without blocking on a FIFO, and
// refuses anything but a regular file.
func openRegular(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
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

// CheckRegular says whether path, if it exists, is a regular file: a
// database path that names a directory or a device must never be read,
// moved aside or replaced.
func CheckRegular(path string) error {
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().IsRegular() {
		return nil
	}
	return fmt.Errorf("%s: %w (it is a %s)", path, ErrNotRegular, fileKind(fi.Mode()))
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
