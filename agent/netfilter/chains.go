package netfilter

import (
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Our chains are named "netmon-" + the built-in chain that jumps to them.
// Everything we own in the filter table is one of these chains or a jump to
// one, and every rule we add carries a comment saying which of ours it is:
//
//	netmon-jump:GEN               the jump at position 1 of a built-in chain
//	netmon:m:METER:HASH:GEN       a meter's counting rule (no target)
//	netmon:h:ROLE:HASH:GEN        a per-host rule (hosts.go)
//	netmon-return                 the end of the rules above
//	netmon-canary:GEN             a rule after the return, never reached,
//	                              installed with a count of one
//
// GEN is a random generation, new each time a rule is installed: a reading
// under another generation comes from a counter that started at zero. HASH
// names the rule's match, so a redefined meter's rule is replaced.
const ChainPrefix = "netmon"

// OurChain names our chain for a built-in chain.
func OurChain(builtin string) string { return ChainPrefix + "-" + builtin }

func jumpComment(gen string) string   { return "netmon-jump:" + gen }
func canaryComment(gen string) string { return "netmon-canary:" + gen }

const returnComment = "netmon-return"

func RuleComment(class, name, hash, gen string) string {
	return "netmon:" + class + ":" + name + ":" + hash + ":" + gen
}

// Classes of the rules in our chains above the return.
const (
	classMeter = "m" // a meter's counting rule
	classHost  = "h" // a per-host rule
)

type ruleKind int

const (
	KindForeign ruleKind = iota
	KindJump
	KindMeter // classMeter
	KindHost  // classHost
	kindReturn
	KindCanary
)

// OurRule is what a rule comment says about a rule of ours.
type OurRule struct {
	Kind       ruleKind
	Name       string
	Hash       string
	Generation string
}

func (o OurRule) Class() string {
	if o.Kind == KindHost {
		return classHost
	}
	return classMeter
}

// key names what the rule is, whatever its generation.
func (o OurRule) key() string { return o.Class() + ":" + o.Name + ":" + o.Hash }

func ParseComment(c string) OurRule {
	switch {
	case c == returnComment:
		return OurRule{Kind: kindReturn}
	case strings.HasPrefix(c, "netmon-jump:"):
		return OurRule{Kind: KindJump, Generation: strings.TrimPrefix(c, "netmon-jump:")}
	case strings.HasPrefix(c, "netmon-canary:"):
		return OurRule{Kind: KindCanary, Generation: strings.TrimPrefix(c, "netmon-canary:")}
	case strings.HasPrefix(c, "netmon:m:"), strings.HasPrefix(c, "netmon:h:"):
		f := strings.Split(c, ":")
		if len(f) == 5 {
			kind := KindMeter
			if f[1] == classHost {
				kind = KindHost
			}
			return OurRule{Kind: kind, Name: f[2], Hash: f[3], Generation: f[4]}
		}
	}
	return OurRule{Kind: KindForeign}
}

// NewGeneration returns a fresh random rule generation.
func NewGeneration() string {
	var b [4]byte
	if _, err := unix.Getrandom(b[:], 0); err != nil {
		panic(fmt.Sprintf("getrandom: %v", err)) // the kernel's RNG does not fail
	}
	return hex.EncodeToString(b[:])
}

// A Want is one rule of ours that a chain of ours must hold, in order, above
// its return: a meter's, or one of the per-host rules.
type Want struct {
	Chain string   // the built-in chain whose chain of ours holds it
	Class string   // classMeter or classHost
	Name  string   // the meter's name, or the host rule's role
	Match []string // the rule without its comment, target included
	// Counted rules have their counters read into totals named Name.
	Counted bool
}

// MeterWant is the rule of meter m in family f.
func MeterWant(m Meter, f Family) Want {
	return Want{Chain: m.Chain, Class: classMeter, Name: m.Name, Match: m.Match(f), Counted: true}
}

func (w Want) key() string { return w.Class + ":" + w.Name + ":" + matchHash(w.Match) }

func (w Want) comment(gen string) string {
	return RuleComment(w.Class, w.Name, matchHash(w.Match), gen)
}

func targetOf(args []string) string {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "-j" || args[i] == "-g" {
			return args[i+1]
		}
	}
	return ""
}

// An Installed is a rule Reconcile added: a counted one's counter starts at
// zero under Generation.
type Installed struct {
	Want       Want
	Generation string
}

// A Plan is what Reconcile changed, for the log and for baselines.
type Plan struct {
	Installed []Installed
	Changes   []string // one human line per change
	// Missing names what was not there and had to be added: our chain, the
	// jump to it, or a rule (doctor reports these; reordering and removing
	// stale rules are not in it).
	Missing []string
}

// Changed reports whether Reconcile touched the firewall.
func (p *Plan) Changed() bool { return len(p.Changes) > 0 }

func (p *Plan) note(format string, a ...any) {
	p.Changes = append(p.Changes, fmt.Sprintf(format, a...))
}

// lacked notes a change that added something missing, and what it was.
func (p *Plan) lacked(what string, format string, a ...any) {
	p.note(format, a...)
	p.Missing = append(p.Missing, what)
}

// Reconcile brings our chains in fw to what wants asks for, touching only
// what differs, given rs, the table as just read. Each change is safe to
// repeat: a second call on the result changes nothing. Chains in reseed get a
// fresh canary (theirs read zero and was accounted). Rules we do not own are
// never touched, except to insert our jump above them.
func Reconcile(fw Firewall, rs *Ruleset, wants []Want, reseed map[string]bool, newGen func() string) (*Plan, error) {
	p := &Plan{}
	byChain := map[string][]Want{}
	for _, w := range wants {
		byChain[w.Chain] = append(byChain[w.Chain], w)
	}
	for _, b := range MeterChains {
		if len(byChain[b]) == 0 {
			continue
		}
		if err := reconcileChain(fw, rs, b, byChain[b], reseed[OurChain(b)], newGen, p); err != nil {
			return p, err
		}
	}
	// Any other chain of ours (a built-in chain nothing uses any more, or a
	// name from another version) goes, with its jumps.
	for name := range rs.Chains {
		if strings.HasPrefix(name, ChainPrefix) && len(byChain[strings.TrimPrefix(name, ChainPrefix+"-")]) == 0 {
			if err := removeChain(fw, rs, name, p); err != nil {
				return p, err
			}
		}
	}
	return p, nil
}

func reconcileChain(fw Firewall, rs *Ruleset, builtin string, wants []Want, reseed bool, newGen func() string, p *Plan) error {
	fam := fw.Family()
	ours := OurChain(builtin)
	rules, exists := rs.Chains[ours]
	if !exists {
		if err := fw.NewChain(ours); err != nil {
			return fmt.Errorf("create chain %s (%s): %w", ours, fam, err)
		}
		p.lacked(fmt.Sprintf("no chain %s (%s)", ours, fam), "created chain %s (%s)", ours, fam)
	}
	t := triage(rules, wants, reseed)
	// Delete by rule number from the bottom, so numbers above stay valid.
	// Only our own chain is edited this way.
	for _, i := range uniqueDescending(t.drop) {
		if err := fw.Delete(ours, strconv.Itoa(i+1)); err != nil {
			return fmt.Errorf("delete rule %d of %s (%s): %w", i+1, ours, fam, err)
		}
		p.note("deleted %s rule %d (%s) %q", ours, i+1, fam, rules[i].Comment)
	}
	skipped := installMissing(fw, ours, wants, t.kept, newGen, p)
	if err := appendTail(fw, ours, t, newGen, p); err != nil {
		return errors.Join(skipped, err)
	}
	return errors.Join(skipped, reconcileJump(fw, rs, builtin, newGen, p))
}

// A chainTriage says which rules of our chain stay: the wanted rules that
// stand in the wanted order (by key), the return and the canary after it.
type chainTriage struct {
	kept                   map[string]bool
	drop                   []int // indexes of the rules that go
	keptReturn, keptCanary bool
}

// triage keeps the rules that stand in the wanted order; everything else
// in our chain goes: duplicates, stale or misplaced rules, rules others
// put there, and a canary on the wrong side of the return (or one to be
// replaced: reseed). Order matters: a host's address must be added to its
// set before the rule that counts it.
func triage(rules []Rule, wants []Want, reseed bool) chainTriage {
	index := map[string]int{}
	for i, w := range wants {
		index[w.key()] = i
	}
	t := chainTriage{kept: map[string]bool{}}
	last := -1
	for i, r := range rules {
		o := ParseComment(r.Comment)
		ok := false
		switch o.Kind {
		case KindMeter, KindHost:
			j, known := index[o.key()]
			ok = known && !t.keptReturn && j > last && r.Target == targetOf(wants[j].Match)
			if ok {
				t.kept[o.key()], last = true, j
			}
		case kindReturn:
			ok = !t.keptReturn && r.Target == "RETURN"
			t.keptReturn = t.keptReturn || ok
		case KindCanary:
			ok = t.keptReturn && !t.keptCanary && !reseed && r.Target == ""
			t.keptCanary = t.keptCanary || ok
		}
		if !ok {
			t.drop = append(t.drop, i)
		}
	}
	if !t.keptReturn && t.keptCanary {
		// The canary must follow the return; it is appended again.
		for i, r := range rules {
			if ParseComment(r.Comment).Kind == KindCanary {
				t.drop = append(t.drop, i)
			}
		}
		t.keptCanary = false
	}
	return t
}

// installMissing puts each wanted rule that was not kept in its place: what
// is kept is in order already.
//
// A rule the kernel refuses (a match module it lacks: hashlimit for a
// throttle, multiport for the services) is skipped, not the end: the
// rules after it, the return, the canary and the jump still go in, so one
// optional feature the router cannot run does not stop every count. Its
// error is returned with the others.
func installMissing(fw Firewall, ours string, wants []Want, kept map[string]bool, newGen func() string, p *Plan) error {
	fam := fw.Family()
	var errs []error
	for pos, w := range wants {
		if kept[w.key()] {
			continue
		}
		gen := newGen()
		spec := append(append([]string{}, w.Match...), "-m", "comment", "--comment", w.comment(gen))
		if err := fw.Insert(ours, pos+1-len(errs), spec...); err != nil {
			errs = append(errs, fmt.Errorf("add %s %s to %s (%s): %w", ClassName(w.Class), w.Name, ours, fam, err))
			continue
		}
		p.Installed = append(p.Installed, Installed{Want: w, Generation: gen})
		p.lacked(fmt.Sprintf("no rule for %s %s in %s (%s)", ClassName(w.Class), w.Name, ours, fam),
			"installed %s %s in %s (%s)", ClassName(w.Class), w.Name, ours, fam)
	}
	return errors.Join(errs...)
}

// appendTail appends the return and the canary where triage dropped or
// found none.
func appendTail(fw Firewall, ours string, t chainTriage, newGen func() string, p *Plan) error {
	fam := fw.Family()
	if !t.keptReturn {
		if err := fw.Append(ours, "-m", "comment", "--comment", returnComment, "-j", "RETURN"); err != nil {
			return fmt.Errorf("add return to %s (%s): %w", ours, fam, err)
		}
		p.note("added return to %s (%s)", ours, fam)
	}
	if !t.keptCanary {
		// -c sets the new rule's counters: the canary starts at one packet
		// and, sitting after the return, never counts more.
		if err := fw.Append(ours, "-c", "1", "1", "-m", "comment", "--comment", canaryComment(newGen())); err != nil {
			return fmt.Errorf("add canary to %s (%s): %w", ours, fam, err)
		}
		p.note("added canary to %s (%s)", ours, fam)
	}
	return nil
}

// ClassName names a rule class in log lines: "meter" or "host rule".
func ClassName(class string) string {
	if class == classHost {
		return "host rule"
	}
	return "meter"
}

// reconcileJump makes the first rule of builtin our jump, and the only one.
// A new jump goes in before an old one is deleted, so no packet passes
// uncounted while it moves.
func reconcileJump(fw Firewall, rs *Ruleset, builtin string, newGen func() string, p *Plan) error {
	fam := fw.Family()
	ours := OurChain(builtin)
	rules := rs.Chains[builtin]
	firstOK := len(rules) > 0 && rules[0].Target == ours && ParseComment(rules[0].Comment).Kind == KindJump
	if !firstOK {
		if err := fw.Insert(builtin, 1, "-m", "comment", "--comment", jumpComment(newGen()), "-j", ours); err != nil {
			return fmt.Errorf("add jump to %s in %s (%s): %w", ours, builtin, fam, err)
		}
		p.lacked(fmt.Sprintf("no jump to %s at the top of %s (%s)", ours, builtin, fam),
			"added jump to %s at the top of %s (%s)", ours, builtin, fam)
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
		if strings.HasPrefix(name, ChainPrefix) {
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
