package netfilter

// Firewall is the part of one family's iptables the agent uses, all in the
// filter table. The real one runs iptables; tests use a fake.
type Firewall interface {
	Family() Family
	// Rules reads the whole filter table with counters, in one process.
	Rules() (*Ruleset, error)
	NewChain(chain string) error
	// ClearChain flushes a chain, creating it if missing.
	ClearChain(chain string) error
	DeleteChain(chain string) error
	Insert(chain string, pos int, rulespec ...string) error
	Append(chain string, rulespec ...string) error
	Delete(chain string, rulespec ...string) error
}
