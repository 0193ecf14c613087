package netfilter

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"time"
)

// ErrNoIptables means an iptables binary the config asks for is missing.
var ErrNoIptables = errors.New("iptables binary not found")

// ErrIptablesNotBuilt means the config asks for an iptables backend in a
// build without one (the router build, tag noiptables).
var ErrIptablesNotBuilt = errors.New("no iptables backend in this build")

// ErrMixedBackends means iptables and iptables-save are different
// backends (legacy and nf_tables): rules added with one are not in what
// the other lists.
var ErrMixedBackends = errors.New("iptables and iptables-save are different backends")

func versionOf(bin string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--version").Output()
	return strings.TrimSpace(string(out)), err
}

// Variant is the backend an iptables --version line names: "nf_tables",
// "legacy", or "" (iptables before 1.8 names none: legacy).
func Variant(version string) string {
	switch {
	case strings.Contains(version, "nf_tables"):
		return "nf_tables"
	case strings.Contains(version, "legacy"):
		return "legacy"
	}
	return ""
}

// Binaries returns the iptables and iptables-save commands for a backend.
func Binaries(backend string, f Family) (ipt, save string) {
	base := "iptables"
	if f == IPv6 {
		base = "ip6tables"
	}
	switch backend {
	case "nft", "legacy":
		return base + "-" + backend, base + "-" + backend + "-save"
	}
	return base, base + "-save"
}
