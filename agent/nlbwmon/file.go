package nlbwmon

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// periodName reads a file name as nlbwmon names periods, YYYYMMDD.db or
// YYYYMMDD.db.gz: its date, and whether it is such a name.
func periodName(name string) (uint32, bool) {
	digits, ok := strings.CutSuffix(strings.TrimSuffix(name, ".gz"), ".db")
	if !ok || len(digits) != 8 || strings.Trim(digits, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, 32)
	return uint32(n), err == nil
}

// Read reads every period in paths: a directory's files named as nlbwmon
// names them, or a file of any name. Any file that does not read whole
// fails it all, naming the file; so does a period found twice.
func Read(paths []string) ([]*Period, error) {
	var files []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			files = append(files, p)
			continue
		}
		found, err := periodFiles(p)
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%s: no nlbwmon database (YYYYMMDD.db.gz or .db) in it", p)
		}
		files = append(files, found...)
	}
	var out []*Period
	for _, f := range files {
		p, err := ReadFile(f)
		if err != nil {
			return nil, err
		}
		if i := slices.IndexFunc(out, func(o *Period) bool { return o.Start == p.Start }); i >= 0 {
			return nil, fmt.Errorf("%s and %s: both hold the period from %s", out[i].Path, f, p.Start)
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *Period) int { return a.Start.Compare(b.Start) })
	return out, nil
}

// periodFiles lists dir's files named as nlbwmon names periods.
func periodFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if _, ok := periodName(e.Name()); ok && e.Type().IsRegular() {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out, nil
}

// ReadFile reads one period's file, gzip'ed or not. A file named as
// nlbwmon names them must hold the period its name says.
func ReadFile(path string) (*Period, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	p, err := parse(decompressed(bufio.NewReader(f)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	p.Path, p.Written = path, fi.ModTime()
	if n, ok := periodName(filepath.Base(path)); ok {
		if d, ok := dateOf(n); !ok || d != p.Start {
			return nil, fmt.Errorf("%s: %w: its name says period %d, its header %s", path, ErrDamaged, n, p.Start)
		}
	}
	return p, nil
}

// decompressed reads r through gzip when it starts as gzip does; a gzip
// stream that breaks shows as a read error, which parse reports.
func decompressed(r *bufio.Reader) io.Reader {
	if head, err := r.Peek(2); err != nil || head[0] != 0x1f || head[1] != 0x8b {
		return r
	}
	z, err := gzip.NewReader(r)
	if err != nil {
		return errReader{fmt.Errorf("gzip: %w", err)}
	}
	z.Multistream(false)
	return z
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
