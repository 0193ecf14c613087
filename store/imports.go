package store

import "time"

var bucketImports = []byte("imports")

// An Import is one period of another tool's history filed into ours
// (`netmon-agent import nlbwmon`). What its hosts moved is in their totals
// and in the history rows of resolution From and coarser (the row of the
// period's start), never in finer ones: the other tool did not know the
// days. Kept for good, under ImportKey, so a second import of the period
// changes nothing and reports can say which rows were imported.
type Import struct {
	Source string    `json:"source"`
	File   string    `json:"file"`
	Start  time.Time `json:"start"`
	// End is where what was imported ends: the period's end, or the first
	// sample of ours when the period ran on past it (split there).
	End      time.Time  `json:"end"`
	From     Resolution `json:"from"`
	Hosts    int        `json:"hosts"`
	Download Counts     `json:"download"`
	Upload   Counts     `json:"upload"`
	Imported time.Time  `json:"imported"`
}

// ImportKey keys the import of the period of source starting at start
// ("nlbwmon/2026-11-01").
func ImportKey(source string, start time.Time) string {
	return source + "/" + start.Format(time.DateOnly)
}

// ImportedIn lists the imports whose rows of resolution r include the
// bucket starting at start, in loc.
func (s *State) ImportedIn(r Resolution, start time.Time) []*Import {
	var out []*Import
	for _, im := range s.Imports {
		if r >= im.From && r.Start(im.Start.In(start.Location())).Equal(start) {
			out = append(out, im)
		}
	}
	return out
}
