package store

import (
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Compact rewrites the live file without its free pages (bbolt never
// gives them back) and with its pages filled in key order, verifies the
// copy and puts it in place; it returns the sizes before and after. A
// snapshot of the compacted file is much smaller. Every view of the database stays valid: it is
// reopened in place.
func (db *DB) Compact() (before, after int64, err error) {
	fi, err := os.Stat(db.path)
	if err != nil {
		return 0, 0, fmt.Errorf("compact %s: %w", db.path, err)
	}
	before = fi.Size()
	tmp := db.path + ".compact"
	os.Remove(tmp)
	defer os.Remove(tmp)
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return 0, 0, fmt.Errorf("compact %s: %w", db.path, err)
	}
	err = guard("compact "+db.path, func() error { return bolt.Compact(dst, db.bolt, 4<<20) })
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, 0, fmt.Errorf("compact %s: %w", db.path, err)
	}
	check, err := OpenReadOnly(tmp, time.Second)
	if err != nil {
		return 0, 0, fmt.Errorf("compact %s: the copy: %w", db.path, err)
	}
	err = check.Verify()
	check.Close()
	if err != nil {
		return 0, 0, fmt.Errorf("compact %s: the copy: %w", db.path, err)
	}
	opts := &bolt.Options{Timeout: time.Second, ReadOnly: db.bolt.IsReadOnly()}
	if err := db.bolt.Close(); err != nil {
		return 0, 0, fmt.Errorf("compact %s: %w", db.path, err)
	}
	// From here the old file is closed: reopen whichever is in place.
	rerr := os.Rename(tmp, db.path)
	b, err := bolt.Open(db.path, 0o600, opts)
	if err != nil {
		return 0, 0, fmt.Errorf("compact %s: reopen: %w", db.path, err)
	}
	db.bolt = b
	if rerr != nil {
		return 0, 0, fmt.Errorf("compact %s: %w", db.path, rerr)
	}
	if fi, err := os.Stat(db.path); err == nil {
		after = fi.Size()
	}
	return before, after, nil
}
