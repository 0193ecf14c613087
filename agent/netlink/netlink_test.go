package netlink

import (
	"encoding/binary"
	"errors"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func message(typ uint16, seq uint32, body []byte) []byte {
	b := make([]byte, 16, 16+len(body)+3)
	binary.NativeEndian.PutUint32(b[0:], uint32(16+len(body)))
	binary.NativeEndian.PutUint16(b[4:], typ)
	binary.NativeEndian.PutUint32(b[8:], seq)
	b = append(b, body...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func TestMessages(t *testing.T) {
	data := Encode(Attr{Type: 1, Data: String("netmon")}, Attr{Type: 4, Data: []byte{0, 0, 0, 0, 0, 0, 0, 7}})
	dgram := append(append(message(100, 5, data), message(100, 4, []byte{1})...), message(unix.NLMSG_DONE, 5, []byte{0, 0, 0, 0})...)
	msgs, done, err := Messages(dgram, 5)
	if err != nil || !done || len(msgs) != 1 {
		t.Fatalf("Messages: %d messages, done %v, %v", len(msgs), done, err)
	}
	attrs, err := Attrs(msgs[0])
	if err != nil || len(attrs) != 2 || attrs[0].Text() != "netmon" {
		t.Fatalf("Attrs: %+v, %v", attrs, err)
	}
	if v, err := attrs[1].Uint64(); v != 7 || err != nil {
		t.Errorf("Uint64: %d, %v", v, err)
	}
	if _, err := attrs[0].Uint32(); err == nil {
		t.Error("a 7-byte attribute read as a 32-bit number")
	}
}

func TestMessages_ErrorAnswer(t *testing.T) {
	code := make([]byte, 4)
	binary.NativeEndian.PutUint32(code, errno(syscall.ENOENT))
	_, _, err := Messages(message(unix.NLMSG_ERROR, 1, code), 1)
	if !errors.Is(err, syscall.ENOENT) {
		t.Errorf("error answer: %v", err)
	}
	binary.NativeEndian.PutUint32(code, errno(syscall.EPERM))
	if _, _, err := Messages(message(unix.NLMSG_ERROR, 1, code), 1); !errors.Is(err, ErrRefused) {
		t.Errorf("EPERM answer: %v, want ErrRefused", err)
	}
}

// Lengths that lie are errors, never a panic or a loop.
func TestMessages_Malformed(t *testing.T) {
	good := message(100, 1, Encode(Attr{Type: 1, Data: String("x")}))
	for cut := 0; cut < len(good); cut++ {
		Messages(good[:cut], 1)
		Attrs(good[16 : cut+16-min(cut, 16)])
	}
	bad := append([]byte(nil), good...)
	binary.NativeEndian.PutUint32(bad, 1000)
	if _, _, err := Messages(bad, 1); err == nil {
		t.Error("a message longer than the datagram was read")
	}
	if _, err := Attrs([]byte{2, 0, 1, 0}); err == nil {
		t.Error("an attribute shorter than its header was read")
	}
}

// errno is an error answer's code: the negated errno.
func errno(e syscall.Errno) uint32 { return uint32(-int32(e)) }

// An AttrIter reads what Walk reads, and stops with Walk's error on every
// cut of a good answer: a short or overlong attribute is an error, never
// a panic or a loop.
func TestAttrIter_AgreesWithWalk(t *testing.T) {
	good := Encode(Attr{Type: 1, Data: String("counter")}, Attr{Type: 2 | unix.NLA_F_NESTED, Data: Encode(Attr{Type: 1, Data: make([]byte, 8)})}, Attr{Type: 3, Data: []byte{1, 2, 3}})
	for cut := 0; cut <= len(good); cut++ {
		b := good[:cut]
		var walked, iterated []Attr
		werr := Walk(b, func(a Attr) error { walked = append(walked, a); return nil })
		it := Iter(b)
		for it.Next() {
			iterated = append(iterated, it.Attr())
		}
		if (werr == nil) != (it.Err() == nil) || len(walked) != len(iterated) {
			t.Fatalf("cut at %d: Walk read %d attributes (%v), the iterator %d (%v)", cut, len(walked), werr, len(iterated), it.Err())
		}
		for i := range walked {
			if walked[i].Type != iterated[i].Type || string(walked[i].Data) != string(iterated[i].Data) {
				t.Fatalf("cut at %d: attribute %d differs", cut, i)
			}
		}
	}
	it := Iter(good)
	if !it.Next() || !it.Attr().IsText("counter") || it.Attr().IsText("count") {
		t.Error("IsText does not read a NUL-terminated name")
	}
	if it.Next(); it.Attr().Type != 2 {
		t.Errorf("nested flag kept: type %#x", it.Attr().Type)
	}
}
