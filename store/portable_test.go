package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A portable backup restores to the very database it was written from:
// every bucket, sequence, key and value, history, baselines and all; over
// more than one record.
func TestPortable_RestoresTheSameDatabase(t *testing.T) {
	db := openTest(t)
	s := sampleState()
	for hour := range 3 {
		busyHour(t, db, s, t0.Add(time.Duration(hour)*time.Hour), hour)
	}
	defer func(n int) { portableChunk = n }(portableChunk)
	portableChunk = 16 // many records
	var buf bytes.Buffer
	n, err := db.WritePortable(&buf)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("WritePortable: %d bytes (wrote %d), %v", n, buf.Len(), err)
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "backup.portable")
	if err := os.WriteFile(src, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if !IsPortable(src) {
		t.Fatal("not recognised as a portable backup")
	}
	dest := filepath.Join(dir, "live.db")
	if err := Restore(src, dest); err != nil {
		t.Fatal(err)
	}
	if got, want := dump(t, dest), liveDump(t, db); got != want {
		t.Errorf("restored:\n%s\nwant:\n%s", got, want)
	}
}

// A portable backup cut short, damaged, or with bytes after its end is
// refused whole, and dest is not created.
func TestPortable_DamagedIsRefusedWhole(t *testing.T) {
	db := openTest(t)
	busyHour(t, db, sampleState(), t0, 0)
	var buf bytes.Buffer
	if _, err := db.WritePortable(&buf); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	flipped := bytes.Clone(good)
	flipped[len(portableMagic)+20] ^= 0xff
	dir := t.TempDir()
	for name, b := range map[string][]byte{
		"cut short":       good[:len(good)-3],
		"without its end": good[:len(good)-len(frameRecord(nil))],
		"a flipped byte":  flipped,
		"bytes after":     append(bytes.Clone(good), 'x'),
		"only the header": []byte(portableMagic),
	} {
		src, dest := filepath.Join(dir, "b"), filepath.Join(dir, "live.db")
		os.WriteFile(src, b, 0o600)
		err := Restore(src, dest)
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
		if _, serr := os.Stat(dest); serr == nil {
			t.Errorf("%s: dest created", name)
		}
	}
}
