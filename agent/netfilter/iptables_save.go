package netfilter

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// ParseSave parses the output of `iptables-save -c -t filter` (or without
// -c: counters are then zero). Lines of other tables are ignored. With all
// false, rules that do not mention our chain prefix are kept as place
// holders without being split: what sampling needs, at a fraction of the
// cost on a router with a large firewall.
func ParseSave(out []byte, all bool) (*Ruleset, error) {
	rs := &Ruleset{Chains: map[string][]Rule{}, Builtin: map[string]bool{}}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	inFilter := false
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		var err error
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "*"):
			inFilter = line == "*filter"
		case line == "COMMIT":
			inFilter = false
		case !inFilter:
		case strings.HasPrefix(line, ":"):
			err = rs.addChain(line)
		case !all && !strings.Contains(line, ChainPrefix):
			// Not ours and not pointing at ours: only its place in the chain
			// matters (is our jump first?), so skip splitting it. A router's
			// firewall has hundreds of these and a MIPS core feels each.
			chain, ok := ruleChain(line)
			if !ok {
				err = fmt.Errorf("expected -A CHAIN, got %q", line)
			}
			rs.Chains[chain] = append(rs.Chains[chain], Rule{})
		default:
			err = rs.addRule(line)
		}
		if err != nil {
			return nil, fmt.Errorf("iptables-save line %d: %w", n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read iptables-save output: %w", err)
	}
	return rs, nil
}

// addChain reads ":NAME POLICY [p:b]"; a user chain's policy is "-".
func (rs *Ruleset) addChain(line string) error {
	f := strings.Fields(line[1:])
	if len(f) < 2 {
		return fmt.Errorf("malformed chain line %q", line)
	}
	if _, ok := rs.Chains[f[0]]; !ok {
		rs.Chains[f[0]] = nil
	}
	if f[1] != "-" {
		rs.Builtin[f[0]] = true
	}
	return nil
}

// addRule reads "[p:b] -A CHAIN ARGS..." in full.
func (rs *Ruleset) addRule(line string) error {
	var r Rule
	if strings.HasPrefix(line, "[") {
		end := strings.IndexByte(line, ']')
		if end < 0 {
			return fmt.Errorf("malformed counters in %q", line)
		}
		p, b, ok := strings.Cut(line[1:end], ":")
		var err1, err2 error
		r.Packets, err1 = strconv.ParseUint(p, 10, 64)
		r.Bytes, err2 = strconv.ParseUint(b, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			return fmt.Errorf("malformed counters in %q", line)
		}
		line = strings.TrimSpace(line[end+1:])
	}
	words, err := shellWords(line)
	if err != nil {
		return err
	}
	if len(words) < 2 || words[0] != "-A" {
		return fmt.Errorf("expected -A CHAIN, got %q", line)
	}
	chain := words[1]
	r.Args = words[2:]
	for i := 0; i+1 < len(r.Args); i++ {
		switch r.Args[i] {
		case "--comment":
			r.Comment = r.Args[i+1]
		case "-j", "-g", "--jump", "--goto":
			r.Target = r.Args[i+1]
		}
	}
	rs.Chains[chain] = append(rs.Chains[chain], r)
	return nil
}

// ruleChain returns the chain of a rule line, after optional counters.
func ruleChain(line string) (string, bool) {
	if strings.HasPrefix(line, "[") {
		end := strings.IndexByte(line, ']')
		if end < 0 {
			return "", false
		}
		line = strings.TrimLeft(line[end+1:], " ")
	}
	rest, ok := strings.CutPrefix(line, "-A ")
	if !ok {
		return "", false
	}
	chain, _, _ := strings.Cut(rest, " ")
	return chain, chain != ""
}

// shellWords splits a rule the way iptables-save quotes it: words separated
// by blanks, double quotes around words with blanks, backslash escapes inside.
func shellWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted && c == '\\' && i+1 < len(s):
			i++
			w.WriteByte(s[i])
		case c == '"':
			quoted = !quoted
			inWord = true
		case !quoted && (c == ' ' || c == '\t'):
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if quoted {
		return nil, fmt.Errorf("unterminated quote in %q", s)
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}
