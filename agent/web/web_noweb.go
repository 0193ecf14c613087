//go:build noweb

package web

import (
	"fmt"

	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/control"
)

// Built with -tags noweb: no HTTP server (net/http and the TLS stack it
// brings cost 1.6 MB on mips, 4 MB without SMTP), so option listen is
// refused; /metrics' format is still what WriteMetrics writes.

type Server struct{}

func (*Server) Configure(*config.Config) {}

func Start(cfg *config.Config, _ chan<- control.Call, _ <-chan struct{}, _ func(string, ...any)) (*Server, error) {
	return nil, fmt.Errorf("option listen %s: this netmon-agent was built without the web server (-tags noweb)", cfg.Listen)
}
