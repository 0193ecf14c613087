package daemon

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// A fault that lasts is two lines in the log: when it began and when it
// ended; a different error in between is a third.
func TestFaultLog_OneLinePerEpisode(t *testing.T) {
	var lines []string
	f := &faultLog{what: "committing to /run/live.db", logf: func(format string, a ...any) {
		lines = append(lines, fmt.Sprintf(format, a...))
	}, advice: "; kept"}
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	full := errors.New("commit to /run/live.db: no space left on device")
	f.observe(nil, at)
	for i := range 100 {
		f.observe(full, at.Add(time.Duration(i)*time.Second))
	}
	if !f.failing() {
		t.Error("not failing after a failure")
	}
	f.observe(errors.New("commit to /run/live.db: read-only file system"), at.Add(200*time.Second))
	f.observe(nil, at.Add(300*time.Second))
	f.observe(nil, at.Add(301*time.Second))
	want := []string{
		"commit to /run/live.db: no space left on device; kept (logged once; so is its end)",
		"commit to /run/live.db: read-only file system (still failing, now so)",
		"committing to /run/live.db works again, after 101 failed attempts since 2026-12-01T10:00:00Z",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("logged:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if f.failing() {
		t.Error("still failing after a success")
	}
}
