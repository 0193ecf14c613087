// Package agenttest runs the real daemon (daemon.Run) on fake firewalls,
// sets and neighbours in a temporary directory, for tests of what talks to
// it: the socket, the web server, the one-shot commands.
package agenttest
