package netfilter

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/netmon-agent/netmon-agent/store"
)

const roleDownload = "@download"

// Host rule roles: the "@" keeps them apart from meter names.
const (
	roleUpload = "@upload"
)

// SetName names our set for direction dir in family f.
func SetName(dir string, f Family) string {
	if f == IPv6 {
		return setPrefix + dir + "6"
	}
	return setPrefix + dir + "4"
}

// HostWants are the per-host rules of family f, in their order.
func HostWants(lan string, f Family) []Want {
	dl, ul := SetName(store.DirDownload, f), SetName(store.DirUpload, f)
	toLAN := []string{"-o", lan, "!", "-i", lan}
	fromLAN := []string{"-i", lan, "!", "-o", lan}
	with := func(base []string, more ...string) []string { return append(slices.Clone(base), more...) }
	return []Want{
		{Chain: "FORWARD", Class: classHost, Name: roleDownload, Match: with(toLAN, "-m", "set", "!", "--match-set", dl, "dst", "-j", "SET", "--add-set", dl, "dst")},
		{Chain: "FORWARD", Class: classHost, Name: roleUpload, Match: with(fromLAN, "-m", "set", "!", "--match-set", ul, "src", "-j", "SET", "--add-set", ul, "src")},
	}
}

// EnsureSets creates the sets the host rules of fams need (the service
// sets too with services) and lists are missing; the rules cannot go in
// before them.
func EnsureSets(sets Sets, have map[string]*IPSet, fams []Family, services bool) error {
	for _, f := range fams {
		names := []string{SetName(store.DirDownload, f), SetName(store.DirUpload, f), SetName(DirBlock, f)}
		if services {
			names = append(names, ServiceSetName(store.DirDownload, f), ServiceSetName(store.DirUpload, f))
		}
		for _, name := range names {
			if s, ok := have[name]; ok && s.Counters && s.Family == f && (s.Services != nil) == IsServiceSet(name) {
				continue
			} else if ok {
				return fmt.Errorf("set %s exists but is not a %s set with counters of its kind: destroy it (netmon-agent stop)", name, f)
			}
			if err := sets.Create(name, f); err != nil {
				return fmt.Errorf("create set %s: %w", name, err)
			}
			s := &IPSet{Name: name, Family: f, Counters: true, Elements: map[netip.Addr]store.Counts{}}
			if IsServiceSet(name) {
				s.Services = map[ServiceKey]store.Counts{}
			}
			have[name] = s
		}
	}
	return nil
}

const roleBlockSrc = "@block-src"

const roleBlockDst = "@block-dst"

const (
	DirBlock = "block" // setName(dirBlock, f): netmon-block4, netmon-block6
)

// BlockWants are the dropping rules of family f for the blocked MACs. With
// no block in force there are none: every forwarded packet would pay for
// the lookups.
func BlockWants(lan string, f Family, blocking bool, macs []string) []Want {
	if !blocking {
		return nil
	}
	set := SetName(DirBlock, f)
	ws := []Want{
		{Chain: "FORWARD", Class: classHost, Name: roleBlockSrc, Match: []string{"-m", "set", "--match-set", set, "src", "-j", "DROP"}},
		{Chain: "FORWARD", Class: classHost, Name: roleBlockDst, Match: []string{"-m", "set", "--match-set", set, "dst", "-j", "DROP"}},
	}
	for _, m := range macs {
		ws = append(ws, Want{Chain: "FORWARD", Class: classHost, Name: "@block-" + strings.ReplaceAll(m, ":", ""),
			Match: []string{"-i", lan, "-m", "mac", "--mac-source", m, "-j", "DROP"}})
	}
	return ws
}
