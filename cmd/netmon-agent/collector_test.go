package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The prometheus-node-exporter-lua collector, run by a real Lua
// interpreter the way the exporter runs collectors, gives exactly what
// `netmon-agent metrics` prints, and Prometheus' own parser reads it.
func TestCollector_LuaPassesTheExpositionThrough(t *testing.T) {
	lua, err := exec.LookPath("lua5.1")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("the collector test needs lua5.1 (make test installs it)")
		}
		t.Skip("no lua5.1")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "netmon")
	os.WriteFile(cfg, []byte("config agent\n\toption database '"+dir+"/flash/netmon.db'\n\toption runtime_dir '"+dir+"/run'\n\toption hosts '0'\n"+
		"\nconfig meter 'wan_in'\n\toption chain 'FORWARD'\n\nconfig meter 'proxy'\n\toption chain 'INPUT'\n"), 0o600)
	direct, err := exec.Command(agentBin, "--config", cfg, "metrics").Output()
	if err != nil {
		t.Fatal(err)
	}
	collector := filepath.Join("..", "..", "openwrt", "netmon-agent", "files", "usr", "lib", "lua", "prometheus-collectors", "netmon.lua")
	cmd := exec.Command(lua, filepath.Join("testdata", "collector", "exporter.lua"), collector)
	cmd.Env = append(os.Environ(), "NETMON_AGENT="+agentBin+" --config "+cfg)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("lua: %v", err)
	}
	got := string(out)
	if !strings.HasPrefix(got, string(direct)) {
		t.Errorf("the collector changed the exposition:\n%s\nwant first:\n%s", got, direct)
	}
	if !strings.Contains(got, `node_scrape_collector_success{collector="netmon"} 1`) {
		t.Errorf("scrape failed:\n%s", got)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(got))
	if err != nil {
		t.Fatalf("Prometheus cannot parse it: %v", err)
	}
	m := families["netmon_meter_bytes_total"]
	if m == nil || len(m.Metric) != 2 {
		t.Errorf("meters: %v", m)
	}
	// A binary that is not there: the scrape fails, and says so.
	cmd = exec.Command(lua, filepath.Join("testdata", "collector", "exporter.lua"), collector)
	cmd.Env = append(os.Environ(), "NETMON_AGENT="+filepath.Join(dir, "nosuch"))
	out, _ = cmd.Output()
	if !strings.Contains(string(out), `node_scrape_collector_success{collector="netmon"} 0`) {
		t.Errorf("a missing agent scraped as a success:\n%s", out)
	}
}
