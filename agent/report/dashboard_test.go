package report_test

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/report"
)

// The Grafana dashboard under scripts/ asks only for metrics /metrics
// serves, so an import shows data rather than empty panels.
func TestDashboard_NamesServedMetrics(t *testing.T) {
	data, err := os.ReadFile("../../scripts/prometheus/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Query string `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	q := 10.0
	var b strings.Builder
	report.WriteMetrics(&b, &report.Metrics{
		Report: &report.Report{LastSample: &now, Meters: []report.MeterReport{{Name: "wan"}}},
		Hosts:  &report.HostsReport{Hosts: []report.HostReport{{MAC: "02:00:00:00:00:01", QuotaPercent: &q}}},
		Blocks: &report.BlocksReport{},
		Daemon: &report.DaemonStats{Started: now, Resets: map[string]uint64{"reboot": 1}},
	})
	served := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^# TYPE (\S+)`).FindAllStringSubmatch(b.String(), -1) {
		served[m[1]] = true
	}
	name := regexp.MustCompile(`netmon_[a-z_]+`)
	exprs := []string{}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	for _, v := range dash.Templating.List {
		exprs = append(exprs, v.Query)
	}
	for _, e := range exprs {
		for _, n := range name.FindAllString(e, -1) {
			if !served[n] {
				t.Errorf("the dashboard asks for %s, which /metrics does not serve (%s)", n, e)
			}
		}
	}
	scrape, err := os.ReadFile("../../scripts/prometheus/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"metrics_path: /metrics", "type: Bearer", "credentials_file:"} {
		if !strings.Contains(string(scrape), want) {
			t.Errorf("prometheus.yml lacks %q", want)
		}
	}
}
