// Package netlinktest puts netlink answers captured on a little-endian
// machine (testdata/*.bin) into the byte order of the machine the tests run
// on, so the parsers are tested on real captures under big-endian mips too.
//
// Netlink headers are in the host's byte order; nftables' values inside
// attributes are big-endian on every machine and stay as they are. Which
// attributes nest is not always flagged (nf_tables nests without
// NLA_F_NESTED), so an attribute whose payload reads as a whole list of
// little-endian attributes is taken for a nest: the tests that use this
// check every value they read, so a wrong guess fails them.
package netlinktest

import "encoding/binary"

var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// Native returns message payload b, captured little-endian, in this
// machine's order: header, its first hdr bytes, goes through swapHeader
// (nil: nothing in it is in host order), then the attributes.
func Native(b []byte, hdr int, swapHeader func(h []byte)) []byte {
	out := append([]byte(nil), b...)
	if littleEndian {
		return out
	}
	if swapHeader != nil {
		swapHeader(out[:hdr])
	}
	swapAttrs(out[hdr:])
	return out
}

// Swap32 and Swap16 reverse a host-order field of a captured header.
func Swap32(b []byte) { binary.BigEndian.PutUint32(b, binary.LittleEndian.Uint32(b)) }
func Swap16(b []byte) { binary.BigEndian.PutUint16(b, binary.LittleEndian.Uint16(b)) }

// swapAttrs rewrites the headers of a little-endian attribute list, and of
// the lists nested in it, in big-endian.
func swapAttrs(b []byte) {
	for len(b) >= 4 {
		l := int(binary.LittleEndian.Uint16(b))
		if l < 4 || l > len(b) {
			return
		}
		payload := b[4:l]
		nested := isAttrList(payload)
		Swap16(b[0:2])
		Swap16(b[2:4])
		if nested {
			swapAttrs(payload)
		}
		next := (l + 3) &^ 3
		if next >= len(b) {
			return
		}
		b = b[next:]
	}
}

// isAttrList reports whether b reads whole as little-endian attributes.
func isAttrList(b []byte) bool {
	if len(b) < 4 {
		return false
	}
	for len(b) > 0 {
		if len(b) < 4 {
			return false
		}
		l := int(binary.LittleEndian.Uint16(b))
		if l < 4 || l > len(b) {
			return false
		}
		next := (l + 3) &^ 3
		if next >= len(b) {
			return next == len(b) || l == len(b)
		}
		b = b[next:]
	}
	return true
}
