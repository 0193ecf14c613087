package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The LuCI side, tested as rpcd and cgi-io would run it: the views in a
// browser on testdata/luci/harness.js (LuCI's E(), format() and modules,
// from their documented behaviour), every fs.exec_direct through an
// endpoint that applies our rpcd ACL file the way rpcd's session access
// and cgi-io's exec do.

var (
	luciViews = filepath.Join("..", "..", "openwrt", "luci-app-netmon", "htdocs", "luci-static", "resources", "view")
	luciACL   = filepath.Join("..", "..", "openwrt", "luci-app-netmon", "root", "usr", "share", "rpcd", "acl.d", "luci-app-netmon.json")
)

// A grant is one ACL entry of an rpcd session: scope, object and function
// patterns.
type grant struct{ scope, object, function string }

// aclGrants reads an rpcd ACL file as a login with access level (read or
// write) to each of its groups gets it: a write login has the read
// entries too. A scope given as a list (cgi-io) grants its objects with
// the level as function; one given as an object (file, ubus) grants each
// key its listed functions.
func aclGrants(t *testing.T, path, level string) []grant {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var groups map[string]map[string]json.RawMessage
	if err := json.Unmarshal(data, &groups); err != nil {
		t.Fatal(err)
	}
	var out []grant
	for _, g := range groups {
		for _, lvl := range []string{"read", "write"} {
			if lvl == "write" && level != "write" || level == "" {
				continue
			}
			var scopes map[string]json.RawMessage
			if raw, ok := g[lvl]; ok {
				if err := json.Unmarshal(raw, &scopes); err != nil {
					t.Fatal(err)
				}
			}
			for scope, raw := range scopes {
				var list []string
				if json.Unmarshal(raw, &list) == nil {
					for _, o := range list {
						out = append(out, grant{scope, o, lvl})
					}
					continue
				}
				var objs map[string][]string
				if err := json.Unmarshal(raw, &objs); err != nil {
					t.Fatal(err)
				}
				for o, fns := range objs {
					for _, fn := range fns {
						out = append(out, grant{scope, o, fn})
					}
				}
			}
		}
	}
	return out
}

// fnmatch is fnmatch(3) with FNM_NOESCAPE and no FNM_PATHNAME, as rpcd
// matches ACL entries: '*' matches any run of characters, slashes and
// spaces included; '?' one character.
func fnmatch(pattern, s string) bool {
	for len(pattern) > 0 {
		switch pattern[0] {
		case '*':
			for i := len(s); i >= 0; i-- {
				if fnmatch(pattern[1:], s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
			pattern, s = pattern[1:], s[1:]
		default:
			if s == "" || s[0] != pattern[0] {
				return false
			}
			pattern, s = pattern[1:], s[1:]
		}
	}
	return s == ""
}

func allowed(grants []grant, scope, object, function string) (grant, bool) {
	for _, g := range grants {
		if g.scope == scope && fnmatch(g.object, object) && fnmatch(g.function, function) {
			return g, true
		}
	}
	return grant{}, false
}

// execAllowed is cgi-io's exec check: the cgi-io exec permission, then the
// whole command line, or else the bare executable, under "file" with
// "exec". It returns the file grant used.
func execAllowed(grants []grant, command string, params []string) (grant, error) {
	if _, ok := allowed(grants, "cgi-io", "exec", "read"); !ok {
		return grant{}, errors.New("Exec permission denied")
	}
	line := strings.Join(append([]string{command}, params...), " ")
	if g, ok := allowed(grants, "file", line, "exec"); ok {
		return g, nil
	}
	if g, ok := allowed(grants, "file", command, "exec"); ok {
		return g, nil
	}
	return grant{}, errors.New("Access to command denied by ACL")
}

// fileExecAllowed is rpcd's ubus file exec check: the ubus permission,
// then the bare executable, or else the whole command line, under "file"
// with "exec" (rpcd's file.c rpc_file_exec_run). It returns the file
// grant used; its errors are the messages LuCI shows for the ubus status.
func fileExecAllowed(grants []grant, command string, params []string) (grant, error) {
	if _, ok := allowed(grants, "ubus", "file", "exec"); !ok {
		return grant{}, errors.New("Access denied")
	}
	if g, ok := allowed(grants, "file", command, "exec"); ok {
		return g, nil
	}
	line := strings.Join(append([]string{command}, params...), " ")
	if g, ok := allowed(grants, "file", line, "exec"); ok {
		return g, nil
	}
	return grant{}, errors.New("Permission denied")
}

// The config (with the mail password and the web token in it) is only
// the settings group's: a login given the status pages cannot read it.
func TestLuCIACL_ConfigOnlyInTheSettingsGroup(t *testing.T) {
	var groups map[string]map[string]json.RawMessage
	data, err := os.ReadFile(luciACL)
	if err == nil {
		err = json.Unmarshal(data, &groups)
	}
	if err != nil {
		t.Fatalf("read %s: %v", luciACL, err)
	}
	for name, g := range groups {
		for _, lvl := range []string{"read", "write"} {
			var scopes map[string]json.RawMessage
			if err := json.Unmarshal(g[lvl], &scopes); err != nil {
				t.Fatalf("group %s, %s: %v", name, lvl, err)
			}
			if _, ok := scopes["uci"]; ok != (name == "luci-app-netmon-settings") {
				t.Errorf("group %s, %s: uci access %v", name, lvl, ok)
			}
		}
	}
	if len(groups) != 2 {
		t.Errorf("groups %v", groups)
	}
}

// The ACL lets a read-only login run exactly the reads the views run, and
// a login with write access also the block and unblock the overview runs
// through ubus file exec (which reports the exit status); nothing else.
// A host is a MAC by pattern, so no free-form value can stretch over
// more options (report --since-last writes).
func TestLuCIACL_GrantsWhatTheViewRuns(t *testing.T) {
	const agent = "/usr/sbin/netmon-agent"
	read, write := aclGrants(t, luciACL, "read"), aclGrants(t, luciACL, "write")
	cases := []struct {
		params      []string
		read, write bool
	}{
		{[]string{"report", "--json"}, true, true},
		{[]string{"hosts", "--json"}, true, true},
		{[]string{"hosts", "--services", "--json"}, true, true},
		{[]string{"hosts", "--services", "--json", "laptop"}, false, false},
		{[]string{"report", "--hours", "--json"}, true, true},
		{[]string{"report", "--days", "--json"}, true, true},
		{[]string{"report", "--months", "--json", "--host", "02:00:00:00:01:02"}, true, true},
		{[]string{"report", "--top", "--json"}, true, true},
		{[]string{"doctor", "--json"}, true, true},
		{[]string{"export", "--by", "day", "--format", "csv", "--hosts"}, true, true},
		{[]string{"db", "backup", "--portable", "-"}, true, true},
		{[]string{"db", "backup", "-"}, false, false}, // the native kind: LuCI downloads the portable one
		{[]string{"db", "backup", "/etc/config/netmon"}, false, false},
		{[]string{"report", "--days", "--json", "--host", "laptop"}, false, false},
		{[]string{"report", "--days", "--json", "--host", "02:00:00:00:01:02", "--since-last"}, false, false},
		{[]string{"report", "--days", "--json", "--host", "aa", "--since-last"}, false, false},
		{[]string{"report", "--days", "--json", "--meter", "wan"}, false, false},
		{[]string{"report", "--since-last", "--json"}, false, false},
		{[]string{"block", "02:00:00:00:01:02", "--for", "2h", "--reason", "homework for now"}, false, true},
		{[]string{"unblock", "02:00:00:00:01:02"}, false, true},
		{[]string{"unblock", "02:00:00:00:01:02", "--all"}, false, false},
		{[]string{"block", "02:00:00:00:01:02"}, false, false},
		{[]string{"block", "laptop", "--for", "2h", "--reason", "x"}, false, false},
		{[]string{"report"}, false, false},
		{[]string{"db", "restore", "/tmp/x"}, false, false},
		{[]string{"db", "restore", "--remove", "/tmp/netmon-restore.db"}, false, true},
		{[]string{"db", "restore", "--remove", "/etc/config/netmon"}, false, false},
		{[]string{"throttle", "02:00:00:00:01:02", "2mbit", "--for", "2h", "--reason", "homework"}, false, true},
		{[]string{"throttle", "02:00:00:00:01:02", "2mbit"}, false, false},
		{[]string{"throttle", "laptop", "2mbit", "--for", "2h", "--reason", "x"}, false, false},
		{[]string{"unthrottle", "02:00:00:00:01:02"}, false, true},
		{nil, false, false},
	}
	for _, c := range cases {
		_, rerr := execAllowed(read, agent, c.params)
		_, werr := fileExecAllowed(write, agent, c.params)
		if (rerr == nil) != c.read || (werr == nil) != c.write {
			t.Errorf("%q: read login by cgi-exec %v, write login by file exec %v; want %v, %v", c.params, rerr, werr, c.read, c.write)
		}
	}
	if _, err := fileExecAllowed(read, agent, []string{"report", "--json"}); err == nil || err.Error() != "Access denied" {
		t.Errorf("a read-only login may use ubus file exec: %v", err)
	}
	if _, err := execAllowed(nil, agent, []string{"report", "--json"}); err == nil || err.Error() != "Exec permission denied" {
		t.Errorf("no grants: %v", err)
	}
}

// browser starts headless Chromium for ctx's lifetime.
func browser(t *testing.T) (context.Context, func()) {
	t.Helper()
	path := requireChromium(t)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 900))...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	return ctx, func() { cancel(); cancelCtx(); cancelAlloc() }
}

// openView loads a view in the harness as session and waits until it has
// rendered.
func openView(t *testing.T, ctx context.Context, h *luciHarness, view, session string) {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Navigate(h.url+"harness.html"),
		chromedp.WaitReady(chromedp.CSS(`#view`)),
	)
	if err == nil {
		_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`window.harnessRun('/view/netmon/`+view+`.js', '`+session+`')`, chromedp.EvalAwaitPromise))
	}
	if err != nil {
		t.Fatalf("view %s as %s: %v", view, session, err)
	}
}

// hostileNames are host names a device on the LAN could choose, and worse:
// the view must show each as text and create nothing from it.
var hostileNames = []string{
	`<img src="" onerror="window.pwned=1">`,
	`<svg/onload=window.pwned=2>`,
	`"><script>window.pwned=3</script>`,
	`' onmouseover='window.pwned=4`,
	`javascript:window.pwned=5`,
	"\u202eevil\u202c-rtl",
	strings.Repeat("<b>x</b>", 1280), // 10 kB
}

// No element or attribute comes from agent data, however it is spelt.
func TestLuCI_HostileNamesStayText(t *testing.T) {
	hosts := `{"hosts": [`
	for i, n := range hostileNames {
		if i > 0 {
			hosts += ","
		}
		name, _ := json.Marshal(n)
		addr, _ := json.Marshal(`<i>198.18.1.9</i>`)
		hosts += `{"mac": "02:00:00:00:0` + string(rune('1'+i)) + `:09", "name": ` + string(name) + `, "addresses": [` + string(addr) + `],
			"download_rate": 33.61029615291576, "upload_rate": 1536, "today_download_bytes": 10, "today_upload_bytes": 5, "blocked": ` + map[bool]string{true: "true", false: "false"}[i%2 == 0] + `, "quota_percent": null}`
	}
	hosts += `], "source": "daemon"}`
	report := `{"meters": [{"name": "<b onclick=x>wan</b>", "chain": "FORWARD", "bytes": 1000, "packets": 3, "since": null}], "source": "<img src=x onerror=window.pwned=6>", "last_sample": null, "usage": []}`
	h := newLuCIHarness(t, func(params []string) ([]byte, []byte, int) {
		if params[0] == "hosts" {
			return []byte(hosts), nil, 0
		}
		return []byte(report), nil, 0
	})
	ctx, done := browser(t)
	defer done()
	openView(t, ctx, h, "overview", "read")
	check := `(() => {
		const allowed = new Set(['DIV','H2','H3','P','EM','TABLE','TBODY','TR','TH','TD','SELECT','OPTION','INPUT','BUTTON']);
		const bad = [];
		for (const el of document.querySelectorAll('#view *')) {
			if (!allowed.has(el.tagName)) bad.push('element ' + el.tagName);
			for (const a of el.attributes)
				if (/^on/i.test(a.name) || /javascript:/i.test(a.value)) bad.push('attribute ' + a.name + '=' + a.value.slice(0, 40));
		}
		if (window.pwned) bad.push('script ran: ' + window.pwned);
		return bad.slice(0, 12).join('; ') + (bad.length > 12 ? '; and ' + (bad.length - 12) + ' more' : '');
	})()`
	bad, err := chromedp.Run(ctx, chromedp.Evaluate[string](check))
	if err != nil || bad != "" {
		t.Errorf("the view made markup of agent data: %s %v", bad, err)
	}
	text, _ := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(`#view`)))
	for _, n := range append(hostileNames[:6:6], "<b onclick=x>wan</b>", "<i>198.18.1.9</i>") {
		if !strings.Contains(text, n) {
			t.Errorf("the view does not show %q as text", n)
		}
	}
	if !strings.Contains(text, "34 B/s") || !strings.Contains(text, "1.50 KiB/s") || strings.Contains(text, "33.61") {
		t.Errorf("rates are not rounded:\n%s", text)
	}
	if !strings.Contains(text, "from the <img src=x onerror=window.pwned=6>") {
		t.Errorf("the sentence around the source is not one translated string with the value in it:\n%.300s", text)
	}
}

// When the agent does not answer, the view says so, and not that no meters
// are configured.
func TestLuCI_AgentDownIsSaid(t *testing.T) {
	h := newLuCIHarness(t, func([]string) ([]byte, []byte, int) {
		return nil, []byte("netmon-agent: no such file\n"), 1
	})
	ctx, done := browser(t)
	defer done()
	openView(t, ctx, h, "overview", "read")
	text, _ := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(`#view`)))
	if !strings.Contains(text, "netmon-agent did not answer") || strings.Contains(text, "No meters configured") {
		t.Errorf("view with the agent down:\n%s", text)
	}
}
