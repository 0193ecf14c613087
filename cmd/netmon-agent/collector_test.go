package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The prometheus-node-exporter-lua collector, run by a real Lua interpreter
// under a stand-in written from the real exporter's source (testdata/
// collector/exporter.lua), gives the same samples `netmon-agent metrics`
// prints, through the exporter's collector API only, and the exporter's
// whole output passes promtool.
func TestCollector_LuaServesTheSamplesThroughMetric(t *testing.T) {
	lua := needTool(t, "lua5.1")
	promtool := needTool(t, "promtool")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "netmon")
	os.WriteFile(cfg, []byte("config agent\n\toption database '"+dir+"/flash/netmon.db'\n\toption runtime_dir '"+dir+"/run'\n\toption hosts '0'\n"+
		"\nconfig meter 'wan_in'\n\toption chain 'FORWARD'\n\nconfig meter 'proxy'\n\toption chain 'INPUT'\n"), 0o600)
	direct, err := exec.Command(agentBin, "--config", cfg, "metrics").Output()
	if err != nil {
		t.Fatal(err)
	}
	collector := filepath.Join("..", "..", "openwrt", "netmon-agent", "files", "usr", "lib", "lua", "prometheus-collectors", "netmon.lua")
	src, err := os.ReadFile(collector)
	if err != nil {
		t.Fatal(err)
	}
	// The exporter's documented collector API is metric(); output() is its
	// own plumbing, which a collector must not rely on.
	if strings.Contains(string(src), "output(") {
		t.Error("the collector calls output(), which is not the exporter's collector API")
	}
	cmd := exec.Command(lua, filepath.Join("testdata", "collector", "exporter.lua"), collector)
	cmd.Env = append(os.Environ(), "NETMON_AGENT="+agentBin+" --config "+cfg)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("lua: %v: %s", err, stderr.String())
	}
	got := string(out)
	if !strings.Contains(got, `node_scrape_collector_success{collector="netmon"} 1`) {
		t.Fatalf("scrape failed: %s\n%s", stderr.String(), got)
	}
	want, have := samples(t, string(direct)), samples(t, got)
	for name, mf := range want {
		if h := have[name]; h == nil || h.GetType() != mf.GetType() || len(h.Metric) != len(mf.Metric) {
			t.Errorf("family %s: got %v, want %v", name, h, mf)
			continue
		}
		if a, b := sampleLines(t, mf), sampleLines(t, have[name]); a != b {
			t.Errorf("family %s: got samples\n%s\nwant\n%s", name, b, a)
		}
	}
	if m := have["netmon_meter_bytes_total"]; m == nil || len(m.Metric) != 2 {
		t.Errorf("meters: %v", m)
	}
	checkPromtool(t, promtool, got)
	// A binary that is not there: the scrape fails, and says so.
	cmd = exec.Command(lua, filepath.Join("testdata", "collector", "exporter.lua"), collector)
	cmd.Env = append(os.Environ(), "NETMON_AGENT="+filepath.Join(dir, "nosuch"))
	out, _ = cmd.Output()
	if !strings.Contains(string(out), `node_scrape_collector_success{collector="netmon"} 0`) {
		t.Errorf("a missing agent scraped as a success:\n%s", out)
	}
}

// needTool finds a program the test needs; in CI a missing one fails.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the test needs %s (make test installs it)", name)
		}
		t.Skipf("no %s", name)
	}
	return p
}

// samples parses an exposition with Prometheus' own parser.
func samples(t *testing.T, text string) map[string]*dto.MetricFamily {
	t.Helper()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("Prometheus cannot parse it: %v\n%s", err, text)
	}
	return families
}

// sampleLines is a family's samples as sorted text, without its HELP.
func sampleLines(t *testing.T, mf *dto.MetricFamily) string {
	t.Helper()
	c := &dto.MetricFamily{Name: mf.Name, Type: mf.Type, Metric: mf.Metric}
	var b strings.Builder
	if _, err := expfmt.MetricFamilyToText(&b, c); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// checkPromtool runs `promtool check metrics` on text. The exporter has no
// way to write HELP lines, so "no help text" is the one finding allowed
// (promtool's exit status 3 is for findings, 1 for what it cannot parse).
func checkPromtool(t *testing.T, promtool, text string) {
	t.Helper()
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 3) {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line != "" && !strings.HasSuffix(line, " no help text") {
			t.Errorf("promtool check metrics: %s", line)
		}
	}
}
