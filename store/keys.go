package store

import (
	"net/netip"
	"strings"
)

// The text keys of the maps in State, built and split only here (doc.go's
// Layout lists them).

// ElementKey is the key of the address a in the set of direction dir
// (DirDownload or DirUpload) in State.Elements: "dl/ADDR".
func ElementKey(dir string, a netip.Addr) string { return dir + "/" + a.String() }

// ParseElementKey splits an ElementKey; ok is false for a key that is not
// one (a damaged or foreign entry).
func ParseElementKey(key string) (dir string, a netip.Addr, ok bool) {
	dir, text, found := strings.Cut(key, "/")
	if !found {
		return "", netip.Addr{}, false
	}
	a, err := netip.ParseAddr(text)
	return dir, a, err == nil
}

// QuotaKey is the key of host mac's use of quota in State.Quotas:
// "QUOTA/MAC".
func QuotaKey(quota, mac string) string { return quota + "/" + mac }

// A Series names what a history delta counts: a meter's bytes, or a host's
// in one direction (MeterSeries, HostSeries).
type Series struct {
	Name  string // as MeterSeries or HostSeries wrote it
	Meter string // set for a meter's series
	MAC   string // set for a host's series, with Dir
	Dir   string // DirDownload or DirUpload
}

// ParseSeries splits a series name; ok is false for one that is neither a
// meter's nor a host's.
func ParseSeries(name string) (s Series, ok bool) {
	if m, found := strings.CutPrefix(name, "m/"); found {
		return Series{Name: name, Meter: m}, true
	}
	if rest, found := strings.CutPrefix(name, "h/"); found {
		mac, dir, cut := strings.Cut(rest, "/")
		return Series{Name: name, MAC: mac, Dir: dir}, cut
	}
	return Series{Name: name}, false
}
