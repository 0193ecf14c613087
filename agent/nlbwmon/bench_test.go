package nlbwmon

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkReadFile reads a period of 10000 records (OpenWrt's default
// database_limit), gzip'ed as OpenWrt keeps them: the real file's records
// over and over, each with an address of its own.
func BenchmarkReadFile(b *testing.B) {
	raw, err := os.ReadFile("testdata/fixed/20261005.db")
	if err != nil {
		b.Fatal(err)
	}
	const n = 10000
	big := append([]byte{}, raw[:headerSize]...)
	binary.BigEndian.PutUint32(big[4:], n)
	real := (len(raw) - headerSize) / recordSize
	for i := range n {
		rec := append([]byte{}, raw[headerSize+(i%real)*recordSize:][:recordSize]...)
		binary.BigEndian.PutUint16(rec[30:], uint16(i)) // the address's last bytes
		big = append(big, rec...)
	}
	var z bytes.Buffer
	w, _ := gzip.NewWriterLevel(&z, 9)
	w.Write(big)
	w.Close()
	path := filepath.Join(b.TempDir(), "20261005.db.gz")
	os.WriteFile(path, z.Bytes(), 0o600)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		p, err := ReadFile(path)
		if err != nil || len(p.Records) != n {
			b.Fatal(err)
		}
	}
}
