package nlbwmon

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// csvProtos are the protocol names `nlbw -c csv` prints (/etc/protocols'
// aliases, upper-cased).
var csvProtos = map[string]uint8{"IP": 0, "ICMP": 1, "IGMP": 2, "TCP": 6, "UDP": 17, "IPV6-ICMP": 58}

// csvRows reads what `nlbw -c csv` printed for a period, one line a
// record: family, protocol, port, MAC, address, connections, rx bytes and
// packets, tx bytes and packets.
func csvRows(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n")[1:] {
		f := strings.Split(strings.ReplaceAll(line, `"`, ""), "\t")
		proto, ok := csvProtos[f[1]]
		if !ok {
			t.Fatalf("%s: protocol %q", path, f[1])
		}
		out = append(out, fmt.Sprintf("%s %d %s %s %s %s %s/%s %s/%s", f[0], proto, f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9]))
	}
	slices.Sort(out)
	return out
}

// rows writes p's records as csvRows does.
func rows(p *Period) []string {
	var out []string
	for _, r := range p.Records {
		out = append(out, fmt.Sprintf("%d %d %d %s %s %d %d/%d %d/%d", r.Family, r.Proto, r.Port, r.MAC, r.Addr, r.Conns,
			r.Download.Bytes, r.Download.Packets, r.Upload.Bytes, r.Upload.Packets))
	}
	slices.Sort(out)
	return out
}

// Every record of the files nlbwmon wrote reads as nlbwmon's own client
// prints it, to the byte and packet.
func TestRead_AsNlbwPrintsIt(t *testing.T) {
	for dir, want := range map[string][]string{
		"testdata/monthly": {"2026-09-01", "2026-10-01", "2026-11-01"},
		"testdata/fixed":   {"2026-10-05"},
	} {
		periods, err := Read([]string{dir})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range periods {
			got = append(got, p.Start.String())
			csv := filepath.Join(dir, strings.ReplaceAll(p.Start.String(), "-", "")+".csv")
			if g, w := rows(p), csvRows(t, csv); !slices.Equal(g, w) {
				t.Errorf("%s:\n%s\nnlbw says:\n%s", p.Path, strings.Join(g, "\n"), strings.Join(w, "\n"))
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: periods %v, want %v", dir, got, want)
		}
	}
}

// A period ends where nlbwmon starts the next.
func TestInterval_End(t *testing.T) {
	for _, c := range []struct {
		iv         Interval
		start, end Date
	}{
		{Interval{Monthly: true, Day: 1}, Date{2026, 11, 1}, Date{2026, 12, 1}},
		{Interval{Monthly: true, Day: 1}, Date{2026, 12, 1}, Date{2027, 1, 1}},
		{Interval{Monthly: true, Day: 15}, Date{2026, 1, 15}, Date{2026, 2, 15}},
		{Interval{Monthly: true, Day: -1}, Date{2026, 1, 30}, Date{2026, 2, 27}},
		{Interval{Monthly: true, Day: 0}, Date{2026, 2, 28}, Date{2026, 3, 31}},
		{Interval{Days: 7}, Date{2026, 10, 5}, Date{2026, 10, 12}},
	} {
		if got := c.iv.End(c.start); got != c.end {
			t.Errorf("%v from %v: ends %v, want %v", c.iv, c.start, got, c.end)
		}
	}
}

// The real files, each spoiled one way: every one is refused with an
// error naming the file and the sentinel, and Read of a directory holding
// it returns no period at all.
func TestRead_RefusesDamagedAndForeignFiles(t *testing.T) {
	raw, err := os.ReadFile("testdata/fixed/20261005.db")
	if err != nil {
		t.Fatal(err)
	}
	gz, err := os.ReadFile("testdata/monthly/20261001.db.gz")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, file string
		data       []byte
		want       error
		says       string
	}{
		{"truncated", "20261005.db", raw[:len(raw)-10], ErrDamaged, "ends in record 4 of the 4"},
		{"trailing", "20261005.db", append(slices.Clone(raw), 0), ErrDamaged, "bytes after"},
		{"gzip cut", "20261001.db.gz", gz[:len(gz)-12], ErrDamaged, ""},
		{"gzip checksum", "20261001.db.gz", flipByte(gz, len(gz)-6), ErrDamaged, ""},
		{"text", "20261005.db", []byte("config nlbwmon\n\toption database_directory '/var/lib/nlbwmon'\n\t\t\t\t\t\t"), ErrForeign, "magic"},
		{"short", "20261005.db", []byte("nlbm"), ErrForeign, "shorter than"},
		{"renamed", "20261012.db", raw, ErrDamaged, "its name says period 20261012"},
		{"family", "20261005.db", flipByte(raw, headerSize), ErrDamaged, "address family"},
		{"interval", "20261005.db", flipByte(raw, 16), ErrDamaged, "interval type"},
		{"i386", "20261005.db", i386Layout(raw), ErrForeign, "32-bit x86"},
	} {
		dir := t.TempDir()
		good, _ := os.ReadFile("testdata/monthly/20261101.db.gz")
		os.WriteFile(filepath.Join(dir, "20261101.db.gz"), good, 0o600)
		path := filepath.Join(dir, c.file)
		if err := os.WriteFile(path, c.data, 0o600); err != nil {
			t.Fatal(err)
		}
		periods, err := Read([]string{dir})
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.says) || periods != nil {
			t.Errorf("%s: %v, %d periods; want %v saying %q", c.name, err, len(periods), c.want, c.says)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: the error is more than a line: %q", c.name, err)
		}
	}
}

func flipByte(b []byte, i int) []byte {
	out := slices.Clone(b)
	out[i] ^= 0x55
	return out
}

// i386Layout packs a file as nlbwmon on 32-bit x86 lays it out: 64-bit
// fields 4-byte aligned, so a 28-byte header and 68-byte records.
func i386Layout(raw []byte) []byte {
	n := binary.BigEndian.Uint32(raw[4:])
	out := slices.Clone(raw[:12])
	out = append(out, raw[16:17]...)
	out = append(out, 0, 0, 0)
	out = append(out, raw[24:36]...)
	for i := range int(n) {
		r := raw[headerSize+i*recordSize:]
		out = append(out, r[:4]...)
		out = append(out, r[8:72]...)
	}
	return out
}

// A big file of many periods' worth stays within MaxEntries; a header
// claiming more is refused before anything is read.
func TestRead_BoundsTheRecordsAHeaderClaims(t *testing.T) {
	raw, err := os.ReadFile("testdata/fixed/20261005.db")
	if err != nil {
		t.Fatal(err)
	}
	big := slices.Clone(raw)
	binary.BigEndian.PutUint32(big[4:], MaxEntries+1)
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	w.Write(big)
	w.Close()
	path := filepath.Join(t.TempDir(), "x.gz")
	os.WriteFile(path, z.Bytes(), 0o600)
	if _, err := ReadFile(path); !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "more than") {
		t.Errorf("%v", err)
	}
}

// A file's modification time is when nlbwmon last wrote it.
func TestReadFile_Written(t *testing.T) {
	dir := t.TempDir()
	raw, _ := os.ReadFile("testdata/fixed/20261005.db")
	path := filepath.Join(dir, "20261005.db")
	os.WriteFile(path, raw, 0o600)
	when := time.Date(2026, 10, 8, 3, 0, 0, 0, time.UTC)
	os.Chtimes(path, when, when)
	p, err := ReadFile(path)
	if err != nil || !p.Written.Equal(when) || p.Interval != (Interval{Days: 7}) {
		t.Errorf("%+v, %v", p, err)
	}
}

// A big-endian router's nlbwmon writes IPv4 addresses in network order, a
// little-endian one's (which wrote testdata) reversed: both read alike.
func TestRead_IPv4FromEitherByteOrder(t *testing.T) {
	raw, err := os.ReadFile("testdata/fixed/20261005.db")
	if err != nil {
		t.Fatal(err)
	}
	big := slices.Clone(raw)
	for i := headerSize; i < len(big); i += recordSize {
		if big[i] == afInet {
			slices.Reverse(big[i+16 : i+20])
		}
	}
	path := filepath.Join(t.TempDir(), "20261005.db")
	os.WriteFile(path, big, 0o600)
	p, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if g, w := rows(p), csvRows(t, "testdata/fixed/20261005.csv"); !slices.Equal(g, w) {
		t.Errorf("%s\nnlbw says:\n%s", strings.Join(g, "\n"), strings.Join(w, "\n"))
	}
}

// A FIFO or a device named as a period is refused without a read, which
// would wait or never end.
func TestReadFile_RefusesWhatIsNoRegularFile(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "20261005.db")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{fifo, "/dev/zero"} {
		if _, err := ReadFile(path); !errors.Is(err, ErrForeign) || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("%s: %v", path, err)
		}
	}
}
