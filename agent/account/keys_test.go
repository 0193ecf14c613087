package account

import (
	"net/netip"
	"testing"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/netfilter"
	"github.com/netmon-agent/netmon-agent/store"
)

// The cache gives the keys the store's functions make, and a scan's worth
// of addresses does not grow it past its bound.
func TestKeyCache_SameKeysAndBounded(t *testing.T) {
	var c keyCache
	a := netip.MustParseAddr("2001:db8:1::2")
	sk := netfilter.ServiceKey{Addr: a, ServicePort: netfilter.ServicePort{Proto: 17, Port: 443}}
	if got, want := c.element("dl", a), store.ElementKey("dl", a); got != want {
		t.Errorf("element key %q, want %q", got, want)
	}
	if got, want := c.service("ul", sk), serviceElementKey("ul", sk); got != want {
		t.Errorf("service element key %q, want %q", got, want)
	}
	if got, want := c.hostSeries("02:00:00:00:00:0a", "download"), store.HostSeries("02:00:00:00:00:0a", "download"); got != want {
		t.Errorf("series %q, want %q", got, want)
	}
	if got, want := c.serviceUse("02:00:00:00:00:0a", "quic"), store.ServiceKey("02:00:00:00:00:0a", "quic"); got != want {
		t.Errorf("service use %q, want %q", got, want)
	}
	base := netip.MustParseAddr("2001:db8:1::").As16()
	for i := range 3 * maxCachedKeys {
		b := base
		b[14], b[15] = byte(i>>8), byte(i)
		b[13] = byte(i >> 16)
		c.element("dl", netip.AddrFrom16(b))
	}
	if n := len(c.elements) + len(c.services) + len(c.series) + len(c.uses); n > maxCachedKeys {
		t.Errorf("cache holds %d keys after a scan, more than its bound %d", n, maxCachedKeys)
	}
	day, month := c.dayMonth(time.Date(2026, 12, 31, 23, 59, 0, 0, time.UTC))
	if day != "2026-12-31" || month != "2026-12" {
		t.Errorf("day %s month %s", day, month)
	}
	if day, month = c.dayMonth(time.Date(2027, 1, 1, 0, 0, 1, 0, time.UTC)); day != "2027-01-01" || month != "2027-01" {
		t.Errorf("after midnight: day %s month %s", day, month)
	}
}
