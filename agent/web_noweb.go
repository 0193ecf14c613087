//go:build noweb

package agent

import "fmt"

// Built with -tags noweb: no HTTP server (net/http and the TLS stack it
// brings cost 1.6 MB on mips, 4 MB without SMTP), so option listen is
// refused; /metrics' format is still what WriteMetrics writes.

// HasWeb says whether this binary has the web server.
const HasWeb = false

type webServer struct{}

func (*webServer) configure(*Config) {}

func startWeb(cfg *Config, _ chan<- call, _ <-chan struct{}, _ func(string, ...any)) (*webServer, error) {
	return nil, fmt.Errorf("option listen %s: this netmon-agent was built without the web server (-tags noweb)", cfg.Listen)
}
