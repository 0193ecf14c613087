package doctor

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/netmon-agent/netmon-agent/agent/netfilter"
)

// The firewall side of doctor: the backend, its rules, the host sets.

// firewall names the backend in use and why, checks it, and warns of
// chains of ours the other backend still holds.
func (d *doctor) firewall() {
	c := d.backend.Choice
	d.ok("backend", c.Name()+": "+c.Why)
	if c.Native {
		d.nftables()
	} else {
		d.iptables(c)
	}
	d.leftovers()
}

// nftables: each family's table of ours, how it is read, and our rules.
func (d *doctor) nftables() {
	for _, f := range netfilter.Families {
		if f == netfilter.IPv6 && !d.cfg.IPv6 {
			continue
		}
		check := "nftables"
		if f == netfilter.IPv6 {
			check = "nftables ipv6"
		}
		needed := len(d.cfg.MetersIn(f)) > 0
		fw, err := d.sys.NewFirewall(d.backend, f)
		if err != nil {
			d.failIf(needed || f == netfilter.IPv4, check, err.Error(), "OpenWrt: opkg install nftables; Debian: apt-get install nftables")
			continue
		}
		if _, err := fw.Rules(); err != nil {
			d.fail(check, err.Error(), "")
			continue
		}
		version := ""
		if out, err := d.sys.Run("nft", "--version"); err == nil {
			version = strings.TrimSpace(string(out)) + ", "
		}
		reads := "netlink"
		if r, ok := fw.(netfilter.Reader); ok {
			reads = r.ReadsBy()
		}
		d.ok(check, version+"table "+map[netfilter.Family]string{netfilter.IPv4: "ip", netfilter.IPv6: "ip6"}[f]+" netmon, read by "+reads)
		d.chains(fw, check)
	}
}

// leftovers warns when the backend not in use holds chains of ours: a
// switch of backend left them, and they count what nobody reads.
func (d *doctor) leftovers() {
	other := d.backend.Other()
	var found []string
	for _, f := range netfilter.Families {
		fw, err := d.sys.NewFirewall(other, f)
		if err != nil {
			continue
		}
		rs, err := fw.Rules()
		if err != nil {
			continue
		}
		for chain := range rs.Chains {
			if strings.HasPrefix(chain, netfilter.ChainPrefix+"-") {
				found = append(found, chain+" ("+f.String()+")")
			}
		}
	}
	if len(found) > 0 {
		slices.Sort(found)
		d.warn("leftovers", fmt.Sprintf("%s still holds chains of ours from another backend: %s; they count what nobody reads", other.Option, strings.Join(found, ", ")),
			"netmon-agent stop, then start again: stop removes ours from both backends")
	}
}

// iptables: each family's binaries, version, and our rules in place.
func (d *doctor) iptables(c netfilter.Choice) {
	for _, f := range netfilter.Families {
		if f == netfilter.IPv6 && !d.cfg.IPv6 {
			continue
		}
		bin, _ := netfilter.Binaries(c.Iptables, f)
		check := strings.TrimSuffix(bin, "-"+c.Iptables)
		needed := len(d.cfg.MetersIn(f)) > 0
		fw, err := d.sys.NewFirewall(d.backend, f)
		if err != nil {
			fix := "install it (OpenWrt: opkg install iptables-nft ip6tables-nft; Debian: apt-get install iptables)"
			if errors.Is(err, netfilter.ErrMixedBackends) {
				fix = "point both at one backend (Debian: update-alternatives --config " + check + "), or set option backend 'nft' or 'legacy'"
			}
			if f == netfilter.IPv6 && !needed {
				fix += ", or set option ipv6 '0'"
			}
			d.failIf(needed || f == netfilter.IPv4, check, err.Error(), fix)
			continue
		}
		version := ""
		if out, err := d.sys.Run(bin, "--version"); err == nil {
			version = strings.TrimSpace(string(out))
		}
		d.ok(check, strings.TrimSpace(version+", backend "+c.Iptables))
		d.chains(fw, check)
	}
}

// chains plans our rules against fw without changing it: anything the plan
// would add is missing.
func (d *doctor) chains(fw netfilter.Firewall, check string) {
	wants := []netfilter.Want{}
	for _, m := range d.cfg.MetersIn(fw.Family()) {
		wants = append(wants, netfilter.MeterWant(m, fw.Family()))
	}
	if len(wants) == 0 {
		return
	}
	rs, err := fw.Rules()
	if err != nil {
		d.fail(check+" rules", err.Error(), "")
		return
	}
	plan, err := netfilter.Reconcile(&recordingFirewall{Firewall: fw}, rs, wants, nil, func() string { return "doctor" })
	if err != nil {
		d.fail(check+" rules", err.Error(), "")
		return
	}
	if missing := plan.Missing; len(missing) > 0 {
		d.fail(check+" rules", fmt.Sprintf("%d of our rules are missing (%s): traffic passes uncounted", len(missing), missing[0]),
			"netmon-agent start, or start the daemon: it puts them back within one interval")
		return
	}
	d.ok(check+" rules", fmt.Sprintf("our chains are in place, each jump first in its built-in chain (%d meters)", len(wants)))
}

// recordingFirewall reads through to the real one and changes nothing.
type recordingFirewall struct{ netfilter.Firewall }

func (recordingFirewall) NewChain(string) error               { return nil }
func (recordingFirewall) ClearChain(string) error             { return nil }
func (recordingFirewall) DeleteChain(string) error            { return nil }
func (recordingFirewall) Insert(string, int, ...string) error { return nil }
func (recordingFirewall) Append(string, ...string) error      { return nil }
func (recordingFirewall) Delete(string, ...string) error      { return nil }

// sets: what holds the per-host sets, and that ours are there.
func (d *doctor) sets() {
	if !d.cfg.Hosts {
		return
	}
	sets, err := d.sys.NewSets(d.cfg, d.backend)
	if err != nil {
		d.fail("host sets", "per-host accounting is on but cannot run: "+err.Error(),
			"OpenWrt: opkg install nftables (or ipset kmod-ipt-ipset); Debian: apt-get install nftables ipset; or set option hosts '0'")
		return
	}
	kind := "nftables sets (table ip netmon)"
	_, d.nftHosts = sets.(netfilter.RuleHolder)
	if !d.nftHosts {
		kind = "ipsets"
		if !d.xtSetLoaded() {
			d.warn("host sets", "the kernel's xt_set match is not loaded: the ipset rules cannot be installed",
				"OpenWrt: opkg install kmod-ipt-ipset; elsewhere: modprobe xt_set")
		}
	}
	have, err := sets.List()
	foreign := netfilter.ForeignFamilies(err)
	if err != nil && len(foreign) == 0 {
		d.fail("host sets", "read "+kind+": "+err.Error(), "")
		return
	}
	if len(foreign) > 0 {
		d.fail("foreign table", strings.ReplaceAll(err.Error(), "\n", "; "),
			"find the program that made it (nft list table ...); rename or delete its table, then netmon-agent start")
	}
	var missing []string
	for _, f := range netfilter.Families {
		if f == netfilter.IPv6 && !d.cfg.IPv6 || foreign[f] {
			continue
		}
		for _, dir := range []string{"dl", "ul"} {
			if name := netfilter.SetName(dir, f); have[name] == nil {
				missing = append(missing, name)
			}
		}
	}
	if len(missing) > 0 {
		d.fail("host sets", fmt.Sprintf("%s missing: %s; no host is counted", kind, strings.Join(missing, ", ")),
			"netmon-agent start, or start the daemon")
		return
	}
	n := 0
	for _, s := range have {
		n += len(s.Elements)
	}
	d.ok("host sets", fmt.Sprintf("%s, %d addresses counted", kind, n))
}

func (d *doctor) xtSetLoaded() bool {
	if _, err := d.sys.Stat("/sys/module/xt_set"); err == nil {
		return true
	}
	b, err := d.sys.ReadFile("/proc/net/ip_tables_matches")
	return err == nil && bytes.Contains(append([]byte("\n"), b...), []byte("\nset\n"))
}
