package netfilter

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/netmon-agent/netmon-agent/store"
)

// The text form of our tables, `nft -a list table FAMILY netmon`, read where
// netlink is refused: the same nftDump the netlink reader makes.

// parseNftList reads `nft -a list table FAMILY netmon` (the text form: nft
// is built without JSON on many OpenWrt images): what the netlink reader
// reads, for where netlink is refused. A set's generation is the table's
// and the set's handles, as the netlink reader makes it.
func parseNftList(out []byte) (*nftDump, error) {
	p := nftListParser{d: &nftDump{Chains: map[string]*nftChain{}, Sets: map[string]*IPSet{}}}
	for n, raw := range strings.Split(string(out), "\n") {
		if err := p.line(strings.TrimSpace(raw)); err != nil {
			return nil, fmt.Errorf("nft list line %d: %w: %q", n+1, err, strings.TrimSpace(raw))
		}
	}
	if p.inElems {
		return nil, fmt.Errorf("nft list: elements of set %s not closed", p.set.Name)
	}
	return p.d, nil
}

type nftListParser struct {
	d       *nftDump
	set     *IPSet
	chain   *nftChain
	elems   strings.Builder
	inElems bool
}

func (p *nftListParser) line(line string) error {
	if p.inElems {
		p.elems.WriteString(" " + line)
		if strings.HasSuffix(line, "}") {
			p.inElems = false
			return parseNftElements(p.set, p.elems.String())
		}
		return nil
	}
	code, handle, _ := strings.Cut(line, " # handle ")
	fields := strings.Fields(code)
	switch {
	case len(fields) == 0:
	case fields[0] == "table":
		h, err := strconv.ParseUint(handle, 10, 64)
		if err != nil {
			return errors.New("table without a handle")
		}
		p.d.Handle = h
	case fields[0] == "set" && len(fields) >= 2:
		p.set = &IPSet{Name: fields[1], Family: IPv4, Generation: fmt.Sprintf("%d.%s", p.d.Handle, handle), Elements: map[netip.Addr]store.Counts{}}
		p.d.Sets[p.set.Name] = p.set
	case fields[0] == "chain" && len(fields) >= 2:
		p.chain = &nftChain{}
		p.d.Chains[fields[1]] = p.chain
	case code == "}":
		p.set, p.chain = nil, nil
	case p.set == nil && p.chain == nil && fields[0] == "comment":
		c, err := strconv.Unquote(strings.TrimSpace(strings.TrimPrefix(code, "comment")))
		if err != nil {
			return fmt.Errorf("table comment: %w", err)
		}
		p.d.Comment = c
	case p.set != nil:
		return p.setLine(code, fields)
	case p.chain != nil && fields[0] == "type":
		p.chain.Base = strings.Contains(code, " hook ")
	case p.chain != nil:
		r, err := parseNftRuleText(code, handle)
		if err != nil {
			return err
		}
		p.chain.Rules = append(p.chain.Rules, r)
	}
	return nil
}

func (p *nftListParser) setLine(code string, fields []string) error {
	switch {
	case fields[0] == "type":
		switch strings.Join(fields[1:], " ") {
		case "ipv4_addr":
		case "ipv6_addr":
			p.set.Family = IPv6
		case "ipv4_addr . inet_proto . inet_service":
			p.set.Services = map[ServiceKey]store.Counts{}
		case "ipv6_addr . inet_proto . inet_service":
			p.set.Family = IPv6
			p.set.Services = map[ServiceKey]store.Counts{}
		default:
			return fmt.Errorf("set %s is not of addresses: delete table %s", p.set.Name, nftTable)
		}
	case code == "counter":
		p.set.Counters = true
	case fields[0] == "elements":
		_, rest, ok := strings.Cut(code, "{")
		if !ok {
			return errors.New("malformed elements")
		}
		if strings.HasSuffix(code, "}") {
			return parseNftElements(p.set, rest)
		}
		p.elems.Reset()
		p.elems.WriteString(rest)
		p.inElems = true
	}
	return nil
}

// parseNftRuleText reads a rule line: its counter, verdict and comment.
func parseNftRuleText(code, handle string) (nftRule, error) {
	var r nftRule
	h, err := strconv.ParseUint(handle, 10, 64)
	if err != nil {
		return r, errors.New("rule without a handle")
	}
	r.Handle = h
	if before, after, ok := strings.Cut(code, ` comment "`); ok {
		r.Comment, _, _ = strings.Cut(after, `"`)
		code = before
	}
	f := strings.Fields(code)
	for i := 0; i < len(f); i++ {
		switch f[i] {
		case "packets", "bytes":
			if i+1 == len(f) {
				return r, fmt.Errorf("%s without a number", f[i])
			}
			v, err := strconv.ParseUint(f[i+1], 10, 64)
			if err != nil {
				return r, fmt.Errorf("malformed %s %q", f[i], f[i+1])
			}
			if f[i] == "packets" {
				r.Packets = v
			} else {
				r.Bytes = v
			}
			i++
		case "jump", "goto":
			if i+1 < len(f) {
				r.Verdict = f[i+1]
				i++
			}
		case "return", "accept", "drop":
			r.Verdict = strings.ToUpper(f[i])
		}
	}
	return r, nil
}

// parseNftElements reads "ADDR [counter packets N bytes N], ... }" into set.
func parseNftElements(set *IPSet, text string) error {
	text = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(text), "}"))
	if text == "" {
		return nil
	}
	for _, e := range strings.Split(text, ",") {
		var key ServiceKey
		if set.Services != nil {
			// "ADDR . tcp . 443 counter ...": the key is the first five words.
			words := strings.Fields(e)
			if len(words) < 5 {
				return fmt.Errorf("malformed element %q in set %s", e, set.Name)
			}
			var err error
			if key, err = parseServiceText(strings.Join(words[:5], " ")); err != nil {
				return fmt.Errorf("set %s: %w", set.Name, err)
			}
			e = key.Addr.String() + " " + strings.Join(words[5:], " ")
		}
		f := strings.Fields(e)
		if len(f) == 0 {
			return fmt.Errorf("empty element in set %s", set.Name)
		}
		addr, err := netip.ParseAddr(f[0])
		if err != nil {
			return fmt.Errorf("malformed address %q in set %s", f[0], set.Name)
		}
		var c store.Counts
		for i := 1; i+1 < len(f); i++ {
			var dst *uint64
			switch f[i] {
			case "packets":
				dst = &c.Packets
			case "bytes":
				dst = &c.Bytes
			default:
				continue
			}
			v, err := strconv.ParseUint(f[i+1], 10, 64)
			if err != nil {
				return fmt.Errorf("malformed %s %q of %s in set %s", f[i], f[i+1], f[0], set.Name)
			}
			*dst = v
			i++
		}
		if set.Services != nil {
			set.Services[key] = c
			continue
		}
		set.Elements[addr] = c
	}
	return nil
}
