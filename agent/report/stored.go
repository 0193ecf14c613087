package report

import (
	"slices"
	"strings"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/hosts"
	"github.com/netmon-agent/netmon-agent/store"
)

// Views that read the history a store holds.

// AddUsage puts the usage lines into r from db's daily history; a history
// that cannot be read leaves them out (the totals still stand).
func AddUsage(r *Report, cfg *config.Config, db *store.DB, st *store.State, now time.Time) {
	if db == nil {
		return
	}
	q := HistoryQuery{Resolution: "day", Begin: UsageSince(cfg, now), Limit: AllRows}
	h, err := BuildHistoryFrom(db, st, nil, q, now, "")
	if err != nil {
		return
	}
	r.Usage = BuildUsage(cfg, h, now)
}

// BuildHistoryFrom reads q's buckets from db (nil: none) and builds the
// table.
func BuildHistoryFrom(db *store.DB, st *store.State, sources hosts.Sources, q HistoryQuery, now time.Time, source string) (*HistoryReport, error) {
	res, err := store.ParseResolution(q.Resolution)
	if err != nil {
		return nil, err
	}
	mac := ""
	if q.Host != "" {
		dir := hosts.Directory{State: st}
		if sources != nil {
			dir.Neigh, _ = sources.Neighbours()
			dir.Names = sources.Names()
		}
		if mac, err = dir.Resolve(q.Host); err != nil {
			return nil, err
		}
	}
	var buckets []store.Bucket
	if db != nil { // no database yet: no history
		if buckets, err = db.History(res, q.Begin, q.End); err != nil {
			return nil, err
		}
	}
	r, err := BuildHistory(q, mac, buckets, st.Deltas, time.Local, now, source)
	if err == nil {
		markImported(r, st, res)
	}
	if err == nil && q.PerHost {
		r.Names = map[string]string{}
		for _, m := range r.Hosts {
			if h := st.Hosts[m]; h != nil && h.Name != "" {
				r.Names[m] = h.Name
			}
		}
	}
	return r, err
}

// ChartQuery asks for the chart's days.
func ChartQuery(now time.Time) HistoryQuery {
	return HistoryQuery{Resolution: "day", Begin: store.Day.Start(now).AddDate(0, 0, -(ChartDays - 1)), Limit: ChartDays}
}

// MonthHostsQuery asks for every host's days of this billing month.
func MonthHostsQuery(cfg *config.Config, now time.Time) HistoryQuery {
	return HistoryQuery{Resolution: "day", Begin: config.PeriodStart(now, "month", cfg.PeriodStart), Limit: AllRows, PerHost: true}
}

// markImported names, in each row, the tools whose imported history it
// includes.
func markImported(r *HistoryReport, st *store.State, res store.Resolution) {
	if len(st.Imports) == 0 {
		return
	}
	for i, row := range r.Rows {
		var sources []string
		for _, im := range st.ImportedIn(res, row.Start) {
			if !slices.Contains(sources, im.Source) {
				sources = append(sources, im.Source)
			}
		}
		slices.Sort(sources)
		r.Rows[i].Imported = strings.Join(sources, ", ")
	}
}
