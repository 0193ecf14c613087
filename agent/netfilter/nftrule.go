package netfilter

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Our rules in nft's words: Reconcile speaks iptables' (a meter's Match,
// the jump, the return, the canary), and the nftables Firewall translates.

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
// matches, a counter where there is no verdict (the canary's with its
// starting count), the verdict, the comment.
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
	// Only what is read gets a counter: a meter's rule and the canary.
	// The jump and the return would cost every packet two counter
	// updates that nobody reads.
	if t.verdict == "" || t.counter != "" {
		parts = append(parts, or(t.counter, "counter"))
	}
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
