package main

import (
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const labToken = "lab-token-0123456789abcdef"

// browserReach makes the router's web server (on its LAN address) reachable
// from this namespace, where the browser runs: a helper in LAN host b
// listens on a unix socket (the filesystem is shared) and dials the
// router; here a loopback port feeds that socket. It returns the URL.
func (l *lab) browserReach(addr string) string {
	l.t.Helper()
	sock := filepath.Join(l.dir, "web.sock")
	cmd := exec.Command("ip", "netns", "exec", l.ns("b"), selfPath(), "bridge", sock, addr)
	cmd.Env = append(os.Environ(), "NETMON_LAB_HELPER=bridge")
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		l.t.Fatal(err)
	}
	l.bg = append(l.bg, cmd)
	if _, err := io.ReadFull(out, make([]byte, 6)); err != nil {
		l.t.Fatalf("bridge in b did not start: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go splice(c, func() (net.Conn, error) { return net.Dial("unix", sock) })
		}
	}()
	return "http://" + ln.Addr().String() + "/"
}

// requireChromium skips, or with CI set fails, without Debian's chromium.
func requireChromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("the browser test needs chromium (make test installs it)")
	}
	t.Skip("no chromium")
	return ""
}

// The page in a real browser, served by the daemon in the lab: the token
// entered once, the host table filling with the lab hosts' real rates, a
// click that blocks host a (whose next TCP connection then fails), and one
// that lifts the block. A screenshot is kept: NETMON_ARTIFACTS names the
// folder, else the test's log says where it is.
func TestLab_WebPageInABrowser(t *testing.T) {
	requireLab(t)
	browser := requireChromium(t)
	l := newLab(t, "nft")
	l.interval = "500ms"
	leases := filepath.Join(l.dir, "dhcp.leases")
	os.WriteFile(leases, []byte("2000000000 "+macA+" 198.18.1.2 laptop *\n2000000000 "+macB+" 198.18.1.3 tv *\n"), 0o600)
	l.options = "\toption listen '198.18.1.1:8080'\n\toption token '" + labToken + "'\n\toption leases '" + leases + "'\n"
	l.writeConfig(labMeters)
	l.startDaemon()
	url := l.browserReach("198.18.1.1:8080")

	// Steady traffic both ways for host a, so its rates are not zero.
	for _, f := range [][]string{{"i", "198.18.1.2:9000"}, {"a", "198.19.0.2:9000"}, {"b", "198.19.0.2:9000"}} {
		flood := exec.Command("ip", "netns", "exec", l.ns(f[0]), selfPath(), "flood", f[1], "60")
		flood.Env = append(flood.Environ(), "NETMON_LAB_HELPER=flood")
		if err := flood.Start(); err != nil {
			t.Fatal(err)
		}
		l.bg = append(l.bg, flood)
	}
	ctx := openPage(t, browser, url)
	pageShowsHostA(t, ctx)
	blockFromThePage(t, ctx, l)
	throttleFromThePage(t, ctx, l)
}

// webRowA is host a's row in the page's host table.
const webRowA = `tr[data-mac="` + macA + `"]`

// openPage starts the browser on url and logs in with the lab's token,
// until host a's row shows; what it returns ends with the test, within a
// minute.
func openPage(t *testing.T, browser, url string) context.Context {
	t.Helper()
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1200, 900))...)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // starts the browser, with no deadline of its own
		t.Fatal(err)
	}
	ctx0 := ctx
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancel)
	err := chromedp.Do(ctx,
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS(`#login`)),
		chromedp.SendKeys(chromedp.CSS(`#token`), labToken),
		chromedp.Click(chromedp.CSS(`#login button`)),
		chromedp.WaitVisible(chromedp.CSS(webRowA)),
	)
	if err != nil {
		dctx, dcancel := context.WithTimeout(ctx0, 5*time.Second)
		text, _ := chromedp.Run(dctx, chromedp.Evaluate[string](`document.body.innerText`))
		dcancel()
		t.Fatalf("the page did not show host a after the token: %v\n%s", err, text)
	}
	return ctx
}

// pageShowsHostA waits for host a's rates, its history and its usage by
// service, and keeps a screenshot (in NETMON_ARTIFACTS when set).
func pageShowsHostA(t *testing.T, ctx context.Context) {
	t.Helper()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](`(() => { const r = document.querySelector('`+webRowA+`'); return !!r && r.querySelector('.dl-rate').textContent !== "0 bit/s" && r.querySelector('.ul-rate').textContent !== "0 bit/s"; })()`,
		chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		t.Fatalf("the host table never showed host a's rates: %v", err)
	}
	rate, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(webRowA+` .dl-rate`)))
	t.Logf("host a downloads at %s", rate)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(webRowA+` td`)), chromedp.WaitVisible(chromedp.CSS(`#chart-hours svg rect.dl`))); err != nil {
		t.Fatalf("host a's history: %v", err)
	}
	// a's usage by service: its floods are on no service's port, so other,
	// last, carries them.
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#services tr[data-service="other"]:last-child`))); err != nil {
		t.Errorf("host a's services: %v", err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := os.Getenv("NETMON_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	os.MkdirAll(dir, 0o755)
	shotPath := filepath.Join(dir, "web-page.png")
	if err := os.WriteFile(shotPath, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", shotPath)
}

// blockFromThePage blocks host a by a click, checks its TCP is cut and the
// blocks table names it, then lifts it there.
func blockFromThePage(t *testing.T, ctx context.Context, l *lab) {
	t.Helper()
	if !l.tcpWorks("a", "198.19.0.2:7000") {
		t.Fatal("a cannot reach the internet before the block")
	}
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#block-for`), "2h"),
		chromedp.Click(chromedp.CSS(webRowA+` button.block`)),
		chromedp.WaitVisible(chromedp.CSS(webRowA+`.blocked`)),
		chromedp.WaitVisible(chromedp.CSS(`#blocks tr[data-target="`+macA+`"]`)),
	); err != nil {
		t.Fatalf("block by click: %v", err)
	}
	if l.tcpWorks("a", "198.19.0.2:7000") {
		t.Error("a's TCP connection went through after the block from the page")
	}
	if out := l.agent("blocks"); !strings.Contains(out, macA) || !strings.Contains(out, "blocked from the page") {
		t.Errorf("blocks after the click:\n%s", out)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#blocks tr[data-target="`+macA+`"] button.unblock`)),
		chromedp.WaitVisible(chromedp.CSS(webRowA+` button.block`)),
	); err != nil {
		t.Fatalf("unblock by click: %v", err)
	}
	if !l.tcpWorks("a", "198.19.0.2:7000") {
		t.Error("a still cannot connect after the unblock from the page")
	}
}

// throttleFromThePage throttles host a to 1 Mbit/s by a click: the floods
// to a (2.5 Mbit/s) slow to it on the page's rates. Then it lifts it there.
func throttleFromThePage(t *testing.T, ctx context.Context, l *lab) {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#throttle-rate`), "1mbit"),
		chromedp.Click(chromedp.CSS(webRowA+` button.throttle`)),
		chromedp.WaitVisible(chromedp.CSS(webRowA+`.throttled`)),
		chromedp.WaitVisible(chromedp.CSS(`#blocks tr[data-target="`+macA+`"] button.unthrottle`)),
	); err != nil {
		t.Fatalf("throttle by click: %v", err)
	}
	if rate, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#blocks tr[data-target="`+macA+`"] .rate`))); rate != "1 mbit / 1 mbit" {
		t.Errorf("the blocks table shows the throttle as %q", rate)
	}
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](`(() => { const t = document.querySelector('`+webRowA+` .dl-rate').textContent; return t.endsWith(" kbit/s") || (t.endsWith(" Mbit/s") && parseFloat(t) <= 1.1); })()`,
		chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		rate, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(webRowA+` .dl-rate`)))
		t.Errorf("throttled to 1 Mbit/s from the page, a still downloads at %s", rate)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(webRowA+` button.unthrottle`)),
		chromedp.WaitVisible(chromedp.CSS(webRowA+` button.throttle`)),
	); err != nil {
		t.Fatalf("unthrottle by click: %v", err)
	}
	if out := l.agent("blocks"); !strings.Contains(out, "No blocks") {
		t.Errorf("blocks after the unthrottle from the page:\n%s", out)
	}
}
