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

// Read reads every period in paths (as Each), all of them held at once,
// in the order of their starts.
func Read(paths []string) ([]*Period, error) {
	var out []*Period
	if err := Each(paths, func(p *Period) error { out = append(out, p); return nil }); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b *Period) int { return a.Start.Compare(b.Start) })
	return out, nil
}

// Each reads the periods in paths, a directory's files named as nlbwmon
// names them or a file of any name, one at a time, and hands each to fn:
// one file's records are held at a time, whatever a router's nlbwmon kept.
// A file that does not read whole stops it with an error naming the file;
// so does a period found twice, or fn's error.
func Each(paths []string, fn func(*Period) error) error {
	files, err := periodFiles(paths)
	if err != nil {
		return err
	}
	seen := map[Date]string{}
	for _, f := range files {
		p, err := ReadFile(f)
		if err != nil {
			return err
		}
		if other, ok := seen[p.Start]; ok {
			return fmt.Errorf("%s and %s: both hold the period from %s", other, f, p.Start)
		}
		seen[p.Start] = f
		if err := fn(p); err != nil {
			return err
		}
	}
	return nil
}

// periodFiles lists the files of paths: a file as it is, a directory's
// files named as nlbwmon names periods.
func periodFiles(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			out = append(out, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, err
		}
		n := len(out)
		for _, e := range entries {
			if _, ok := periodName(e.Name()); ok && e.Type().IsRegular() {
				out = append(out, filepath.Join(p, e.Name()))
			}
		}
		if len(out) == n {
			return nil, fmt.Errorf("%s: no nlbwmon database (YYYYMMDD.db.gz or .db) in it", p)
		}
	}
	return out, nil
}

// ReadFile reads one period's file, gzip'ed or not. A file named as
// nlbwmon names them must hold the period its name says.
func ReadFile(path string) (*Period, error) {
	// Asked before opening: opening a FIFO would wait for a writer.
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w: not a regular file", path, ErrForeign)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
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
