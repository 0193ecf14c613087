// Package uci reads the UCI syntax of OpenWrt's config files (libuci's
// `package`, `config`, `option`, `list`, quoting and comments) into
// sections and options with their line numbers. It knows nothing of what
// the options mean: package config does.
package uci
