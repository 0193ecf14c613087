// Package agent owns netmon-agent's accounting: the meters read from the
// UCI config, our iptables chains and their healing, the sampling that turns
// the kernel's counters into exact deltas, the daemon around it and the
// reports it answers.
//
// The kernel counts; we only read. Every rule we install carries a
// generation in its comment and every total is stored with the baseline it
// was brought up to, so a reading is either the same counter grown (add the
// difference) or a counter that restarted at zero (add all of it). See
// delta for the rules and chains.go for the layout in the filter table.
package agent
