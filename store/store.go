package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

var (
	bucketCounters = []byte("counters")
	bucketCanaries = []byte("canaries")
	bucketEvents   = []byte("events")
	bucketMeta     = []byte("meta")
	bucketElements = []byte("elements")
	bucketHosts    = []byte("hosts")
	bucketSvcElems = []byte("service-elements")
	bucketServices = []byte("services")
	bucketBlocks   = []byte("blocks")
	bucketQuotas   = []byte("quotas")
)

const schemaVersion = "1"

// ErrLocked means another process holds the database open for writing.
var ErrLocked = errors.New("database is in use by another process")

// DB is an open live database.
type DB struct {
	bolt *bolt.DB
	path string
	loc  *time.Location // where days and months of history begin
	keep Retention
	// flash is what this DB wrote to flash as base and journal, or took
	// over from a process before (adopted); nil until then.
	flash   *flashState
	adopted bool // adopt was tried
}

// SetHistory sets where days begin (the router's time zone) and how much
// history is kept.
func (db *DB) SetHistory(loc *time.Location, keep Retention) { db.loc, db.keep = loc, keep }

// Open opens or creates the live database at path for writing. It waits at
// most timeout for another writer to let go.
func Open(path string, timeout time.Duration) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create database directory: %w", err)
	}
	if err := CheckRegular(path); err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	var b *bolt.DB
	err := guard("open "+path, func() (err error) {
		b, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout})
		return err
	})
	if err != nil {
		return nil, openError(path, err)
	}
	err = b.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketCounters, bucketCanaries, bucketEvents, bucketMeta, bucketElements, bucketHosts, bucketBlocks, bucketQuotas, bucketSeries, bucketSvcElems, bucketServices, bucketImports} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		hist, err := tx.CreateBucketIfNotExists(bucketHistory)
		if err != nil {
			return err
		}
		for _, r := range Resolutions {
			if _, err := hist.CreateBucketIfNotExists([]byte(r.String())); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		if meta.Get([]byte("version")) == nil {
			if err := meta.Put([]byte("version"), []byte(schemaVersion)); err != nil {
				return err
			}
			return meta.Put([]byte("created"), []byte(time.Now().UTC().Format(time.RFC3339Nano)))
		}
		return nil
	})
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("initialise database %s: %w", path, err)
	}
	return &DB{bolt: b, path: path, loc: time.Local, keep: DefaultRetention}, nil
}

// OpenReadOnly opens an existing database for reading, waiting at most
// timeout for a writer's lock.
func OpenReadOnly(path string, timeout time.Duration) (*DB, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if fi.Size() == 0 {
		// bbolt would try to initialise it, which a read-only open cannot.
		return nil, fmt.Errorf("open database %s: the file is empty", path)
	}
	var b *bolt.DB
	err = guard("open "+path, func() (err error) {
		b, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, ReadOnly: true})
		return err
	})
	if err != nil {
		return nil, openError(path, err)
	}
	return &DB{bolt: b, path: path, loc: time.Local, keep: DefaultRetention}, nil
}

func openError(path string, err error) error {
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		return fmt.Errorf("open database %s: %w", path, ErrLocked)
	case errors.Is(err, ErrCorrupt):
		return err
	case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrVersionMismatch),
		errors.Is(err, bolterrors.ErrChecksum), errors.Is(err, bolterrors.ErrInvalidMapping):
		return fmt.Errorf("open database %s: %w: %v", path, ErrCorrupt, err)
	}
	return fmt.Errorf("open database %s: %w", path, err)
}

// Path is the file's path.
func (db *DB) Path() string { return db.path }

// Close closes the file.
func (db *DB) Close() error { return db.bolt.Close() }

// Load reads the whole state.
func (db *DB) Load() (*State, error) {
	s := NewState()
	err := db.bolt.View(func(tx *bolt.Tx) error {
		if err := loadMap(tx, bucketCounters, s.Counters); err != nil {
			return err
		}
		if err := loadMap(tx, bucketCanaries, s.Canaries); err != nil {
			return err
		}
		if err := loadMap(tx, bucketElements, s.Elements); err != nil {
			return err
		}
		if err := loadMap(tx, bucketHosts, s.Hosts); err != nil {
			return err
		}
		if err := loadMap(tx, bucketSvcElems, s.ServiceElements); err != nil {
			return err
		}
		if err := loadMap(tx, bucketServices, s.Services); err != nil {
			return err
		}
		if err := loadMap(tx, bucketQuotas, s.Quotas); err != nil {
			return err
		}
		if err := loadMap(tx, bucketBlocks, s.Blocks); err != nil {
			return err
		}
		if err := loadMap(tx, bucketImports, s.Imports); err != nil {
			return err
		}
		if b := tx.Bucket(bucketEvents); b != nil {
			if err := b.ForEach(func(k, v []byte) error {
				var e Event
				if err := json.Unmarshal(v, &e); err != nil {
					return fmt.Errorf("event %x: %w", k, err)
				}
				s.Events = append(s.Events, e)
				return nil
			}); err != nil {
				return err
			}
		}
		if b := tx.Bucket(bucketMeta); b != nil {
			s.Boot = string(b.Get([]byte("boot")))
			s.BaselinesBehind = b.Get([]byte(BaselinesBehindKey)) != nil
			s.Created, _ = time.Parse(time.RFC3339Nano, string(b.Get([]byte("created"))))
			s.LastSample, _ = time.Parse(time.RFC3339Nano, string(b.Get([]byte("last_sample"))))
			if v := b.Get([]byte("checkpoint")); v != nil {
				s.Checkpoint = &Checkpoint{}
				if err := json.Unmarshal(v, s.Checkpoint); err != nil {
					return fmt.Errorf("checkpoint: %w", err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", db.path, err)
	}
	if len(s.Events) > MaxEvents {
		s.Events = s.Events[len(s.Events)-MaxEvents:]
	}
	return s, nil
}

// Commit writes the state in one transaction: every counter with its
// baseline, the canaries, the pending events (pruning the oldest beyond
// MaxEvents) and the boot id.
func (db *DB) Commit(s *State) error {
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		for _, put := range []func() error{
			func() error { return putJSON(tx.Bucket(bucketCounters), s.Counters) },
			func() error { return putJSON(tx.Bucket(bucketCanaries), s.Canaries) },
			func() error { return replaceJSON(tx, bucketElements, s.Elements) },
			func() error { return replaceJSON(tx, bucketHosts, s.Hosts) },
			func() error { return replaceJSON(tx, bucketSvcElems, s.ServiceElements) },
			func() error { return replaceJSON(tx, bucketServices, s.Services) },
			func() error { return replaceJSON(tx, bucketBlocks, s.Blocks) },
			func() error { return replaceJSON(tx, bucketQuotas, s.Quotas) },
			func() error { return putJSON(tx.Bucket(bucketImports), s.Imports) },
			func() error { return appendEvents(tx.Bucket(bucketEvents), s.Pending) },
			func() error { return writeHistory(tx, s.Deltas, db.loc, db.keep) },
			func() error { return putMeta(tx.Bucket(bucketMeta), s) },
		} {
			if err := put(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("commit to %s: %w", db.path, err)
	}
	s.MarkCommitted()
	return nil
}

// putJSON puts every value of m under its key; keys not in m stay.
func putJSON[T any](b *bolt.Bucket, m map[string]*T) error {
	for k, c := range m {
		v, err := json.Marshal(c)
		if err != nil {
			return err
		}
		if err := b.Put([]byte(k), v); err != nil {
			return err
		}
	}
	return nil
}

// appendEvents adds the pending events and keeps the newest MaxEvents.
func appendEvents(events *bolt.Bucket, pending []Event) error {
	// Stats sees what is committed, not this transaction's puts: count
	// before them.
	stored := events.Stats().KeyN
	for _, e := range pending {
		v, err := json.Marshal(e)
		if err != nil {
			return err
		}
		seq, _ := events.NextSequence()
		if err := events.Put(eventKey(e.Time, seq), v); err != nil {
			return err
		}
	}
	if n := stored + len(pending) - MaxEvents; n > 0 {
		c := events.Cursor()
		for k, _ := c.First(); k != nil && n > 0; k, _ = c.Next() {
			if err := c.Delete(); err != nil {
				return err
			}
			n--
		}
	}
	return nil
}

// putMeta writes the boot id, the checkpoint and the last sample's time.
func putMeta(meta *bolt.Bucket, s *State) error {
	if err := meta.Put([]byte("boot"), []byte(s.Boot)); err != nil {
		return err
	}
	if !s.BaselinesBehind {
		if err := meta.Delete([]byte(BaselinesBehindKey)); err != nil {
			return err
		}
	}
	if s.Checkpoint != nil {
		v, err := json.Marshal(s.Checkpoint)
		if err != nil {
			return err
		}
		if err := meta.Put([]byte("checkpoint"), v); err != nil {
			return err
		}
	}
	return meta.Put([]byte("last_sample"), []byte(s.LastSample.UTC().Format(time.RFC3339Nano)))
}

// loadMap reads bucket's JSON values into m, as replaceJSON writes them.
// A value that can read an older form of itself (readOld) does.
func loadMap[T any](tx *bolt.Tx, bucket []byte, m map[string]*T) error {
	b := tx.Bucket(bucket)
	if b == nil {
		return nil
	}
	return b.ForEach(func(k, raw []byte) error {
		v := new(T)
		err := json.Unmarshal(raw, v)
		if old, ok := any(v).(interface{ readOld([]byte) error }); ok && err == nil {
			err = old.readOld(raw)
		}
		if err != nil {
			return fmt.Errorf("%s %q: %w", bucket, k, err)
		}
		m[string(k)] = v
		return nil
	})
}

// replaceJSON makes bucket hold exactly m: elements come and go.
func replaceJSON[T any](tx *bolt.Tx, bucket []byte, m map[string]*T) error {
	b := tx.Bucket(bucket)
	var stale [][]byte
	if err := b.ForEach(func(k, _ []byte) error {
		if _, ok := m[string(k)]; !ok {
			stale = append(stale, append([]byte(nil), k...))
		}
		return nil
	}); err != nil {
		return err
	}
	for _, k := range stale {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	for k, v := range m {
		data, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if err := b.Put([]byte(k), data); err != nil {
			return err
		}
	}
	return nil
}

func eventKey(t time.Time, seq uint64) []byte {
	k := make([]byte, 12)
	binary.BigEndian.PutUint64(k, uint64(t.UnixNano()))
	binary.BigEndian.PutUint32(k[8:], uint32(seq))
	return k
}

// readErr remembers a read error, to tell it from a write error.
type readErr struct {
	r   io.Reader
	err error
}

func (r *readErr) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}

// writeErr remembers a write error, which bbolt's WriteTo reports only as
// text.
type writeErr struct {
	w   io.Writer
	err error
}

func (w *writeErr) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	if err != nil && w.err == nil {
		w.err = err
	}
	return n, err
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// RemoveStaleTemps deletes what a snapshot, restore, compaction or
// adoption (a directory) that was killed midway left beside dest (the
// snapshot, or the live file). Only a process holding the live database
// may call it: it is the only one that writes them.
func RemoveStaleTemps(dest string) []string {
	var removed []string
	for _, pattern := range []string{".tmp-*", ".restore-*", ".restoring", ".restoring.restore-*", ".compact", ".adopt-*"} {
		names, _ := filepath.Glob(dest + pattern)
		for _, n := range names {
			if os.RemoveAll(n) == nil {
				removed = append(removed, n)
			}
		}
	}
	return removed
}
