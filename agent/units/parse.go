package units

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// FormatBytes renders n in binary units with two decimals ("1.50 GiB").
func FormatBytes(n uint64) string {
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	v := float64(n) / 1024
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return fmt.Sprintf("%.2f %s", v, units[i])
}

// FormatRate renders bytes per second in at most 9 columns ("999.9K/s").
func FormatRate(r float64) string {
	if r < 0.5 {
		return "-"
	}
	units := []string{"B", "K", "M", "G", "T"}
	i := 0
	for r >= 999.95 && i < len(units)-1 {
		r /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0fB/s", r)
	}
	return fmt.Sprintf("%.1f%s/s", r, units[i])
}

// ParseSize reads a byte count as GOMEMLIMIT writes it: digits and an
// optional B, KiB, MiB or GiB.
func ParseSize(v string) (int64, error) {
	t := strings.TrimSpace(v)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSuffix(t, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size such as 48MiB", v)
	}
	return n * mult, nil
}

func ParseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "1", "yes", "on", "true", "enabled":
		return true, nil
	case "0", "no", "off", "false", "disabled":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean", v)
}

// ParseRate reads a rate in bits per second: "10G", "500M", "100k" (SI
// units, as link speeds are given), tc's "2mbit", or a plain number.
func ParseRate(v string) (float64, error) {
	t := strings.TrimSuffix(strings.TrimSpace(v), "bit")
	mult := 1.0
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'k', 'K':
			mult = 1e3
		case 'M', 'm': // tc's "2mbit": no rate is in millibits
			mult = 1e6
		case 'G', 'g':
			mult = 1e9
		case 'T', 't':
			mult = 1e12
		}
		if mult != 1 {
			t = t[:n-1]
		}
	}
	r, err := strconv.ParseFloat(t, 64)
	if err != nil || !(r > 0) || r*mult > 1e15 {
		return 0, fmt.Errorf("malformed rate %q: bits per second, such as 10G or 500M", v)
	}
	return r * mult, nil
}

// Bounds of a throttle's rate, in bits per second: below 8 kbit/s nothing
// works, and above 1 Gbit/s iptables' hashlimit cannot count bytes.
const (
	MinThrottle = 8_000
	MaxThrottle = 1_000_000_000
)

// ParseThrottle reads a throttle's rate ("2mbit", "500k") in bits per
// second, within MinThrottle and MaxThrottle.
func ParseThrottle(v string) (uint64, error) {
	r, err := ParseRate(v)
	if err != nil || r < MinThrottle || r > MaxThrottle {
		return 0, fmt.Errorf("rate %q is not a rate from 8kbit to 1gbit, such as 2mbit or 500kbit", v)
	}
	return uint64(r), nil
}

// FormatBits renders a rate in bits per second as tc does ("2mbit").
func FormatBits(bps uint64) string {
	for _, u := range []struct {
		name string
		size uint64
	}{{"gbit", 1e9}, {"mbit", 1e6}, {"kbit", 1e3}} {
		if bps >= u.size {
			return strconv.FormatFloat(float64(bps)/float64(u.size), 'f', -1, 64) + u.name
		}
	}
	return strconv.FormatUint(bps, 10) + "bit"
}

// ParseLimit reads "500K", "50G", "1.5T"-style sizes in binary units (K is
// 1024), or a plain byte count.
func ParseLimit(s string) (uint64, error) {
	t := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSpace(s), "B"), "i")
	mult := 1.0
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'K', 'k':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult != 1 {
			t = t[:n-1]
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v <= 0 || v*mult >= 1<<63 {
		return 0, fmt.Errorf("malformed limit %q: use bytes or K, M, G, T (binary), such as 50G", s)
	}
	return uint64(v * mult), nil
}

// MaxDuration bounds a block's length (and any duration a person gives):
// ten years, whichever way it is written.
const MaxDuration = 3650 * 24 * time.Hour

// ParseDuration reads a block's length: a Go duration ("90m", "1h30m") or
// whole days ("7d"), from one second to MaxDuration.
func ParseDuration(s string) (time.Duration, error) {
	var d time.Duration
	var err error
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days int64
		if days, err = strconv.ParseInt(n, 10, 64); err == nil && days > 0 && days <= int64(MaxDuration/(24*time.Hour)) {
			d = time.Duration(days) * 24 * time.Hour
		} else if err == nil && days > 0 {
			d = MaxDuration + 1
		} else if err == nil {
			err = fmt.Errorf("not positive")
		}
	} else {
		d, err = time.ParseDuration(s)
	}
	switch {
	case err != nil && errors.Is(err, strconv.ErrRange):
		return 0, fmt.Errorf("duration %q is more than %dd (ten years)", s, MaxDuration/(24*time.Hour))
	case err != nil || d <= 0:
		return 0, fmt.Errorf("malformed duration %q: use 30m, 2h, 1h30m or 7d", s)
	case d < time.Second:
		return 0, fmt.Errorf("duration %q is less than a second", s)
	case d > MaxDuration:
		return 0, fmt.Errorf("duration %q is more than %dd (ten years)", s, MaxDuration/(24*time.Hour))
	}
	return d, nil
}

// Years a date may name: a router's history begins after 2000, and a date
// past 2199 is a typo.
const (
	MinYear = 2000
	MaxYear = 2199
)

// ParseDate reads "YYYY-MM-DD" or "YYYY-MM-DD HH:MM" in loc.
func ParseDate(v string, loc *time.Location) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, strings.TrimSpace(v), loc); err == nil {
			if y := t.Year(); y < MinYear || y > MaxYear {
				return time.Time{}, fmt.Errorf("date %q: year %d is out of range (%d-%d)", v, y, MinYear, MaxYear)
			}
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("malformed date %q: use YYYY-MM-DD or YYYY-MM-DD HH:MM", v)
}
