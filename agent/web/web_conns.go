//go:build !noweb

package web

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"time"
)

// The web server's connections are a small pool a LAN client without the
// token must not be able to hold (slowloris: connections that trickle
// their headers). Three bounds keep it answering:
//
//   - at most perClient connections from one address (an IPv6 /64 counts
//     as one: a host has many addresses there);
//   - ReadHeaderTimeout (Timeouts.Header) closes a connection that has not
//     sent its headers in time;
//   - when the pool is full, a new connection takes the slot of the oldest
//     connection of the address that holds the most, provided its own
//     address holds fewer: whoever holds many slots gives them up to
//     whoever holds few, so the owner's browser gets in however many
//     connections others keep open. A request that passed the token check
//     is never cut.
const perClient = 8

// A connPool is the listener's side of the bounds above.
type connPool struct {
	net.Listener
	max int

	mu       sync.Mutex
	conns    map[*poolConn]bool
	byClient map[string]int
	now      func() time.Time
}

// LimitListener serves at most n connections from ln, as connPool says.
func LimitListener(ln net.Listener, n int) net.Listener {
	return &connPool{Listener: ln, max: n, conns: map[*poolConn]bool{}, byClient: map[string]int{}, now: time.Now}
}

// A poolConn is one connection of the pool.
type poolConn struct {
	net.Conn
	pool   *connPool
	client string

	// Under pool.mu: when the connection last started waiting for a
	// request (accepted, or its last request ended), and whether an
	// authorized request is in progress.
	waiting time.Time
	trusted bool
	closed  bool
}

// clientKey is the address a connection counts against: the IPv4
// address, or the /64 of an IPv6 one.
func clientKey(a net.Addr) string {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return a.String()
	}
	ip := ap.Addr().Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

func (p *connPool) Accept() (net.Conn, error) {
	for {
		c, err := p.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if pc := p.admit(c); pc != nil {
			return pc, nil
		}
		c.Close()
	}
}

// admit takes c into the pool, making room by evicting a victim when
// full; nil means c is refused.
func (p *connPool) admit(c net.Conn) *poolConn {
	key := clientKey(c.RemoteAddr())
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byClient[key] >= perClient {
		return nil
	}
	if len(p.conns) >= p.max {
		victim := p.victim(key)
		if victim == nil {
			return nil
		}
		p.drop(victim)
		victim.Conn.Close() // its server goroutine sees the error and ends
	}
	pc := &poolConn{Conn: c, pool: p, client: key, waiting: p.now()}
	p.conns[pc] = true
	p.byClient[key]++
	return pc
}

// victim is the slot a newcomer from client key may take in a full pool:
// the oldest untrusted connection of the address holding the most, if
// that is more than key holds; nil when there is none.
func (p *connPool) victim(key string) *poolConn {
	var v *poolConn
	for c := range p.conns {
		if c.trusted {
			continue
		}
		if v == nil || p.byClient[c.client] > p.byClient[v.client] ||
			p.byClient[c.client] == p.byClient[v.client] && c.waiting.Before(v.waiting) {
			v = c
		}
	}
	if v == nil || p.byClient[v.client] <= p.byClient[key] {
		return nil
	}
	return v
}

// drop takes c out of the pool; under p.mu.
func (p *connPool) drop(c *poolConn) {
	if c.closed {
		return
	}
	c.closed = true
	delete(p.conns, c)
	if p.byClient[c.client]--; p.byClient[c.client] <= 0 {
		delete(p.byClient, c.client)
	}
}

func (c *poolConn) Close() error {
	c.pool.mu.Lock()
	c.pool.drop(c)
	c.pool.mu.Unlock()
	return c.Conn.Close()
}

// trust marks an authorized request in progress on c (it is not evicted)
// and returns what ends it, which starts c's wait for the next request.
func (c *poolConn) trust() (done func()) {
	c.pool.mu.Lock()
	c.trusted = true
	c.pool.mu.Unlock()
	return func() {
		c.pool.mu.Lock()
		c.trusted, c.waiting = false, c.pool.now()
		c.pool.mu.Unlock()
	}
}

// connKey is the context key of a request's poolConn.
type connKey struct{}

// withConn is the server's ConnContext: each request can find its
// connection.
func withConn(ctx context.Context, c net.Conn) context.Context {
	if pc, ok := c.(*poolConn); ok {
		return context.WithValue(ctx, connKey{}, pc)
	}
	return ctx
}

// trustRequest marks the connection of ctx trusted for the request; the
// returned func ends that.
func trustRequest(ctx context.Context) func() {
	if pc, ok := ctx.Value(connKey{}).(*poolConn); ok {
		return pc.trust()
	}
	return func() {}
}
