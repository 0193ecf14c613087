package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The LuCI views in a browser, on the lab's real daemon through the ACL:
// a read-only login sees the real hosts and rates and is refused Block; a
// login with write access blocks host a (its next TCP connection fails)
// and unblocks it. History shows host b's bytes exactly as b's own
// counters have them; maintenance shows doctor's findings and downloads
// the export and a backup that db check passes, and imports nlbwmon's
// history for a login with write access. Every file grant of the
// ACL is used by a call a view made, so the ACL grants nothing the views
// do not run.
func TestLab_LuCIViews(t *testing.T) {
	requireLab(t)
	l := newLab(t, "nft")
	l.interval = "500ms"
	leases := filepath.Join(l.dir, "dhcp.leases")
	os.WriteFile(leases, []byte("2000000000 "+macA+" 198.18.1.2 laptop *\n2000000000 "+macB+" 198.18.1.3 <svg/onload=window.pwned=1> *\n"), 0o600)
	// Secrets in the config, which the settings page must never put on a
	// command line (ps shows those to every user of the router).
	l.options = "\toption leases '" + leases + "'\n\toption token 'tok-SECRET-0123456789abcdef'\n"
	l.writeConfig(labMeters + "\nconfig mail\n\tlist to 'owner@example.org'\n\toption from 'router@example.org'\n" +
		"\toption server 'mail.example.org'\n\toption username 'router'\n\toption password 'pw SECRET hunter2'\n")
	var execMu sync.Mutex
	var execs [][]string
	nlbwmonOnRouter(t, l)
	l.startDaemon()
	l.hostOracle("b")
	l.helper("b", "udp", "198.19.0.2:9000", "20", "100")
	// Steady traffic to host a, so its rate is not zero.
	flood := exec.Command("ip", "netns", "exec", l.ns("i"), selfPath(), "flood", "198.18.1.2:9000", "60")
	flood.Env = append(flood.Environ(), "NETMON_LAB_HELPER=flood")
	if err := flood.Start(); err != nil {
		t.Fatal(err)
	}
	l.bg = append(l.bg, flood)
	l.waitFor(func() bool { return l.hosts()[macA].DownloadRate > 0 }, "a's download rate")
	h := newLuCIHarness(t, func(params []string) ([]byte, []byte, int) {
		execMu.Lock()
		execs = append(execs, params)
		execMu.Unlock()
		return l.runAgentInRouter(params)
	})
	ctx, done := browser(t)
	defer done()
	luciOverviewReadOnly(t, ctx, h, l)
	luciOverviewWrite(t, ctx, h, l)
	luciHistory(t, ctx, h, l)
	backup := luciMaintenance(t, ctx, h, l)
	luciRestore(t, ctx, h, l, backup)
	luciImport(t, ctx, h, l)
	luciSettings(t, ctx, h, l)
	execMu.Lock()
	for _, params := range execs {
		if line := strings.Join(params, " "); strings.Contains(line, "SECRET") {
			t.Errorf("a secret went on a command line: %s", line)
		} else if params[0] == "config" && strings.Contains(line, "password=") && !strings.Contains(line, "password=xx xxxxxx xxxxxxx") {
			t.Errorf("the password's stand-in is not of its shape: %s", line)
		}
	}
	execMu.Unlock()
	if unused := h.unusedGrants(); len(unused) != 0 {
		t.Errorf("the ACL grants what no view runs: %v", unused)
	}
}

// runAgentInRouter runs the agent with params in the router, as rpcd's
// file.exec does: its output, its error output and its exit code.
func (l *lab) runAgentInRouter(params []string) (stdout, stderr []byte, code int) {
	cmd := exec.Command("ip", append([]string{"netns", "exec", l.ns("r")}, l.agentArgs(params...)...)...)
	cmd.Env = append(os.Environ(), "NETMON_BOOT_ID_FILE="+l.bootFile)
	var errOut strings.Builder
	cmd.Stderr = &errOut
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		code = 127
	}
	return out, []byte(errOut.String()), code
}

// luciRowA is host a's row in the overview's host table.
const luciRowA = `#netmon-hosts tr[data-mac="` + macA + `"]`

// luciOverviewReadOnly opens the overview as a read-only login: the lab's
// hosts and meters, a's rate, no markup from a lease's name, usage by
// service; a block is refused and a still connects.
func luciOverviewReadOnly(t *testing.T, ctx context.Context, h *luciHarness, l *lab) {
	t.Helper()
	openView(t, ctx, h, "overview", "read")
	text, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(`#view`)))
	if err != nil || !strings.Contains(text, "laptop") || !strings.Contains(text, "<svg/onload=window.pwned=1>") || !strings.Contains(text, "wan_in") {
		t.Errorf("the read-only view lacks the lab's hosts and meters: %v\n%.600s", err, text)
	}
	if r, _ := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(luciRowA+` td[data-title="Download"]`))); r == "0 B/s" || !strings.HasSuffix(r, "/s") {
		t.Errorf("a's download rate in the view: %q", r)
	}
	if pwned, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!window.pwned || !!document.querySelector('#view svg')`)); pwned {
		t.Error("a lease name became markup")
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#netmon-services tr[data-service="other"] td[data-title="Total"]`))); err != nil {
		t.Errorf("no usage by service in the overview: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(luciRowA+` button.block`)),
		chromedp.WaitVisible(chromedp.CSS(`#notifications .danger`))); err != nil {
		t.Fatalf("block as read-only: %v", err)
	}
	msg, _ := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(`#notifications .danger`)))
	if !strings.Contains(msg, "Access denied") {
		t.Errorf("read-only block said %q", msg)
	}
	if !l.tcpWorks("a", "198.19.0.2:7000") {
		t.Error("a read-only login blocked a")
	}
}

// luciOverviewWrite opens the overview with write access: Block cuts a's
// TCP with its reason, Unblock lifts it, Throttle names the rate in a's
// row and in the agent, Unthrottle lifts it.
func luciOverviewWrite(t *testing.T, ctx context.Context, h *luciHarness, l *lab) {
	t.Helper()
	openView(t, ctx, h, "overview", "write")
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#netmon-block-reason`), "homework"),
		chromedp.Click(chromedp.CSS(luciRowA+` button.block`)),
		chromedp.WaitVisible(chromedp.CSS(luciRowA+`.blocked`)),
	); err != nil {
		t.Fatalf("block with write access: %v", err)
	}
	if l.tcpWorks("a", "198.19.0.2:7000") {
		t.Error("a's TCP connection went through after Block in LuCI")
	}
	if out := l.agent("blocks"); !strings.Contains(out, macA) || !strings.Contains(out, "homework") {
		t.Errorf("blocks after Block in LuCI:\n%s", out)
	}
	saveScreenshot(t, ctx, "luci-overview.png")
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(luciRowA+` button.unblock`)),
		chromedp.WaitVisible(chromedp.CSS(luciRowA+` button.block`)),
	); err != nil {
		t.Fatalf("unblock with write access: %v", err)
	}
	l.waitFor(func() bool { return l.tcpWorks("a", "198.19.0.2:7000") }, "a to connect after Unblock in LuCI")
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#netmon-throttle-rate`), "5mbit"),
		chromedp.Click(chromedp.CSS(luciRowA+` button.throttle`)),
		chromedp.WaitVisible(chromedp.CSS(luciRowA+`.throttled`)),
	); err != nil {
		t.Fatalf("throttle with write access: %v", err)
	}
	if name, _ := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(luciRowA+` td[data-title="Host"]`))); name != "laptop (throttled to 5mbit down, 5mbit up)" {
		t.Errorf("a throttled shows as %q", name)
	}
	if h := l.hosts()[macA]; !h.Throttled || h.ThrottleRate != 5_000_000 {
		t.Errorf("after Throttle in LuCI the agent has a as %+v", h)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(luciRowA+` button.unthrottle`)),
		chromedp.WaitVisible(chromedp.CSS(luciRowA+` button.throttle`)),
	); err != nil {
		t.Fatalf("unthrottle with write access: %v", err)
	}
	if h := l.hosts()[macA]; h.Throttled {
		t.Errorf("after Unthrottle in LuCI the agent has a as %+v", h)
	}
}

// luciHistory opens the history as a read-only login: every view of all
// hosts and of host b, whose total is what b's own counters say to the
// byte, and the busiest days.
func luciHistory(t *testing.T, ctx context.Context, h *luciHarness, l *lab) {
	t.Helper()
	dl, ul := l.hostOracleCounts("b")
	oracle := dl[1] + ul[1] // bytes; [0] are packets
	hostB := func() uint64 {
		var r struct {
			Rows []struct {
				DownloadBytes uint64 `json:"download_bytes"`
				UploadBytes   uint64 `json:"upload_bytes"`
			}
		}
		l.agentJSON(&r, "report", "--days", "--json", "--host", macB)
		var n uint64
		for _, row := range r.Rows {
			n += row.DownloadBytes + row.UploadBytes
		}
		return n
	}
	l.waitFor(func() bool { return hostB() == oracle }, fmt.Sprintf("b's history to reach its own counters' %d bytes", oracle))

	openView(t, ctx, h, "history", "read")
	shown := func(subject, view string) string {
		t.Helper()
		total, err := chromedp.Run(ctx, chromedp.Poll[string](`(() => {
			const p = document.querySelector('#netmon-total');
			return p && p.dataset.subject === '`+subject+`' && p.dataset.view === '`+view+`' && p.dataset.bytes;
		})()`))
		if err != nil {
			t.Fatalf("history %s of %s: %v", view, subject, err)
		}
		return total
	}
	choose := func(subject, view string) string {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`button[data-view="`+view+`"]`))); err != nil {
			t.Fatal(err)
		}
		return shown(subject, view)
	}
	for _, v := range []string{"--hours", "--days", "--months"} {
		if n, _ := strconv.ParseUint(choose("all", v), 10, 64); n < oracle {
			t.Errorf("history %s of all hosts shows %d bytes, less than b's %d alone", v, n, oracle)
		}
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
		const s = document.querySelector('#netmon-subject');
		s.value = 'host:`+macB+`';
		return s.dispatchEvent(new Event('change'));
	})()`)); err != nil {
		t.Fatal(err)
	}
	shown("host:"+macB, "--months")
	for _, v := range []string{"--hours", "--days", "--months"} {
		if got := choose("host:"+macB, v); got != strconv.FormatUint(oracle, 10) {
			t.Errorf("history %s of b shows %s bytes; b's own counters say %d", v, got, oracle)
		}
	}
	saveScreenshot(t, ctx, "luci-history.png")
	if bars, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#netmon-history rect').length`)); err != nil || bars == 0 {
		t.Errorf("no bars in b's chart: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#netmon-top tr td`))); err != nil {
		t.Errorf("busiest days: %v", err)
	}
	if pwned, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!window.pwned || !!document.querySelector('#view svg svg')`)); pwned {
		t.Error("a lease name became markup in the history")
	}
}

// luciMaintenance opens the maintenance view as a read-only login: the
// findings are doctor's own, the export downloads what the CLI exports,
// and the backup downloaded is a whole database.
func luciMaintenance(t *testing.T, ctx context.Context, h *luciHarness, l *lab) (backup string) {
	t.Helper()
	openView(t, ctx, h, "maintenance", "read")
	saveScreenshot(t, ctx, "luci-maintenance.png")
	checks, _, _ := l.doctor()
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](`Object.fromEntries([...document.querySelectorAll('#netmon-doctor tr[data-check]')].map(
		tr => [tr.dataset.check, tr.children[1].textContent + ' ' + tr.children[2].textContent]))`))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 || len(rows) != len(checks) {
		t.Errorf("doctor in LuCI: %v\ndoctor --json: %v", rows, checks)
	}
	for check, got := range rows {
		if want := checks[check]; strings.Fields(got)[0] != strings.Fields(want)[0] {
			t.Errorf("doctor %s: LuCI says %q, the CLI %q", check, got, want)
		}
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#netmon-export`)),
		chromedp.WaitReady(chromedp.CSS(`#netmon-export-link`)),
	); err != nil {
		t.Fatalf("export in LuCI: %v", err)
	}
	csv, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch(document.querySelector('#netmon-export-link').href).then(r => r.text())`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("the exported file: %v", err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#netmon-backup`)),
		chromedp.WaitReady(chromedp.CSS(`#netmon-backup-link`)),
	); err != nil {
		t.Fatalf("backup in LuCI: %v", err)
	}
	b64, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch(document.querySelector('#netmon-backup-link').href).then(r => r.arrayBuffer()).then(b => {
		let s = ''; for (const c of new Uint8Array(b)) s += String.fromCharCode(c); return btoa(s); })`, chromedp.EvalAwaitPromise))
	data, derr := base64.StdEncoding.DecodeString(b64)
	if err != nil || derr != nil || len(data) == 0 {
		t.Fatalf("the backup downloaded: %v %v, %d bytes", err, derr, len(data))
	}
	backup = filepath.Join(l.dir, "luci-backup.db")
	os.WriteFile(backup, data, 0o600)
	if out := l.agent("db", "check", backup); !strings.HasPrefix(out, "ok ") {
		t.Errorf("db check of the backup LuCI downloaded: %s", out)
	}
	want := l.agent("export", "--by", "day", "--format", "csv", "--hosts")
	if gotHead, wantHead := strings.SplitN(csv, "\n", 2)[0], strings.SplitN(want, "\n", 2)[0]; gotHead != wantHead || !strings.Contains(gotHead, "laptop download") {
		t.Errorf("exported CSV header %q; the CLI's %q", gotHead, wantHead)
	}
	return backup
}

// luciRestore uploads backups on the maintenance page: a read-only login
// is refused the upload; a damaged file is refused by the agent, replacing
// nothing; the backup LuCI downloaded is swapped in under the running
// daemon, the upload is removed, and host b (idle since before the backup)
// still has exactly what its own counters say.
func luciRestore(t *testing.T, ctx context.Context, h *luciHarness, l *lab, backup string) {
	t.Helper()
	upload := filepath.Join(l.dir, "uploaded.db")
	h.files["/tmp/netmon-restore.db"] = upload
	restore := func(session, file string) string {
		t.Helper()
		openView(t, ctx, h, "maintenance", session)
		if err := chromedp.Do(ctx,
			chromedp.SetUploadFiles(chromedp.CSS(`#netmon-restore-file`), []string{file}),
			chromedp.Click(chromedp.CSS(`#netmon-restore`)),
		); err != nil {
			t.Fatalf("restore as %s: %v", session, err)
		}
		got, err := chromedp.Run(ctx, chromedp.Poll[string](`(() => {
			const n = document.querySelector('#notifications .alert-message');
			return n && n.textContent;
		})()`, chromedp.WithPollingTimeout(30*time.Second)))
		if err != nil {
			t.Fatalf("restore as %s: no answer: %v", session, err)
		}
		return got
	}
	if msg := restore("read", backup); !strings.Contains(msg, "Upload permission denied") {
		t.Errorf("a read-only login restoring: %q", msg)
	}
	whole, _ := os.ReadFile(backup)
	damaged := filepath.Join(l.dir, "damaged.db")
	os.WriteFile(damaged, whole[:len(whole)/2], 0o600)
	if msg := restore("write", damaged); !strings.Contains(msg, "Restore failed") || !strings.Contains(msg, "nothing was replaced") {
		t.Errorf("restoring a damaged file: %q", msg)
	}
	if msg := restore("write", backup); !strings.Contains(msg, "Restored the database from luci-backup.db") {
		t.Errorf("restoring the backup: %q", msg)
	}
	if _, err := os.Stat(upload); !os.IsNotExist(err) {
		t.Errorf("the upload is still there after the restore: %v", err)
	}
	if !strings.Contains(l.log.String(), "restored the database from "+upload) {
		t.Errorf("the daemon did not say it restored:\n%s", l.log.String())
	}
	dl, ul := l.hostOracleCounts("b")
	if got := l.hosts()[macB]; got.DownloadBytes != dl[1] || got.UploadBytes != ul[1] {
		t.Errorf("after the restore b has %d/%d bytes; its own counters say %d/%d", got.DownloadBytes, got.UploadBytes, dl[1], ul[1])
	}
}

// saveScreenshot keeps the page as name in $NETMON_ARTIFACTS, for a look.
func saveScreenshot(t *testing.T, ctx context.Context, name string) {
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	dir := os.Getenv("NETMON_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, name), shot, 0o644)
}

// luciSettings adds a meter on the settings page: with a malformed source
// the agent's check refuses it and nothing is written; corrected, Save &
// Apply writes it, the daemon reloads (as procd's trigger makes it) and
// the meter counts host b's upload exactly as b's own counters do.
func luciSettings(t *testing.T, ctx context.Context, h *luciHarness, l *lab) {
	t.Helper()
	h.uciFile = l.config
	h.onApply = func() { l.daemon.Process.Signal(syscall.SIGHUP) }
	before, _ := os.ReadFile(l.config)
	openView(t, ctx, h, "settings", "write")
	field := func(opt string) chromedp.CSS {
		return chromedp.CSS(`[id="widget.cbid.netmon.b_up.` + opt + `"]`)
	}
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#cbi-netmon-meter .cbi-section-create-name`), "b_up"),
		chromedp.Click(chromedp.CSS(`#cbi-netmon-meter .cbi-button-add`)),
		chromedp.WaitVisible(field("src")),
		chromedp.SetValue(field("chain"), "FORWARD"),
		chromedp.SetValue(field("src"), "198.18.1.333"),
		chromedp.SetValue(field("out"), "wan"),
		chromedp.Click(chromedp.CSS(`.cbi-button-apply`)),
		chromedp.WaitVisible(chromedp.CSS(`#netmon-settings-error`)),
	); err != nil {
		t.Fatalf("a meter with a malformed source: %v", err)
	}
	msg, _ := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(`#netmon-settings-error`)))
	if msg != `Not saved: settings: meter b_up: malformed address "198.18.1.333"` {
		t.Errorf("the refusal says %q", msg)
	}
	if after, _ := os.ReadFile(l.config); string(after) != string(before) {
		t.Errorf("a refused save changed the config:\n%s", after)
	}
	if err := chromedp.Do(ctx,
		chromedp.SetValue(field("src"), "198.18.1.3"),
		chromedp.Click(chromedp.CSS(`.cbi-button-apply`)),
		chromedp.WaitVisible(chromedp.CSS(`#harness-applied`)),
	); err != nil {
		t.Fatalf("Save & Apply of the meter: %v", err)
	}
	saveScreenshot(t, ctx, "luci-settings.png")
	if out := l.agent("config", "check"); !strings.HasPrefix(out, "ok ") {
		t.Errorf("config check of what LuCI wrote: %s", out)
	}
	l.waitFor(func() bool { _, ok := l.report()["b_up"]; return ok }, "the daemon to count meter b_up")
	l.agent("sample")
	_, ul0 := l.hostOracleCounts("b")
	start := l.report()["b_up"]
	l.helper("b", "udp", "198.19.0.2:9000", "20", "500")
	l.helper("b", "tcp", "198.19.0.2:7000", "30000")
	settle()
	l.agent("sample")
	_, ul1 := l.hostOracleCounts("b")
	got := l.report()["b_up"]
	if got.Bytes-start.Bytes != ul1[1]-ul0[1] || got.Packets-start.Packets != ul1[0]-ul0[0] {
		t.Errorf("meter b_up counted %d bytes, %d packets; b sent %d bytes, %d packets",
			got.Bytes-start.Bytes, got.Packets-start.Packets, ul1[1]-ul0[1], ul1[0]-ul0[0])
	}
	if !strings.Contains(l.log.String(), "reload") {
		t.Errorf("no reload in the daemon's log:\n%s", l.log.String())
	}
}
