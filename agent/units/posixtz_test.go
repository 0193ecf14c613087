package units

import (
	"regexp"
	"testing"
)

// The hand-written shape check accepts what the regexp it replaced did.
func TestPosixTZ_AgreesWithTheRegexpItReplaced(t *testing.T) {
	re := regexp.MustCompile(`^(<[A-Za-z0-9+-]{1,16}>|[A-Za-z]{3,16})[+-]?[0-9]`)
	cases := []string{"CET-1CEST,M3.5.0,M10.5.0/3", "UTC0", "<+03>-3", "<->5", "<>1", "EST5EDT", "AB1", "ABC", "ABC+", "ABC-1", "ABCDEFGHIJKLMNOPQ1", "ABCDEFGHIJKLMNOP1", "<ABCDEFGHIJKLMNOP>1", "<ABCDEFGHIJKLMNOPQ>1", "<A B>1", "", "1ABC", "ÄBC1", "<+0330>-3:30", "abc+x", "<a>", "<a>+", "<a>+9"}
	for _, c := range cases {
		if got, want := posixTZ(c), re.MatchString(c); got != want {
			t.Errorf("%q: %v, regexp says %v", c, got, want)
		}
	}
}
