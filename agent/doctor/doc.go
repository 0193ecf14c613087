// Package doctor explains why numbers could be wrong or missing: each
// check reads the machine through the System seam (commands, files,
// firewalls, the daemon) and reports OK, WARN or FAIL with its fix. It
// changes nothing: our rules are planned against a firewall that only
// records, and what is missing comes from the plan, never from log text.
package doctor
