package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// The overview in a browser, on the lab's real daemon through the ACL: a
// read-only login sees the real hosts and rates and is refused Block; a
// login with write access blocks host a (its next TCP connection fails)
// and unblocks it. Every file grant of the ACL is used by a call the view
// made, so the ACL grants nothing the view does not run.
func TestLab_LuCIOverview(t *testing.T) {
	requireLab(t)
	l := newLab(t, "nft")
	l.interval = "500ms"
	leases := filepath.Join(l.dir, "dhcp.leases")
	os.WriteFile(leases, []byte("2000000000 "+macA+" 198.18.1.2 laptop *\n2000000000 "+macB+" 198.18.1.3 <svg/onload=window.pwned=1> *\n"), 0o600)
	l.options = "\toption leases '" + leases + "'\n"
	l.writeConfig(labMeters)
	l.startDaemon()
	l.helper("b", "udp", "198.19.0.2:9000", "20", "100")
	// Steady traffic to host a, so its rate is not zero.
	flood := exec.Command("ip", "netns", "exec", l.ns("i"), selfPath(), "flood", "198.18.1.2:9000", "60")
	flood.Env = append(flood.Environ(), "NETMON_LAB_HELPER=flood")
	if err := flood.Start(); err != nil {
		t.Fatal(err)
	}
	l.bg = append(l.bg, flood)
	l.waitFor(func() bool { return l.hosts()[macA].DownloadRate > 0 }, "a's download rate")
	h := newLuCIHarness(t, func(params []string) ([]byte, error) {
		// As cgi-exec runs it: standard output only.
		cmd := exec.Command("ip", append([]string{"netns", "exec", l.ns("r")}, l.agentArgs(params...)...)...)
		cmd.Env = append(os.Environ(), "NETMON_BOOT_ID_FILE="+l.bootFile)
		out, err := cmd.Output()
		if ee, ok := err.(*exec.ExitError); ok {
			out = append(out, ee.Stderr...)
		}
		return out, err
	})
	ctx, done := browser(t)
	defer done()
	rowA := `#netmon-hosts tr[data-mac="` + macA + `"]`

	openView(t, ctx, h, "overview", "read")
	text, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(`#view`)))
	if err != nil || !strings.Contains(text, "laptop") || !strings.Contains(text, "<svg/onload=window.pwned=1>") || !strings.Contains(text, "wan_in") {
		t.Errorf("the read-only view lacks the lab's hosts and meters: %v\n%.600s", err, text)
	}
	if r, _ := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(rowA+` td[data-title="Download"]`))); r == "0 B/s" || !strings.HasSuffix(r, "/s") {
		t.Errorf("a's download rate in the view: %q", r)
	}
	if pwned, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!window.pwned || !!document.querySelector('#view svg')`)); pwned {
		t.Error("a lease name became markup")
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(rowA+` button.block`)),
		chromedp.WaitVisible(chromedp.CSS(`#notifications .danger`))); err != nil {
		t.Fatalf("block as read-only: %v", err)
	}
	msg, _ := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(`#notifications .danger`)))
	if !strings.Contains(msg, "Access to command denied by ACL") {
		t.Errorf("read-only block said %q", msg)
	}
	if !l.tcpWorks("a", "198.19.0.2:7000") {
		t.Error("a read-only login blocked a")
	}

	openView(t, ctx, h, "overview", "write")
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#netmon-block-reason`), "homework"),
		chromedp.Click(chromedp.CSS(rowA+` button.block`)),
		chromedp.WaitVisible(chromedp.CSS(rowA+`.blocked`)),
	); err != nil {
		t.Fatalf("block with write access: %v", err)
	}
	if l.tcpWorks("a", "198.19.0.2:7000") {
		t.Error("a's TCP connection went through after Block in LuCI")
	}
	if out := l.agent("blocks"); !strings.Contains(out, macA) || !strings.Contains(out, "homework") {
		t.Errorf("blocks after Block in LuCI:\n%s", out)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err == nil {
		dir := os.Getenv("NETMON_ARTIFACTS")
		if dir == "" {
			dir = t.TempDir()
		}
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "luci-overview.png"), shot, 0o644)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(rowA+` button.unblock`)),
		chromedp.WaitVisible(chromedp.CSS(rowA+` button.block`)),
	); err != nil {
		t.Fatalf("unblock with write access: %v", err)
	}
	l.waitFor(func() bool { return l.tcpWorks("a", "198.19.0.2:7000") }, "a to connect after Unblock in LuCI")
	if unused := h.unusedGrants(); len(unused) != 0 {
		t.Errorf("the ACL grants what no view runs: %v", unused)
	}
}
