package report

import (
	"html/template"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/units"
	"github.com/netmon-agent/netmon-agent/store"
)

// viaTemplate renders p through html/template and testdata/report.tmpl,
// the template the page was written with before it was written by hand:
// the oracle of every branch and of the escaping.
func viaTemplate(t *testing.T, p *HTMLReport) string {
	t.Helper()
	text, err := os.ReadFile("testdata/report.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	stamp := func(v any) string {
		switch x := v.(type) {
		case time.Time:
			return x.In(p.loc).Format("2006-01-02 15:04")
		case *time.Time:
			if x != nil {
				return x.In(p.loc).Format("2006-01-02 15:04")
			}
		}
		return "-"
	}
	tpl := template.Must(template.New("report").Funcs(template.FuncMap{
		"bytes": units.FormatBytes, "stamp": stamp, "add": func(a, b uint64) uint64 { return a + b }, "cause": describeCause,
		"usageName": func(n string) string {
			if n == "hosts" {
				return "all hosts"
			}
			return n
		},
	}).Parse(string(text)))
	var b strings.Builder
	if err := tpl.Execute(&b, p); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestPage_WritesWhatTheTemplateDid(t *testing.T) {
	at := time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)
	hostile := `<script>alert("x")</script> & 'q' +1`
	pages := map[string]*HTMLReport{
		"meters without history or hosts": {Title: "netmon", Summary: &Report{Meters: []MeterReport{{Name: "wan", Bytes: 12345}}}},
		"nothing at all":                  {Title: "netmon", Summary: &Report{}},
		"hostile names": {Title: hostile, Subtitle: hostile, Generated: hostile, MonthStart: hostile,
			Summary: &Report{
				Meters: []MeterReport{{Name: hostile, Bytes: 1 << 30, Since: &at, LastReset: &store.Event{Time: at, Cause: hostile}}},
				Hosts:  &HostsTotal{DownloadBytes: 5, UploadBytes: 7, Since: at},
				Usage:  []Usage{{Name: "hosts", Today: 1, Yesterday: 2, Month: 3, Estimate: 4, LastMonth: 5}, {Name: hostile}},
			},
			TopHosts: []SinceLastHost{{Name: hostile, DownloadBytes: 1, UploadBytes: 2}},
			Chart: &BarChart{Width: 600, Height: 190, Base: 170, TickY: 184, Peak: hostile, DownloadName: hostile,
				Bars: []Bar{{X: 1.5, W: 14.000000000000002, YDown: 170, HDown: 1e-7, YUp: 3e21, Label: hostile, Title: hostile, Tick: &Tick{X: 8.25, Text: hostile}}, {X: 20}}},
		},
		"since last, no reset, no hosts": {Title: "mail", SinceLast: &SinceLastReport{Meters: []SinceLastMeter{{Name: "wan", Bytes: 3}}},
			Summary: &Report{Meters: []MeterReport{{Name: "wan"}}, Usage: []Usage{{Name: "wan", Today: 1}}}},
		"since last with a reset": {Title: "mail", SinceLast: &SinceLastReport{ResetDetected: true, HostsSince: &at, HostsTotal: 9,
			Events: []store.Event{{Time: at, Cause: store.CauseReboot}, {Time: at, Cause: store.CauseZeroed, Meter: hostile}}}},
	}
	for name, p := range pages {
		p.loc = time.FixedZone("X", 3600)
		var b strings.Builder
		if err := p.WriteHTML(&b); err != nil {
			t.Fatal(err)
		}
		if want := viaTemplate(t, p); b.String() != want {
			t.Errorf("%s: the page differs from the template's\n--- page\n%s\n--- template\n%s", name, b.String(), want)
		}
	}
}
