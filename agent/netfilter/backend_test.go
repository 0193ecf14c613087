package netfilter

import "testing"

// A backend is chosen once: whatever a process opens from one Resolve
// (firewalls, sets, the other backend for removal), `iptables --version`
// runs at most once.
func TestResolve_AsksIptablesVersionAtMostOnce(t *testing.T) {
	for _, c := range []struct {
		option string
		bins   []string
		want   int // version runs
	}{
		{"auto", []string{"nft", "iptables"}, 1},     // choose asks; the sets reuse it
		{"iptables", []string{"nft", "iptables"}, 1}, // the sets ask, once
		{"nftables", []string{"nft"}, 0},
		{"legacy", []string{"iptables"}, 0},
	} {
		runs := 0
		has := func(bin string) bool {
			for _, b := range c.bins {
				if b == bin {
					return true
				}
			}
			return false
		}
		b := resolve(c.option, has, func() string { runs++; return "iptables v1.8.9 (legacy)" })
		for range 3 {
			if _, _, err := b.setsKind("auto"); err != nil { // what Sets asks
				t.Fatal(err)
			}
		}
		if o := b.Other(); o.Native == b.Native {
			t.Errorf("%s: the other backend of %s is %s", c.option, b.Name(), o.Name())
		}
		if runs != c.want {
			t.Errorf("%s: iptables --version ran %d times, want %d", c.option, runs, c.want)
		}
	}
}
