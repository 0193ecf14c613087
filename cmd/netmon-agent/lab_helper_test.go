package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"
)

// labHelper is the test binary re-executed inside a lab host: the helper
// the mode names (labHelpers, floodHelpers), its error on stderr.
func labHelper(mode string, args []string) int {
	h, ok := labHelpers[mode]
	if !ok {
		h, ok = floodHelpers[mode]
	}
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown helper %q\n", mode)
		return 1
	}
	if err := h(args); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// labHelpers are what a lab host runs: servers that print "ready" and
// serve until killed, and senders.
var labHelpers = map[string]func(args []string) error{
	"sink":    helperSink,
	"udp":     helperUDP,
	"bridge":  helperBridge,
	"udpfrom": helperUDPFrom,
	"tcp":     helperTCP,
	"source":  helperSource,
	"pull":    helperPull,
	"flood":   helperFlood,
}

// helperSink runs `sink`: a TCP sink on port 7000, for IPv4 and IPv6.
func helperSink(args []string) error {
	ln, err := net.Listen("tcp", ":7000")
	if err != nil {
		return err
	}
	return serve(ln, func(c net.Conn) {
		io.Copy(io.Discard, c)
		c.Close()
	})
}

// helperUDP runs `udp ADDR COUNT SIZE`.
func helperUDP(args []string) error {
	count, _ := strconv.Atoi(args[2])
	size, _ := strconv.Atoi(args[3])
	c, err := net.Dial("udp", args[1])
	if err != nil {
		return err
	}
	defer c.Close()
	payload := bytes.Repeat([]byte{'x'}, size)
	for i := 0; i < count; i++ {
		c.Write(payload) // a port-unreachable answer may fail a later write; the packet was sent
		time.Sleep(time.Millisecond)
	}
	return nil
}

// helperBridge runs `bridge SOCKET ADDR`: a unix socket whose connections go on to ADDR over TCP.
func helperBridge(args []string) error {
	os.Remove(args[1])
	ln, err := net.Listen("unix", args[1])
	if err != nil {
		return err
	}
	return serve(ln, func(c net.Conn) {
		splice(c, func() (net.Conn, error) { return net.DialTimeout("tcp", args[2], 5*time.Second) })
	})
}

// serve says "ready", then hands each connection ln accepts to handle, in
// a goroutine of its own, until ln fails.
func serve(ln net.Listener, handle func(net.Conn)) error {
	fmt.Println("ready")
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go handle(c)
	}
}

// helperUDPFrom runs `udpfrom LOCAL ADDR SIZE [COUNT]`: datagrams from a given address.
func helperUDPFrom(args []string) error {
	local, err := net.ResolveUDPAddr("udp", args[1])
	if err != nil {
		return err
	}
	remote, err := net.ResolveUDPAddr("udp", args[2])
	if err != nil {
		return err
	}
	size, _ := strconv.Atoi(args[3])
	c, err := net.DialUDP("udp", local, remote)
	if err != nil {
		return err
	}
	defer c.Close()
	count := 1
	if len(args) > 4 {
		count, _ = strconv.Atoi(args[4])
	}
	for range count {
		c.Write(bytes.Repeat([]byte{'u'}, size))
		time.Sleep(time.Millisecond)
	}
	return nil
}

// helperTCP runs `tcp ADDR BYTES`.
func helperTCP(args []string) error {
	n, _ := strconv.Atoi(args[2])
	timeout := 5 * time.Second
	if d, err := time.ParseDuration(os.Getenv("NETMON_LAB_TIMEOUT")); err == nil {
		timeout = d
	}
	c, err := net.DialTimeout("tcp", args[1], timeout)
	if err != nil {
		return err
	}
	c.SetDeadline(time.Now().Add(timeout + 10*time.Second))
	if _, err := c.Write(bytes.Repeat([]byte{'y'}, n)); err != nil {
		return err
	}
	c.(*net.TCPConn).CloseWrite()
	if _, err := io.Copy(io.Discard, c); err != nil { // until the sink's FIN: the close is done
		return err
	}
	c.Close()
	return nil
}

// helperSource runs `source [PORT]`: on port 7100 (or PORT), send to each connection until it closes.
func helperSource(args []string) error {
	port := "7100"
	if len(args) > 1 {
		port = args[1]
	}
	ln, err := net.Listen("tcp", ":"+port)
	if err != nil {
		return err
	}
	chunk := bytes.Repeat([]byte{'s'}, 64<<10)
	return serve(ln, func(c net.Conn) {
		for {
			if _, err := c.Write(chunk); err != nil {
				c.Close()
				return
			}
		}
	})
}

// helperPull runs `pull ADDR WARMUP SPAN`: read from a source; print bytes per second over SPAN after WARMUP.
func helperPull(args []string) error {
	warm, err1 := time.ParseDuration(args[2])
	span, err2 := time.ParseDuration(args[3])
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	c, err := net.DialTimeout("tcp", args[1], 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	buf := make([]byte, 64<<10)
	start := time.Now()
	c.SetReadDeadline(start.Add(warm + span + 10*time.Second))
	var n int64
	var from time.Time
	for {
		k, err := c.Read(buf)
		if err != nil {
			return err
		}
		now := time.Now()
		if now.Sub(start) < warm {
			continue
		}
		if from.IsZero() {
			from = now
			continue // what came before this read belongs to the warm-up
		}
		n += int64(k)
		if now.Sub(from) >= span {
			fmt.Println(int64(float64(n) / now.Sub(from).Seconds()))
			return nil
		}
	}
}

// helperFlood runs `flood ADDR SECONDS`: UDP at a steady rate, for kill tests.
func helperFlood(args []string) error {
	secs, _ := strconv.ParseFloat(args[2], 64)
	c, err := net.Dial("udp", args[1])
	if err != nil {
		return err
	}
	end := time.Now().Add(time.Duration(secs * float64(time.Second)))
	payload := bytes.Repeat([]byte{'z'}, 500)
	for time.Now().Before(end) {
		c.Write(payload)
		time.Sleep(200 * time.Microsecond)
	}
	return nil
}

// splice joins c to the connection dial makes, both ways, until either
// closes.
func splice(c net.Conn, dial func() (net.Conn, error)) {
	defer c.Close()
	up, err := dial()
	if err != nil {
		return
	}
	defer up.Close()
	go io.Copy(up, c)
	io.Copy(c, up)
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
