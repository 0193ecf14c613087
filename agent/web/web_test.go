//go:build !noweb

package web_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/agenttest"
	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/control"
	"github.com/netmon-agent/netmon-agent/agent/report"
	"github.com/netmon-agent/netmon-agent/agent/web"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

const webToken = "0123456789abcdef0123456789abcdef"

// runWeb starts the daemon on fake iptables with its web server on a free
// loopback port and agent options extra; it returns the base URL.
func runWeb(t *testing.T, extra string) (base string, cfg *config.Config, stop func() error) {
	t.Helper()
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := probe.Addr().String()
	probe.Close()
	cfg, stop = agenttest.RunFakeAgent(t, "\toption listen '"+addr+"'\n"+extra, "")
	base = "http://" + addr
	deadline := time.Now().Add(5 * time.Second)
	for {
		if resp, err := http.Get(base + "/"); err == nil {
			resp.Body.Close()
			return base, cfg, stop
		}
		if time.Now().After(deadline) {
			t.Fatalf("web server never answered: %v", stop())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// do sends one request and returns status and body.
func do(t *testing.T, method, url, token, body string, headers ...string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.ReplaceAll(string(b), `\"`, `"`) // JSON's quotes, as said
}

func TestWeb_ReadsNeedTheToken(t *testing.T) {
	base, _, stop := runWeb(t, "\toption token '"+webToken+"'\n")
	defer stop()
	for _, c := range []struct {
		token  string
		status int
		text   string
	}{
		{"", 401, "missing token"},
		{"not-the-token-at-all", 401, "wrong token"},
		{webToken, 200, `"hosts"`},
	} {
		if status, body := do(t, "GET", base+"/api/hosts", c.token, ""); status != c.status || !strings.Contains(body, c.text) {
			t.Errorf("token %q: %d %s; want %d with %q", c.token, status, body, c.status, c.text)
		}
	}
	// The page itself holds no data: it loads without a token and asks for one.
	if status, body := do(t, "GET", base+"/", "", ""); status != 200 || !strings.Contains(body, `id="token"`) {
		t.Errorf("page: %d", status)
	}
	if status, _ := do(t, "GET", base+"/metrics", "", ""); status != 401 {
		t.Errorf("/metrics without a token: %d", status)
	}
}

func TestWeb_PublicReadStillGuardsChanges(t *testing.T) {
	base, _, stop := runWeb(t, "\toption token '"+webToken+"'\n\toption public_read '1'\n")
	defer stop()
	if status, body := do(t, "GET", base+"/api/meters", "", ""); status != 200 || !strings.Contains(body, `"proxy"`) {
		t.Errorf("public read: %d %s", status, body)
	}
	if status, _ := do(t, "POST", base+"/api/block", "", `{"host":"02:00:00:00:00:01"}`); status != 401 {
		t.Errorf("a change without the token under public_read: %d", status)
	}
	if status, _ := do(t, "GET", base+"/api/block", webToken, ""); status != 405 {
		t.Errorf("a change by GET: %d, want 405", status)
	}
}

func TestWeb_NoTokenConfiguredRefusesAll(t *testing.T) {
	base, _, stop := runWeb(t, "")
	defer stop()
	if status, body := do(t, "GET", base+"/api/hosts", "anything-at-all-here", ""); status != 403 || !strings.Contains(body, "no token is configured") {
		t.Errorf("%d %s", status, body)
	}
}

// Block and unblock through the API, with everything a browser or an
// attacker might send wrong.
func TestWeb_BlockAndBadInput(t *testing.T) {
	base, _, stop := runWeb(t, "\toption token '"+webToken+"'\n")
	defer stop()
	mac := "02:00:00:00:00:07"
	for _, c := range []struct {
		name    string
		path    string
		body    string
		headers []string
		status  int
		text    string
	}{
		{"cross-site Origin", "/api/block", `{"host":"` + mac + `"}`, []string{"Origin", "http://evil.example"}, 403, "cross-site request refused"},
		{"cross-site fetch", "/api/block", `{"host":"` + mac + `"}`, []string{"Sec-Fetch-Site", "cross-site"}, 403, "cross-site"},
		{"form post", "/api/block", "host=x", []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "application/json"},
		{"malformed JSON", "/api/block", `{"host":`, nil, 400, "malformed request"},
		{"unknown field", "/api/block", `{"host":"` + mac + `","rm":"-rf"}`, nil, 400, "unknown field"},
		{"duplicate key", "/api/block", `{"host":"` + mac + `","host":"02:00:00:00:00:08"}`, nil, 400, "appears twice"},
		{"not an object", "/api/block", `["host"]`, nil, 400, "not a JSON object"},
		{"too long", "/api/block", `{"host":"` + mac + `","for":"99999d"}`, nil, 400, `more than 3650d`},
		{"outside the LAN", "/api/block", `{"host":"198.51.100.7"}`, nil, 400, "outside the LAN's subnets"},
		{"oversized body", "/api/block", `{"host":"` + strings.Repeat("a", 8000) + `"}`, nil, 413, "too large"},
		{"no host", "/api/block", `{"for":"1h"}`, nil, 400, "host is missing"},
		{"malformed duration", "/api/block", `{"host":"` + mac + `","for":"soon"}`, nil, 400, `malformed duration "soon"`},
		{"unknown host", "/api/block", `{"host":"no-such-laptop"}`, nil, 404, "no-such-laptop"},
		{"block", "/api/block", `{"host":"` + mac + `","for":"2h","reason":"homework"}`, []string{"Origin", ""}, 200, `"target": "` + mac + `"`},
		{"same-origin unblock", "/api/unblock", `{"host":"` + mac + `"}`, []string{"Sec-Fetch-Site", "same-origin"}, 200, `"blocks": []`},
		{"unblock again", "/api/unblock", `{"host":"` + mac + `"}`, nil, 400, "is not blocked"},
		{"block with a rate", "/api/block", `{"host":"` + mac + `","rate":"2mbit"}`, nil, 400, "rate and rate_up are for /api/throttle"},
		{"throttle without a rate", "/api/throttle", `{"host":"` + mac + `"}`, nil, 400, "rate is missing"},
		{"throttle too fast", "/api/throttle", `{"host":"` + mac + `","rate":"10gbit"}`, nil, 400, `rate "10gbit" is not a rate from 8kbit to 1gbit`},
		{"throttle bad upload", "/api/throttle", `{"host":"` + mac + `","rate":"2mbit","rate_up":"x"}`, nil, 400, `rate_up: rate "x"`},
		{"throttle", "/api/throttle", `{"host":"` + mac + `","rate":"2mbit","rate_up":"1mbit","for":"1h"}`, nil, 200, `"rate_up": 1000000`},
		{"unblock a throttle", "/api/unblock", `{"host":"` + mac + `"}`, nil, 400, "is not blocked"},
		{"unthrottle", "/api/unthrottle", `{"host":"` + mac + `"}`, nil, 200, `"blocks": []`},
		{"unthrottle again", "/api/unthrottle", `{"host":"` + mac + `"}`, nil, 400, "is not throttled"},
	} {
		status, body := do(t, "POST", base+c.path, webToken, c.body, c.headers...)
		if status != c.status || !strings.Contains(body, c.text) {
			t.Errorf("%s: %d %s; want %d with %q", c.name, status, strings.TrimSpace(body), c.status, c.text)
		}
	}
	for _, c := range []struct{ query, text string }{
		{"", "resolution is missing"},
		{"resolution=week", `resolution "week"`},
		{"resolution=day&limit=-3", "limit"},
		{"resolution=day&begin=yesterday", "begin"},
		{"resolution=day&sql=1", `unknown parameter "sql"`},
	} {
		if status, body := do(t, "GET", base+"/api/history?"+c.query, webToken, ""); status != 400 || !strings.Contains(body, c.text) {
			t.Errorf("history?%s: %d %s", c.query, status, body)
		}
	}
	if status, body := do(t, "GET", base+"/api/history?resolution=hour&limit=3&meter=proxy", webToken, ""); status != 200 || !strings.Contains(body, `"resolution": "hour"`) {
		t.Errorf("history: %d %s", status, body)
	}
}

// A client that sends half a request holds only its own connection, for at
// most the header timeout; the daemon samples on and answers others.
func TestWeb_SlowClientStallsNothing(t *testing.T) {
	old := web.Timeouts
	web.Timeouts.Header = 300 * time.Millisecond
	defer func() { web.Timeouts = old }()
	base, cfg, stop := runWeb(t, "\toption token '"+webToken+"'\n")
	defer stop()
	var slow []net.Conn
	other := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}} // another client than the one asking below
	for range 10 {
		c, err := other.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("GET /api/hosts HTTP/1.1\r\nHost: x\r\n")) // and never the rest
		slow = append(slow, c)
	}
	before, err := control.Ask[report.Report](cfg.SocketPath(), control.Request{Op: control.OpReport}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := do(t, "GET", base+"/api/hosts", webToken, ""); status != 200 {
		t.Errorf("another client while slow ones wait: %d", status)
	}
	time.Sleep(500 * time.Millisecond)
	after, err := control.Ask[report.Report](cfg.SocketPath(), control.Request{Op: control.OpReport}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !after.LastSample.After(*before.LastSample) {
		t.Error("no sample while slow clients held connections")
	}
	for _, c := range slow {
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := bufio.NewReader(c).ReadString('\n'); err == nil {
			// The server may answer 408 before it closes; either is fine.
		}
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Error("a slow client's connection is still open after the header timeout")
		}
		c.Close()
	}
}

// /metrics parses as Prometheus' text format, with the families and
// labels agent/web/README.md documents.
func TestWeb_MetricsParse(t *testing.T) {
	base, cfg, stop := runWeb(t, "\toption token '"+webToken+"'\n")
	defer stop()
	if _, err := control.Ask[report.Report](cfg.SocketPath(), control.Request{Op: control.OpSample}, time.Second); err != nil {
		t.Fatal(err)
	}
	status, body := do(t, "GET", base+"/metrics", webToken, "")
	if status != 200 {
		t.Fatalf("/metrics: %d %s", status, body)
	}
	p := expfmt.NewTextParser(model.LegacyValidation) // the strict, classic names
	families, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("exposition does not parse: %v\n%s", err, body)
	}
	for _, name := range []string{"netmon_meter_bytes_total", "netmon_meter_packets_total", "netmon_last_sample_timestamp_seconds", "netmon_blocks", "netmon_samples_total", "netmon_sample_duration_seconds", "netmon_daemon_start_timestamp_seconds", "netmon_flash_written_bytes_total"} {
		if families[name] == nil {
			t.Errorf("no %s in\n%s", name, body)
		}
	}
	m := families["netmon_meter_bytes_total"]
	if m != nil && (m.GetType().String() != "COUNTER" || len(m.Metric) != 1 || m.Metric[0].Label[0].GetValue() != "proxy") {
		t.Errorf("netmon_meter_bytes_total: %v", m)
	}
	// Both kinds always, so a rate() never starts from a missing series.
	if f := families["netmon_flash_written_bytes_total"]; f != nil && (len(f.Metric) != 2 || f.Metric[1].Label[0].GetValue() != "snapshot" || f.Metric[1].GetCounter().GetValue() == 0) {
		t.Errorf("netmon_flash_written_bytes_total after the first snapshot: %v", f)
	}
}

// Host metrics carry host, mac and direction; a hostile host name is
// escaped so the exposition still parses.
func TestMetrics_HostLabelsEscaped(t *testing.T) {
	q := 42.0
	resp := &report.Metrics{Hosts: &report.HostsReport{Hosts: []report.HostReport{
		{MAC: "02:00:00:00:00:01", Name: `evil"} 1` + "\n" + `x{a="`, DownloadBytes: 10, UploadBytes: 20, DownloadRate: 1.5, QuotaPercent: &q},
		{MAC: "unattributed", DownloadBytes: 3},
	}}}
	var b strings.Builder
	if err := report.WriteMetrics(&b, resp); err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.LegacyValidation) // the strict, classic names
	families, err := p.TextToMetricFamilies(strings.NewReader(b.String()))
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	got := map[string]float64{}
	for _, m := range families["netmon_host_bytes_total"].Metric {
		l := map[string]string{}
		for _, lp := range m.Label {
			l[lp.GetName()] = lp.GetValue()
		}
		got[l["host"]+"|"+l["mac"]+"|"+l["direction"]] = m.GetCounter().GetValue()
	}
	want := map[string]float64{
		`evil"} 1` + "\n" + `x{a="|02:00:00:00:00:01|download`: 10,
		`evil"} 1` + "\n" + `x{a="|02:00:00:00:00:01|upload`:   20,
		"unattributed|unattributed|download":                   3,
		"unattributed|unattributed|upload":                     0,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%q = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
	if r := families["netmon_host_quota_use_ratio"]; r == nil || r.Metric[0].GetGauge().GetValue() != 0.42 {
		t.Errorf("quota ratio: %v", r)
	}
}

// The page is one small self-contained set of files: no script or style
// from elsewhere.
func TestWeb_PageIsSelfContained(t *testing.T) {
	var total int
	for _, name := range []string{"index.html", "app.js", "app.css"} {
		b, err := web.Files.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		total += len(b)
		if strings.Contains(string(b), "://") && !strings.Contains(name, "app.js") {
			t.Errorf("%s names another site", name)
		}
		if strings.Contains(string(b), "innerHTML") {
			t.Errorf("%s sets markup from data", name)
		}
	}
	if total > 32<<10 {
		t.Errorf("the page is %d bytes", total)
	}
}

// SIGHUP brings a new token into force at once; the old one stops working.
func TestWeb_ReloadChangesTheToken(t *testing.T) {
	base, cfg, stop := runWeb(t, "\toption token '"+webToken+"'\n")
	defer stop()
	text, err := os.ReadFile(cfg.Path)
	if err != nil {
		t.Fatal(err)
	}
	newToken := "fedcba9876543210fedcba9876543210"
	os.WriteFile(cfg.Path, []byte(strings.Replace(string(text), webToken, newToken, 1)), 0o600)
	syscall.Kill(os.Getpid(), syscall.SIGHUP) // Run has it: signal.Notify
	deadline := time.Now().Add(5 * time.Second)
	for {
		if status, _ := do(t, "GET", base+"/api/blocks", newToken, ""); status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the new token never worked")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if status, _ := do(t, "GET", base+"/api/blocks", webToken, ""); status != 401 {
		t.Errorf("the old token after the reload: %d, want 401", status)
	}
}

// Past the limit a new connection is closed at once; closing one makes
// room again.
func TestLimitListener_ClosesBeyondTheLimit(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := web.LimitListener(inner, 2)
	defer ln.Close()
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	dial := func() net.Conn {
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a, b := dial(), dial()
	first, second := <-accepted, <-accepted
	third := dial()
	third.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := third.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("a third connection over a limit of two: %v, want it closed (EOF)", err)
	}
	first.Close()
	fourth := dial()
	select {
	case c := <-accepted:
		c.Close()
	case <-time.After(2 * time.Second):
		t.Error("no room after one connection closed")
	}
	for _, c := range []net.Conn{a, b, second, third, fourth} {
		c.Close()
	}
}

// slowloris holds every connection it can from the loopback addresses
// 127.0.0.2 to 127.0.0.(1+clients), perClient each, each sending half a
// request and dialling again as soon as the server drops it, until stop
// closes.
func slowloris(t *testing.T, addr string, clients, perClient int, stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	for i := range clients {
		src := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i))}
		for range perClient {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d := net.Dialer{LocalAddr: src, Timeout: time.Second}
				for {
					select {
					case <-stop:
						return
					default:
					}
					c, err := d.Dial("tcp", addr)
					if err != nil {
						time.Sleep(20 * time.Millisecond)
						continue
					}
					c.Write([]byte("GET /api/hosts HTTP/1.1\r\nHost: x\r\n")) // and never the rest
					go func() { <-stop; c.Close() }()
					c.Read(make([]byte, 1)) // until the server drops it
					c.Close()
				}
			}()
		}
	}
	return &wg
}

// Forty connections trickling headers from five addresses once held all
// 32 slots, renewed every few seconds, while the owner with the token got
// nothing. Now one address holds at most 8, and a newcomer from an address
// that holds few takes a slot from the address that holds the most.
func TestWeb_SlowClientsCannotLockTheOwnerOut(t *testing.T) {
	base, _, stop := runWeb(t, "\toption token '"+webToken+"'\n")
	defer stop()
	addr := strings.TrimPrefix(base, "http://")
	quit := make(chan struct{})
	wg := slowloris(t, addr, 5, 8, quit)
	defer func() { close(quit); wg.Wait() }()
	time.Sleep(time.Second) // the attackers fill the pool

	// One address is held to perClient connections.
	extra, err := (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}).Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	extra.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := extra.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("a ninth connection from one address: %v, want it closed at once (EOF)", err)
	}
	extra.Close()

	owner := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for i := range 8 {
		req, _ := http.NewRequest("GET", base+"/api/hosts", nil)
		req.Header.Set("Authorization", "Bearer "+webToken)
		resp, err := owner.Do(req)
		if err != nil {
			t.Fatalf("request %d of the owner while slow clients hold connections: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: status %d", i, resp.StatusCode)
		}
		time.Sleep(300 * time.Millisecond)
	}
}
