package netfilter

import (
	"fmt"
	"strconv"
	"strings"
)

// Meters in native nftables (option backend 'nftables'), for firewall4 and
// any system whose firewall is nftables. Our chains keep the shape they have
// in iptables, so Reconcile, the generations in comments and the canary work
// unchanged; they live in our own tables (ip netmon, ip6 netmon, with the
// host sets):
//
//	INPUT, FORWARD, OUTPUT    base chains hooked at nftMeterPriority, each
//	                          holding only the jump to our chain
//	netmon-INPUT, ...         our chains: meters, return, canary
//
// Nothing of ours is in a table iptables-nft shows, so LuCI's "legacy
// rules" notice stays away and iptables-save prints nothing of ours. The
// canary is installed with `counter packets 1 bytes 1`, which nft honours
// in both families: a zeroing by `nft reset counters` shows in IPv6 too.

// nftMeterPriority hooks our meter chains before the firewall's filter
// chains (0) and the host chain (nftPriority, after them): a meter counts
// what a block or the firewall drops later, as in our iptables chains.
const nftMeterPriority = -2

// hooks are the nftables hooks of the built-in chains meters count in.
var hooks = map[string]string{"INPUT": "input", "FORWARD": "forward", "OUTPUT": "output"}

// nftFirewall is a Firewall of native nftables rules in table FAMILY netmon.
type nftFirewall struct {
	*nftTool
	fam Family
}

// NewNftables returns the Firewall of family f in native nftables, or
// ErrNoNft. Changes run nft; reads go over netlink (logf hears once if
// netlink is refused and reads fall back to nft).
func NewNftables(f Family, logf func(string, ...any)) (Firewall, error) {
	t, err := newNftTool()
	if err != nil {
		return nil, err
	}
	t.Logf = logf
	return &nftFirewall{nftTool: t, fam: f}, nil
}

func (fw *nftFirewall) Family() Family { return fw.fam }

// Rules reads our table: its chains, rules, comments and counters.
func (fw *nftFirewall) Rules() (*Ruleset, error) {
	d, err := fw.read(fw.fam, false)
	if err != nil {
		return nil, err
	}
	return d.Ruleset(), nil
}

// apply runs an nft script on our table as one transaction, never on a
// table of our name that is someone else's.
func (fw *nftFirewall) apply(lines ...string) error {
	if err := fw.guard(fw.fam); err != nil {
		return err
	}
	script := addTable(fw.fam) + "\n" + strings.Join(lines, "\n") + "\n"
	_, err := fw.run(script, "-f", "-")
	return err
}

func (fw *nftFirewall) chainRef(chain string) string {
	return fmt.Sprintf("%s %s %s", nftFamily(fw.fam), nftTable, chain)
}

// ensureChain is the nft line that makes chain exist: a built-in name is a
// base chain on its hook.
func (fw *nftFirewall) ensureChain(chain string) string {
	if hook, ok := hooks[chain]; ok {
		return fmt.Sprintf("add chain %s { type filter hook %s priority %d; policy accept; }", fw.chainRef(chain), hook, nftMeterPriority)
	}
	return "add chain " + fw.chainRef(chain)
}

func (fw *nftFirewall) NewChain(chain string) error { return fw.apply(fw.ensureChain(chain)) }

func (fw *nftFirewall) ClearChain(chain string) error {
	return fw.apply(fw.ensureChain(chain), "flush chain "+fw.chainRef(chain))
}

// DeleteChain deletes our chain, then the base chain that only jumped to
// it, then the table when nothing is left in it.
func (fw *nftFirewall) DeleteChain(chain string) error {
	if err := fw.apply("delete chain " + fw.chainRef(chain)); err != nil {
		return err
	}
	d, err := fw.read(fw.fam, false)
	if err != nil || d == nil {
		return err
	}
	builtin := strings.TrimPrefix(chain, ChainPrefix+"-")
	if c := d.Chains[builtin]; c != nil && c.Base && len(c.Rules) == 0 {
		if err := fw.apply("delete chain " + fw.chainRef(builtin)); err != nil {
			return err
		}
		delete(d.Chains, builtin)
	}
	if len(d.Chains) == 0 && len(d.Sets) == 0 {
		_, err := fw.run("", "delete", "table", nftFamily(fw.fam), nftTable)
		return err
	}
	return nil
}

// Insert puts a rule before the pos-th (from 1) rule of chain, or at its
// end when the chain is shorter.
func (fw *nftFirewall) Insert(chain string, pos int, spec ...string) error {
	rule, err := NftRule(fw.fam, spec)
	if err != nil {
		return err
	}
	handles, err := fw.handles(chain)
	if err != nil {
		return err
	}
	if pos >= 1 && pos <= len(handles) {
		return fw.apply(fw.ensureChain(chain), fmt.Sprintf("insert rule %s position %d %s", fw.chainRef(chain), handles[pos-1], rule))
	}
	return fw.apply(fw.ensureChain(chain), fmt.Sprintf("add rule %s %s", fw.chainRef(chain), rule))
}

func (fw *nftFirewall) Append(chain string, spec ...string) error {
	rule, err := NftRule(fw.fam, spec)
	if err != nil {
		return err
	}
	return fw.apply(fw.ensureChain(chain), fmt.Sprintf("add rule %s %s", fw.chainRef(chain), rule))
}

// Delete deletes a rule named as Rules names it ("handle N") or by its
// position in the chain (from 1), as iptables -D CHAIN N does.
func (fw *nftFirewall) Delete(chain string, spec ...string) error {
	var handle uint64
	switch {
	case len(spec) == 2 && spec[0] == "handle":
		h, err := strconv.ParseUint(spec[1], 10, 64)
		if err != nil {
			return fmt.Errorf("malformed rule handle %q", spec[1])
		}
		handle = h
	case len(spec) == 1:
		pos, err := strconv.Atoi(spec[0])
		if err != nil {
			return fmt.Errorf("malformed rule position %q", spec[0])
		}
		handles, err := fw.handles(chain)
		if err != nil {
			return err
		}
		if pos < 1 || pos > len(handles) {
			return fmt.Errorf("chain %s has no rule %d", chain, pos)
		}
		handle = handles[pos-1]
	default:
		return fmt.Errorf("delete from %s: %q names no rule (want a position or handle N)", chain, spec)
	}
	return fw.apply(fmt.Sprintf("delete rule %s handle %d", fw.chainRef(chain), handle))
}

// handles lists the handles of chain's rules in order.
func (fw *nftFirewall) handles(chain string) ([]uint64, error) {
	d, err := fw.read(fw.fam, false)
	if err != nil || d == nil || d.Chains[chain] == nil {
		return nil, err
	}
	var out []uint64
	for _, r := range d.Chains[chain].Rules {
		out = append(out, r.Handle)
	}
	return out, nil
}
