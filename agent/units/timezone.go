package units

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// Days, months and billing periods are cut in local time. Go finds it in
// TZ or /etc/localtime; OpenWrt has neither (its zone is a POSIX TZ string
// in /etc/TZ, which Go does not read), so there Go would cut days in UTC.

// OpenWrtTZ is where OpenWrt keeps the zone, as a POSIX TZ string.
const OpenWrtTZ = "/etc/TZ"

// posixTZ reports whether tz starts as a POSIX TZ string does: a zone
// name (3 to 16 letters, or 1 to 16 letters, digits, + and - in angle
// brackets), then an offset (an optional sign, a digit). Written out
// rather than as a regexp: the router build links no regexp engine.
func posixTZ(tz string) bool {
	name := 0
	if strings.HasPrefix(tz, "<") {
		end := strings.IndexByte(tz, '>')
		if end < 2 || end > 17 || strings.IndexFunc(tz[1:end], func(r rune) bool { return !isAlnum(r) && r != '+' && r != '-' }) >= 0 {
			return false
		}
		name = end + 1
	} else {
		for name < len(tz) && name < 17 && isLetter(rune(tz[name])) {
			name++
		}
		if name < 3 || name > 16 {
			return false
		}
	}
	rest := tz[name:]
	if rest != "" && (rest[0] == '+' || rest[0] == '-') {
		rest = rest[1:]
	}
	return rest != "" && rest[0] >= '0' && rest[0] <= '9'
}

func isLetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }

func isAlnum(r rune) bool { return isLetter(r) || r >= '0' && r <= '9' }

// LocalZone returns the zone to cut days in, and whether it differs from
// what Go found itself: Go's own when TZ names a zone it can load or
// /etc/localtime exists; else the POSIX string in TZ or in tzFile. It
// returns time.Local, false when there is nothing better.
func LocalZone(tzFile, localtime string) (*time.Location, bool, error) {
	tz, set := os.LookupEnv("TZ")
	if set && tz != "" {
		if _, err := time.LoadLocation(strings.TrimPrefix(tz, ":")); err == nil {
			return time.Local, false, nil
		}
	} else {
		if _, err := os.Stat(localtime); err == nil {
			return time.Local, false, nil
		}
		data, err := os.ReadFile(tzFile)
		if errors.Is(err, os.ErrNotExist) {
			return time.Local, false, nil
		}
		if err != nil {
			return time.Local, false, fmt.Errorf("read time zone: %w", err)
		}
		tz = strings.TrimSpace(string(data))
		if tz == "" {
			return time.Local, false, nil
		}
	}
	loc, err := POSIXZone(tz)
	if err != nil {
		return time.Local, false, err
	}
	return loc, true, nil
}

// POSIXZone makes a location of a POSIX TZ string such as
// "CET-1CEST,M3.5.0,M10.5.0/3". It wraps the string as the footer of a
// zoneinfo file with no transitions, which Go applies to all of time.
func POSIXZone(tz string) (*time.Location, error) {
	if !posixTZ(tz) || strings.ContainsAny(tz, "\n\x00 ") {
		return nil, fmt.Errorf("malformed POSIX time zone %q (want e.g. CET-1CEST,M3.5.0,M10.5.0/3)", tz)
	}
	var b bytes.Buffer
	block := func() {
		// Header: magic, version 2, 15 reserved bytes, then the counts
		// isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt.
		b.WriteString("TZif2")
		b.Write(make([]byte, 15))
		for _, n := range []uint32{0, 0, 0, 0, 1, 4} {
			binary.Write(&b, binary.BigEndian, n)
		}
		// One local time type (UTC, never used: the footer rules all
		// times) and its abbreviation.
		b.Write([]byte{0, 0, 0, 0, 0, 0})
		b.WriteString("UTC\x00")
	}
	block() // the version 1 part, which readers of version 2 skip
	block()
	b.WriteString("\n" + tz + "\n")
	loc, err := time.LoadLocationFromTZData(tz, b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("time zone %q: %w", tz, err)
	}
	// A rule Go cannot follow falls back to the placeholder: say so rather
	// than cut days in UTC unannounced.
	if name, _ := time.Date(2026, 1, 15, 12, 0, 0, 0, loc).Zone(); name == "UTC" && !strings.HasPrefix(tz, "UTC") {
		return nil, fmt.Errorf("time zone %q: rule not understood", tz)
	}
	return loc, nil
}
