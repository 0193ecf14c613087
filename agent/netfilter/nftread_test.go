package netfilter

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/netmon-agent/netmon-agent/agent/netlink"
	"github.com/netmon-agent/netmon-agent/agent/netlink/netlinktest"
	"github.com/netmon-agent/netmon-agent/store"
	"golang.org/x/sys/unix"
)

// readNetlinkCapture reads a testdata/netlink-*.bin file: length-prefixed
// message payloads, captured on a little-endian machine and put into this
// one's byte order.
func readNetlinkCapture(t *testing.T, name string) [][]byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for len(b) >= 4 {
		n := int(binary.LittleEndian.Uint32(b))
		out = append(out, netlinktest.Native(b[4:4+n], 4, nil)) // nfgenmsg: no host-order field
		b = b[4+n:]
	}
	return out
}

// capturedReader answers nftReader's dumps with the captures of family
// fam; the elements of sets other than the download set are empty.
func capturedReader(t *testing.T, fam string) *nftReader {
	kinds := map[int]string{unix.NFT_MSG_GETTABLE: "tables", unix.NFT_MSG_GETCHAIN: "chains", unix.NFT_MSG_GETRULE: "rules", unix.NFT_MSG_GETSET: "sets"}
	answer := func(typ uint16, payload []byte) ([][]byte, error) {
		msg := int(typ & 0xff)
		if msg == unix.NFT_MSG_GETSETELEM {
			attrs, err := netlink.Attrs(payload[4:])
			if err != nil {
				return nil, err
			}
			set := attrs[1].Text()
			if strings.HasPrefix(set, "netmon-dl") {
				return readNetlinkCapture(t, "netlink-"+fam+"-elems-"+strings.TrimPrefix(set, "netmon-")+".bin"), nil
			}
			return nil, nil
		}
		return readNetlinkCapture(t, "netlink-"+fam+"-"+kinds[msg]+".bin"), nil
	}
	return &nftReader{ask: func(typ uint16, payload []byte, f func([]byte) error) error {
		msgs, err := answer(typ, payload)
		for _, m := range msgs {
			if err := f(m); err != nil {
				return err
			}
		}
		return err
	}}
}

func TestNftReader_RealCapture(t *testing.T) {
	for _, c := range []struct {
		fam    Family
		host   string
		dl     store.Counts
		meters []string
	}{
		{IPv4, "198.18.1.2", store.Counts{Packets: 3, Bytes: 384}, []string{"netmon:m:proxy:99e2655d:52fa8335", "netmon:m:offnet:eb8fb02a:790684ac", "netmon-return", "netmon-canary:7e90876b"}},
		{IPv6, "2001:db8:1::2", store.Counts{Packets: 4, Bytes: 416}, []string{"netmon:m:v6up:10bb2f04:3058634a", "netmon-return", "netmon-canary:5a462bfa"}},
	} {
		d, err := capturedReader(t, nftFamily(c.fam)).Read(c.fam, true)
		if err != nil {
			t.Fatalf("%s: %v", c.fam, err)
		}
		dl := d.Sets[SetName(store.DirDownload, c.fam)]
		if dl == nil || dl.Family != c.fam || !dl.Counters || dl.Elements[netip.MustParseAddr(c.host)] != c.dl {
			t.Errorf("%s: download set %+v, want %s with %+v", c.fam, dl, c.host, c.dl)
		}
		rs := d.Ruleset()
		var ours string
		for name := range rs.Chains {
			if strings.HasPrefix(name, ChainPrefix+"-") {
				ours = name
			}
		}
		var comments []string
		for _, r := range rs.Chains[ours] {
			comments = append(comments, r.Comment)
		}
		if !reflect.DeepEqual(comments, c.meters) {
			t.Errorf("%s: chain %s holds %q, want %q", c.fam, ours, comments, c.meters)
		}
		n := len(rs.Chains[ours])
		if canary := rs.Chains[ours][n-1]; canary.Packets != 1 || canary.Bytes != 1 || canary.Target != "" {
			t.Errorf("%s: canary %+v, want 1 packet, 1 byte, no verdict", c.fam, canary)
		}
		if ret := rs.Chains[ours][n-2]; ret.Target != "RETURN" {
			t.Errorf("%s: return rule %+v", c.fam, ret)
		}
		builtin := strings.TrimPrefix(ours, ChainPrefix+"-")
		if jump := rs.Chains[builtin]; !rs.Builtin[builtin] || len(jump) != 1 || jump[0].Target != ours {
			t.Errorf("%s: base chain %s: %+v", c.fam, builtin, jump)
		}
	}
}

// The text fallback reads the same tables as netlink, to the counter.
func TestNftReader_TextAgreesWithNetlink(t *testing.T) {
	for _, f := range Families {
		nl, err := capturedReader(t, nftFamily(f)).Read(f, true)
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.ReadFile("testdata/nft-list-" + nftFamily(f) + "-netmon-meters.txt")
		if err != nil {
			t.Fatal(err)
		}
		text, err := parseNftList(out)
		if err != nil {
			t.Fatal(err)
		}
		// The captures hold elements of the download set only.
		for name, s := range text.Sets {
			if !strings.HasPrefix(name, "netmon-dl") {
				s.Elements = nl.Sets[name].Elements
			}
		}
		if !reflect.DeepEqual(nl, text) {
			t.Errorf("%s: netlink read\n%s\ntext read\n%s", f, dumpString(nl), dumpString(text))
		}
	}
}

func dumpString(d *nftDump) string {
	var b strings.Builder
	fmt.Fprintf(&b, "table %d\n", d.Handle)
	for name, c := range d.Chains {
		fmt.Fprintf(&b, "chain %s base=%v %+v\n", name, c.Base, c.Rules)
	}
	for name, s := range d.Sets {
		fmt.Fprintf(&b, "set %s %+v\n", name, *s)
	}
	return b.String()
}

// Cut answers are errors, never panics.
func TestNftReader_TruncatedAnswers(t *testing.T) {
	for _, name := range []string{"rules", "sets", "chains", "tables", "elems-dl4"} {
		for _, m := range readNetlinkCapture(t, "netlink-ip-"+name+".bin") {
			for cut := 0; cut < len(m); cut++ {
				set := &IPSet{Elements: map[netip.Addr]store.Counts{}}
				parseNftTableMsg(m[:cut])
				parseNftChainMsg(m[:cut])
				parseNftRuleMsg(m[:cut])
				parseNftSetMsg(m[:cut])
				parseNftElemMsg(m[:cut], set)
			}
		}
	}
}
