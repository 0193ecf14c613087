package store

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A file bbolt finds sound can still hold values we cannot read: each is
// damage Verify names.
func TestVerify_ValuesThatDoNotDecode(t *testing.T) {
	for _, c := range []struct {
		name  string
		spoil func(tx *bolt.Tx) error
	}{
		{"a history row cut mid-triple", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketHistory).Bucket([]byte("day")).Put(timeKey(t0.Unix()), []byte{1, 5})
		}},
		{"a history row with a varint that never ends", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketHistory).Bucket([]byte("hour")).Put(timeKey(t0.Unix()), []byte{1, 0xff, 0xff})
		}},
		{"a history row of a series in no dictionary", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketHistory).Bucket([]byte("5min")).Put(timeKey(t0.Unix()), []byte{99, 1, 1})
		}},
		{"a history key that is no time", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketHistory).Bucket([]byte("month")).Put([]byte("x"), []byte{})
		}},
		{"a counter that is not JSON", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketCounters).Put([]byte("proxy/ipv4"), []byte("{"))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			db := openTest(t)
			s := sampleState()
			s.AddDelta(MeterSeries("proxy"), t0, Counts{Packets: 1, Bytes: 100})
			if err := db.Commit(s); err != nil {
				t.Fatal(err)
			}
			if err := db.Verify(); err != nil {
				t.Fatalf("before: %v", err)
			}
			if err := db.bolt.Update(c.spoil); err != nil {
				t.Fatal(err)
			}
			if err := db.Verify(); !errors.Is(err, ErrCorrupt) {
				t.Errorf("Verify: %v, want ErrCorrupt", err)
			}
		})
	}
}

// A file cut short at bbolt's first mmap size (32 KiB) keeps every page
// its root still points at inside the old mapping's length, so walking it
// read whatever memory came next and the daemon panicked later; the length
// check names it.
func TestCheck_FileCutShortAtTheMapSize(t *testing.T) {
	db := openTest(t)
	s := sampleState()
	for i := range 2000 { // enough rows for pages past 32 KiB
		s.AddDelta(MeterSeries("proxy"), t0.Add(time.Duration(i)*5*time.Minute), Counts{Packets: 1, Bytes: uint64(i)})
	}
	if err := db.Commit(s); err != nil {
		t.Fatal(err)
	}
	path := db.Path()
	db.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() <= 32<<10 {
		t.Fatalf("file is %d bytes: too small to cut", fi.Size())
	}
	if err := os.Truncate(path, 32<<10); err != nil {
		t.Fatal(err)
	}
	if err := Check(path); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "cut short") {
		t.Errorf("Check: %v, want ErrCorrupt naming a file cut short", err)
	}
}
