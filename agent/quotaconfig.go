package agent

import (
	"strings"

	"github.com/netmon-agent/netmon-agent/store"
)

// A Quota is a `config quota` section: how much a host (a MAC, a name, or
// "*" for each host) may download and upload together per period before
// Action: "block" (until the next period) or "warn" (a log line).
type Quota struct {
	Name   string
	Host   string
	Limit  uint64
	Period string // "day" or "month"
	Start  int    // billing day of month, 1-31; a short month clamps it
	Action string
}

// appliesTo reports whether q covers host h.
func (q Quota) appliesTo(mac string, h *store.Host) bool {
	switch {
	case mac == store.Unattributed:
		return false
	case q.Host == "*":
		return true
	case normalMAC(q.Host) != "":
		return normalMAC(q.Host) == mac
	}
	return h != nil && strings.EqualFold(h.Name, q.Host)
}
