package agent

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Our chains are named "netmon-" + the built-in chain that jumps to them.
// Everything we own in the filter table is one of these chains or a jump to
// one, and every rule we add carries a comment saying which of ours it is:
//
//	netmon-jump:GEN               the jump at position 1 of a built-in chain
//	netmon:m:METER:HASH:GEN       a meter's counting rule (no target)
//	netmon-return                 the end of the meters
//	netmon-canary:GEN             a rule after the return, never reached,
//	                              installed with a count of one
//
// GEN is a random generation, new each time a rule is installed: a reading
// under another generation comes from a counter that started at zero. HASH
// names the meter's match, so a redefined meter's rule is replaced.
const chainPrefix = "netmon"

// OurChain names our chain for a built-in chain.
func OurChain(builtin string) string { return chainPrefix + "-" + builtin }

func jumpComment(gen string) string   { return "netmon-jump:" + gen }
func canaryComment(gen string) string { return "netmon-canary:" + gen }

const returnComment = "netmon-return"

func meterComment(meter, hash, gen string) string {
	return "netmon:m:" + meter + ":" + hash + ":" + gen
}

type ruleKind int

const (
	kindForeign ruleKind = iota
	kindJump
	kindMeter
	kindReturn
	kindCanary
)

// ourRule is what a rule comment says about a rule of ours.
type ourRule struct {
	kind       ruleKind
	meter      string
	hash       string
	generation string
}

func parseComment(c string) ourRule {
	switch {
	case c == returnComment:
		return ourRule{kind: kindReturn}
	case strings.HasPrefix(c, "netmon-jump:"):
		return ourRule{kind: kindJump, generation: strings.TrimPrefix(c, "netmon-jump:")}
	case strings.HasPrefix(c, "netmon-canary:"):
		return ourRule{kind: kindCanary, generation: strings.TrimPrefix(c, "netmon-canary:")}
	case strings.HasPrefix(c, "netmon:m:"):
		f := strings.Split(strings.TrimPrefix(c, "netmon:m:"), ":")
		if len(f) == 3 {
			return ourRule{kind: kindMeter, meter: f[0], hash: f[1], generation: f[2]}
		}
	}
	return ourRule{kind: kindForeign}
}

// NewGeneration returns a fresh random rule generation.
func NewGeneration() string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // the kernel's RNG does not fail
	}
	return hex.EncodeToString(b[:])
}

// An Installed is a counting rule Reconcile added: its counter starts at zero
// under Generation. Replaced says an earlier rule of the meter was missing or
// redefined.
type Installed struct {
	Meter      string
	Generation string
	Missing    bool // the meter's rule was gone from a chain that had held it
}

// A Plan is what Reconcile changed, for the log and for baselines.
type Plan struct {
	Installed []Installed
	Changes   []string // one human line per change
}

// Changed reports whether Reconcile touched the firewall.
func (p *Plan) Changed() bool { return len(p.Changes) > 0 }

func (p *Plan) note(format string, a ...any) {
	p.Changes = append(p.Changes, fmt.Sprintf(format, a...))
}

// Reconcile brings our chains in fw to what meters ask for, touching only
// what differs, given rs, the table as just read. Each change is safe to
// repeat: a second call on the result changes nothing. Chains in reseed get a
// fresh canary (theirs read zero and was accounted). Rules we do not own are
// never touched, except to insert our jump above them.
func Reconcile(fw Firewall, rs *Ruleset, meters []Meter, reseed map[string]bool, newGen func() string) (*Plan, error) {
	p := &Plan{}
	want := map[string][]Meter{}
	for _, m := range meters {
		want[m.Chain] = append(want[m.Chain], m)
	}
	for _, b := range meterChains {
		if len(want[b]) == 0 {
			continue
		}
		if err := reconcileChain(fw, rs, b, want[b], reseed[OurChain(b)], newGen, p); err != nil {
			return p, err
		}
	}
	// Any other chain of ours (a built-in chain no meter uses any more, or a
	// name from another version) goes, with its jumps.
	for name := range rs.Chains {
		if strings.HasPrefix(name, chainPrefix) && len(want[strings.TrimPrefix(name, chainPrefix+"-")]) == 0 {
			if err := removeChain(fw, rs, name, p); err != nil {
				return p, err
			}
		}
	}
	return p, nil
}

func reconcileChain(fw Firewall, rs *Ruleset, builtin string, meters []Meter, reseed bool, newGen func() string, p *Plan) error {
	fam := fw.Family()
	ours := OurChain(builtin)
	rules, exists := rs.Chains[ours]
	if !exists {
		if err := fw.NewChain(ours); err != nil {
			return fmt.Errorf("create chain %s (%s): %w", ours, fam, err)
		}
		p.note("created chain %s (%s)", ours, fam)
	}

	wanted := map[string]string{} // meter name -> match hash
	for _, m := range meters {
		wanted[m.Name] = matchHash(m.Match(fam))
	}
	// Keep the first valid rule of each kind in its place; everything else in
	// our chain goes: duplicates, stale meters, rules others put there, and a
	// meter or canary on the wrong side of the return.
	kept := map[string]bool{}
	held := map[string]bool{} // meters that had some rule here
	var drop []int
	keptReturn, keptCanary := false, false
	for i, r := range rules {
		o := parseComment(r.Comment)
		ok := false
		switch o.kind {
		case kindMeter:
			held[o.meter] = true
			ok = !keptReturn && !kept[o.meter] && wanted[o.meter] == o.hash && r.Target == ""
			if ok {
				kept[o.meter] = true
			}
		case kindReturn:
			ok = !keptReturn && r.Target == "RETURN"
			keptReturn = keptReturn || ok
		case kindCanary:
			ok = keptReturn && !keptCanary && !reseed && r.Target == ""
			keptCanary = keptCanary || ok
		}
		if !ok {
			drop = append(drop, i)
		}
	}
	if !keptReturn && keptCanary {
		// The canary must follow the return; it is appended again below.
		for i, r := range rules {
			if parseComment(r.Comment).kind == kindCanary {
				drop = append(drop, i)
			}
		}
		keptCanary = false
	}
	// Delete by rule number from the bottom, so numbers above stay valid.
	// Only our own chain is edited this way.
	drop = uniqueDescending(drop)
	for _, i := range drop {
		if err := fw.Delete(ours, strconv.Itoa(i+1)); err != nil {
			return fmt.Errorf("delete rule %d of %s (%s): %w", i+1, ours, fam, err)
		}
		p.note("deleted %s rule %d (%s) %q", ours, i+1, fam, rules[i].Comment)
	}
	// Meters are inserted at the top, above the return.
	for j := len(meters) - 1; j >= 0; j-- {
		m := meters[j]
		if kept[m.Name] {
			continue
		}
		gen := newGen()
		match := m.Match(fam)
		spec := append(append([]string{}, match...), "-m", "comment", "--comment", meterComment(m.Name, matchHash(match), gen))
		if err := fw.Insert(ours, 1, spec...); err != nil {
			return fmt.Errorf("add meter %s to %s (%s): %w", m.Name, ours, fam, err)
		}
		p.Installed = append(p.Installed, Installed{Meter: m.Name, Generation: gen, Missing: exists && !held[m.Name]})
		p.note("installed meter %s in %s (%s)", m.Name, ours, fam)
	}
	if !keptReturn {
		if err := fw.Append(ours, "-m", "comment", "--comment", returnComment, "-j", "RETURN"); err != nil {
			return fmt.Errorf("add return to %s (%s): %w", ours, fam, err)
		}
		p.note("added return to %s (%s)", ours, fam)
	}
	if !keptCanary {
		// -c sets the new rule's counters: the canary starts at one packet
		// and, sitting after the return, never counts more.
		if err := fw.Append(ours, "-c", "1", "1", "-m", "comment", "--comment", canaryComment(newGen())); err != nil {
			return fmt.Errorf("add canary to %s (%s): %w", ours, fam, err)
		}
		p.note("added canary to %s (%s)", ours, fam)
	}
	return reconcileJump(fw, rs, builtin, newGen, p)
}

// reconcileJump makes the first rule of builtin our jump, and the only one.
// A new jump goes in before an old one is deleted, so no packet passes
// uncounted while it moves.
func reconcileJump(fw Firewall, rs *Ruleset, builtin string, newGen func() string, p *Plan) error {
	fam := fw.Family()
	ours := OurChain(builtin)
	rules := rs.Chains[builtin]
	firstOK := len(rules) > 0 && rules[0].Target == ours && parseComment(rules[0].Comment).kind == kindJump
	if !firstOK {
		if err := fw.Insert(builtin, 1, "-m", "comment", "--comment", jumpComment(newGen()), "-j", ours); err != nil {
			return fmt.Errorf("add jump to %s in %s (%s): %w", ours, builtin, fam, err)
		}
		p.note("added jump to %s at the top of %s (%s)", ours, builtin, fam)
	}
	for i, r := range rules {
		if r.Target != ours || i == 0 && firstOK {
			continue
		}
		if err := fw.Delete(builtin, r.Args...); err != nil {
			return fmt.Errorf("delete old jump to %s in %s (%s): %w", ours, builtin, fam, err)
		}
		p.note("deleted old jump to %s from %s (%s)", ours, builtin, fam)
	}
	return nil
}

// removeChain deletes every jump to chain, from any chain, then the chain.
func removeChain(fw Firewall, rs *Ruleset, chain string, p *Plan) error {
	fam := fw.Family()
	for from, rules := range rs.Chains {
		if from == chain {
			continue
		}
		for _, r := range rules {
			if r.Target != chain {
				continue
			}
			if err := fw.Delete(from, r.Args...); err != nil {
				return fmt.Errorf("delete jump to %s from %s (%s): %w", chain, from, fam, err)
			}
			p.note("deleted jump to %s from %s (%s)", chain, from, fam)
		}
	}
	if err := fw.ClearChain(chain); err != nil {
		return fmt.Errorf("flush chain %s (%s): %w", chain, fam, err)
	}
	if err := fw.DeleteChain(chain); err != nil {
		return fmt.Errorf("delete chain %s (%s): %w", chain, fam, err)
	}
	p.note("deleted chain %s (%s)", chain, fam)
	return nil
}

// Remove deletes every chain of ours and every jump to one, and nothing else.
func Remove(fw Firewall) (*Plan, error) {
	rs, err := fw.Rules()
	if err != nil {
		return nil, err
	}
	p := &Plan{}
	for name := range rs.Chains {
		if strings.HasPrefix(name, chainPrefix) {
			if err := removeChain(fw, rs, name, p); err != nil {
				return p, err
			}
		}
	}
	return p, nil
}

func uniqueDescending(xs []int) []int {
	out := slices.Clone(xs)
	slices.Sort(out)
	out = slices.Compact(out)
	slices.Reverse(out)
	return out
}
