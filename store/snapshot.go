package store

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Snapshots: the compressed copy of the live file on flash (a backup, or
// the base a journal follows), and restoring one into a live file.

// Snapshot writes a compressed copy of the database to dest atomically and
// returns the bytes written: a backup, or a base no journal follows yet.
func (db *DB) Snapshot(dest string) (int64, error) { return db.snapshot(dest, false) }

// snapshot writes the base; with flash set it becomes the base this DB
// journals to: what it holds is remembered, and the journal of the base
// before is removed.
func (db *DB) snapshot(dest string, flash bool) (int64, error) {
	dir := filepath.Dir(dest)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, fmt.Errorf("snapshot to %s: %w", dest, err)
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(dest)+".tmp-*")
	if err != nil {
		return 0, fmt.Errorf("snapshot to %s: %w", dest, err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename this is a no-op
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return 0, fmt.Errorf("snapshot to %s: %w", dest, err)
	}
	if flash {
		db.flash = nil // until this base is whole
	}
	gen := newGeneration()
	out := &writeErr{w: tmp}
	zw, _ := gzip.NewWriterLevel(out, gzip.BestCompression)
	zw.Comment = generationPrefix + gen
	var seen map[string]uint64
	err = db.bolt.View(func(tx *bolt.Tx) error {
		if _, err := tx.WriteTo(zw); err != nil || !flash {
			return err
		}
		seen, err = seenIn(tx)
		return err
	})
	if err == nil {
		err = zw.Close()
	}
	if out.err != nil {
		err = out.err // bbolt flattens it into text: ENOSPC and EROFS must stay themselves
	}
	if err == nil {
		err = tmp.Sync()
	}
	size, _ := tmp.Seek(0, io.SeekCurrent)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("snapshot to %s: %w", dest, err)
	}
	if err := os.Rename(tmp.Name(), dest); err != nil {
		return 0, fmt.Errorf("snapshot to %s: %w", dest, err)
	}
	if flash {
		// A journal left of the base before is of another generation:
		// never replayed, but no longer worth its flash.
		os.Remove(JournalPath(dest))
		db.flash = &flashState{dest: dest, gen: gen, baseSize: size, seen: seen}
	}
	syncDir(dir)
	return size, nil
}

// generationPrefix starts a snapshot's gzip comment; the generation
// follows.
const generationPrefix = "netmon generation "

// Restore unpacks the snapshot (or copies the plain database file, or
// applies the portable backup: portable.go) at src into a new live
// database at dest, replaying the snapshot's journal, verifying it before
// it takes dest's place.
func Restore(src, dest string) error {
	_, err := RestoreReplaying(src, dest)
	return err
}

// RestoreReplaying is Restore, and says what it took from the journal. A
// journal that cannot be read or applied is said and left out, never a
// reason to refuse its snapshot.
func RestoreReplaying(src, dest string) (Replay, error) {
	if err := os.MkdirAll(filepath.Dir(dest), 0o700); err != nil {
		return Replay{}, fmt.Errorf("restore: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dest), filepath.Base(dest)+".restore-*")
	if err != nil {
		return Replay{}, fmt.Errorf("restore: %w", err)
	}
	defer os.Remove(tmp.Name())
	var gen string
	if IsPortable(src) {
		tmp.Close()
		err = unpackPortable(src, tmp.Name())
	} else {
		gen, err = unpack(src, tmp)
	}
	if err != nil {
		return Replay{}, err
	}
	rep := Replay{gen: gen}
	if gen != "" {
		err = guard("restore "+src, func() (err error) {
			rep, err = replayJournal(JournalPath(src), gen, tmp.Name())
			rep.gen = gen
			return err
		})
		if err != nil {
			return rep, fmt.Errorf("restore %s: %w: %v", src, ErrCorrupt, err)
		}
	}
	check, err := OpenReadOnly(tmp.Name(), time.Second)
	if err != nil {
		return rep, fmt.Errorf("restore %s: %w", src, err)
	}
	err = check.Verify()
	check.Close()
	if err != nil {
		return rep, fmt.Errorf("restore %s: %w", src, err)
	}
	if err := os.Rename(tmp.Name(), dest); err != nil {
		return rep, fmt.Errorf("restore: %w", err)
	}
	return rep, nil
}

// unpack copies the snapshot (or plain database file) at src into tmp and
// closes it; it returns the snapshot's generation, if it has one.
func unpack(src string, tmp *os.File) (gen string, err error) {
	defer func() {
		if cerr := tmp.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("restore %s: %w", src, cerr)
		}
	}()
	f, err := openRegular(src)
	if err != nil {
		return "", fmt.Errorf("restore: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > MaxDatabaseSize {
		return "", fmt.Errorf("restore %s: %w: %d bytes, more than a database can be (%d)", src, ErrCorrupt, fi.Size(), MaxDatabaseSize)
	}
	var r io.Reader = f
	if isSnapshot(src) {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return "", fmt.Errorf("restore %s: %w: not a netmon snapshot (%v)", src, ErrCorrupt, err)
		}
		gen, _ = strings.CutPrefix(zr.Comment, generationPrefix)
		if gen == zr.Comment {
			gen = "" // a snapshot older than journals
		}
		r = zr
	}
	// A snapshot unpacks to at most MaxDatabaseSize: one byte more says it
	// is no snapshot of ours (and stops a gzip bomb from filling tmpfs).
	src2 := &readErr{r: io.LimitReader(r, MaxDatabaseSize+1)}
	n, err := io.Copy(tmp, src2)
	switch {
	case src2.err != nil:
		// A truncated or damaged snapshot; a write error (a full tmpfs)
		// is not the snapshot's fault and stays what it is.
		return "", fmt.Errorf("restore %s: %w: %v", src, ErrCorrupt, src2.err)
	case err != nil:
		return "", fmt.Errorf("restore %s: %w", src, err)
	case n == 0:
		return "", fmt.Errorf("restore %s: %w: the file is empty", src, ErrCorrupt)
	case n > MaxDatabaseSize:
		return "", fmt.Errorf("restore %s: %w: it unpacks to more than a database can be (%d bytes)", src, ErrCorrupt, MaxDatabaseSize)
	}
	return gen, nil
}
