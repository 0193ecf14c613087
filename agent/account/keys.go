package account

import (
	"net/netip"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/netfilter"
	"github.com/netmon-agent/netmon-agent/store"
)

// keyCache holds the strings that key the state by element, service
// element and host series, made once rather than at every sample: at 254
// busy hosts, building them again was a third of what a sample allocated,
// and the garbage collector's work grows with that (a router's CPU per
// sample). The same goes for the day and month a sample falls in.
//
// It is bounded: past maxCachedKeys strings it starts over, so addresses
// that come and go (IPv6 privacy addresses, a scan) cannot grow it.
type keyCache struct {
	elements map[elementRef]string
	services map[serviceRef]string
	series   map[seriesRef]string
	uses     map[seriesRef]string
	n        int

	date       civilDate
	day, month string
}

type elementRef struct {
	dir  string
	addr netip.Addr
}

type serviceRef struct {
	dir string
	key netfilter.ServiceKey
}

// A seriesRef is a host's MAC and a direction or a service.
type seriesRef struct{ mac, what string }

type civilDate struct {
	year  int
	month time.Month
	day   int
}

// maxCachedKeys bounds the cache: twice what 254 busy hosts need (an
// element key per address and direction, a service element key per port
// they use, a series and a service use per host). A flood of made-up
// addresses makes it start over at every sample or so, which costs what
// building the keys cost before, and never more memory than this.
const maxCachedKeys = 8192

func (c *keyCache) element(dir string, a netip.Addr) string {
	return cachedKey(c, &c.elements, elementRef{dir, a}, func(r elementRef) string { return store.ElementKey(r.dir, r.addr) })
}

func (c *keyCache) service(dir string, sk netfilter.ServiceKey) string {
	return cachedKey(c, &c.services, serviceRef{dir, sk}, func(r serviceRef) string { return serviceElementKey(r.dir, r.key) })
}

func (c *keyCache) hostSeries(mac, dir string) string {
	return cachedKey(c, &c.series, seriesRef{mac, dir}, func(r seriesRef) string { return store.HostSeries(r.mac, r.what) })
}

// serviceUse is store.ServiceKey(mac, service).
func (c *keyCache) serviceUse(mac, service string) string {
	return cachedKey(c, &c.uses, seriesRef{mac, service}, func(r seriesRef) string { return store.ServiceKey(r.mac, r.what) })
}

// cachedKey is the string *m holds for r, made by build and kept if it
// holds none. The maps are made on first use and all start over when the
// cache holds maxCachedKeys strings.
func cachedKey[R comparable](c *keyCache, m *map[R]string, r R, build func(R) string) string {
	if k, ok := (*m)[r]; ok {
		return k
	}
	if *m == nil || c.n >= maxCachedKeys {
		c.elements, c.services, c.n = map[elementRef]string{}, map[serviceRef]string{}, 0
		c.series, c.uses = map[seriesRef]string{}, map[seriesRef]string{}
	}
	k := build(r)
	(*m)[r] = k
	c.n++
	return k
}

// dayMonth is the day ("2006-01-02") and month ("2006-01") of t, in t's
// location, as Usage.Add takes them.
func (c *keyCache) dayMonth(t time.Time) (day, month string) {
	y, m, d := t.Date()
	if date := (civilDate{y, m, d}); date != c.date || c.day == "" {
		c.date, c.day, c.month = date, t.Format("2006-01-02"), t.Format("2006-01")
	}
	return c.day, c.month
}

// grownHosts is the sampler's map of what each host moved in this sample,
// emptied.
func (s *Sampler) grownHosts() map[string]Rate {
	if s.grown == nil {
		s.grown = map[string]Rate{}
	}
	clear(s.grown)
	return s.grown
}

// seenKeys is the sampler's map of keys found, emptied: clearing keeps its
// room, where a new map would grow again at every sample.
func (s *Sampler) seenKeys() map[string]bool {
	if s.found == nil {
		s.found = map[string]bool{}
	}
	clear(s.found)
	return s.found
}
