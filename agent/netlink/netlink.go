// Package netlink reads kernel tables over netlink sockets: it sends dump
// requests and splits the answers into messages and attributes. It is what
// lets the daemon read nftables counters and the neighbour table without
// starting a process per sample.
//
// # Invariants
//
//   - Only dump requests are sent: nothing here changes the kernel.
//   - Every length in an answer is checked before it is used: a short or
//     malformed message is an error, never a panic or an endless loop.
//   - A receive waits at most Timeout, so a kernel that never answers
//     cannot stall sampling.
//   - A Conn is used by one goroutine at a time.
//
// Parsing takes bytes (Messages, Attrs), so it is tested on captured
// answers without a socket.
package netlink

import (
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ErrRefused means the kernel or the sandbox refused a netlink socket or a
// request (no permission, no such protocol): callers fall back to a tool.
var ErrRefused = errors.New("netlink refused")

// Timeout bounds each wait for an answer.
const Timeout = 5 * time.Second

const headerLen = unix.SizeofNlMsghdr // 16

// A Conn is one netlink socket of one protocol.
type Conn struct {
	fd  int
	seq uint32
	buf []byte
}

// Dial opens a netlink socket of protocol proto (unix.NETLINK_NETFILTER,
// unix.NETLINK_ROUTE).
func Dial(proto int) (*Conn, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return nil, refusal("open netlink socket", err)
	}
	tv := unix.NsecToTimeval(Timeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netlink receive timeout: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, refusal("bind netlink socket", err)
	}
	return &Conn{fd: fd, buf: make([]byte, 64<<10)}, nil
}

func refusal(what string, err error) error {
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPROTONOSUPPORT) || errors.Is(err, unix.EAFNOSUPPORT) {
		return fmt.Errorf("%s: %w: %w", what, ErrRefused, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Close closes the socket. Closing it again does nothing: the descriptor
// may be another file's by then.
func (c *Conn) Close() error {
	if c.fd < 0 {
		return nil
	}
	fd := c.fd
	c.fd = -1
	return unix.Close(fd)
}

// Dump sends a dump request of type typ with payload (the family header
// and attributes) and hands the payload of each answer to f, in order, as
// it arrives: m is valid only until f returns (it is the receive buffer).
// f's error ends the dump.
func (c *Conn) Dump(typ uint16, payload []byte, f func(m []byte) error) error {
	c.seq++
	req := make([]byte, headerLen+len(payload))
	binary.NativeEndian.PutUint32(req[0:], uint32(len(req)))
	binary.NativeEndian.PutUint16(req[4:], typ)
	binary.NativeEndian.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	binary.NativeEndian.PutUint32(req[8:], c.seq)
	copy(req[headerLen:], payload)
	if err := unix.Sendto(c.fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return refusal("netlink request", err)
	}
	for {
		n, _, err := unix.Recvfrom(c.fd, c.buf, 0)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) {
				return fmt.Errorf("netlink: no answer in %s", Timeout)
			}
			return fmt.Errorf("netlink receive: %w", err)
		}
		done, err := eachMessage(c.buf[:n], c.seq, f)
		if err != nil || done {
			return err
		}
	}
}

// Messages splits one datagram of answers to request seq into the payloads
// of its data messages. done is set by the message that ends a dump; an
// error message becomes the error (ENOENT: the thing asked for is not
// there, which callers check with errors.Is(err, syscall.ENOENT)).
// Answers to other requests are skipped.
func Messages(b []byte, seq uint32) (msgs [][]byte, done bool, err error) {
	done, err = eachMessage(b, seq, func(m []byte) error {
		msgs = append(msgs, m)
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return msgs, done, nil
}

// eachMessage is Messages handing each payload to f as it goes, with no
// slice of them: what Dump does with every datagram. f's error ends it.
func eachMessage(b []byte, seq uint32, f func(m []byte) error) (done bool, err error) {
	for len(b) > 0 {
		if len(b) < headerLen {
			return false, fmt.Errorf("netlink: message of %d bytes, shorter than its header", len(b))
		}
		l := int(binary.NativeEndian.Uint32(b[0:]))
		typ := binary.NativeEndian.Uint16(b[4:])
		if l < headerLen || l > len(b) {
			return false, fmt.Errorf("netlink: message length %d out of 16..%d", l, len(b))
		}
		body := b[headerLen:l]
		if binary.NativeEndian.Uint32(b[8:]) == seq {
			switch typ {
			case unix.NLMSG_DONE:
				return true, nil
			case unix.NLMSG_ERROR:
				if len(body) < 4 {
					return false, errors.New("netlink: short error message")
				}
				if code := int32(binary.NativeEndian.Uint32(body)); code != 0 {
					return false, refusal("netlink", syscall.Errno(-code))
				}
				return true, nil
			case unix.NLMSG_NOOP:
			default:
				if err := f(body); err != nil {
					return false, err
				}
			}
		}
		if align(l) >= len(b) {
			break
		}
		b = b[align(l):]
	}
	return false, nil
}

func align(n int) int { return (n + 3) &^ 3 }

// An Attr is one netlink attribute. Type has the nested and byte-order
// flags cleared.
type Attr struct {
	Type uint16
	Data []byte
}

const attrHeaderLen = 4

// Attrs splits b into attributes, in one allocation: they are counted
// first.
func Attrs(b []byte) ([]Attr, error) {
	n := 0
	it := Iter(b)
	for it.Next() {
		n++
	}
	if err := it.Err(); err != nil {
		return nil, err
	}
	out := make([]Attr, 0, n)
	for it = Iter(b); it.Next(); {
		out = append(out, it.Attr())
	}
	return out, nil
}

// Walk calls f with each attribute of b in turn: an AttrIter with a
// callback, for parsers that read a few messages a sample.
func Walk(b []byte, f func(Attr) error) error {
	it := Iter(b)
	for it.Next() {
		if err := f(it.Attr()); err != nil {
			return err
		}
	}
	return it.Err()
}

// An AttrIter steps through attributes in a loop, with no closure to
// allocate (what Walk's callers capture escapes to the heap): the parsers
// of set elements, thousands a sample, use it.
//
//	for it := netlink.Iter(b); it.Next(); {
//		a := it.Attr()
//	}
//	if err := it.Err(); err != nil {
type AttrIter struct {
	rest []byte
	cur  Attr
	err  error
}

// Iter starts an AttrIter over b.
func Iter(b []byte) AttrIter { return AttrIter{rest: b} }

// Next moves to the next attribute; false at the end of b or at a
// malformed attribute, which Err then reports.
func (it *AttrIter) Next() bool {
	b := it.rest
	if it.err != nil || len(b) == 0 {
		return false
	}
	if len(b) < attrHeaderLen {
		it.err = fmt.Errorf("netlink: %d bytes after the last attribute", len(b))
		return false
	}
	l := int(binary.NativeEndian.Uint16(b[0:]))
	if l < attrHeaderLen || l > len(b) {
		it.err = fmt.Errorf("netlink: attribute length %d out of 4..%d", l, len(b))
		return false
	}
	it.cur = Attr{Type: binary.NativeEndian.Uint16(b[2:]) &^ (unix.NLA_F_NESTED | unix.NLA_F_NET_BYTEORDER), Data: b[attrHeaderLen:l]}
	if align(l) >= len(b) {
		it.rest = nil
	} else {
		it.rest = b[align(l):]
	}
	return true
}

// Attr is the attribute Next moved to.
func (it *AttrIter) Attr() Attr { return it.cur }

// Err is what ended the walk early, if anything did.
func (it *AttrIter) Err() error { return it.err }

// IsText reports whether a NUL-terminated string attribute reads s,
// without making a string of it.
func (a Attr) IsText(s string) bool {
	d := a.Data
	if n := len(d); n > 0 && d[n-1] == 0 {
		d = d[:n-1]
	}
	return string(d) == s
}

// Encode renders attributes, each padded to four bytes.
func Encode(attrs ...Attr) []byte {
	var b []byte
	for _, a := range attrs {
		l := attrHeaderLen + len(a.Data)
		h := make([]byte, attrHeaderLen)
		binary.NativeEndian.PutUint16(h[0:], uint16(l))
		binary.NativeEndian.PutUint16(h[2:], a.Type)
		b = append(append(b, h...), a.Data...)
		b = append(b, make([]byte, align(l)-l)...)
	}
	return b
}

// String is a NUL-terminated string attribute's text.
func String(s string) []byte { return append([]byte(s), 0) }

// Text reads a NUL-terminated string attribute.
func (a Attr) Text() string {
	d := a.Data
	for i, c := range d {
		if c == 0 {
			return string(d[:i])
		}
	}
	return string(d)
}

// Uint64 reads a big-endian 64-bit attribute (nftables' byte order).
func (a Attr) Uint64() (uint64, error) {
	if len(a.Data) != 8 {
		return 0, fmt.Errorf("netlink: attribute %d: %d bytes, want 8", a.Type, len(a.Data))
	}
	return binary.BigEndian.Uint64(a.Data), nil
}

// Uint32 reads a big-endian 32-bit attribute.
func (a Attr) Uint32() (uint32, error) {
	if len(a.Data) != 4 {
		return 0, fmt.Errorf("netlink: attribute %d: %d bytes, want 4", a.Type, len(a.Data))
	}
	return binary.BigEndian.Uint32(a.Data), nil
}

// A Socket is a netlink socket of protocol Proto kept open from dump to
// dump: opening one, with its 64 KiB buffer, at every read was a tenth of
// a sample's CPU at 254 hosts. A failed dump closes it (one given up
// halfway would still be running on it and refuse the next with EBUSY);
// the next opens a new one. Its owner closes it, or registers Close with
// runtime.AddCleanup when it may be dropped without a word (a reload).
// A Socket is used by one goroutine at a time.
type Socket struct {
	Proto int
	c     *Conn
}

// Dump is Conn.Dump on the socket, opened first if it is not.
func (s *Socket) Dump(typ uint16, payload []byte, f func(m []byte) error) error {
	if s.c == nil {
		c, err := Dial(s.Proto)
		if err != nil {
			return err
		}
		s.c = c
	}
	err := s.c.Dump(typ, payload, f)
	if err != nil {
		s.Close()
	}
	return err
}

// Close closes the socket, if it is open.
func (s *Socket) Close() error {
	if s.c == nil {
		return nil
	}
	err := s.c.Close()
	s.c = nil
	return err
}
