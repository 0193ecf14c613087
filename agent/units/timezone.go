package units

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"
)

// Days, months and billing periods are cut in local time. Go finds it in
// TZ or /etc/localtime; OpenWrt has neither (its zone is a POSIX TZ string
// in /etc/TZ, which Go does not read), so there Go would cut days in UTC.

// OpenWrtTZ is where OpenWrt keeps the zone, as a POSIX TZ string.
const OpenWrtTZ = "/etc/TZ"

// posixTZ is the shape of a POSIX TZ string: a zone name, then an offset.
var posixTZ = regexp.MustCompile(`^(<[A-Za-z0-9+-]{1,16}>|[A-Za-z]{3,16})[+-]?[0-9]`)

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
	if !posixTZ.MatchString(tz) || strings.ContainsAny(tz, "\n\x00 ") {
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
