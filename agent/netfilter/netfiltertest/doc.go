// Package netfiltertest has fakes of netfilter's Firewall and Sets for
// tests: map-backed tables and sets that fail as the real tools do
// (unknown chain, deleting a chain still in use, a missing rule) and whose
// counters a test moves by hand.
package netfiltertest
