package report

import (
	"github.com/netmon-agent/netmon-agent/agent/units"

	"fmt"
	"io"
	"sort"
	"time"

	"github.com/netmon-agent/netmon-agent/store"
)

// The HTML report: one self-contained page (inline CSS and SVG, no script,
// nothing fetched) with the summary, a bar chart of the last 30 days and
// the month's top hosts. `report --html` writes it; the mail carries it
// with the since-last report on top.

// An HTMLReport is what the page shows.
type HTMLReport struct {
	Title     string
	Subtitle  string
	Generated string
	Summary   *Report
	SinceLast *SinceLastReport // the mail's; nil for `report --html`
	Chart     *BarChart
	// TopHosts are the busiest hosts of the billing month, from MonthStart.
	TopHosts   []SinceLastHost
	MonthStart string
	loc        *time.Location
}

// chartDays is how many days the page's chart shows.
const ChartDays = 30

// topHosts is how many hosts the page lists.
const topHosts = 10

// BuildHTMLReport lays out the page from the summary, the daily history of
// the last chartDays days (days) and the per-host daily history of the
// billing month (month, with PerHost). sl is nil but for the mail.
func BuildHTMLReport(title, router string, r *Report, sl *SinceLastReport, days, month *HistoryReport, loc *time.Location, now time.Time) *HTMLReport {
	p := &HTMLReport{Title: title, Summary: r, SinceLast: sl, Generated: now.In(loc).Format("2006-01-02 15:04 MST"), loc: loc}
	if len(r.Usage) > 0 {
		p.MonthStart = r.Usage[0].MonthStart.In(loc).Format("Jan 2")
	}
	last := "never"
	if r.LastSample != nil {
		last = r.LastSample.In(loc).Format("2006-01-02 15:04")
	}
	p.Subtitle = fmt.Sprintf("%s · last sample %s", router, last)
	if sl != nil {
		p.Subtitle = fmt.Sprintf("%s · %s to %s", router, sl.From.In(loc).Format("2006-01-02 15:04"), sl.To.In(loc).Format("2006-01-02 15:04"))
	}
	if days != nil {
		p.Chart = dailyChart(days, firstMeter(r), loc, now)
	}
	if month != nil {
		p.TopHosts = monthTopHosts(month)
		if p.MonthStart == "" && len(month.Rows) > 0 {
			p.MonthStart = month.Rows[0].Start.In(loc).Format("Jan 2")
		}
	}
	return p
}

func firstMeter(r *Report) string {
	if len(r.Meters) > 0 {
		return r.Meters[0].Name
	}
	return ""
}

// WriteHTML renders the page (html_page.go).
func (p *HTMLReport) WriteHTML(w io.Writer) error {
	loc := p.loc
	if loc == nil {
		loc = time.Local
	}
	h := &page{loc: loc}
	h.write(p)
	_, err := io.WriteString(w, h.String())
	return err
}

// monthTopHosts sums the per-host rows into the busiest hosts first.
func monthTopHosts(h *HistoryReport) []SinceLastHost {
	sums := map[string]*SinceLastHost{}
	for _, row := range h.Rows {
		for mac, v := range row.PerHost {
			s := sums[mac]
			if s == nil {
				s = &SinceLastHost{MAC: mac, Name: hostLabel(h.Names[mac], mac, 32)}
				sums[mac] = s
			}
			s.DownloadBytes += v[0]
			s.UploadBytes += v[1]
		}
	}
	out := []SinceLastHost{}
	for _, s := range sums {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool {
		if ti, tj := out[i].DownloadBytes+out[i].UploadBytes, out[j].DownloadBytes+out[j].UploadBytes; ti != tj {
			return ti > tj
		}
		return out[i].MAC < out[j].MAC
	})
	if len(out) > topHosts {
		out = out[:topHosts]
	}
	return out
}

// A BarChart is the SVG chart of daily traffic, in viewBox units: stacked
// download and upload of all hosts, or one meter's bytes when no host was
// counted.
type BarChart struct {
	Width, Height, Left, Base, TickY int
	Peak                             string // the tallest bar's bytes, at the top left
	DownloadName, UploadName         string
	Bars                             []Bar
}

// A Bar is one day.
type Bar struct {
	X, W, YDown, HDown, YUp, HUp float64
	Label, Title                 string
	Tick                         *Tick
}

// A Tick labels a bar on the axis.
type Tick struct {
	X    float64
	Text string
}

func dailyChart(h *HistoryReport, meter string, loc *time.Location, now time.Time) *BarChart {
	c := &BarChart{Width: 600, Height: 190, Left: 0, Base: 170, TickY: 184, DownloadName: "download", UploadName: "upload"}
	hosts := false
	byDay := map[int64]HistoryRow{}
	for _, row := range h.Rows {
		byDay[row.Start.Unix()] = row
		if row.DownloadBytes+row.UploadBytes > 0 {
			hosts = true
		}
	}
	if !hosts {
		if meter == "" {
			return nil
		}
		c.DownloadName, c.UploadName = meter, ""
	}
	split := func(row HistoryRow) (down, up uint64) {
		if hosts {
			return row.DownloadBytes, row.UploadBytes
		}
		return row.Meters[meter], 0
	}
	first := store.Day.Start(now.In(loc)).AddDate(0, 0, -(ChartDays - 1))
	var peak uint64
	for i := 0; i < ChartDays; i++ {
		d, u := split(byDay[first.AddDate(0, 0, i).Unix()])
		peak = max(peak, d+u)
	}
	c.Peak = units.FormatBytes(peak)
	slot := float64(c.Width-c.Left) / ChartDays
	plot := float64(c.Base - 16)
	for i := 0; i < ChartDays; i++ {
		day := first.AddDate(0, 0, i)
		d, u := split(byDay[day.Unix()])
		b := Bar{X: float64(c.Left) + float64(i)*slot + slot*0.15, W: slot * 0.7, Label: day.Format("Mon Jan 2")}
		if peak > 0 {
			b.HDown = plot * float64(d) / float64(peak)
			b.HUp = plot * float64(u) / float64(peak)
		}
		b.YDown = float64(c.Base) - b.HDown
		b.YUp = b.YDown - b.HUp
		b.Title = units.FormatBytes(d + u)
		if hosts {
			b.Title = fmt.Sprintf("%s down, %s up", units.FormatBytes(d), units.FormatBytes(u))
		}
		if i%5 == 0 {
			b.Tick = &Tick{X: b.X + b.W/2, Text: day.Format("Jan 2")}
		}
		c.Bars = append(c.Bars, b)
	}
	return c
}
