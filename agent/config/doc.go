// Package config reads /etc/config/netmon: the agent's options, the
// meters, named hosts, quotas with their billing periods (period.go) and
// the mail section, each checked as it is read.
//
// A Config that Load returns is valid: every value is in range and every
// error names the file and line of what is wrong, in one line. Defaults
// are the ones README's config table states.
package config
