package netfilter

import (
	"os/exec"
)

// A Choice is the firewall backend the agent keeps its meters in, and why.
type Choice struct {
	// Native is set for native nftables; otherwise Iptables names the
	// iptables binaries: auto (the plain names), nft or legacy.
	Native   bool
	Iptables string
	Why      string
}

// Name names the backend in logs and doctor: "nftables", "iptables",
// "iptables-nft" or "iptables-legacy".
func (c Choice) Name() string {
	switch {
	case c.Native:
		return "nftables"
	case c.Iptables == "nft" || c.Iptables == "legacy":
		return "iptables-" + c.Iptables
	}
	return "iptables"
}

// Backends are the values of option backend; the config reads them from
// here, and LuCI's settings page lists the same (a test compares them).
var Backends = []string{"auto", "nftables", "iptables", "nft", "legacy"}

// Other is the kind of backend c is not, as option backend names it: where
// a switch of backend may have left chains of ours.
func (c Choice) Other() string {
	if c.Native {
		return "iptables"
	}
	return "nftables"
}

// Choose resolves option backend: auto picks native nftables where the
// firewall is nftables (firewall4 is installed, or iptables is the
// nf_tables variant and nft is there, or nft is there and iptables is not),
// iptables otherwise. It runs `iptables --version` at most once.
func Choose(backend string) Choice {
	return choose(backend, func(bin string) bool { _, err := exec.LookPath(bin); return err == nil },
		func() string { v, _ := versionOf("iptables"); return v })
}

func choose(backend string, has func(string) bool, iptablesVersion func() string) Choice {
	switch backend {
	case "nftables":
		return Choice{Native: true, Why: "option backend 'nftables'"}
	case "iptables":
		return Choice{Iptables: "auto", Why: "option backend 'iptables'"}
	case "nft", "legacy":
		return Choice{Iptables: backend, Why: "option backend '" + backend + "'"}
	}
	switch {
	case !has("nft"):
		return Choice{Iptables: "auto", Why: "nft is not installed"}
	case has("fw4"):
		return Choice{Native: true, Why: "firewall4 is installed"}
	case !has("iptables"):
		return Choice{Native: true, Why: "nft is installed and iptables is not"}
	case Variant(iptablesVersion()) == "nf_tables":
		return Choice{Native: true, Why: "iptables is iptables-nft and nft is installed"}
	}
	return Choice{Iptables: "auto", Why: "iptables is iptables-legacy"}
}

// OpenFirewall returns the Firewall of family f for option backend; logf
// hears once when nftables reads fall back from netlink to nft.
func OpenFirewall(backend string, f Family, logf func(string, ...any)) (Firewall, error) {
	c := Choose(backend)
	if c.Native {
		return NewNftables(f, logf)
	}
	return NewIptables(c.Iptables, f)
}
