//go:build noiptables

package netfilter

import (
	"errors"
	"strings"
	"testing"
)

// The router build refuses an iptables backend with a line that says what
// to do, and still resolves auto to nftables where nft is.
func TestNoIptables_RouterBuildRefusesWithTheFix(t *testing.T) {
	_, err := NewIptables("legacy", IPv4)
	if !errors.Is(err, ErrIptablesNotBuilt) || !strings.Contains(err.Error(), "netmon-agent-full") || strings.Contains(err.Error(), "\n") {
		t.Errorf("NewIptables in the router build: %v", err)
	}
	b := resolve("auto", func(bin string) bool { return bin == "nft" }, func() string { return "" })
	if !b.Native {
		t.Errorf("auto with nft resolved to %+v, want native nftables", b)
	}
}
