package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// History. Every delta is filed under the series it belongs to (a meter, or
// one direction of one host) in a bucket of each resolution at once: the
// five-minute, hourly, daily, monthly and yearly rollups are kept as the
// deltas arrive, never recomputed. One database key holds one bucket of one
// resolution with every series that moved in it, so a year of daily history
// for 32 hosts is 400 keys, not 400 per series; and pruning a resolution is
// dropping its oldest keys.

// A Resolution is the width of history buckets.
type Resolution int

// The resolutions, finest first.
const (
	FiveMinutes Resolution = iota
	Hour
	Day
	Month
	Year
)

// Resolutions lists them, finest first.
var Resolutions = []Resolution{FiveMinutes, Hour, Day, Month, Year}

var resolutionNames = []string{"5min", "hour", "day", "month", "year"}

func (r Resolution) String() string { return resolutionNames[r] }

// ParseResolution reads a resolution's name.
func ParseResolution(s string) (Resolution, error) {
	if i := slices.Index(resolutionNames, s); i >= 0 {
		return Resolution(i), nil
	}
	return 0, fmt.Errorf("unknown resolution %q (5min, hour, day, month or year)", s)
}

// Start returns the start of the bucket t falls in, in t's location.
func (r Resolution) Start(t time.Time) time.Time {
	y, m, d := t.Date()
	switch r {
	case FiveMinutes:
		return time.Date(y, m, d, t.Hour(), t.Minute()/5*5, 0, 0, t.Location())
	case Hour:
		return time.Date(y, m, d, t.Hour(), 0, 0, 0, t.Location())
	case Day:
		return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
	case Month:
		return time.Date(y, m, 1, 0, 0, 0, 0, t.Location())
	}
	return time.Date(y, 1, 1, 0, 0, 0, 0, t.Location())
}

// Next returns the start of the bucket after the one starting at start.
func (r Resolution) Next(start time.Time) time.Time {
	switch r {
	case FiveMinutes:
		return r.Start(start.Add(5*time.Minute + time.Second))
	case Hour:
		return r.Start(start.Add(time.Hour + time.Second))
	case Day:
		return start.AddDate(0, 0, 1)
	case Month:
		return start.AddDate(0, 1, 0)
	}
	return start.AddDate(1, 0, 0)
}

// Retention is how many buckets of each resolution are kept; 0 keeps all.
// It counts buckets that exist, so a router switched off for a month keeps
// its history.
type Retention [5]int

// DefaultRetention: five-minute buckets for 48 hours, hourly for 14 days,
// daily for 400 days (a year-on-year comparison), monthly for 25 months,
// yearly forever.
var DefaultRetention = Retention{48 * 12, 14 * 24, 400, 25, 0}

// Series names.
const (
	DirDownload = "dl"
	DirUpload   = "ul"
)

// MeterSeries names the history of a meter (its families together).
func MeterSeries(meter string) string { return "m/" + meter }

// HostSeries names the history of one direction of a host.
func HostSeries(mac, dir string) string { return "h/" + mac + "/" + dir }

// A DeltaKey files a delta not yet committed: its series, the start of
// the five-minute bucket it fell in (Unix seconds), and the finest
// resolution it goes into (FiveMinutes, every one, but for an import:
// AddDeltaFrom).
type DeltaKey struct {
	Series string
	Slot   int64
	From   Resolution
}

// AddDelta files d under series at t. Deltas wait in memory until Commit.
func (s *State) AddDelta(series string, t time.Time, d Counts) {
	s.AddDeltaFrom(series, t, d, FiveMinutes)
}

// AddDeltaFrom files d under series at t in the rows of resolution from
// and coarser only: what is known for a month and not for its days (an
// imported period) makes no day's row.
func (s *State) AddDeltaFrom(series string, t time.Time, d Counts, from Resolution) {
	if d.Packets == 0 && d.Bytes == 0 {
		return
	}
	if s.Deltas == nil {
		s.Deltas = map[DeltaKey]Counts{}
	}
	k := DeltaKey{Series: series, Slot: FiveMinutes.Start(t).Unix(), From: from}
	s.Deltas[k] = s.Deltas[k].Add(d)
	s.Touch()
	if len(s.Deltas) > MaxPendingDeltas {
		s.coarsen()
	}
}

// A Bucket is one bucket of history: every meter's and host's series that
// moved in it. A
// series may be listed more than once (a caller adding what is not
// committed yet appends); what it moved is the sum.
type Bucket struct {
	Start time.Time
	Moved []Moved
}

// Moved is what one series moved in a bucket. The Series is shared by
// every bucket of one read: read it, never write it.
type Moved struct {
	*Series
	Counts
}

// NewBucket is a bucket starting at start with series' counts, in name
// order.
func NewBucket(start time.Time, series map[string]Counts) Bucket {
	b := Bucket{Start: start}
	for _, name := range slices.Sorted(maps.Keys(series)) {
		b.Add(name, series[name])
	}
	return b
}

// Add lists c under the series name, if it names a meter's or a host's.
func (b *Bucket) Add(name string, c Counts) {
	if s, ok := ParseSeries(name); ok {
		b.Moved = append(b.Moved, Moved{&s, c})
	}
}

// Of is what series name moved in b.
func (b Bucket) Of(name string) Counts {
	var c Counts
	for _, m := range b.Moved {
		if m.Name == name {
			c = c.Add(m.Counts)
		}
	}
	return c
}

var (
	bucketHistory = []byte("history")
	bucketSeries  = []byte("series") // name -> id, uvarint
)

// writeHistory files the deltas into every resolution and prunes.
func writeHistory(tx *bolt.Tx, deltas map[DeltaKey]Counts, loc *time.Location, keep Retention) error {
	if len(deltas) == 0 {
		return nil
	}
	ids := seriesIDs{bucket: tx.Bucket(bucketSeries), ids: map[string]uint64{}}
	hist := tx.Bucket(bucketHistory)
	// Group by bucket, so each key is read and written once.
	type slot struct {
		r     Resolution
		start int64
	}
	add := map[slot]map[uint64]Counts{}
	for k, d := range deltas {
		id, err := ids.of(k.Series)
		if err != nil {
			return err
		}
		t := time.Unix(k.Slot, 0).In(loc)
		for _, r := range Resolutions[k.From:] {
			sl := slot{r, r.Start(t).Unix()}
			if add[sl] == nil {
				add[sl] = map[uint64]Counts{}
			}
			add[sl][id] = add[sl][id].Add(d)
		}
	}
	for sl, moved := range add {
		if err := addToRow(hist.Bucket([]byte(sl.r.String())), sl.r, sl.start, moved); err != nil {
			return err
		}
	}
	return pruneHistory(hist, keep)
}

// seriesIDs numbers the series: a name's id is stored once, and rows hold
// ids.
type seriesIDs struct {
	bucket *bolt.Bucket
	ids    map[string]uint64
}

func (s seriesIDs) of(name string) (uint64, error) {
	if id, ok := s.ids[name]; ok {
		return id, nil
	}
	if v := s.bucket.Get([]byte(name)); v != nil {
		id, n := binary.Uvarint(v)
		if n <= 0 {
			return 0, fmt.Errorf("series %q: malformed id", name)
		}
		s.ids[name] = id
		return id, nil
	}
	id, err := s.bucket.NextSequence()
	if err != nil {
		return 0, err
	}
	if err := s.bucket.Put([]byte(name), binary.AppendUvarint(nil, id)); err != nil {
		return 0, err
	}
	s.ids[name] = id
	return id, nil
}

// addToRow adds moved to the row of resolution r that starts at start.
func addToRow(b *bolt.Bucket, r Resolution, start int64, moved map[uint64]Counts) error {
	// Keys arrive in time order: full pages, not half-empty ones.
	b.FillPercent = 0.95
	key := timeKey(start)
	row, err := decodeRow(b.Get(key))
	if err != nil {
		return fmt.Errorf("history %s %d: %w", r, start, err)
	}
	for id, d := range moved {
		row[id] = row[id].Add(d)
	}
	return b.Put(key, encodeRow(row))
}

// pruneHistory keeps the newest keep[r] rows of each resolution (0: all).
func pruneHistory(hist *bolt.Bucket, keep Retention) error {
	for _, r := range Resolutions {
		if keep[r] <= 0 {
			continue
		}
		b := hist.Bucket([]byte(r.String()))
		// Stats would not see this transaction's keys: count them.
		n := -keep[r]
		c := b.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			n++
		}
		for k, _ := c.First(); k != nil && n > 0; k, _ = c.Next() {
			if err := c.Delete(); err != nil {
				return err
			}
			n--
		}
	}
	return nil
}

func timeKey(unix int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(unix)) }

// encodeRow writes a bucket's series as (id, packets, bytes) uvarints, in
// id order.
func encodeRow(row map[uint64]Counts) []byte {
	ids := make([]uint64, 0, len(row))
	for id := range row {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var out []byte
	for _, id := range ids {
		out = binary.AppendUvarint(out, id)
		out = binary.AppendUvarint(out, row[id].Packets)
		out = binary.AppendUvarint(out, row[id].Bytes)
	}
	return out
}

var errMalformedRow = errors.New("malformed history row")

func decodeRow(v []byte) (map[uint64]Counts, error) {
	row := map[uint64]Counts{}
	err := eachInRow(v, func(id uint64, c Counts) { row[id] = c })
	if err != nil {
		return nil, err
	}
	return row, nil
}

// eachInRow calls f with each series of an encoded row, in id order.
func eachInRow(v []byte, f func(id uint64, c Counts)) error {
	for len(v) > 0 {
		var x [3]uint64
		for i := range x {
			n := 0
			if x[i], n = binary.Uvarint(v); n <= 0 {
				return errMalformedRow
			}
			v = v[n:]
		}
		f(x[0], Counts{Packets: x[1], Bytes: x[2]})
	}
	return nil
}

// rowLenGuess is a row's series count for sizing its map: an entry is
// three uvarints, at least three bytes and seldom more than eight.
func rowLenGuess(v []byte) int { return len(v) / 8 }

// History returns the buckets of resolution r that start in [from, to),
// oldest first (zero times: no bound), with series by name.
func (db *DB) History(r Resolution, from, to time.Time) ([]Bucket, error) {
	var out []Bucket
	err := db.bolt.View(func(tx *bolt.Tx) error {
		series := tx.Bucket(bucketSeries)
		hist := tx.Bucket(bucketHistory)
		if series == nil || hist == nil {
			return nil
		}
		// Each name parsed once, shared by every bucket read.
		names := map[uint64]*Series{}
		if err := series.ForEach(func(k, v []byte) error {
			id, n := binary.Uvarint(v)
			if n <= 0 {
				return fmt.Errorf("series %q: malformed id", k)
			}
			if s, ok := ParseSeries(string(k)); ok {
				names[id] = &s
			}
			return nil
		}); err != nil {
			return err
		}
		b := hist.Bucket([]byte(r.String()))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		k, v := c.First()
		if !from.IsZero() {
			k, v = c.Seek(timeKey(from.Unix()))
		}
		for ; k != nil; k, v = c.Next() {
			start := int64(binary.BigEndian.Uint64(k))
			if !to.IsZero() && start >= to.Unix() {
				break
			}
			// Straight into the bucket's list: no map in between.
			bk := Bucket{Start: time.Unix(start, 0).In(db.loc), Moved: make([]Moved, 0, rowLenGuess(v))}
			if err := eachInRow(v, func(id uint64, c Counts) {
				if s := names[id]; s != nil {
					bk.Moved = append(bk.Moved, Moved{s, c})
				}
			}); err != nil {
				return fmt.Errorf("history %s %d: %w", r, start, err)
			}
			out = append(out, bk)
		}
		return nil
	})
	return out, err
}
