package report

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/netfilter"
	"github.com/netmon-agent/netmon-agent/agent/units"
	"github.com/netmon-agent/netmon-agent/store"
)

func TestHumanBytes(t *testing.T) {
	cases := map[uint64]string{
		0: "0 B", 1023: "1023 B", 1024: "1.00 KiB", 1536: "1.50 KiB",
		5 << 20: "5.00 MiB", 3<<30 + 1<<29: "3.50 GiB", 1 << 40: "1.00 TiB",
		18446744073709551615: "16.00 EiB",
	}
	for n, want := range cases {
		if got := units.FormatBytes(n); got != want {
			t.Errorf("HumanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func reportState() (*config.Config, *store.State, time.Time) {
	cfg := &config.Config{Meters: []netfilter.Meter{{Name: "proxy", Chain: "INPUT"}, {Name: "offnet", Chain: "INPUT"}, {Name: "fresh", Chain: "FORWARD"}}}
	t0 := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	st := store.NewState()
	st.LastSample = t0.Add(48 * time.Hour)
	st.Counters["proxy/ipv4"] = &store.Counter{Meter: "proxy", Family: "ipv4", Total: store.Counts{Packets: 1200, Bytes: 1288490189}, Since: t0}
	st.Counters["offnet/ipv4"] = &store.Counter{Meter: "offnet", Family: "ipv4", Total: store.Counts{Packets: 10, Bytes: 5000}, Since: t0.Add(time.Hour)}
	st.Counters["offnet/ipv6"] = &store.Counter{Meter: "offnet", Family: "ipv6", Total: store.Counts{Packets: 2, Bytes: 120}, Since: t0}
	st.AddEvent(store.Event{Time: t0.Add(47 * time.Hour), Cause: store.CauseZeroed, Meter: "offnet", Family: "ipv4"})
	return cfg, st, t0.Add(48 * time.Hour)
}

func ExampleReport_WriteText() {
	cfg, st, now := reportState()
	BuildReport(cfg, st, now, "daemon").WriteText(os.Stdout, time.UTC)
	// Output:
	// netmon-agent report, last sample 2026-11-03 08:00:00 (daemon)
	//
	// METER                   TOTAL  SINCE             LAST RESET
	// proxy                1.20 GiB  2026-11-01 08:00  -
	// offnet               5.00 KiB  2026-11-01 08:00  2026-11-03 07:00 zeroed
	// fresh                     0 B  -                 -
	//
	// RESET DETECTED 2026-11-03 07:00: counters were zeroed by someone else (meter offnet, ipv4); counting went on from zero.
}

func TestReport_TextFits80Columns(t *testing.T) {
	cfg, st, now := reportState()
	cfg.Meters[0].Name = strings.Repeat("m", 16)
	st.Counters["proxy/ipv4"].Meter = cfg.Meters[0].Name
	st.AddEvent(store.Event{Time: now, Cause: store.CauseReinstalled, Meter: cfg.Meters[0].Name, Family: "ipv6"})
	var b bytes.Buffer
	BuildReport(cfg, st, now, "database").WriteText(&b, time.UTC)
	for _, line := range strings.Split(b.String(), "\n") {
		if len(line) > 80 && !strings.HasPrefix(line, "RESET DETECTED") {
			t.Errorf("line of %d columns: %q", len(line), line)
		}
	}
}

func TestReport_NoBannerForOldResets(t *testing.T) {
	cfg, st, now := reportState()
	var b bytes.Buffer
	BuildReport(cfg, st, now.Add(48*time.Hour), "daemon").WriteText(&b, time.UTC)
	if strings.Contains(b.String(), "RESET DETECTED") {
		t.Errorf("banner for a reset two days old:\n%s", b.String())
	}
}

// The JSON field names are a contract with LuCI and scripts.
func TestReport_JSONContract(t *testing.T) {
	cfg, st, now := reportState()
	b, err := json.Marshal(BuildReport(cfg, st, now, "daemon"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Generated  string                   `json:"generated"`
		LastSample string                   `json:"last_sample"`
		Source     string                   `json:"source"`
		Meters     []map[string]interface{} `json:"meters"`
		Resets     []map[string]interface{} `json:"resets"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Source != "daemon" || doc.LastSample != "2026-11-03T08:00:00Z" || len(doc.Meters) != 3 || len(doc.Resets) != 1 {
		t.Fatalf("document %s", b)
	}
	offnet := doc.Meters[1]
	for key, want := range map[string]interface{}{"name": "offnet", "chain": "INPUT", "bytes": 5120.0, "packets": 12.0, "since": "2026-11-01T08:00:00Z"} {
		if offnet[key] != want {
			t.Errorf("meters[1].%s = %v, want %v", key, offnet[key], want)
		}
	}
	if r := offnet["last_reset"].(map[string]interface{}); r["cause"] != "zeroed" || r["time"] != "2026-11-03T07:00:00Z" {
		t.Errorf("last_reset %v", r)
	}
	if v4 := offnet["ipv4"].(map[string]interface{}); v4["bytes"] != 5000.0 {
		t.Errorf("ipv4 %v", v4)
	}
	if fresh := doc.Meters[2]; fresh["since"] != nil || fresh["last_reset"] != nil || fresh["bytes"] != 0.0 {
		t.Errorf("a meter that never counted: %v", fresh)
	}
}

// A block shorter than an hour shows its end to the second; a throttle
// shows its rates.
func TestBlocksText_ShortBlockToTheSecond(t *testing.T) {
	created := time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
	short, long := created.Add(90*time.Second), created.Add(2*time.Hour)
	r := &BlocksReport{Blocks: []BlockReport{
		{Target: "02:00:00:00:01:02", Created: created, Until: &short},
		{Target: "198.18.1.9", Created: created, Until: &long, Reason: "r"},
		{Target: "198.18.1.10", Created: created, Rate: 2_000_000, RateUp: 500_000},
	}}
	var b strings.Builder
	r.WriteText(&b, time.UTC)
	want := "BLOCKED           NAME            RATE DOWN/UP    UNTIL                REASON\n" +
		"02:00:00:00:01:02 -               blocked         2026-11-25 15:01:30  \n" +
		"198.18.1.9        -               blocked         2026-11-25 17:00     r\n" +
		"198.18.1.10       -               2mbit/500kbit   lifted by hand       \n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}
