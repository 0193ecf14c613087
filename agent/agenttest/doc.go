// Package agenttest runs the real daemon (agent.Run) on fake firewalls,
// sets and neighbours in a temporary directory, for tests of what talks to
// it: the socket, the web server, the one-shot commands.
package agenttest
