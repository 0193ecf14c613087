package main

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/netmon-agent/netmon-agent/agent/netfilter"
)

var (
	luciApp = filepath.Join("..", "..", "openwrt", "luci-app-netmon")
	luciPot = filepath.Join(luciApp, "po", "templates", "netmon.pot")
)

// translatable matches _('…') with the escapes a LuCI view uses inside.
var translatable = regexp.MustCompile(`_\('((?:[^'\\]|\\.)*)'\)`)

// luciMessages are the strings LuCI's i18n-scan would put in the
// template: every _('…') of the views in file order, then the menu
// titles and the ACL description. Each appears once, first place kept.
func luciMessages(t *testing.T) []string {
	t.Helper()
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	// In the menu's order; a view not listed here fails the test, so a new
	// view's strings cannot be left out of the template.
	views := []string{"overview", "history", "maintenance", "settings"}
	files, _ := filepath.Glob(filepath.Join(luciViews, "netmon", "*.js"))
	if len(files) != len(views) {
		t.Fatalf("views %v, but the template is made of %v", files, views)
	}
	for _, view := range views {
		src, err := os.ReadFile(filepath.Join(luciViews, "netmon", view+".js"))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range translatable.FindAllStringSubmatch(string(src), -1) {
			s, err := strconv.Unquote(`"` + strings.ReplaceAll(strings.ReplaceAll(m[1], `\'`, `'`), `"`, `\"`) + `"`)
			if err != nil {
				t.Fatalf("%s.js: %s: %v", view, m[0], err)
			}
			add(s)
		}
	}
	var menu map[string]struct{ Title string }
	readJSON(t, filepath.Join(luciApp, "root", "usr", "share", "luci", "menu.d", "luci-app-netmon.json"), &menu)
	for _, path := range sortedKeys(menu) {
		add(menu[path].Title)
	}
	var acl map[string]struct{ Description string }
	readJSON(t, luciACL, &acl)
	for _, g := range sortedKeys(acl) {
		add(acl[g].Description)
	}
	return out
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// sortedKeys puts menu paths parents first, i18n-scan's order too.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

func potText(msgs []string) string {
	var b strings.Builder
	b.WriteString("msgid \"\"\nmsgstr \"Content-Type: text/plain; charset=UTF-8\"\n")
	for _, m := range msgs {
		q := strconv.Quote(m)
		b.WriteString("\nmsgid " + q + "\nmsgstr \"\"\n")
	}
	return b.String()
}

// The translation template holds exactly the strings the views, the menu
// and the ACL show: a translator misses none and gets no stale ones.
// NETMON_UPDATE_POT=1 rewrites it.
func TestLuCI_TranslationTemplateIsComplete(t *testing.T) {
	want := potText(luciMessages(t))
	if os.Getenv("NETMON_UPDATE_POT") == "1" {
		if err := os.WriteFile(luciPot, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(luciPot)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s is not what the views say; NETMON_UPDATE_POT=1 go test -run TranslationTemplate ./cmd/netmon-agent rewrites it.\ngot:\n%s\nwant:\n%s", luciPot, got, want)
	}
}

// The settings page offers exactly the values of option backend the agent
// takes (netfilter.Backends), in its order.
func TestLuCI_SettingsOffersTheAgentsBackends(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(luciViews, "netmon", "settings.js"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`\[ ((?:'\w+'(?:, )?)+) \]\.forEach\(function\(b\) \{ o\.value\(b\); \}\)`).FindSubmatch(src)
	if m == nil {
		t.Fatal("settings.js lists no backends")
	}
	got := strings.Split(strings.ReplaceAll(string(m[1]), "'", ""), ", ")
	if !slices.Equal(got, netfilter.Backends) {
		t.Errorf("settings.js offers %v, the agent takes %v", got, netfilter.Backends)
	}
}
