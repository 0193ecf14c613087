package report

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/units"
	"github.com/netmon-agent/netmon-agent/store"
)

// A HistoryQuery asks for a table of history: `report --days` and friends.
type HistoryQuery struct {
	Resolution string    `json:"resolution"` // 5min, hour, day, month, year
	Begin      time.Time `json:"begin,omitzero"`
	End        time.Time `json:"end,omitzero"`
	Limit      int       `json:"limit,omitempty"` // the newest N rows; 0: the view's default
	Meter      string    `json:"meter,omitempty"`
	Host       string    `json:"host,omitempty"` // a MAC, an address or a name
	// PerHost adds each host's bytes to every row (export --hosts).
	PerHost bool `json:"per_host,omitempty"`
	// Top orders the rows busiest first and keeps the first Limit
	// (default 10): `report --top`, the heaviest days.
	Top bool `json:"top,omitempty"`
}

// MaxLimit bounds the rows a person may ask for, on the command line and
// in the API alike; AllRows, for exports and the summary, asks for every
// row there is.
const (
	MaxLimit = 100000
	AllRows  = -1
)

// Check refuses a query no view can answer; each error names the option
// and what it accepts.
func (q HistoryQuery) Check() error {
	if _, err := store.ParseResolution(q.Resolution); err != nil {
		return err
	}
	if q.Limit < AllRows || q.Limit > MaxLimit {
		return fmt.Errorf("limit %d: a number of rows from 1 to %d", q.Limit, MaxLimit)
	}
	if !q.Begin.IsZero() && !q.End.IsZero() && !q.End.After(q.Begin) {
		return fmt.Errorf("end %s is not after begin %s", q.End.Format("2006-01-02 15:04"), q.Begin.Format("2006-01-02 15:04"))
	}
	return nil
}

// CheckMeter refuses a query for a meter that is neither configured nor
// in the table h answered: it would print a column of zeros.
func CheckMeter(q HistoryQuery, cfg *config.Config, h *HistoryReport) error {
	if q.Meter == "" || slices.Contains(h.Meters, q.Meter) {
		return nil
	}
	var names []string
	for _, m := range cfg.Meters {
		if m.Name == q.Meter {
			return nil
		}
		names = append(names, m.Name)
	}
	return fmt.Errorf("unknown meter %q (configured: %s)", q.Meter, strings.Join(names, ", "))
}

// defaultLimits are the rows each view shows without --limit, as vnStat's.
var defaultLimits = map[store.Resolution]int{store.FiveMinutes: 24, store.Hour: 24, store.Day: 30, store.Month: 12, store.Year: 0}

// topLimit is how many rows `report --top` shows without --limit.
const topLimit = 10

// A HistoryReport is one table of history.
type HistoryReport struct {
	Resolution string   `json:"resolution"`
	Top        bool     `json:"top,omitempty"` // rows busiest first
	Meter      string   `json:"meter,omitempty"`
	Host       string   `json:"host,omitempty"` // the MAC asked for
	Meters     []string `json:"meters"`         // the meter columns
	// Hosts are the MACs of the per-host columns, with Names (PerHost).
	Hosts  []string          `json:"hosts,omitempty"`
	Names  map[string]string `json:"names,omitempty"`
	Rows   []HistoryRow      `json:"rows"`
	Source string            `json:"source"`
}

// A HistoryRow is one bucket. Download and upload are of the host asked
// for, or of all hosts together; meters are bytes per meter.
type HistoryRow struct {
	Start         time.Time         `json:"start"`
	End           time.Time         `json:"end"`
	DownloadBytes uint64            `json:"download_bytes"`
	UploadBytes   uint64            `json:"upload_bytes"`
	Meters        map[string]uint64 `json:"meters"`
	// PerHost is each host's download and upload bytes, by MAC (PerHost).
	PerHost map[string][2]uint64 `json:"per_host,omitempty"`
	// AverageRate is download plus upload (or the meter asked for) over the
	// bucket's length, in bytes per second; the bucket still running counts
	// up to now.
	AverageRate float64 `json:"average_rate"`
	// Imported names the tools whose history the row includes (`import
	// nlbwmon`): "nlbwmon"; empty for our own counting only.
	Imported string `json:"imported,omitempty"`
}

// BuildHistory builds q's table from buckets (as the store returned them,
// committed) plus pending, the deltas not yet committed. mac is the host q
// named, resolved ("" for all).
func BuildHistory(q HistoryQuery, mac string, buckets []store.Bucket, pending map[store.DeltaKey]store.Counts, loc *time.Location, now time.Time, source string) (*HistoryReport, error) {
	if err := q.Check(); err != nil {
		return nil, err
	}
	res, _ := store.ParseResolution(q.Resolution)
	buckets = withPending(buckets, pending, res, q, loc)
	r := &HistoryReport{Resolution: res.String(), Top: q.Top, Meter: q.Meter, Host: mac, Meters: []string{}, Rows: []HistoryRow{}, Source: source}
	meters, hosts := map[string]bool{}, map[string]bool{}
	for _, b := range buckets {
		row := HistoryRow{Start: b.Start.In(loc), End: res.Next(b.Start.In(loc)), Meters: map[string]uint64{}}
		for _, m := range b.Moved {
			row.add(*m.Series, m.Counts, q, mac, meters, hosts)
		}
		row.AverageRate = row.rate(q.Meter, now)
		r.Rows = append(r.Rows, row)
	}
	r.Meters = append(r.Meters, slices.Sorted(maps.Keys(meters))...)
	r.Hosts = slices.Sorted(maps.Keys(hosts))
	r.limit(q, res)
	return r, nil
}

// withPending adds the deltas not yet committed to the buckets of their
// time within q's range, sorted oldest first.
func withPending(buckets []store.Bucket, pending map[store.DeltaKey]store.Counts, res store.Resolution, q HistoryQuery, loc *time.Location) []store.Bucket {
	byStart := map[int64]int{}
	for i := range buckets {
		byStart[buckets[i].Start.Unix()] = i
	}
	for k, d := range pending {
		if k.From > res {
			continue // an import's, not in this resolution's rows
		}
		start := res.Start(time.Unix(k.Slot, 0).In(loc))
		if (!q.Begin.IsZero() && start.Before(q.Begin)) || (!q.End.IsZero() && !start.Before(q.End)) {
			continue
		}
		i, ok := byStart[start.Unix()]
		if !ok {
			buckets = append(buckets, store.Bucket{Start: start})
			i = len(buckets) - 1
			byStart[start.Unix()] = i
		}
		buckets[i].Add(k.Series, d)
	}
	slices.SortFunc(buckets, func(a, b store.Bucket) int { return a.Start.Compare(b.Start) })
	return buckets
}

// add counts c of series s in the row, as q asks: only its meter, or only
// host mac ("" for all), per host with PerHost. meters and hosts collect
// the names seen.
func (row *HistoryRow) add(s store.Series, c store.Counts, q HistoryQuery, mac string, meters, hosts map[string]bool) {
	if s.Meter != "" {
		if q.Meter == "" || s.Meter == q.Meter {
			row.Meters[s.Meter] += c.Bytes
			meters[s.Meter] = true
		}
		return
	}
	if q.Meter != "" || (mac != "" && s.MAC != mac) {
		return
	}
	i := 0
	if s.Dir == store.DirDownload {
		row.DownloadBytes += c.Bytes
	} else {
		row.UploadBytes += c.Bytes
		i = 1
	}
	if q.PerHost {
		if row.PerHost == nil {
			row.PerHost = map[string][2]uint64{}
		}
		v := row.PerHost[s.MAC]
		v[i] += c.Bytes
		row.PerHost[s.MAC] = v
		hosts[s.MAC] = true
	}
}

// rate is the row's bytes (meter's, or download plus upload) per second of
// its bucket; the running bucket counts up to now.
func (row *HistoryRow) rate(meter string, now time.Time) float64 {
	span := row.End.Sub(row.Start)
	if now.Before(row.End) && now.After(row.Start) {
		span = now.Sub(row.Start)
	}
	moved := row.DownloadBytes + row.UploadBytes
	if meter != "" {
		moved = row.Meters[meter]
	}
	if span <= 0 {
		return 0
	}
	return float64(moved) / span.Seconds()
}

// limit keeps the newest rows q asks for (the view's default without
// --limit), or with Top the busiest, busiest first.
func (r *HistoryReport) limit(q HistoryQuery, res store.Resolution) {
	limit := q.Limit
	if limit == 0 {
		limit = defaultLimits[res]
	}
	if limit == AllRows {
		limit = 0 // no cut
	}
	if !q.Top {
		if limit > 0 && len(r.Rows) > limit {
			r.Rows = r.Rows[len(r.Rows)-limit:]
		}
		return
	}
	if q.Limit == 0 {
		limit = topLimit
	}
	slices.SortStableFunc(r.Rows, func(a, b HistoryRow) int {
		ba, bb := rowBytes(r, a), rowBytes(r, b)
		switch {
		case ba > bb:
			return -1
		case ba < bb:
			return 1
		}
		return 0
	})
	if limit > 0 && len(r.Rows) > limit {
		r.Rows = r.Rows[:limit]
	}
}

// bucketLabel formats a bucket's start as its view names it.
func bucketLabel(res string, t time.Time) string {
	switch res {
	case "5min", "hour":
		return t.Format("2006-01-02 15:04")
	case "day":
		return t.Format("2006-01-02 Mon")
	case "month":
		return t.Format("2006-01")
	}
	return t.Format("2006")
}

// WriteText prints the table: one row per bucket with download, upload,
// total and average rate (or the meter's bytes with --meter), the meters'
// bytes, and for hours a bar of each row's share of the busiest.
func (r *HistoryReport) WriteText(w io.Writer) error {
	if len(r.Rows) == 0 {
		_, err := fmt.Fprintf(w, "No %s history yet.\n", r.Resolution)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{strings.ToUpper(r.Resolution)}
	if r.Top {
		head = []string{"#", "TOP " + strings.ToUpper(r.Resolution)}
	}
	if r.Meter != "" {
		head = append(head, r.Meter)
	} else {
		head = append(head, "DOWNLOAD", "UPLOAD", "TOTAL")
	}
	head = append(head, "AVG RATE")
	if r.Meter == "" && r.Host == "" {
		head = append(head, r.Meters...)
	}
	bars := r.Resolution == "hour"
	var busiest uint64
	for _, row := range r.Rows {
		busiest = max(busiest, rowBytes(r, row))
	}
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	imported := ""
	for i, row := range r.Rows {
		cols := []string{bucketLabel(r.Resolution, row.Start)}
		if row.Imported != "" {
			cols[0], imported = "*"+cols[0], row.Imported
		}
		if r.Top {
			cols = append([]string{fmt.Sprint(i + 1)}, cols...)
		}
		if r.Meter != "" {
			cols = append(cols, units.FormatBytes(row.Meters[r.Meter]))
		} else {
			cols = append(cols, units.FormatBytes(row.DownloadBytes), units.FormatBytes(row.UploadBytes), units.FormatBytes(row.DownloadBytes+row.UploadBytes))
		}
		cols = append(cols, units.FormatRate(row.AverageRate))
		if r.Meter == "" && r.Host == "" {
			for _, m := range r.Meters {
				cols = append(cols, units.FormatBytes(row.Meters[m]))
			}
		}
		line := strings.Join(cols, "\t") + "\t"
		if bars && busiest > 0 {
			line += " " + strings.Repeat("#", int(20*rowBytes(r, row)/busiest))
		}
		fmt.Fprintln(tw, line)
	}
	if err := tw.Flush(); err != nil || imported == "" {
		return err
	}
	_, err := fmt.Fprintf(w, "* with history imported from %s: its periods, without their days\n", imported)
	return err
}

func rowBytes(r *HistoryReport, row HistoryRow) uint64 {
	if r.Meter != "" {
		return row.Meters[r.Meter]
	}
	return row.DownloadBytes + row.UploadBytes
}
