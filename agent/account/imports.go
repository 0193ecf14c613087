package account

import (
	"fmt"
	"slices"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/netfilter"
	"github.com/netmon-agent/netmon-agent/agent/nlbwmon"
	"github.com/netmon-agent/netmon-agent/store"
)

// Importing nlbwmon's history (`netmon-agent import nlbwmon`). Each period
// nlbwmon kept is filed into the state as its hosts' totals (by MAC; no
// MAC is unattributed), their usage by service (a record whose protocol
// and port one of our services lists; the rest is other, as ever), and
// history rows at the period's resolution: the month row of the period's
// start and coarser (the day's for a one-day period), never finer, since
// nlbwmon did not know the days. What we counted ourselves is never
// touched:
//
//   - a period that starts at or after our first sample was counted here:
//     skipped, and said so;
//   - a period that runs past our first sample is split there: nlbwmon
//     counted it up to when it last wrote the file (its modification
//     time), so what we counted from our first sample to then comes off
//     each host's totals, and its services are scaled to what is left;
//   - an imported period is recorded (store.Import) and a second import of
//     it changes nothing.

// SourceNlbwmon names nlbwmon's imports.
const SourceNlbwmon = "nlbwmon"

// An Importer files nlbwmon's periods into State.
type Importer struct {
	State *store.State
	Now   time.Time
	Loc   *time.Location
	// ServiceOf names the service of a port, "" for none (other).
	ServiceOf func(netfilter.ServicePort) string
	// Counted is what each host (by MAC) moved by our own counting up to
	// until, from our first sample on.
	Counted func(until time.Time) (map[string]store.Directions, error)

	plans []*plannedImport
}

// A PeriodImport says what became of one period.
type PeriodImport struct {
	File          string    `json:"file"`
	Start         time.Time `json:"start"`
	End           time.Time `json:"end"`
	Status        string    `json:"status"` // one of the statuses below
	Hosts         int       `json:"hosts"`
	DownloadBytes uint64    `json:"download_bytes"`
	UploadBytes   uint64    `json:"upload_bytes"`
}

// Statuses of a PeriodImport.
const (
	ImportDone    = "imported"
	ImportSplit   = "imported up to our first sample"
	ImportAgain   = "already imported"
	ImportCounted = "counted here"
)

// A plannedImport is what Plan made of a period, for File.
type plannedImport struct {
	use  periodUse
	res  PeriodImport
	from store.Resolution
}

// Import plans each of periods, then files them (Plan, File).
func (im *Importer) Import(periods []*nlbwmon.Period) ([]PeriodImport, error) {
	for _, p := range periods {
		if err := im.Plan(p); err != nil {
			return nil, err
		}
	}
	return im.File(), nil
}

// Plan decides what becomes of period p and adds its records up, keeping
// no record: one period's records are held at a time. Nothing is filed
// before File.
func (im *Importer) Plan(p *nlbwmon.Period) error {
	first := im.State.Created
	if first.IsZero() {
		first = im.Now
	}
	start, end := p.Start.In(im.Loc), p.Interval.End(p.Start).In(im.Loc)
	plan := plannedImport{res: PeriodImport{File: p.Path, Start: start, End: end}, from: store.Month}
	switch {
	case im.State.Imports[store.ImportKey(SourceNlbwmon, start)] != nil:
		plan.res.Status = ImportAgain
	case !start.Before(first):
		plan.res.Status = ImportCounted
	default:
		plan.use, plan.res.Status = usesOf(p, im.ServiceOf), ImportDone
		if until := countingEnd(p, end); until.After(first) {
			ours, err := im.Counted(until)
			if err != nil {
				return fmt.Errorf("what netmon-agent counted from %s to %s: %w", first.Format(time.DateTime), until.Format(time.DateTime), err)
			}
			plan.use.without(ours)
			plan.res.Status, plan.res.End = ImportSplit, first
		}
		if !p.Interval.Monthly && p.Interval.Days == 1 {
			plan.from = store.Day
		}
	}
	im.plans = append(im.plans, &plan)
	return nil
}

// File files what Plan planned, in the order of the periods' starts, and
// says what became of each.
func (im *Importer) File() []PeriodImport {
	// Pointers: the sort shares its code with every other sort of pointers.
	slices.SortFunc(im.plans, func(a, b *plannedImport) int { return a.res.Start.Compare(b.res.Start) })
	out := make([]PeriodImport, 0, len(im.plans))
	for _, pl := range im.plans {
		if pl.res.Status == ImportDone || pl.res.Status == ImportSplit {
			im.file(pl.use, &pl.res, pl.from)
		}
		out = append(out, pl.res)
	}
	im.plans = nil
	return out
}

// countingEnd is when nlbwmon stopped counting period p, which ends at
// end: when it last wrote the file, or the end if that was later (or is
// unknown).
func countingEnd(p *nlbwmon.Period, end time.Time) time.Time {
	if !p.Written.IsZero() && p.Written.Before(end) {
		return p.Written
	}
	return end
}

// file adds one period's use to the state and records the import in res.
func (im *Importer) file(use periodUse, res *PeriodImport, from store.Resolution) {
	st := im.State
	day, month := im.Now.Format(time.DateOnly), im.Now.Format("2006-01")
	// The month row the period goes into is this month's: this month's
	// figures include it. Never today's.
	thisMonth := store.Month.Start(res.Start).Equal(store.Month.Start(im.Now.In(im.Loc)))
	rec := &store.Import{Source: SourceNlbwmon, File: res.File, Start: res.Start, End: res.End, From: from, Imported: im.Now}
	for mac, d := range use.hosts {
		h := st.Hosts[mac]
		if h == nil {
			h = &store.Host{MAC: mac, LastSeen: res.End}
			st.Hosts[mac] = h
		}
		h.FirstSeen = earliest(h.FirstSeen, res.Start)
		addPast(&h.Usage, d, day, month, thisMonth)
		st.AddDeltaFrom(store.HostSeries(mac, store.DirDownload), res.Start, d.Download, from)
		st.AddDeltaFrom(store.HostSeries(mac, store.DirUpload), res.Start, d.Upload, from)
		rec.Hosts++
		rec.Download, rec.Upload = rec.Download.Add(d.Download), rec.Upload.Add(d.Upload)
	}
	for key, d := range use.services {
		u := st.Services[store.ServiceKey(key.mac, key.service)]
		if u == nil {
			u = &store.ServiceUse{MAC: key.mac, Service: key.service}
			st.Services[store.ServiceKey(key.mac, key.service)] = u
		}
		addPast(&u.Usage, d, day, month, thisMonth)
	}
	st.Imports[store.ImportKey(SourceNlbwmon, res.Start)] = rec
	st.Touch()
	res.Hosts, res.DownloadBytes, res.UploadBytes = rec.Hosts, rec.Download.Bytes, rec.Upload.Bytes
}

// addPast adds d to u's totals as something that moved before today: the
// day's figures stay, and the month's too unless thisMonth.
func addPast(u *store.Usage, d store.Directions, day, month string, thisMonth bool) {
	if u.Day != day {
		u.Day, u.DayStart = day, store.Directions{Download: u.Download, Upload: u.Upload}
	}
	if u.Month != month {
		u.Month, u.MonthStart = month, store.Directions{Download: u.Download, Upload: u.Upload}
	}
	u.Download, u.Upload = u.Download.Add(d.Download), u.Upload.Add(d.Upload)
	u.DayStart = addDirections(u.DayStart, d)
	if !thisMonth {
		u.MonthStart = addDirections(u.MonthStart, d)
	}
}

func addDirections(a, b store.Directions) store.Directions {
	return store.Directions{Download: a.Download.Add(b.Download), Upload: a.Upload.Add(b.Upload)}
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}
