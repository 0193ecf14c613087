package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// nlbwmonOnRouter puts a copy of nlbwmon's three months in the lab and
// points the agent's idea of nlbwmon's config (NETMON_NLBWMON_CONFIG) at
// it, as /etc/config/nlbwmon's database_directory does on a router.
func nlbwmonOnRouter(t *testing.T, l *lab) {
	t.Helper()
	dir := filepath.Join(l.dir, "nlbwmon")
	os.MkdirAll(dir, 0o755)
	entries, _ := os.ReadDir(nlbwDir())
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".db.gz") {
			b, _ := os.ReadFile(filepath.Join(nlbwDir(), e.Name()))
			os.WriteFile(filepath.Join(dir, e.Name()), b, 0o600)
		}
	}
	conf := filepath.Join(l.dir, "nlbwmon.conf")
	os.WriteFile(conf, []byte("config nlbwmon\n\toption database_directory '"+dir+"'\n"), 0o600)
	t.Setenv("NETMON_NLBWMON_CONFIG", conf)
}

// luciImport imports nlbwmon's history from the maintenance page: the
// page offers its periods; a read-only login is refused; a write login
// imports all three months, which the history view then marks as
// imported.
func luciImport(t *testing.T, ctx context.Context, h *luciHarness, l *lab) {
	t.Helper()
	click := func(session string) string {
		t.Helper()
		openView(t, ctx, h, "maintenance", session)
		offer, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(`#netmon-nlbwmon`)))
		if err != nil || !strings.Contains(offer, "3 periods, from 2026-09-01 to 2026-12-01") {
			t.Fatalf("the import offered as %s: %q, %v", session, offer, err)
		}
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#netmon-import`))); err != nil {
			t.Fatal(err)
		}
		said, err := chromedp.Run(ctx, chromedp.Poll[string](`(() => {
			const n = document.querySelector('#notifications .alert-message');
			return n && n.textContent;
		})()`, chromedp.WithPollingTimeout(30*time.Second)))
		if err != nil {
			t.Fatalf("import as %s: no answer: %v", session, err)
		}
		return said
	}
	if said := click("read"); !strings.Contains(said, "Import failed") {
		t.Errorf("a read-only login importing: %q", said)
	}
	if got := l.monthsJSON()["2026-10"]; got[2] != "" {
		t.Errorf("refused, yet October is %v", got)
	}
	if said := click("write"); !strings.Contains(said, "3 imported") {
		t.Errorf("importing: %q", said)
	}
	if got := l.monthsJSON()["2026-10"]; got[2] != "nlbwmon" {
		t.Errorf("imported, October is %v", got)
	}
	openView(t, ctx, h, "history", "read")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`button[data-view="--months"]`))); err != nil {
		t.Fatal(err)
	}
	note, err := chromedp.Run(ctx, chromedp.Poll[string](`(() => {
		const n = document.querySelector('#netmon-imported');
		return n && n.textContent;
	})()`, chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil || !strings.Contains(note, "imported from nlbwmon") {
		t.Errorf("the history's months do not say they hold imported history: %q, %v", note, err)
	}
}
