// Package accounttest is a rig for tests of the sampler and what reads its
// state: a Sampler on fake firewalls, sets and neighbours, an injected
// clock, and a real store in a temporary directory.
package accounttest
