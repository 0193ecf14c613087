package netfilter

import (
	"os/exec"
	"sync"
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
func Choose(backend string) Choice { return Resolve(backend).Choice }

// choose is Choose with the system's answers given: which binaries there
// are, and iptables' variant (Variant), asked only when needed.
func choose(backend string, has func(string) bool, iptablesVariant func() string) Choice {
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
	case iptablesVariant() == "nf_tables":
		return Choice{Native: true, Why: "iptables is iptables-nft and nft is installed"}
	}
	return Choice{Iptables: "auto", Why: "iptables is iptables-legacy"}
}

// A Backend is option backend resolved once (Resolve): the Choice, and
// how to open what lives there. A process resolves it once and hands it
// down, so `iptables --version` runs at most once for the choice, however
// many firewalls, sets and removals follow.
type Backend struct {
	Choice
	// Option is option backend as the config says it.
	Option string
	// variant is iptables' variant (Variant), asked at most once and kept
	// for every copy of this Backend.
	variant *lazyVariant
}

// lazyVariant runs `iptables --version` the first time it is asked.
type lazyVariant struct {
	once    sync.Once
	version func() string
	value   string
}

func (l *lazyVariant) get() string {
	l.once.Do(func() { l.value = Variant(l.version()) })
	return l.value
}

// Resolve resolves option backend (Choose).
func Resolve(option string) Backend {
	return resolve(option, func(bin string) bool { _, err := exec.LookPath(bin); return err == nil },
		func() string { v, _ := versionOf("iptables"); return v })
}

func resolve(option string, has func(string) bool, iptablesVersion func() string) Backend {
	v := &lazyVariant{version: iptablesVersion}
	return Backend{Choice: choose(option, has, v.get), Option: option, variant: v}
}

// Other is the backend of the other kind, where a switch of backend may
// have left chains of ours; naming it explicitly needs no version.
func (b Backend) Other() Backend { return Resolve(b.Choice.Other()) }

// Firewall opens the Firewall of family f; logf hears once when nftables
// reads fall back from netlink to nft.
func (b Backend) Firewall(f Family, logf func(string, ...any)) (Firewall, error) {
	if b.Native {
		return NewNftables(f, logf)
	}
	return NewIptables(b.Iptables, f)
}

// OpenFirewall is Resolve(backend).Firewall(f, logf), for one firewall
// alone.
func OpenFirewall(backend string, f Family, logf func(string, ...any)) (Firewall, error) {
	return Resolve(backend).Firewall(f, logf)
}

// iptablesIsNft reports whether this backend's plain iptables is
// iptables-nft, asking `iptables --version` at most once.
func (b Backend) iptablesIsNft() bool {
	if b.variant == nil {
		return false
	}
	return b.variant.get() == "nf_tables"
}
