package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/units"
	"github.com/netmon-agent/netmon-agent/store"
)

// A BlocksReport lists the blocks in force.
type BlocksReport struct {
	Blocks []BlockReport `json:"blocks"`
}

// A BlockReport is one block or throttle: target is a MAC or an address.
type BlockReport struct {
	Target  string     `json:"target"`
	Name    string     `json:"name"`
	Created time.Time  `json:"created"`
	Until   *time.Time `json:"until"` // null: until lifted by hand
	Reason  string     `json:"reason"`
	// Rate and RateUp are a throttle's rates in bits per second; 0 is a
	// block.
	Rate   uint64 `json:"rate"`
	RateUp uint64 `json:"rate_up"`
}

// BuildBlocks lists st's blocks, soonest to expire first.
func BuildBlocks(st *store.State) *BlocksReport {
	r := &BlocksReport{Blocks: []BlockReport{}}
	for t, b := range st.Blocks {
		br := BlockReport{Target: t, Created: b.Created.UTC(), Reason: b.Reason, Rate: b.Rate, RateUp: b.RateUp}
		if h := st.Hosts[t]; h != nil {
			br.Name = h.Name
		}
		if !b.Until.IsZero() {
			u := b.Until.UTC()
			br.Until = &u
		}
		r.Blocks = append(r.Blocks, br)
	}
	sort.Slice(r.Blocks, func(i, j int) bool {
		a, b := r.Blocks[i].Until, r.Blocks[j].Until
		switch {
		case a == nil && b == nil:
			return r.Blocks[i].Target < r.Blocks[j].Target
		case a == nil || b == nil:
			return b == nil
		}
		return a.Before(*b)
	})
	return r
}

// WriteText prints the blocks for a terminal.
func (r *BlocksReport) WriteText(w io.Writer, loc *time.Location) error {
	var b strings.Builder
	if len(r.Blocks) == 0 {
		b.WriteString("No blocks.\n")
	}
	untils := make([]string, len(r.Blocks))
	width := len("2006-01-02 15:04")
	for i, x := range r.Blocks {
		untils[i] = untilText(x, loc)
		width = max(width, len(untils[i]))
	}
	if len(r.Blocks) > 0 {
		fmt.Fprintf(&b, "%-17s %-15s %-15s %-*s  %s\n", "BLOCKED", "NAME", "RATE DOWN/UP", width, "UNTIL", "REASON")
	}
	for i, x := range r.Blocks {
		name := x.Name
		if name == "" {
			name = "-"
		}
		rate := "blocked"
		if x.Rate > 0 {
			rate = units.FormatBits(x.Rate) + "/" + units.FormatBits(x.RateUp)
		}
		fmt.Fprintf(&b, "%-17s %-15.15s %-15s %-*s  %s\n", x.Target, name, rate, width, untils[i], x.Reason)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// untilText is when a block ends, to the minute; to the second for a block
// shorter than an hour, where a minute is much of it.
func untilText(x BlockReport, loc *time.Location) string {
	switch {
	case x.Until == nil:
		return "lifted by hand"
	case x.Until.Sub(x.Created) < time.Hour:
		return x.Until.In(loc).Format("2006-01-02 15:04:05")
	}
	return x.Until.In(loc).Format("2006-01-02 15:04")
}
