package netfilter

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/netmon-agent/netmon-agent/agent/netlink"
)

// A table of our name is ours when it carries our comment, or when it was
// made before the comment and holds nothing but ours; anything else is
// foreign, and says what gave it away.
func TestNftOwner(t *testing.T) {
	legacy, err := os.ReadFile("testdata/nft-list-ip-netmon.txt") // made without the comment
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, list, foreign string
	}{
		{"ours, with our comment", "table ip netmon { # handle 3\n\tcomment \"netmon-agent\"\n\tchain forward { # handle 1\n\t\tdrop # handle 2\n\t}\n}\n", ""},
		{"ours, made before the comment", string(legacy), ""},
		{"another program's comment", "table ip netmon { # handle 3\n\tcomment \"made by hand\"\n}\n", `its comment is "made by hand"`},
		{"a set not ours", "table ip netmon { # handle 3\n\tset blocklist { # handle 1\n\t\ttype ipv4_addr\n\t}\n}\n", "set blocklist is not one of ours"},
		{"a chain not ours", "table ip netmon { # handle 3\n\tchain prerouting { # handle 1\n\t}\n}\n", "chain prerouting is not one of ours"},
		{"a rule without our comment in a chain of our name", "table ip netmon { # handle 3\n\tset netmon-dl4 { # handle 1\n\t\ttype ipv4_addr\n\t}\n\tchain forward { # handle 2\n\t\ttype filter hook forward priority filter; policy accept;\n\t\tip saddr 198.18.9.9 drop # handle 4\n\t}\n\tchain INPUT { # handle 3\n\t}\n}\n",
			"rule handle 4 of chain forward has no comment of ours"},
	} {
		d, err := parseNftList([]byte(c.list))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		err = d.owner(IPv4)
		switch {
		case c.foreign == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.foreign != "" && (!errors.Is(err, ErrForeignTable) || !strings.Contains(err.Error(), c.foreign)):
			t.Errorf("%s: %v, want foreign for %q", c.name, err, c.foreign)
		case c.foreign != "" && strings.Contains(err.Error(), "\n"):
			t.Errorf("%s: the error is not one line: %q", c.name, err)
		}
		if c.foreign != "" && !ForeignFamilies(errors.Join(errors.New("other"), err))[IPv4] {
			t.Errorf("%s: ForeignFamilies does not find it", c.name)
		}
	}
}

// The kernel gives a table's comment in its user data, as libnftnl writes
// it: type 0, length, the text with its NUL.
func TestParseNftTableMsg_Comment(t *testing.T) {
	udata := append([]byte{0, byte(len(nftOwner) + 1)}, netlink.String(nftOwner)...)
	msg := append([]byte{2, 0, 0, 0}, netlink.Encode(
		netlink.Attr{Type: nftaTableName, Data: netlink.String(nftTable)},
		netlink.Attr{Type: nftaTableUserdata, Data: udata},
	)...)
	name, _, comment, err := parseNftTableMsg(msg)
	if err != nil || name != nftTable || comment != nftOwner {
		t.Errorf("name %q comment %q err %v", name, comment, err)
	}
}
