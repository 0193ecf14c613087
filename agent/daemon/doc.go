// Package daemon is netmon-agent's daemon: one loop that owns the Agent
// (package agent) and samples every interval, commits every
// commit_interval, writes to flash every persist_interval, and answers
// the control socket and the web page with one small handler per request
// kind (handlers.go). Nothing else touches the Agent while it runs, so
// handlers need no locks. A fault that lasts (a full tmpfs, a read-only
// flash) is two log lines, when it begins and when it ends (faults.go).
package daemon
