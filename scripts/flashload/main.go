// Command flashload keeps every host of a lab LAN busy, for
// scripts/bench-flash.sh: every second, from each of the addresses it is
// given (bound as the source, so the router sees that host upload) or to
// each (download), a few UDP datagrams of random sizes.
//
//	flashload -from ADDRS -to HOST:PORT [-netns PATTERN] [-for 5m]
//	flashload -port PORT -to-each ADDRS -dport PORT [-for 5m]
//
// ADDRS is FIRST-LAST over the last byte of an IPv4 address
// (198.18.1.4-255) or of an IPv6 one (2001:db8:1::4-ff), or several of
// them with commas. With -netns, each -from address sends from the network
// namespace PATTERN names with %d as the address's last byte
// (/run/netns/lab-h%d): hosts of their own, each with its MAC, as
// scripts/lab-session.sh's lab_hosts makes them.
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	from := flag.String("from", "", "source addresses, FIRST-LAST")
	to := flag.String("to", "", "destination HOST:PORT of -from")
	port := flag.Int("port", 0, "source port of -to-each")
	toEach := flag.String("to-each", "", "destination addresses, FIRST-LAST")
	dport := flag.Int("dport", 9000, "destination port of -to-each")
	dur := flag.Duration("for", 5*time.Minute, "how long")
	netns := flag.String("netns", "", "namespace of each -from address, %d its last byte")
	flag.Parse()
	var send func() error
	switch {
	case *from != "" && *to != "":
		addrs, err := expand(*from)
		check(err)
		dst, err := net.ResolveUDPAddr("udp", *to)
		check(err)
		conns, err := dialEach(addrs, dst, *netns)
		check(err)
		send = func() error { return fromEach(conns) }
	case *toEach != "":
		addrs, err := expand(*toEach)
		check(err)
		send = func() error { return toEachOf(addrs, *port, *dport) }
	default:
		check(fmt.Errorf("give -from and -to, or -to-each"))
	}
	for end := time.Now().Add(*dur); time.Now().Before(end); time.Sleep(time.Second) {
		check(send())
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "flashload:", err)
		os.Exit(1)
	}
}

// expand reads FIRST-LAST[,FIRST-LAST...].
func expand(s string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, r := range strings.Split(s, ",") {
		addrs, err := expandRange(r)
		if err != nil {
			return nil, err
		}
		out = append(out, addrs...)
	}
	return out, nil
}

func expandRange(s string) ([]netip.Addr, error) {
	base, last, ok := strings.Cut(s, "-")
	first, err := netip.ParseAddr(base)
	if !ok || err != nil {
		return nil, fmt.Errorf("%q: want FIRST-LAST, such as 198.18.1.4-255", s)
	}
	b := first.AsSlice()
	hi, err := strconv.ParseUint(last, map[bool]int{true: 10, false: 16}[first.Is4()], 8)
	if err != nil || byte(hi) < b[len(b)-1] {
		return nil, fmt.Errorf("%q: the last byte is not a number at least the first's", s)
	}
	var out []netip.Addr
	for i := int(b[len(b)-1]); i <= int(hi); i++ {
		b[len(b)-1] = byte(i)
		a, _ := netip.AddrFromSlice(b)
		out = append(out, a)
	}
	return out, nil
}

func payload() []byte { return make([]byte, 64+rand.IntN(1300)) }

// dialEach opens a socket from each address to dst, in its namespace
// when netns names one.
func dialEach(addrs []netip.Addr, dst *net.UDPAddr, netns string) ([]*net.UDPConn, error) {
	var out []*net.UDPConn
	for _, a := range addrs {
		src := net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, 0))
		dial := func() (*net.UDPConn, error) { return net.DialUDP("udp", src, dst) }
		var c *net.UDPConn
		var err error
		if netns == "" {
			c, err = dial()
		} else {
			b := a.AsSlice()
			c, err = inNetns(fmt.Sprintf(netns, b[len(b)-1]), dial)
		}
		if err != nil {
			return nil, fmt.Errorf("from %s: %w", a, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// inNetns runs dial on a thread of its own moved into the namespace at
// path: the socket it opens stays in that namespace. The thread is locked
// and never unlocked, so Go ends it rather than reuse it elsewhere.
func inNetns(path string, dial func() (*net.UDPConn, error)) (*net.UDPConn, error) {
	type result struct {
		c   *net.UDPConn
		err error
	}
	done := make(chan result)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open(path)
		if err != nil {
			done <- result{nil, err}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- result{nil, fmt.Errorf("setns %s: %w", path, err)}
			return
		}
		c, err := dial()
		done <- result{c, err}
	}()
	r := <-done
	return r.c, r.err
}

func fromEach(conns []*net.UDPConn) error {
	for _, c := range conns {
		for range 1 + rand.IntN(4) {
			c.Write(payload())
		}
	}
	return nil
}

func toEachOf(addrs []netip.Addr, port, dport int) error {
	network := "udp6"
	if addrs[0].Is4() {
		network = "udp4"
	}
	c, err := net.ListenUDP(network, &net.UDPAddr{Port: port})
	if err != nil {
		return err
	}
	defer c.Close()
	for _, a := range addrs {
		for range 1 + rand.IntN(4) {
			c.WriteToUDPAddrPort(payload(), netip.AddrPortFrom(a, uint16(dport)))
		}
	}
	return nil
}
