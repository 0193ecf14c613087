package store

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// Portable backups. The snapshot is bbolt's own file, in the byte order of
// the machine that wrote it: a big-endian MIPS router's cannot be opened on
// ARM or x86, which is what replacing an old router means. A portable
// backup holds the same entries in no machine's order: a header line, then
// journal records (length, CRC-32, deflated changes: every bucket with its
// sequence, every key with its value), each of at most portableChunk
// changes, then an empty record that ends it. Restoring one applies the
// records to a new file in this machine's order.
//
// Invariants:
//   - Every value the database holds is written in no machine's order
//     (uvarints, big-endian counters, JSON), so a copy of every entry is
//     the whole database, baselines and their boot ids included.
//   - Neither side holds the database in memory: the writer walks it in
//     one read transaction and flushes a record every portableChunk
//     entries; the reader applies each record as it comes.
//   - A file without its end record, with a bad checksum, or with bytes
//     after the end is refused whole, with nothing replaced: a backup cut
//     short is never restored in part.

const portableMagic = "netmon-portable 1\n"

// portableChunk is how many entries a record of a portable backup holds
// (a variable for tests).
var portableChunk = 4096

// ErrNotPortable means a file named as a portable backup is not one.
var ErrNotPortable = errors.New("not a netmon-agent portable backup")

// WritePortable writes the whole database to w as a portable backup, from
// one consistent read, and returns the bytes written.
func (db *DB) WritePortable(w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	if _, err := io.WriteString(cw, portableMagic); err != nil {
		return cw.n, err
	}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		batch := make([]change, 0, portableChunk)
		flush := func() error {
			_, err := cw.Write(frameRecord(batch))
			batch = batch[:0]
			return err
		}
		err := walkEntries(tx, func(path [][]byte, kind byte, key, value []byte, seq uint64) error {
			if batch = append(batch, entryChange(path, kind, key, value, seq)); len(batch) == portableChunk {
				return flush()
			}
			return nil
		})
		if err == nil && len(batch) > 0 {
			err = flush()
		}
		if err == nil {
			_, err = cw.Write(frameRecord(nil)) // the end
		}
		return err
	})
	if err != nil {
		return cw.n, fmt.Errorf("portable backup: %w", err)
	}
	return cw.n, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// IsPortable reports whether the file at path starts as a portable backup.
func IsPortable(path string) bool {
	f, err := openRegular(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, len(portableMagic))
	_, err = io.ReadFull(f, head)
	return err == nil && string(head) == portableMagic
}

// unpackPortable applies the portable backup at src to a new database
// file at dest (which it creates).
func unpackPortable(src, dest string) error {
	f, err := openRegular(src)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if fi.Size() > MaxDatabaseSize {
		return fmt.Errorf("restore %s: %w: %d bytes, more than a database can be (%d)", src, ErrCorrupt, fi.Size(), MaxDatabaseSize)
	}
	r := bufio.NewReader(f)
	head := make([]byte, len(portableMagic))
	if _, err := io.ReadFull(r, head); err != nil || !bytes.Equal(head, []byte(portableMagic)) {
		return fmt.Errorf("restore %s: %w", src, ErrNotPortable)
	}
	db, err := bolt.Open(dest, 0o600, &bolt.Options{Timeout: 0, NoSync: true})
	if err != nil {
		return fmt.Errorf("restore %s: %w", src, err)
	}
	defer db.Close()
	if err := applyPortable(r, fi.Size()-int64(len(head)), db); err != nil {
		return fmt.Errorf("restore %s: %w: %v; nothing was replaced", src, ErrCorrupt, err)
	}
	return db.Sync()
}

// applyPortable applies the records of a portable backup (left bytes of
// them) to db, up to the end record.
func applyPortable(r io.Reader, left int64, db *bolt.DB) error {
	at := int64(len(portableMagic))
	for {
		changes, n, why := readRecord(r, left)
		switch {
		case n == 0 && why == "":
			return errors.New("the backup is cut short: its end is missing")
		case why != "":
			return fmt.Errorf("at byte %d: %s", at, why)
		case len(changes) == 0:
			if left != n {
				return fmt.Errorf("%d bytes after its end", left-n)
			}
			return nil
		}
		if why := applyChanges(db, changes); why != "" {
			return fmt.Errorf("at byte %d: %s", at, why)
		}
		at, left = at+n, left-n
	}
}

// WritePortableFile writes a portable backup of db to dest, through a
// temporary file beside it that is synced and renamed, the directory
// synced after: dest is the whole backup or what it was.
func (db *DB) WritePortableFile(dest string) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(dest), ".netmon-portable-*")
	if err != nil {
		return 0, fmt.Errorf("portable backup: %w", err)
	}
	defer os.Remove(tmp.Name())
	n, err := db.WritePortable(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dest)
	}
	if err != nil {
		return 0, fmt.Errorf("portable backup to %s: %w", dest, err)
	}
	syncDir(filepath.Dir(dest)) // the rename, too, survives a power cut
	return n, nil
}
