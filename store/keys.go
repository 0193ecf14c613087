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
