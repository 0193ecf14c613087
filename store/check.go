package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrCorrupt means a database file is damaged: it is not a bbolt file, a
// page is out of place, or a value does not decode. Callers move such a
// file aside and start over; nothing else in it can be trusted.
var ErrCorrupt = errors.New("database is corrupt")

// guard runs f, turning a panic (bbolt panics on some damaged pages) and a
// memory fault (a page beyond the end of a truncated, mmap'ed file) into
// an ErrCorrupt error.
func guard(what string, f func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: %w: %v", what, ErrCorrupt, r)
		}
	}()
	return f()
}

// checkLength refuses a file shorter than the pages its meta page counts:
// one cut short (a power loss, a full disk, a copy that stopped). bbolt
// maps at least 32 KiB and then doubles, so the pages past the end of such
// a file may lie inside another mapping of the process, where reading
// them faults nothing and returns garbage.
func (db *DB) checkLength(tx *bolt.Tx) error {
	fi, err := os.Stat(db.path)
	if err != nil {
		return err
	}
	if fi.Size() < tx.Size() {
		return fmt.Errorf("the file is %d bytes but its pages reach %d: cut short", fi.Size(), tx.Size())
	}
	return nil
}

// Verify reads the whole file: its length against its pages, every bucket and key (walked here, so a
// bad page is caught in this goroutine), every state value and history
// row decoded, then bbolt's own consistency check of pages and freelist.
// Any damage is an ErrCorrupt error naming what was wrong.
func (db *DB) Verify() error {
	corrupt := func(err error) error {
		if err == nil || errors.Is(err, ErrCorrupt) {
			return err
		}
		return fmt.Errorf("verify %s: %w: %v", db.path, ErrCorrupt, err)
	}
	if err := db.bolt.View(db.checkLength); err != nil {
		return corrupt(err)
	}
	err := guard("verify "+db.path, func() error {
		return db.bolt.View(func(tx *bolt.Tx) error {
			var walk func(b *bolt.Bucket) error
			walk = func(b *bolt.Bucket) error {
				return b.ForEach(func(k, v []byte) error {
					if v == nil {
						if sub := b.Bucket(k); sub != nil {
							return walk(sub)
						}
					}
					return nil
				})
			}
			return tx.ForEach(func(name []byte, b *bolt.Bucket) error { return walk(b) })
		})
	})
	if err != nil {
		return corrupt(err)
	}
	if err := guard("verify "+db.path, func() error {
		if _, err := db.Load(); err != nil {
			return err
		}
		return db.bolt.View(checkHistory)
	}); err != nil {
		return corrupt(err)
	}
	return corrupt(db.bolt.View(func(tx *bolt.Tx) error {
		var first error
		for err := range tx.Check() { // drained: the check runs until it closes the channel
			if first == nil {
				first = err
			}
		}
		return first
	}))
}

// ErrJournalTail means a snapshot's journal ends in a record that cannot be
// replayed (cut short by a power loss or a full flash): the snapshot and
// the records before it restore, that one does not.
var ErrJournalTail = errors.New("journal ends in a damaged record")

// Check opens the database file at path read-only and verifies it. A
// snapshot (compressed) is unpacked into a temporary file first, with its
// journal replayed.
func Check(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	if err := CheckRegular(path); err != nil {
		return fmt.Errorf("check: %w", err)
	}
	if fi.Size() == 0 {
		return fmt.Errorf("check %s: %w: the file is empty", path, ErrCorrupt)
	}
	if isSnapshot(path) || IsPortable(path) {
		tmp, err := os.MkdirTemp("", "netmon-check-")
		if err != nil {
			return fmt.Errorf("check: %w", err)
		}
		defer os.RemoveAll(tmp)
		rep, err := RestoreReplaying(path, tmp+"/check.db")
		if err == nil && rep.Dropped > 0 && !rep.Stale {
			err = fmt.Errorf("check %s: %w: %d bytes %s; the next persist writes over them", JournalPath(path), ErrJournalTail, rep.Dropped, rep.Why)
		}
		return err
	}
	db, err := OpenReadOnly(path, time.Second)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.Verify()
}

// isSnapshot tells a snapshot (gzip) from a live file by its first bytes.
func isSnapshot(path string) bool {
	f, err := openRegular(path)
	if err != nil {
		return false
	}
	defer f.Close()
	magic := make([]byte, 2)
	if _, err := f.Read(magic); err != nil {
		return false
	}
	return magic[0] == 0x1f && magic[1] == 0x8b
}

// MoveAside renames a damaged file to path.corrupt-TIME, so it is kept
// for a look but never opened again, and returns the new name.
func MoveAside(path string, now time.Time) (string, error) {
	dest := fmt.Sprintf("%s.corrupt-%s", path, now.UTC().Format("20060102T150405Z"))
	if err := os.Rename(path, dest); err != nil {
		return "", fmt.Errorf("move damaged %s aside: %w", path, err)
	}
	return dest, nil
}

// checkHistory reads every history row as History would, without building
// its maps (a year of history for 254 hosts decoded that way cost 250 ms on
// x86, seconds on a router, at every open): keys are bucket starts, rows
// whole triples of series known to the dictionary.
func checkHistory(tx *bolt.Tx) error {
	series, hist := tx.Bucket(bucketSeries), tx.Bucket(bucketHistory)
	if series == nil || hist == nil {
		return nil
	}
	known := map[uint64]bool{}
	if err := series.ForEach(func(k, v []byte) error {
		id, n := binary.Uvarint(v)
		if n <= 0 || n != len(v) {
			return fmt.Errorf("series %q: malformed id", k)
		}
		known[id] = true
		return nil
	}); err != nil {
		return err
	}
	for _, r := range Resolutions {
		b := hist.Bucket([]byte(r.String()))
		if b == nil {
			continue
		}
		if err := b.ForEach(func(k, v []byte) error {
			if len(k) != 8 {
				return fmt.Errorf("history %s: malformed key %x", r, k)
			}
			for field := 0; len(v) > 0; field = (field + 1) % 3 {
				x, n := binary.Uvarint(v)
				if n <= 0 {
					return fmt.Errorf("history %s %d: %w", r, binary.BigEndian.Uint64(k), errMalformedRow)
				}
				if field == 0 && !known[x] {
					return fmt.Errorf("history %s %d: series %d is in no dictionary", r, binary.BigEndian.Uint64(k), x)
				}
				v = v[n:]
				if len(v) == 0 && field != 2 {
					return fmt.Errorf("history %s %d: %w", r, binary.BigEndian.Uint64(k), errMalformedRow)
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}
