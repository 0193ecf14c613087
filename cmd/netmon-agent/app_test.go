package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
)

// These run the command line in-process: parsing, exit codes and errors,
// without root or a lab.

// testConfig writes a config whose files all live under a temporary
// directory.
func testConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "netmon")
	text := "config agent\n\toption database '" + dir + "/flash/netmon.db'\n\toption runtime_dir '" + dir + "/run'\n" +
		"\toption hosts '0'\n\nconfig meter 'wan'\n\toption chain 'FORWARD'\n"
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func runApp(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(append([]string{"netmon-agent"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestApp_ErrorsAreOneLineWithExitOne(t *testing.T) {
	cfg := testConfig(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-c", cfg, "report", "extra"}, `report takes no arguments, got "extra"`},
		{[]string{"-c", cfg, "sample", "now"}, `sample takes no arguments, got "now"`},
		{[]string{"-c", cfg, "token", "x"}, `token takes no arguments`},
		{[]string{"-c", cfg, "block"}, "block takes one HOST"},
		{[]string{"-c", cfg, "block", "a", "b"}, "block takes one HOST"},
		{[]string{"-c", cfg, "block", "198.18.1.50", "--for", "2x"}, `--for: malformed duration "2x"`},
		{[]string{"-c", cfg, "unblock"}, "unblock takes one HOST"},
		{[]string{"-c", cfg, "report", "--days", "--hours"}, "report takes one of --5min"},
		{[]string{"-c", cfg, "report", "--limit", "5"}, "--limit needs a history view"},
		{[]string{"-c", cfg, "report", "--days", "--limit", "-1"}, "--limit -1: a number of rows from 1 to 100000"},
		{[]string{"-c", cfg, "report", "--days", "--limit", "0"}, "--limit 0: a number of rows from 1 to 100000"},
		{[]string{"-c", cfg, "report", "--days", "--limit", "99999999999999999999"}, `report: invalid value "99999999999999999999" for flag -limit`},
		{[]string{"-c", cfg, "report", "--days", "--begin", "2026-11-20", "--end", "2026-11-10"}, "--end 2026-11-10 00:00 is not after begin 2026-11-20 00:00"},
		{[]string{"-c", cfg, "report", "--days", "--begin", "1969-12-31"}, "--begin: date \"1969-12-31\": year 1969 is out of range (2000-2199)"},
		{[]string{"-c", cfg, "report", "--days", "--meter", "nosuch"}, `unknown meter "nosuch" (configured: wan)`},
		{[]string{"-c", cfg, "export", "--end", "9999-01-01"}, "year 9999 is out of range"},
		{[]string{"-c", cfg, "block", "laptop", "--for", "99999d"}, `--for: duration "99999d" is more than 3650d (ten years)`},
		{[]string{"-c", cfg, "top", "--interval", "0s"}, "--interval 0s: from 100ms to 1h0m0s"},
		{[]string{"-c", cfg, "frobnicate"}, `unknown command "frobnicate" (netmon-agent help lists them)`},
		{[]string{"-c", cfg, "report", "--days", "--begin", "yesterday"}, "--begin: "},
		{[]string{"-c", cfg, "report", "--html", "--json"}, "--html and --json: choose one"},
		{[]string{"-c", cfg, "report", "--keep"}, "--keep goes with --since-last"},
		{[]string{"-c", cfg, "export", "--by", "week"}, `--by "week": hour, day or month`},
		{[]string{"-c", cfg, "export", "--unit", "TB"}, `--unit "TB"`},
		{[]string{"-c", cfg, "db", "backup"}, "db backup takes one FILE"},
		{[]string{"-c", filepath.Join(t.TempDir(), "none"), "report"}, "config file not found"},
	}
	for _, tc := range cases {
		code, _, stderr := runApp(t, tc.args...)
		if code != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit 1 and %q", tc.args, code, stderr, tc.want)
		}
		if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "netmon-agent: ") {
			t.Errorf("%q: stderr %q is not one line", tc.args, stderr)
		}
	}
}

func TestApp_ReportWithoutDatabaseIsEmpty(t *testing.T) {
	code, stdout, stderr := runApp(t, "-c", testConfig(t), "report", "--json")
	if code != 0 || !strings.Contains(stdout, `"name": "wan"`) || !strings.Contains(stdout, `"source": "empty"`) {
		t.Errorf("exit %d, stdout %s, stderr %s", code, stdout, stderr)
	}
}

// doctor's status is its exit code: 2 for a config that does not load.
func TestApp_DoctorExitCode(t *testing.T) {
	p := filepath.Join(t.TempDir(), "netmon")
	os.WriteFile(p, []byte("config agent\n\toption interval 'soon'\n"), 0o600)
	code, stdout, _ := runApp(t, "-c", p, "doctor")
	if code != 2 || !strings.Contains(stdout, "FAIL") {
		t.Errorf("exit %d, stdout %s", code, stdout)
	}
}

// A bare netmon-agent prints what netmon-agent report prints, exit 0;
// help and --help still print the help.
func TestApp_BareCommandIsTheReport(t *testing.T) {
	cfg := testConfig(t)
	_, want, _ := runApp(t, "-c", cfg, "report")
	code, got, stderr := runApp(t, "-c", cfg)
	if code != 0 || got != want || !strings.Contains(got, "wan") {
		t.Errorf("bare: exit %d, %q (stderr %q); report prints %q", code, got, stderr, want)
	}
	for _, args := range [][]string{{"help"}, {"--help"}, {"-c", cfg, "--help"}} {
		if code, out, _ := runApp(t, args...); code != 0 || !strings.Contains(out, "COMMANDS:") {
			t.Errorf("%q: exit %d, %.200q", args, code, out)
		}
	}
}

func TestApp_VersionAndHelp(t *testing.T) {
	if code, stdout, _ := runApp(t, "--version"); code != 0 || !strings.Contains(stdout, "netmon-agent version") {
		t.Errorf("--version: exit %d, %q", code, stdout)
	}
	code, stdout, _ := runApp(t, "help", "block")
	if code != 0 || !strings.Contains(stdout, "--for DURATION") {
		t.Errorf("help block: exit %d, %q", code, stdout)
	}
}

// Options after a command's arguments are read as options, whatever their
// form; "--" ends them.
func TestFlagsFirst(t *testing.T) {
	app := newApp(nil, nil)
	cases := []struct{ in, want string }{
		{"block 198.18.1.50 --for 2h --reason homework", "block --for 2h --reason homework 198.18.1.50"},
		{"block laptop --for=2h", "block --for=2h laptop"},
		{"-c /etc/x block laptop --reason x", "-c /etc/x block --reason x laptop"},
		{"block -- --odd-name --for 2h", "block -- --odd-name --for 2h"},
		{"db backup /tmp/b", "db backup /tmp/b"},
		{"report --days --limit 3", "report --days --limit 3"},
		{"init", "init"},
		{"nosuch a --b", "nosuch a --b"},
	}
	for _, tc := range cases {
		got := flagsFirst(app, append([]string{"netmon-agent"}, strings.Fields(tc.in)...))
		if want := append([]string{"netmon-agent"}, strings.Fields(tc.want)...); !slices.Equal(got, want) {
			t.Errorf("%q: got %q, want %q", tc.in, got[1:], want[1:])
		}
	}
}

// The daemon runs at GOGC=50 unless the environment says otherwise.
func TestTuneGC_DefaultUnlessTheEnvironmentSets(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "")
	tuneGC()
	if got := debug.SetGCPercent(100); got != daemonGCPercent {
		t.Errorf("GOGC unset: %d, want %d", got, daemonGCPercent)
	}
	t.Setenv("GOGC", "200")
	tuneGC()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC=200 in the environment: tuneGC changed it to %d", got)
	}
}
