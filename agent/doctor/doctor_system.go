package doctor

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/netmon-agent/netmon-agent/agent/account"
	"github.com/netmon-agent/netmon-agent/agent/config"
	"github.com/netmon-agent/netmon-agent/agent/control"
	"github.com/netmon-agent/netmon-agent/agent/uci"
)

// The rest of the machine, as doctor sees it: the daemon, the clock,
// flow offloading, routing.

// daemon: running, and sampling on time.
func (d *doctor) daemon() {
	r, err := d.sys.AskReport(d.cfg.SocketPath(), 5*time.Second)
	if errors.Is(err, control.ErrNoDaemon) {
		d.warn("daemon", "not running: nothing samples but cron, and a firewall reload's losses go unseen until then",
			"service netmon-agent start (systemd: systemctl start netmon-agent)")
		return
	}
	if err != nil {
		d.fail("daemon", fmt.Sprintf("does not answer on %s: %v", d.cfg.SocketPath(), err), "service netmon-agent restart")
		return
	}
	last := r.LastSample
	if last == nil {
		d.warn("daemon", "running, but has not sampled yet", "")
		return
	}
	age := d.sys.Now().Sub(*last)
	if age > 3*d.cfg.Interval+10*time.Second {
		d.fail("daemon", fmt.Sprintf("running, but its last sample was %s ago (interval %s)", age.Round(time.Second), d.cfg.Interval),
			"logread -e netmon-agent (journalctl -u netmon-agent) says why; service netmon-agent restart")
		return
	}
	d.ok("daemon", fmt.Sprintf("running; last sample %s ago", age.Round(time.Second)))
	d.flood(r.Flood)
}

// flood names a flood of addresses that are no host's, in progress or
// within the last two days.
func (d *doctor) flood(f *account.Flood) {
	if f == nil || f.Over && d.sys.Now().Sub(f.Last) > 48*time.Hour {
		return
	}
	state := "in progress"
	if f.Over {
		state = "over, last evicted " + f.Last.Format(time.RFC3339)
	}
	d.warn("flood", fmt.Sprintf("%d addresses that are no LAN host's evicted from %s since %s (%s): someone sent to or from made-up addresses; hosts are still counted, the flood's bytes as unattributed",
		f.Evicted, strings.Join(f.Sets, ", "), f.Since.Format(time.RFC3339), state),
		"a scan from the internet needs no action; a LAN host spoofing sources: find it by MAC (logread, or the unattributed row's traffic)")
}

// clock: days and months are cut by the wall clock.
func (d *doctor) clock() {
	now := d.sys.Now()
	if now.Before(account.EarliestBelievable) {
		d.fail("clock", fmt.Sprintf("the clock says %s: history waits until it is set", now.UTC().Format(time.RFC3339)),
			"enable NTP (System > System > Time synchronisation; uci set system.ntp.enabled=1)")
		return
	}
	synced, err := d.sys.ClockSynced()
	switch {
	case err != nil:
		d.warn("clock", "cannot tell whether it is synchronised: "+err.Error(), "")
	case !synced:
		d.warn("clock", "not synchronised by NTP: a jump later moves where traffic is filed (totals stay exact)",
			"enable the NTP client (uci set system.ntp.enabled=1; uci commit; service sysntpd restart)")
	default:
		d.ok("clock", "synchronised, "+now.Format("2006-01-02 15:04 MST"))
	}
}

// offload: a flow the kernel offloads skips the forward hook. The hosts,
// counted in nftables sets, move to the LAN's ports then (netfilter's
// nftports.go); what stays in the forward hook misses the offloaded flows,
// and hardware offload forwards where no hook sees it at all.
func (d *doctor) offload() {
	where, hw := d.offloadSources()
	if len(where) == 0 {
		d.ok("offload", "no flow offloading")
		return
	}
	on := "flow offloading is on (" + strings.Join(where, ", ") + ")"
	missed := d.missedByOffload(hw)
	if len(missed) == 0 {
		d.ok("offload", on+": the hosts are counted at the LAN's ports (netdev ingress and egress), before the flowtable takes their flows")
		return
	}
	fix := "uci set firewall.@defaults[0].flow_offloading=0; uci set firewall.@defaults[0].flow_offloading_hw=0; uci commit firewall; service firewall restart"
	if hw && len(missed) == 1 && d.cfg.Hosts {
		fix = "uci set firewall.@defaults[0].flow_offloading_hw=0; uci commit firewall; service firewall restart (software offloading is counted exactly)"
	}
	d.fail("offload", on+": offloaded flows skip the forward hook, so "+strings.Join(missed, "; ")+" miss most of their traffic", fix)
}

// offloadSources says where offloading is switched on: firewall4's
// options and the kernel's flowtables; hw when in hardware.
func (d *doctor) offloadSources() (where []string, hw bool) {
	if b, err := d.sys.ReadFile(d.sys.FirewallConfig); err == nil {
		if sections, err := uci.Parse(d.sys.FirewallConfig, bytes.NewReader(b)); err == nil {
			for _, s := range sections {
				for _, o := range s.Options {
					if s.Type == "defaults" && (o.Name == "flow_offloading" || o.Name == "flow_offloading_hw") && o.Value == "1" {
						where = append(where, d.sys.FirewallConfig+": "+o.Name)
						hw = hw || o.Name == "flow_offloading_hw"
					}
				}
			}
		}
	}
	if _, err := d.sys.LookPath("nft"); err == nil {
		if out, err := d.sys.Run("nft", "list", "flowtables"); err == nil {
			for _, line := range strings.Split(string(out), "\n") {
				if f := strings.Fields(line); len(f) >= 2 && f[0] == "flowtable" {
					where = append(where, "nftables flowtable "+f[1])
				}
				hw = hw || strings.Contains(line, "flags offload")
			}
		}
	}
	return where, hw
}

// missedByOffload names what misses offloaded flows: FORWARD meters, and
// the hosts unless counted at the ports.
func (d *doctor) missedByOffload(hw bool) []string {
	var missed, meters []string
	for _, m := range d.cfg.Meters {
		if m.Chain == "FORWARD" {
			meters = append(meters, m.Name)
		}
	}
	if len(meters) > 0 {
		missed = append(missed, "FORWARD meters "+strings.Join(meters, ", "))
	}
	if !d.cfg.Hosts {
		return missed
	}
	hosts := ""
	switch {
	case hw:
		hosts = "the hosts (hardware offload forwards in the switch chip, where no hook of the kernel sees the packets)"
	case !d.nftHosts:
		hosts = "the hosts (ipsets count in the forward hook; native nftables sets, backend nftables or nft, count at the LAN's ports)"
	case !d.egressHook():
		hosts = "the hosts' downloads (this kernel has no netdev egress hook: Linux 5.16+ with CONFIG_NETFILTER_EGRESS, on OpenWrt kmod-nft-netdev)"
	default:
		return missed // hosts and services are counted at the ports
	}
	if len(d.cfg.ServicePorts()) > 0 {
		hosts += " and their usage by service"
	}
	return append(missed, hosts)
}

// egressHook reports whether the kernel takes a netdev egress chain: a
// check-only transaction, which changes nothing.
func (d *doctor) egressHook() bool {
	_, err := d.sys.Run("nft", "-c", "add table netdev netmon-probe { chain egress { type filter hook egress device lo priority 0; } }")
	return err == nil
}

// routing: per-host accounting and FORWARD meters need routed traffic.
func (d *doctor) routing() {
	if !countsForwarded(d.cfg) {
		return
	}
	if d.cfg.Hosts {
		if _, err := d.sys.Stat("/sys/class/net/" + d.cfg.LAN); err != nil {
			d.fail("routing", fmt.Sprintf("option lan '%s': no such interface, so no host is ever counted", d.cfg.LAN),
				"set option lan to the LAN bridge (ip link shows it; br-lan on OpenWrt)")
			return
		}
	}
	b, err := d.sys.ReadFile("/proc/sys/net/ipv4/ip_forward")
	if err == nil && strings.TrimSpace(string(b)) == "0" {
		d.warn("routing", "this machine forwards no IPv4 (ip_forward is 0): a bridged access point routes nothing, so hosts and FORWARD meters stay at zero",
			"meter on the router that routes (or, on a server, set net.ipv4.ip_forward=1 if it should route)")
		return
	}
	if dev := defaultRouteDevice(d.sys); dev == d.cfg.LAN {
		d.warn("routing", fmt.Sprintf("the default route leaves through the LAN (%s), as on a bridged access point: its clients' traffic is bridged to the router upstream, never routed here, so hosts and FORWARD meters stay at zero", dev),
			"run netmon-agent on the router that routes")
		return
	}
	d.ok("routing", "IPv4 forwarding on, LAN "+d.cfg.LAN)
}

// defaultRouteDevice reads the IPv4 default route's device from
// /proc/net/route; "" when there is none.
func defaultRouteDevice(sys System) string {
	b, err := sys.ReadFile("/proc/net/route")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) >= 8 && f[1] == "00000000" && f[7] == "00000000" {
			return f[0]
		}
	}
	return ""
}

// countsForwarded says whether cfg counts routed traffic: hosts, or a
// FORWARD meter.
func countsForwarded(cfg *config.Config) bool {
	for _, m := range cfg.Meters {
		if m.Chain == "FORWARD" {
			return true
		}
	}
	return cfg.Hosts
}
