package netfilter

import (
	"errors"
	"fmt"
	"slices"
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

// nftMeterPriority hooks our meter chains before the host chain
// (nftPriority) and the firewall's filter chains (0): a meter counts what a
// block or the firewall drops later, as in our iptables chains.
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

// apply runs an nft script on our table as one transaction.
func (fw *nftFirewall) apply(lines ...string) error {
	script := fmt.Sprintf("add table %s %s\n", nftFamily(fw.fam), nftTable) + strings.Join(lines, "\n") + "\n"
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

// ErrRuleSpec means a rule in iptables words has a word NftRule does not
// translate: only what our meters and chains use is.
var ErrRuleSpec = errors.New("rule not expressible in nftables")

// protoNumbers are the protocols a meter may name (knownProtos), as
// numbers: nft then needs no /etc/protocols to read the rule.
var protoNumbers = map[string]int{
	"tcp": 6, "udp": 17, "udplite": 136, "sctp": 132, "dccp": 33,
	"icmp": 1, "icmpv6": 58, "ipv6-icmp": 58, "esp": 50, "ah": 51, "gre": 47,
}

// NftRule translates a rule of ours in iptables words (a meter's Match, the
// jump, the return, the canary, each with its comment) into nft's: the
// matches, a counter (the canary's with its starting count), the verdict,
// the comment.
func NftRule(f Family, spec []string) (string, error) {
	var t nftTranslation
	for i := 0; i < len(spec); i++ {
		n, err := t.word(f, spec, i)
		if err != nil {
			return "", err
		}
		i += n
	}
	return t.String()
}

type nftTranslation struct {
	matches      []string
	proto        string
	sport, dport string
	counter      string
	verdict      string
	comment      string
	negate       bool
}

// word reads spec[i] and its arguments, and returns how many arguments it
// took.
func (t *nftTranslation) word(f Family, spec []string, i int) (int, error) {
	arg := func() (string, error) {
		if i+1 >= len(spec) {
			return "", fmt.Errorf("%w: %s without a value", ErrRuleSpec, spec[i])
		}
		return spec[i+1], nil
	}
	w := spec[i]
	if w == "!" {
		t.negate = true
		return 0, nil
	}
	neg := t.negate
	t.negate = false
	switch w {
	case "-c":
		if i+2 >= len(spec) {
			return 0, fmt.Errorf("%w: -c without packets and bytes", ErrRuleSpec)
		}
		p, err1 := strconv.ParseUint(spec[i+1], 10, 64)
		b, err2 := strconv.ParseUint(spec[i+2], 10, 64)
		if err1 != nil || err2 != nil {
			return 0, fmt.Errorf("%w: -c %s %s", ErrRuleSpec, spec[i+1], spec[i+2])
		}
		t.counter = fmt.Sprintf("counter packets %d bytes %d", p, b)
		return 2, nil
	case "-m":
		_, err := arg()
		return 1, err // the match's options follow and say it all
	}
	v, err := arg()
	if err != nil {
		return 0, err
	}
	return 1, t.valued(f, w, v, neg)
}

func (t *nftTranslation) valued(f Family, w, v string, neg bool) error {
	op := ""
	if neg {
		op = "!= "
	}
	switch w {
	case "-s", "-d":
		dir := map[string]string{"-s": "saddr", "-d": "daddr"}[w]
		t.matches = append(t.matches, fmt.Sprintf("%s %s %s%s", nftFamily(f), dir, op, v))
	case "-i", "-o":
		if !ValidIface(strings.TrimSuffix(v, "+")) || strings.ContainsAny(v, `"\;`) {
			return fmt.Errorf("%w: malformed interface %q", ErrRuleSpec, v)
		}
		key := map[string]string{"-i": "iifname", "-o": "oifname"}[w]
		t.matches = append(t.matches, fmt.Sprintf(`%s %s"%s"`, key, op, strings.Replace(v, "+", "*", 1)))
	case "-p":
		if neg {
			return fmt.Errorf("%w: ! -p", ErrRuleSpec)
		}
		t.proto = v
	case "--sport":
		t.sport = strings.Replace(v, ":", "-", 1)
	case "--dport":
		t.dport = strings.Replace(v, ":", "-", 1)
	case "--comment":
		if strings.ContainsAny(v, `"\`) {
			return fmt.Errorf("%w: comment %q", ErrRuleSpec, v)
		}
		t.comment = v
	case "-j":
		switch v {
		case "RETURN", "ACCEPT", "DROP":
			t.verdict = strings.ToLower(v)
		default:
			if !strings.HasPrefix(v, ChainPrefix+"-") || !ValidName(v) {
				return fmt.Errorf("%w: jump to %q, not a chain of ours", ErrRuleSpec, v)
			}
			t.verdict = "jump " + v
		}
	default:
		return fmt.Errorf("%w: %s", ErrRuleSpec, w)
	}
	return nil
}

func (t *nftTranslation) String() (string, error) {
	parts := slices.Clone(t.matches)
	if t.sport != "" || t.dport != "" {
		if !PortProtos[t.proto] {
			return "", fmt.Errorf("%w: ports need tcp, udp, udplite, sctp or dccp, not %q", ErrRuleSpec, t.proto)
		}
		if t.sport != "" {
			parts = append(parts, t.proto+" sport "+t.sport)
		}
		if t.dport != "" {
			parts = append(parts, t.proto+" dport "+t.dport)
		}
	} else if t.proto != "" && t.proto != "all" {
		n, ok := protoNumbers[t.proto]
		if !ok {
			var err error
			if n, err = strconv.Atoi(t.proto); err != nil || n < 0 || n > 255 {
				return "", fmt.Errorf("%w: protocol %q", ErrRuleSpec, t.proto)
			}
		}
		parts = append(parts, fmt.Sprintf("meta l4proto %d", n))
	}
	parts = append(parts, or(t.counter, "counter"))
	if t.verdict != "" {
		parts = append(parts, t.verdict)
	}
	if t.comment != "" {
		parts = append(parts, fmt.Sprintf(`comment "%s"`, t.comment))
	}
	return strings.Join(parts, " "), nil
}

func or(s, dflt string) string {
	if s == "" {
		return dflt
	}
	return s
}
