// Package account is the sampler: it turns the kernel's counters into
// exact deltas and adds them to the totals in a store.State, for meters and
// for LAN hosts, and keeps quotas and blocks as state.
//
// # Invariants
//
//   - A delta is the reading minus its baseline, or the whole reading when
//     the counter restarted (another boot, another generation, zeroed by
//     someone else): see delta.go.
//   - Each baseline moves in the same State update as the total it brought
//     up to date, so whatever is committed can be continued exactly.
//   - Hosts plus "unattributed" add up to all forwarded LAN traffic.
//   - History is filed only under a believable clock; deltas wait until
//     then (history.go).
//
// A Sampler is used from one goroutine: the daemon's loop.
//
// # Hosts: how they are counted
//
// How: per family, two sets of addresses with per-element counters
// (`netmon-dl4`, `netmon-ul4`, `netmon-dl6`, `netmon-ul6`) and one rule per
// direction that puts a LAN address into its set and counts the packet on its
// element: one hash lookup per forwarded packet, whatever the number of hosts.
// The packet that brings a new address is counted on its new element, so a
// device that appeared a second ago is counted from its first packet.
//
//   - With backend `nftables`, or where iptables is the nft backend and `nft` is
//     there, the sets are native nftables sets in tables of our own, `ip
//     netmon` and `ip6 netmon` (one per family, so an IPv4 packet never tests an
//     IPv6 rule), whose `forward` chain is hooked at priority 10, after the
//     firewall's filter chains: only what the firewall lets through is counted,
//     so a scan the firewall drops makes no element (`oifname "br-lan" iifname
//     != "br-lan" update @netmon-dl4 { ip daddr }` and its mirror for upload).
//     A chain an older version hooked at -1 is made anew at the first sample. The daemon reads them over netlink,
//     with no process (`nft -a list table` per family only where netlink is
//     refused). Nothing in fw4's or iptables-nft's tables changes; `stop`
//     deletes our two tables.
//   - Otherwise (iptables-legacy, or `option sets 'ipset'`) they are ipsets
//     (`hash:ip counters`; needs `ipset` and the kernel's xt_set, on OpenWrt
//     `kmod-ipt-ipset`) and the rules sit in our FORWARD chain:
//     `-o LAN ! -i LAN -m set ! --match-set netmon-dl4 dst -j SET --add-set
//     netmon-dl4 dst`. Testing an address that is in the set counts the packet
//     on its element, whether or not the rule goes on to match; adding a new one
//     gives its element that packet. (Measured on the lab: a separate match rule
//     and add rule count a new address's first packet twice, and `--add-set ...
//     --exist` resets an element's counters at every packet.) `ipset save`
//     reads them all.
//
// Why two kinds: through iptables-nft an ipset match runs in nftables' xtables
// compat layer on every forwarded packet and costs 12-13 % of the small-packet
// forwarding rate; the native set costs what ipset costs with iptables-legacy
// (scripts/README.md). Bytes of an address whose MAC is not
// known yet go to an `unattributed` row; hosts plus unattributed add up to all
// forwarded LAN traffic. Addresses idle for 48 hours leave the sets (after
// their counts were taken), so the sets stay bounded as IPv6 privacy
// addresses come and go.
//
// Made-up addresses. A packet can carry any address: a LAN host spoofing
// its source, or a scan of the LAN's IPv6 /64 from the internet (on iptables
// our rules run before the firewall's, so a scan the firewall drops still
// reaches them). Each set holds at most 4096 addresses (`size` of the
// nftables set, `maxelem` of the ipset): the kernel adds no more, and every
// sample reads no more. An address that no neighbour entry or lease gives a
// MAC, now or before, is a *stray*: its traffic is counted as unattributed,
// and a set keeps up to 64 strays between samples (the addresses of a subnet
// routed behind another router). Past that a flood is on: every sample
// credits the strays and then evicts all but those kept from before, in one
// `nft` transaction (or one `ipset restore`) that also adds the LAN
// neighbours' addresses the set lacks, so a full set keeps a real host out
// for one interval at most. Evicted strays never reach the live database or
// flash. The flood is logged once (`flood: N addresses in netmon-dl6 are no
// LAN host's ...`, and `flood over: ...` when a sample evicts nothing),
// `report --json` shows it as `flood`, and `doctor` warns of it for two days.
// Measured in the lab (`TestLab_FloodOfMadeUpAddresses`, every backend): a
// scan of 70,000 addresses from the WAN and 32,768 spoofed sources from a
// LAN host, behind an OpenWrt-like firewall, left the daemon's VmRSS within
// 1 MiB of where it was, `live.db` the same size, the journal 1.3 KB longer,
// 7-9 ms of CPU per sample after it, and a new address of another host,
// which came after, counted exactly. Sets made by an older version keep the
// bound they were made with (65535) until they are made anew (a reboot, or
// `stop` then `start`); what the daemon keeps is bounded either way. With neither nft nor ipset, per-host accounting is
// off with one log line, and meters work as before. Set `option sets` to
// choose (README, the agent options).
//
// A block drops the host's forwarded traffic in both directions, all its
// addresses: a drop rule for the addresses in `netmon-block4`/`netmon-block6`
// and one for the host's MAC (so an address it takes between two samples is
// dropped too), after the counting rules, so a blocked host's attempts are
// still counted. Blocks are kept in the database and re-applied at every
// sample: they survive restarts, reboots and firewall flushes, and lift on
// time. `stop` removes their rules and sets with everything else.
//
// A throttle (`netmon-agent throttle HOST 2mbit`, or a quota's `action
// 'throttle'`) drops what the host moves above its rate, so TCP settles at
// the rate; nothing is queued, so it costs the router no memory. On nftables
// it is one rule per direction and family in our own tables, `limit rate over
// N bytes/second` over the set of the host's addresses; on iptables, hashlimit
// rules (`kmod-ipt-hashlimit` on OpenWrt) that share one bucket per direction.
// Where the kernel refuses a rule (hashlimit, or multiport for the services,
// missing), that rule is left out and the error logged; every other rule
// goes in and counts.
// Each direction has one bucket per family, shared by all the host's
// addresses in it: a dual-stack host downloading over IPv4 and IPv6 at once
// can get the rate in each. The kernel's bucket holds a second of the rate
// (nftables: a second and one packet; iptables: the burst, a second, as
// hashlimit takes no less), so a throttled host that was idle starts that
// much ahead. Its rules come
// before the counting rules: a throttled host is counted for what the router
// forwarded, so its counts stay equal to its own counters (a blocked host's
// attempts, by contrast, are counted). Throttles are kept, re-applied, listed
// and lifted like blocks; an address the host takes between two samples is
// slowed from the next sample on. Tested in the lab on nftables, iptables-legacy
// with ipset, iptables-nft with native sets and with ipset: at 4 Mbit/s down
// and 2 Mbit/s up, TCP goodput over 5 s after a 1.5 s warm-up is within ±20 %
// of the rate in each direction and family (measured over 5 s: 467-516 kB/s
// of 500 and 224-287 kB/s of 250; over 2 s and 3 s windows CI read 314 and
// 305 kB/s once each, a TCP stall just before the window having left the
// bucket full), the other host is not slowed, unthrottle restores full
// speed, the throttle survives a restart with our chains deleted, and the
// host's counts equal what it received and what reached the internet host
// from it, to the byte.
//
// # Usage by service
//
// Per family and direction one set is keyed by the host's address, the
// protocol and the remote port (the source port of download packets, the
// destination port of upload packets). Only the ports of the service table
// go into it, so a set holds at most (addresses x service ports) elements,
// and a busy host's database rows are at most one per service (32 at most,
// built in and configured together). On nftables the rule matches the
// ports through an anonymous set; on iptables a hash:ip,port ipset behind
// multiport rules (15 ports each, per protocol and direction). A non-first
// IPv4 fragment carries no port and counts as other. Tested in the lab on
// all four kinds of sets: host a's https (IPv4 and IPv6), quic and a
// configured tcp/8080 each equal what the router forwarded for that port in
// both directions, to the byte and packet; other equals the rest; and all
// add up to a's totals. Not measured yet: the forwarding cost of the service
// rules at 254 hosts.
package account
