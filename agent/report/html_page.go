package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/units"
)

// The page written by hand, not through html/template: the template
// package and the reflection it keeps alive cost 262 KB of the router's
// binary, for a page of fixed shape. Every value from outside goes
// through text, which escapes as html/template does in text and quoted
// attributes (the golden files are the template's output).

// page builds the HTML of an HTMLReport.
type page struct {
	strings.Builder
	loc *time.Location
}

// htmlEscaper is html/template's table for text and quoted attributes.
var htmlEscaper = strings.NewReplacer("\x00", "\uFFFD", `"`, "&#34;", "&", "&amp;", "'", "&#39;", "+", "&#43;", "<", "&lt;", ">", "&gt;")

// raw writes markup as it is.
func (h *page) raw(s ...string) {
	for _, x := range s {
		h.WriteString(x)
	}
}

// text writes v escaped: strings as they are, numbers as fmt prints them.
func (h *page) text(v any) { htmlEscaper.WriteString(&h.Builder, fmt.Sprint(v)) }

// stamp writes a time in the page's zone.
func (h *page) stamp(t time.Time) { h.text(t.In(h.loc).Format("2006-01-02 15:04")) }

// stampOrDash writes *t, or a dash for none.
func (h *page) stampOrDash(t *time.Time) {
	if t == nil {
		h.raw("-")
		return
	}
	h.stamp(*t)
}

// byteRow starts a table row: the first cell as text, the rest as numbers
// of bytes.
func (h *page) byteRow(first string, bytes ...uint64) {
	h.raw("<tr><td>")
	h.text(first)
	h.raw("</td>")
	for _, b := range bytes {
		h.raw(`<td class="num">`)
		h.text(units.FormatBytes(b))
		h.raw("</td>")
	}
}

func (h *page) write(p *HTMLReport) {
	h.raw(pageHead)
	h.text(p.Title)
	h.raw("</title>\n", pageStyle, "</head>\n<body>\n<main>\n<h1>")
	h.text(p.Title)
	h.raw("</h1>\n<p class=\"sub\">")
	h.text(p.Subtitle)
	h.raw("</p>\n")
	if p.SinceLast != nil {
		h.sinceLast(p.SinceLast)
	}
	if p.Summary != nil {
		h.summary(p, p.Summary)
	}
	h.raw("\n")
	if p.Chart != nil {
		h.chart(p.Chart)
	}
	h.raw("\n")
	if len(p.TopHosts) > 0 {
		h.topHosts(p)
	}
	h.raw("\n<footer>netmon-agent · ")
	h.text(p.Generated)
	h.raw(" · counted by netfilter's own counters</footer>\n</main>\n</body>\n</html>\n")
}

func (h *page) sinceLast(sl *SinceLastReport) {
	if sl.ResetDetected {
		h.raw(`<div class="reset">== RESET DETECTED! ==<ul>`)
		for _, e := range sl.Events {
			h.raw("<li>")
			h.stamp(e.Time)
			h.raw(": ")
			h.text(describeCause(e.Cause))
			if e.Meter != "" {
				h.raw(" (meter ")
				h.text(e.Meter)
				h.raw(")")
			}
			h.raw("</li>")
		}
		h.raw("</ul></div>")
	}
	h.raw("\n<h2>Since the last report</h2>\n<div class=\"scroll\"><table>\n<tr><th>Meter</th><th>This period</th><th>Total</th><th>Counting since</th></tr>\n")
	for _, m := range sl.Meters {
		h.byteRow(m.Name, m.Bytes, m.TotalBytes)
		h.raw("<td>")
		h.stampOrDash(m.Since)
		h.raw("</td></tr>\n")
	}
	if sl.HostsSince != nil {
		h.byteRow("all hosts", sl.HostsDownload+sl.HostsUpload, sl.HostsTotal)
		h.raw("<td>")
		h.stamp(*sl.HostsSince)
		h.raw("</td></tr>\n")
	}
	h.raw("</table></div>\n")
}

func (h *page) summary(p *HTMLReport, r *Report) {
	if len(r.Usage) > 0 {
		h.raw("\n<h2>Usage</h2>\n<div class=\"scroll\"><table>\n<tr><th></th><th>Today</th><th>Yesterday</th><th>Since ")
		h.text(p.MonthStart)
		h.raw("</th><th>Estimate</th><th>Last month</th></tr>\n")
		for _, u := range r.Usage {
			name := u.Name
			if name == "hosts" {
				name = "all hosts"
			}
			h.byteRow(name, u.Today, u.Yesterday, u.Month, u.Estimate, u.LastMonth)
			h.raw("</tr>\n")
		}
		h.raw("</table></div>\n")
	}
	if p.SinceLast != nil || (len(r.Meters) == 0 && r.Hosts == nil) {
		return
	}
	h.raw("\n<h2>Totals</h2>\n<div class=\"scroll\"><table>\n<tr><th>Meter</th><th>Total</th><th>Since</th><th>Last reset</th></tr>\n")
	for _, m := range r.Meters {
		h.byteRow(m.Name, m.Bytes)
		h.raw("<td>")
		h.stampOrDash(m.Since)
		h.raw("</td><td>")
		if m.LastReset != nil {
			h.stamp(m.LastReset.Time)
			h.raw(" ")
			h.text(m.LastReset.Cause)
		} else {
			h.raw("-")
		}
		h.raw("</td></tr>\n")
	}
	if r.Hosts != nil {
		h.byteRow("all hosts", r.Hosts.DownloadBytes+r.Hosts.UploadBytes)
		h.raw("<td>")
		h.stamp(r.Hosts.Since)
		h.raw("</td><td></td></tr>\n")
	}
	h.raw("</table></div>\n")
}

func (h *page) chart(c *BarChart) {
	h.raw("\n<h2>Last ")
	h.text(len(c.Bars))
	h.raw(" days</h2>\n<svg viewBox=\"0 0 ")
	h.text(c.Width)
	h.raw(" ")
	h.text(c.Height)
	h.raw("\" role=\"img\" aria-label=\"daily traffic, last ")
	h.text(len(c.Bars))
	h.raw(" days\">\n")
	h.attrs(`<line x1="`, c.Left, `" y1="`, c.Base, `" x2="`, c.Width, `" y2="`, c.Base, `" stroke="#c4cad3"/>`+"\n")
	h.attrs(`<text x="`, c.Left, `" y="11" font-size="11" fill="#5b6675">`)
	h.text(c.Peak)
	h.raw("</text>\n")
	for _, b := range c.Bars {
		h.raw("<g><title>")
		h.text(b.Label)
		h.raw(": ")
		h.text(b.Title)
		h.raw("</title>")
		h.attrs(`<rect x="`, b.X, `" y="`, b.YDown, `" width="`, b.W, `" height="`, b.HDown, `" fill="#2f6fde"/>`)
		h.attrs(`<rect x="`, b.X, `" y="`, b.YUp, `" width="`, b.W, `" height="`, b.HUp, `" fill="#f29d38"/>`)
		if b.Tick != nil {
			h.attrs(`<text x="`, b.Tick.X, `" y="`, c.TickY, `" font-size="10" fill="#5b6675" text-anchor="middle">`)
			h.text(b.Tick.Text)
			h.raw("</text>")
		}
		h.raw("</g>\n")
	}
	h.raw("</svg>\n<div class=\"key\"><b style=\"background:#2f6fde\"></b>")
	h.text(c.DownloadName)
	h.raw("<b style=\"background:#f29d38\"></b>")
	h.text(c.UploadName)
	h.raw("</div>\n")
}

// attrs writes markup and values in turn: markup at even places, values
// (escaped) at odd ones.
func (h *page) attrs(parts ...any) {
	for i, x := range parts {
		if i%2 == 0 {
			h.raw(x.(string))
		} else {
			h.text(x)
		}
	}
}

func (h *page) topHosts(p *HTMLReport) {
	h.raw("\n<h2>Top hosts since ")
	h.text(p.MonthStart)
	h.raw("</h2>\n<div class=\"scroll\"><table>\n<tr><th>Host</th><th>Download</th><th>Upload</th><th>Total</th></tr>\n")
	for _, x := range p.TopHosts {
		h.byteRow(x.Name, x.DownloadBytes, x.UploadBytes, x.DownloadBytes+x.UploadBytes)
		h.raw("</tr>\n")
	}
	h.raw("</table></div>\n")
}

const pageHead = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>`

const pageStyle = `<style>
body{font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2430;background:#f4f6f8;margin:0;padding:12px}
main{max-width:760px;margin:0 auto;background:#fff;border-radius:8px;padding:16px 18px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:22px 0 8px}
.sub{color:#5b6675;font-size:13px;margin:0}
.reset{background:#fdecea;color:#8a1c12;border-left:4px solid #d93025;padding:8px 10px;margin:12px 0;font-weight:600}
.reset ul{margin:4px 0 0;padding-left:18px;font-weight:400}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{padding:5px 8px;text-align:right;white-space:nowrap;border-bottom:1px solid #e6e9ed}
th:first-child,td:first-child{text-align:left}
th{color:#5b6675;font-weight:600;font-size:12px;text-transform:uppercase}
.num{font-variant-numeric:tabular-nums}
svg{width:100%;height:auto;display:block}
.key{font-size:12px;color:#5b6675}.key b{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px;vertical-align:middle}
footer{color:#8a94a3;font-size:12px;margin-top:18px}
</style>
`
