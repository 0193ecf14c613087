//go:build noiptables

package netfilter

import "fmt"

// The router build (tag noiptables) has no iptables backend: its package
// depends on nftables, and go-iptables and the regexp engine it brings
// are a tenth of a megabyte of a router's flash. NewIptables says so, and
// what to do.

// NewIptables refuses: this build reads and changes nftables only.
func NewIptables(backend string, f Family) (Firewall, error) {
	return nil, fmt.Errorf("%w: backend %q needs the iptables backend, which this build (netmon-agent, the router package) leaves out: set option backend 'auto' with nftables installed, or install netmon-agent-full", ErrIptablesNotBuilt, backend)
}
