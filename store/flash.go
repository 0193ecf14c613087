package store

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// What the live file writes to flash: a full snapshot (a base), then
// journal records of what changed, until the journal has grown to the
// base's size and the next persist writes a base again. Flash per day is
// then about twice what changed in the day, where whole snapshots wrote
// the whole file every hour.

// A Persisted says what one persist wrote to flash.
type Persisted struct {
	Bytes   int64 `json:"bytes"`   // written and synced
	Full    bool  `json:"full"`    // a base, not a journal record
	Changes int   `json:"changes"` // keys and buckets the record holds
}

// flashState is what this process wrote to the snapshot at dest: the
// base's generation and size, the journal's length, and a hash of every
// key's value as of the last persist, so the next one writes only changes.
// A process that has not written a base since it opened the file has
// none, and its first persist writes one.
type flashState struct {
	dest     string
	gen      string
	baseSize int64
	journal  int64 // bytes of journal written and synced; 0: none yet
	seen     map[string]uint64
}

// The seed of the value hashes: they are compared only within one process.
var seenSeed = maphash.MakeSeed()

// How far a journal grows before the next persist writes a base. A base
// costs its size; written when the journal reaches JournalBases times it,
// flash per day is the journal's growth times 1 + 1/JournalBases. The
// flash holds the base, the journal and, while the next base is written,
// its temporary file: JournalBases + 2 bases at most, so the journal only
// grows past one base while the filesystem keeps a base and 256 KiB free.
// MinJournal is what it may grow to however small the base: rewriting a
// base of a few KiB every few records would cost more than the records,
// and replaying 64 KiB of records at boot costs nothing.
var (
	JournalBases int64 = 2
	MinJournal   int64 = 64 << 10
)

// freeSpace is what the filesystem holding dir has free for us; a
// variable, so tests can fill a filesystem without filling one.
var freeSpace = func(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

// FreeSpace is the room left for us on dir's filesystem.
func FreeSpace(dir string) (int64, error) { return freeSpace(dir) }

// FlashMargin is room a write to flash leaves free besides what it needs:
// a filesystem's metadata and the next journal records.
const FlashMargin = 16 << 10

// SnapshotSize is what a snapshot of the database at src takes on flash:
// src's own size when it is a snapshot (gzip), 0 when that is not known
// before writing one (a plain database file).
func SnapshotSize(src string) (int64, error) {
	f, err := openRegular(src)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var magic [2]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil || magic != [2]byte{0x1f, 0x8b} {
		return 0, nil
	}
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// PersistDue says whether the next Persist to dest writes a full base:
// then compacting first makes it smaller. The first time, it takes over
// what a process before left at dest (adopt).
func (db *DB) PersistDue(dest string) bool {
	db.adopt(dest)
	fs := db.flash
	switch {
	case fs == nil || fs.dest != dest:
		return true
	case fs.journal < max(fs.baseSize, MinJournal):
		return false
	case fs.journal >= JournalBases*fs.baseSize:
		return true
	}
	free, err := freeSpace(filepath.Dir(dest))
	return err != nil || free < fs.baseSize+256<<10
}

// Persist writes to the snapshot at dest what it lacks of the live file: a
// journal record of the changes since the last persist, or a full base
// when full is set, when this process has written none to dest yet, or
// when the journal has grown as far as it may (PersistDue). Nothing changed, nothing
// is written. A persist that fails leaves what was on flash whole, and the
// next one writes a base.
//
// A journal record leaves out the five-minute rows (Deferred): they are
// most of what changes in an hour at a busy router, and the finest detail,
// which a report needs only for the last days. They reach flash with the
// next base and with PersistAll, which a clean stop runs; a power cut
// loses the five-minute rows since then, never a total, an hourly or
// coarser row, a block or a checkpoint.
func (db *DB) Persist(dest string, full bool) (Persisted, error) {
	return db.persist(dest, full, true)
}

// PersistAll is Persist with every change in its record, the five-minute
// rows too: for a clean stop, and for commands that persist without a
// daemon (cron), which has no stop to wait for.
func (db *DB) PersistAll(dest string) (Persisted, error) {
	return db.persist(dest, false, false)
}

func (db *DB) persist(dest string, full, deferFine bool) (Persisted, error) {
	if full || db.PersistDue(dest) {
		n, err := db.snapshot(dest, true)
		return Persisted{Bytes: n, Full: true}, err
	}
	fs := db.flash
	var changes []change
	var seen map[string]uint64
	err := db.bolt.View(func(tx *bolt.Tx) (err error) {
		changes, seen, err = diffSince(tx, fs.seen, deferFine)
		return err
	})
	if err != nil || len(changes) == 0 {
		return Persisted{}, err
	}
	changes = append(changes, behindMarker(deferFine))
	n, err := appendRecord(JournalPath(dest), fs, frameRecord(changes))
	if errors.Is(err, errJournalUncertain) {
		db.flash = nil // what the journal holds is not known: a snapshot next
	}
	if err != nil {
		return Persisted{}, fmt.Errorf("journal of %s: %w", dest, err)
	}
	fs.journal, fs.seen = fs.journal+n, seen
	return Persisted{Bytes: n, Changes: len(changes)}, nil
}

// Deferred reports whether the entry at path (a key, kind 'k', or a
// bucket, 'b') waits for a base or PersistAll: a five-minute row, or a set
// element's baseline (elements, service elements).
//
// Baselines change at every sample of a busy host and were a third of an
// hourly record at 254 hosts. A baseline on flash is used only in the boot
// that wrote it: after a reboot the kernel's counters start again, so a
// restore after a power cut needs none. Within a boot the flash is read
// only when the live file was lost or damaged; then the baselines a record
// left out are behind its totals, and counting from them would count
// twice what moved between the two. So a record that leaves them out says
// so (meta BaselinesBehindKey), and the state restored from it has
// BaselinesBehind set: the sampler then takes the kernel's counters as they
// are (what moved since the last record is not known, as for a power
// cut) rather than count anything twice.
func Deferred(path [][]byte, kind byte) bool {
	if kind != 'k' {
		return false
	}
	switch {
	case len(path) == 2:
		return bytes.Equal(path[0], bucketHistory) && string(path[1]) == FiveMinutes.String()
	case len(path) == 1:
		return bytes.Equal(path[0], bucketElements) || bytes.Equal(path[0], bucketSvcElems)
	}
	return false
}

// BaselinesBehindKey is the meta key a record that leaves baselines out
// puts, and a record with every change (PersistAll) deletes: the live file
// never holds it, a state restored from such a record does.
const BaselinesBehindKey = "baselines-behind"

// behindMarker is the change that says whether the baselines on flash are
// behind its totals after this record.
func behindMarker(behind bool) change {
	c := change{op: opDelete, path: [][]byte{bucketMeta}, key: []byte(BaselinesBehindKey)}
	if behind {
		c.op, c.value = opPut, []byte("1")
	}
	return c
}

// adopt makes the snapshot at dest and its journal, as they restore, what
// this DB journals to, once per DB: a daemon that starts (after every
// reboot) or a command that samples without one then appends a record of
// what differs from them, not a whole snapshot. The record is computed
// against what the flash holds, not against the live file, so it is exact
// whatever the live file went through in between. What does not restore
// whole (a damaged snapshot, a journal that cannot be read) is not
// adopted: the next persist writes a snapshot.
func (db *DB) adopt(dest string) {
	if db.flash != nil || db.adopted {
		return
	}
	db.adopted = true
	if _, err := os.Stat(dest); err != nil {
		return
	}
	dir, err := os.MkdirTemp(filepath.Dir(db.path), filepath.Base(db.path)+".adopt-")
	if err != nil {
		return
	}
	defer os.RemoveAll(dir)
	restored := filepath.Join(dir, "flash.db")
	rep, err := RestoreReplaying(dest, restored)
	fi, serr := os.Stat(dest)
	if err != nil || serr != nil || rep.gen == "" || (rep.Why != "" && !rep.Stale && rep.kept == 0) {
		return
	}
	flash, err := bolt.Open(restored, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return
	}
	defer flash.Close()
	var seen map[string]uint64
	if err := flash.View(func(tx *bolt.Tx) (err error) { seen, err = seenIn(tx); return err }); err != nil {
		return
	}
	db.flash = &flashState{dest: dest, gen: rep.gen, baseSize: fi.Size(), journal: rep.kept, seen: seen}
}

// errJournalUncertain wraps an append that failed and could not be undone.
var errJournalUncertain = errors.New("the journal's end is uncertain")

// appendRecord writes rec after the fs.journal bytes written before (the
// header first, into a new file, when there are none) and syncs; it
// returns the bytes written. A write that fails (a full flash) is cut off
// again, so the journal stays what it was and the next persist can try a
// record again, which on a full flash has a better chance than a snapshot;
// when even that fails the error wraps errJournalUncertain.
func appendRecord(path string, fs *flashState, rec []byte) (int64, error) {
	if fs.journal == 0 {
		rec = append(journalHeader(fs.gen), rec...)
	}
	f, err := openJournal(path, fs.journal)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", errJournalUncertain, err)
	}
	_, err = f.Write(rec)
	if err == nil {
		err = f.Sync()
	}
	if err != nil && (fs.journal == 0 || f.Truncate(fs.journal) != nil || f.Sync() != nil) {
		err = fmt.Errorf("%w: %w", errJournalUncertain, err)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	if fs.journal == 0 {
		syncDir(filepath.Dir(path))
	}
	return int64(len(rec)), nil
}

// openJournal opens the journal at path for a record at offset end: a new
// file when end is 0, else the one written, cut back to end (a torn tail
// goes). Non-blocking, never through a symbolic link, and refused unless
// regular: a FIFO put where the journal goes fails, never hangs; a link
// planted there never makes us truncate its target.
func openJournal(path string, end int64) (*os.File, error) {
	flags := os.O_WRONLY | syscall.O_NONBLOCK | syscall.O_NOFOLLOW
	if end == 0 {
		flags |= os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o600)
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
	if err == nil {
		err = f.Truncate(end)
	}
	if err == nil {
		_, err = f.Seek(end, 0)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// newGeneration names a base, so a journal is replayed onto its own only.
func newGeneration() string {
	b := make([]byte, 8)
	unix.Getrandom(b, 0) // the kernel's RNG; crypto/rand would add 0.14 MB
	return hex.EncodeToString(b)
}

// entryID names a key (kind 'k') or a bucket (kind 'b') unambiguously: its
// bucket path, each name length-prefixed, then the kind and the key.
func entryID(buf []byte, path [][]byte, kind byte, key []byte) []byte {
	buf = buf[:0]
	for _, name := range path {
		buf = binary.AppendUvarint(buf, uint64(len(name)))
		buf = append(buf, name...)
	}
	buf = append(buf, 0, kind)
	return append(buf, key...)
}

// parseEntryID reads what entryID wrote.
func parseEntryID(id string) (path [][]byte, kind byte, key []byte, err error) {
	p := []byte(id)
	for len(p) > 0 && p[0] != 0 {
		n, k := binary.Uvarint(p)
		if k <= 0 || uint64(len(p)-k) < n {
			return nil, 0, nil, errMalformedRecord
		}
		path = append(path, p[k:k+int(n)])
		p = p[k+int(n):]
	}
	if len(p) < 2 {
		return nil, 0, nil, errMalformedRecord
	}
	return path, p[1], p[2:], nil
}

// walkEntries calls f with every bucket (with its sequence as the value
// hash) and every key (with its value's hash) in tx.
func walkEntries(tx *bolt.Tx, f func(path [][]byte, kind byte, key, value []byte, hash uint64) error) error {
	var walk func(path [][]byte, b *bolt.Bucket) error
	walk = func(path [][]byte, b *bolt.Bucket) error {
		if err := f(path, 'b', nil, nil, b.Sequence()); err != nil {
			return err
		}
		return b.ForEach(func(k, v []byte) error {
			if v == nil {
				return walk(append(path[:len(path):len(path)], k), b.Bucket(k))
			}
			return f(path, 'k', k, v, maphash.Bytes(seenSeed, v))
		})
	}
	return tx.ForEach(func(name []byte, b *bolt.Bucket) error { return walk([][]byte{name}, b) })
}

// entryChange is the change that puts an entry walkEntries gave: a key
// with its value, or a bucket with its sequence (what walkEntries passes
// as a bucket's hash). It copies what bbolt lends only for the walk.
func entryChange(path [][]byte, kind byte, key, value []byte, hash uint64) change {
	if kind == 'b' {
		return change{op: opBucket, path: clonePath(path), seq: hash}
	}
	return change{op: opPut, path: clonePath(path), key: clone(key), value: clone(value)}
}

// seenIn hashes every entry of tx: the state a base just written holds.
func seenIn(tx *bolt.Tx) (map[string]uint64, error) {
	seen := map[string]uint64{}
	var buf []byte
	err := walkEntries(tx, func(path [][]byte, kind byte, key, _ []byte, h uint64) error {
		buf = entryID(buf, path, kind, key)
		seen[string(buf)] = h
		return nil
	})
	return seen, err
}

// diffSince lists what changed in tx since before: buckets created or
// with a new sequence and keys put, in the order of the file (a bucket
// before its keys), then keys and buckets gone. It returns the new hashes.
// With deferFine the Deferred entries are left for a later record: their
// hashes stay as before had them (or absent), so that record finds them
// changed.
func diffSince(tx *bolt.Tx, before map[string]uint64, deferFine bool) ([]change, map[string]uint64, error) {
	var changes []change
	seen := make(map[string]uint64, len(before))
	var buf []byte
	err := walkEntries(tx, func(path [][]byte, kind byte, key, value []byte, h uint64) error {
		buf = entryID(buf, path, kind, key)
		id := string(buf)
		old, had := before[id]
		if deferFine && Deferred(path, kind) {
			if had {
				seen[id] = old
			}
			return nil
		}
		seen[id] = h
		if had && old == h {
			return nil
		}
		changes = append(changes, entryChange(path, kind, key, value, h))
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	gone, err := goneSince(before, seen, deferFine)
	return append(changes, gone...), seen, err
}

// goneSince lists the entries of before that the walk did not see; a
// Deferred one stays in seen, to go in a later record.
func goneSince(before, seen map[string]uint64, deferFine bool) ([]change, error) {
	var changes []change
	for id, h := range before {
		if _, ok := seen[id]; ok {
			continue
		}
		path, kind, key, err := parseEntryID(id)
		if err != nil {
			return nil, err
		}
		if deferFine && Deferred(path, kind) {
			seen[id] = h
			continue
		}
		c := change{op: opDelete, path: path, key: key}
		if kind == 'b' {
			c = change{op: opDropBucket, path: path}
		}
		changes = append(changes, c)
	}
	return changes, nil
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

func clonePath(path [][]byte) [][]byte {
	out := make([][]byte, len(path))
	for i, name := range path {
		out[i] = clone(name)
	}
	return out
}
