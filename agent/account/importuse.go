package account

import (
	"math/bits"

	"github.com/netmon-agent/netmon-agent/agent/netfilter"
	"github.com/netmon-agent/netmon-agent/agent/nlbwmon"
	"github.com/netmon-agent/netmon-agent/store"
)

// A periodUse is what one imported period holds, per host and per host's
// service.
type periodUse struct {
	hosts    map[string]store.Directions
	services map[serviceOfHost]store.Directions
}

type serviceOfHost struct{ mac, service string }

// usesOf adds up period p's records by host (MAC, else unattributed) and
// by host and service.
func usesOf(p *nlbwmon.Period, serviceOf func(netfilter.ServicePort) string) periodUse {
	use := periodUse{hosts: map[string]store.Directions{}, services: map[serviceOfHost]store.Directions{}}
	for _, r := range p.Records {
		mac := r.MAC
		if mac == "" {
			mac = store.Unattributed
		}
		d := store.Directions{Download: r.Download, Upload: r.Upload}
		use.hosts[mac] = addDirections(use.hosts[mac], d)
		if r.Proto == 0 {
			continue
		}
		if name := serviceOf(netfilter.ServicePort{Proto: r.Proto, Port: r.Port}); name != "" {
			k := serviceOfHost{mac, name}
			use.services[k] = addDirections(use.services[k], d)
		}
	}
	return use
}

// without takes what we counted (ours, by MAC) off each host, never below
// nothing; a host's services keep their share of what is left.
func (u periodUse) without(ours map[string]store.Directions) {
	for mac, d := range u.hosts {
		left := store.Directions{Download: d.Download.Since(ours[mac].Download), Upload: d.Upload.Since(ours[mac].Upload)}
		for k, s := range u.services {
			if k.mac == mac {
				u.services[k] = store.Directions{Download: share(s.Download, left.Download, d.Download), Upload: share(s.Upload, left.Upload, d.Upload)}
			}
		}
		u.hosts[mac] = left
	}
}

// share is part scaled by left/whole, each of bytes and packets (part and
// left are at most whole, so the 128-bit product divides without
// overflow).
func share(part, left, whole store.Counts) store.Counts {
	scale := func(p, l, w uint64) uint64 {
		if w == 0 || p > w || l > w {
			return 0
		}
		hi, lo := bits.Mul64(p, l)
		q, _ := bits.Div64(hi, lo, w)
		return q
	}
	return store.Counts{Packets: scale(part.Packets, left.Packets, whole.Packets), Bytes: scale(part.Bytes, left.Bytes, whole.Bytes)}
}
