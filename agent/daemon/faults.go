package daemon

import (
	"errors"
	"fmt"
	"syscall"
	"time"
)

// A fault that lasts (a full tmpfs, flash gone read-only, a firewall tool
// that fails) would otherwise write the same line every interval until the
// log, which on OpenWrt is a small ring in RAM, holds nothing else. A
// faultLog says when one begins, when it changes, and when it ends.
type faultLog struct {
	what   string // "commit", "snapshot", "sample"
	logf   func(format string, a ...any)
	last   string // what the failing error is (faultKey); empty while things work
	count  int
	since  time.Time
	advice string // said once, with the first line of an episode
}

// observe records the outcome of one attempt at f.what.
func (f *faultLog) observe(err error, now time.Time) {
	switch {
	case err == nil && f.last != "":
		f.logf("%s works again, after %d failed attempts since %s", f.what, f.count, f.since.Format(time.RFC3339))
		f.last, f.count = "", 0
	case err == nil:
	case f.last == "":
		f.last, f.count, f.since = faultKey(err), 1, now
		f.logf("%v%s (logged once; so is its end)", err, f.advice)
	case faultKey(err) != f.last:
		f.last = faultKey(err)
		f.count++
		f.logf("%v (still failing, now so)", err)
	default:
		f.count++
	}
}

// faultKey is what makes two failures the same fault: the system's error
// number where there is one (a snapshot's temporary file has a new name
// every time), else the text.
func faultKey(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return "errno " + errno.Error()
	}
	return err.Error()
}

// failing says whether the last attempt failed.
func (f *faultLog) failing() bool { return f.last != "" }

func commitAdvice(pending int) string {
	return fmt.Sprintf("; the batch (%d history deltas) stays in memory and is retried at every commit", pending)
}
