// Package web is the daemon's optional web server (option listen): the
// embedded page, the JSON API and /metrics. Every handler asks the
// daemon's loop through package control; nothing here reads the database
// or the firewall. Built with -tags noweb it is a stub that refuses
// option listen.
package web
