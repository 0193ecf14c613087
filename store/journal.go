package store

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	bolt "go.etcd.io/bbolt"
)

// The journal. Between full snapshots, each persist appends to a journal
// beside the snapshot (JournalPath) only what changed in the live file since
// the persist before: the keys put and deleted, and the buckets' sequences.
// A restore unpacks the snapshot and replays the journal over it, record by
// record. A busy router's history is mostly rows that never change again
// once their bucket has passed, so an hour's record is a small part of the
// file (BenchmarkPersistSteady).
//
// Invariants:
//   - A journal belongs to one snapshot. Its header names the generation the
//     snapshot carries in its gzip header; a journal of another generation
//     (left by a persist cut short between the two files) is never replayed.
//   - A record is framed by its length and CRC-32 and applied in one
//     transaction: a restore applies whole records only. A record cut short
//     (a power loss, a full flash) ends the replay: that tail is dropped and
//     said, the snapshot and every record before it kept.
//   - The writer appends at the end of what it wrote and synced itself, so a
//     torn tail is overwritten by the next record, never followed by one.

// JournalPath is where the journal of the snapshot at snapshot lives.
func JournalPath(snapshot string) string { return snapshot + ".journal" }

const journalMagic = "netmon-journal 1\n"

// A change is one step of a record.
type change struct {
	op    byte     // opPut, opDelete, opBucket, opDropBucket
	path  [][]byte // the bucket's names, outermost first
	key   []byte   // opPut, opDelete
	value []byte   // opPut
	seq   uint64   // opBucket
}

const (
	opPut        = 'p' // put key=value in the bucket, creating it
	opDelete     = 'd' // delete key from the bucket
	opBucket     = 'b' // create the bucket if missing and set its sequence
	opDropBucket = 'x' // delete the bucket and all in it
)

// A Replay says what a restore took from the journal.
type Replay struct {
	Records int    `json:"records"`           // records applied
	Dropped int64  `json:"dropped,omitempty"` // bytes at the end not applied
	Why     string `json:"why,omitempty"`     // why they were not
	// Stale: the journal is of another snapshot, left by a persist cut
	// short between writing a snapshot and removing its old journal.
	Stale bool `json:"stale,omitempty"`

	gen  string // the snapshot's generation
	kept int64  // the journal's bytes replayed, header included: where the next record goes
}

// String says the replay for a log line: nothing when there was no
// journal, else what was applied and what left out.
func (r Replay) String() string {
	var out string
	switch {
	case r.Records == 1:
		out = ", with its journal's record"
	case r.Records > 1:
		out = fmt.Sprintf(", with its journal's %d records", r.Records)
	}
	if r.Why != "" {
		out += fmt.Sprintf("; %d bytes of its journal left out (%s)", r.Dropped, r.Why)
	}
	return out
}

// encodeChanges writes a record's payload, before compression.
func encodeChanges(changes []change) []byte {
	var out []byte
	bytesOf := func(b []byte) { out = binary.AppendUvarint(out, uint64(len(b))); out = append(out, b...) }
	for _, c := range changes {
		out = append(out, c.op)
		out = binary.AppendUvarint(out, uint64(len(c.path)))
		for _, name := range c.path {
			bytesOf(name)
		}
		switch c.op {
		case opPut:
			bytesOf(c.key)
			bytesOf(c.value)
		case opDelete:
			bytesOf(c.key)
		case opBucket:
			out = binary.AppendUvarint(out, c.seq)
		}
	}
	return out
}

var errMalformedRecord = errors.New("malformed journal record")

// decodeChanges reads what encodeChanges wrote.
func decodeChanges(p []byte) ([]change, error) {
	var out []change
	uvarint := func() (uint64, bool) {
		x, n := binary.Uvarint(p)
		if n <= 0 {
			return 0, false
		}
		p = p[n:]
		return x, true
	}
	bytesOf := func() ([]byte, bool) {
		n, ok := uvarint()
		if !ok || n > uint64(len(p)) {
			return nil, false
		}
		b := p[:n:n]
		p = p[n:]
		return b, true
	}
	for len(p) > 0 {
		c := change{op: p[0]}
		p = p[1:]
		depth, ok := uvarint()
		if !ok || depth == 0 || depth > 8 {
			return nil, errMalformedRecord
		}
		for range depth {
			name, ok := bytesOf()
			if !ok || len(name) == 0 {
				return nil, errMalformedRecord
			}
			c.path = append(c.path, name)
		}
		switch c.op {
		case opPut:
			if c.key, ok = bytesOf(); ok {
				c.value, ok = bytesOf()
			}
		case opDelete:
			c.key, ok = bytesOf()
		case opBucket:
			c.seq, ok = uvarint()
		case opDropBucket:
		default:
			ok = false
		}
		if !ok || (c.op == opPut || c.op == opDelete) && len(c.key) == 0 {
			return nil, errMalformedRecord
		}
		out = append(out, c)
	}
	return out, nil
}

// frameRecord compresses changes into one framed record: length, CRC-32,
// payload.
func frameRecord(changes []change) []byte {
	var z bytes.Buffer
	z.Write(make([]byte, 8))
	zw, _ := flate.NewWriter(&z, flate.BestCompression)
	zw.Write(encodeChanges(changes))
	zw.Close()
	rec := z.Bytes()
	binary.BigEndian.PutUint32(rec[0:], uint32(len(rec)-8))
	binary.BigEndian.PutUint32(rec[4:], crc32.ChecksumIEEE(rec[8:]))
	return rec
}

// journalHeader is what a journal of generation gen starts with.
func journalHeader(gen string) []byte { return []byte(journalMagic + gen + "\n") }

// replayJournal applies the journal at path, if it belongs to generation
// gen, to the database file at dest. A missing journal replays nothing; one
// that cannot be read is said in the Replay. Errors are dest's.
func replayJournal(path, gen, dest string) (Replay, error) {
	f, err := openOurs(path)
	if errors.Is(err, os.ErrNotExist) {
		return Replay{}, nil
	}
	if err != nil {
		return Replay{Why: err.Error()}, nil // a journal we cannot read is left out, and said
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Replay{Why: err.Error()}, nil
	}
	r := bufio.NewReader(f)
	head := journalHeader(gen)
	got := make([]byte, len(head))
	if _, err := io.ReadFull(r, got); err != nil || !bytes.Equal(got, head) || gen == "" {
		return Replay{Dropped: fi.Size(), Why: "it belongs to another snapshot", Stale: true}, nil
	}
	db, err := bolt.Open(dest, 0o600, &bolt.Options{Timeout: 0, NoSync: true})
	if err != nil {
		return Replay{}, fmt.Errorf("journal: %w", err)
	}
	defer db.Close()
	rep := Replay{}
	at := int64(len(head))
	for {
		changes, n, why := readRecord(r, fi.Size()-at)
		if n == 0 && why == "" {
			break // the end, exactly between records
		}
		if why == "" {
			why = applyChanges(db, changes)
		}
		if why != "" {
			rep.Dropped, rep.Why = fi.Size()-at, fmt.Sprintf("at byte %d: %s", at, why)
			break
		}
		rep.Records++
		at += n
	}
	rep.kept = at
	if err := db.Sync(); err != nil {
		return rep, fmt.Errorf("journal: %w", err)
	}
	return rep, nil
}

// readRecord reads one framed record of the left bytes left in the file;
// why says what was wrong with it. At the end of the file it returns no
// changes, no length and no why. A length beyond what is left is a record
// cut short, found before anything is allocated for it: a damaged length
// never asks a router for more memory than the journal's size.
func readRecord(r io.Reader, left int64) (changes []change, n int64, why string) {
	var frame [8]byte
	if k, err := io.ReadFull(r, frame[:]); err != nil {
		if k == 0 && errors.Is(err, io.EOF) {
			return nil, 0, ""
		}
		return nil, int64(k), "cut short"
	}
	size := int64(binary.BigEndian.Uint32(frame[0:]))
	if size > left-8 {
		return nil, 8, "cut short"
	}
	z := make([]byte, size)
	if _, err := io.ReadFull(r, z); err != nil {
		return nil, 8, "cut short"
	}
	if crc32.ChecksumIEEE(z) != binary.BigEndian.Uint32(frame[4:]) {
		return nil, 8 + size, "checksum mismatch"
	}
	p, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(z)), MaxDatabaseSize))
	if err != nil {
		return nil, 8 + size, "does not unpack: " + err.Error()
	}
	if changes, err = decodeChanges(p); err != nil {
		return nil, 8 + size, err.Error()
	}
	return changes, 8 + size, ""
}

// applyChanges applies one record in one transaction; it says what was
// wrong if it could not.
func applyChanges(db *bolt.DB, changes []change) string {
	err := db.Update(func(tx *bolt.Tx) error {
		for _, c := range changes {
			if err := applyChange(tx, c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err.Error()
	}
	return ""
}

func applyChange(tx *bolt.Tx, c change) error {
	parent, name := c.path[:len(c.path)-1], c.path[len(c.path)-1]
	if c.op == opDropBucket || c.op == opDelete {
		b := bucketAt(tx, c.path)
		if c.op == opDelete {
			if b == nil {
				return nil
			}
			return b.Delete(c.key)
		}
		if p := bucketAt(tx, parent); p != nil && b != nil {
			return p.DeleteBucket(name)
		} else if len(parent) == 0 && b != nil {
			return tx.DeleteBucket(name)
		}
		return nil
	}
	b, err := createBucketAt(tx, c.path)
	if err != nil {
		return err
	}
	if c.op == opBucket {
		return b.SetSequence(c.seq)
	}
	return b.Put(c.key, c.value)
}

// bucketAt is the bucket at path, or nil.
func bucketAt(tx *bolt.Tx, path [][]byte) *bolt.Bucket {
	if len(path) == 0 {
		return nil
	}
	b := tx.Bucket(path[0])
	for _, name := range path[1:] {
		if b == nil {
			return nil
		}
		b = b.Bucket(name)
	}
	return b
}

func createBucketAt(tx *bolt.Tx, path [][]byte) (*bolt.Bucket, error) {
	b, err := tx.CreateBucketIfNotExists(path[0])
	for _, name := range path[1:] {
		if err != nil {
			return nil, err
		}
		b, err = b.CreateBucketIfNotExists(name)
	}
	return b, err
}
