package nlbwmon

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/netmon-agent/netmon-agent/store"
)

// A Period is one accounting period of nlbwmon: its file, its first day,
// its interval and its records.
type Period struct {
	Path     string
	Start    Date
	Interval Interval
	// Written is the file's modification time: nlbwmon counted from Start
	// up to then (or to the period's end, if sooner).
	Written time.Time
	Records []Record
}

// A Record is what nlbwmon counted for one LAN address, MAC and protocol
// in a period: Download is what it calls rx (towards the host), Upload tx.
type Record struct {
	Family           int    // 4 or 6
	Proto            uint8  // the IP protocol; 0 with Port 0 when nlbwmon's protocol list names none for the port
	Port             uint16 // the remote end's port
	MAC              string // "" when nlbwmon knew none
	Addr             netip.Addr
	Conns            uint64
	Download, Upload store.Counts
}

// A Date is a day, as nlbwmon names periods: in the router's local time.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// In is the date's midnight in loc.
func (d Date) In(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// Compare orders dates: -1 when d is before e, 0 when equal, +1 after.
func (d Date) Compare(e Date) int { return d.In(time.UTC).Compare(e.In(time.UTC)) }

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

// dateOf reads nlbwmon's YYYYMMDD number; ok is false for no such date.
// A monthly interval from day 29 to 31 makes nlbwmon name days a short
// month lacks (20261131): they are the days after, as in time.Date.
func dateOf(n uint32) (d Date, ok bool) {
	y, m, day := int(n/10000), time.Month(n/100%100), int(n%100)
	if y < 2000 || y > 3000 || m < 1 || m > 12 || day < 1 || day > 31 {
		return d, false
	}
	t := time.Date(y, m, day, 0, 0, 0, 0, time.UTC)
	return Date{t.Year(), t.Month(), t.Day()}, true
}

// Interval types, as timing.h numbers them.
const (
	monthly = 1
	fixed   = 2
)

// An Interval is how nlbwmon cuts periods: Monthly from day Day of each
// month (0 or less counts back from the month's end, as nlbwmon's
// `-I -2` does), or every Days days.
type Interval struct {
	Monthly bool
	Day     int
	Days    int
}

func (i Interval) String() string {
	if i.Monthly {
		return fmt.Sprintf("monthly from day %d", i.Day)
	}
	return fmt.Sprintf("every %d days", i.Days)
}

// End is the first day after the period that starts on start: the next
// period's start, as nlbwmon's interval_timestamp names it.
func (i Interval) End(start Date) Date {
	if !i.Monthly {
		t := start.In(time.UTC).AddDate(0, 0, i.Days)
		return Date{t.Year(), t.Month(), t.Day()}
	}
	next := time.Date(start.Year, start.Month+1, 1, 0, 0, 0, 0, time.UTC)
	day := i.Day
	if day <= 0 {
		days := daysIn(next.Year(), next.Month())
		day = min(max(day+days, 1), days)
	}
	t := time.Date(next.Year(), next.Month(), day, 0, 0, 0, 0, time.UTC)
	return Date{t.Year(), t.Month(), t.Day()}
}

func daysIn(year int, m time.Month) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
