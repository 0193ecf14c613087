package netfilter

// A Ruleset is the filter table of one family as iptables-save -c prints it:
// every chain with its rules and their counters, in order.
type Ruleset struct {
	Chains map[string][]Rule
	// Builtin holds the chains that have a policy (INPUT, FORWARD, OUTPUT).
	Builtin map[string]bool
}

// A Rule is one rule of a chain. Args are the words after "-A CHAIN", the same
// words iptables takes to add or delete it. Rules that do not mention our
// chain prefix anywhere are kept as place holders only: no Args, no counters.
type Rule struct {
	Args    []string
	Comment string // the --comment value, if any
	Target  string // the -j or -g value, if any
	Packets uint64
	Bytes   uint64
}

// HasChain reports whether the chain exists.
func (rs *Ruleset) HasChain(name string) bool {
	_, ok := rs.Chains[name]
	return ok
}
