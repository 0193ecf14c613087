package netfilter

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Ownership of table ip netmon and ip6 netmon. Another program may have a
// table of that name; we change it only when we can prove it is ours: it
// carries our comment (nftOwner, set when we create the table), or, made by
// a version of ours before the comment (nft cannot add a comment to a table
// that exists, and the kernel keeps our table until a reboot), it holds
// nothing but our sets, our chains and rules with our comments. Anything
// else is foreign: every read and change of that family is refused with
// ErrForeignTable, and the other family goes on.

// nftOwner is the comment of every table we create.
const nftOwner = "netmon-agent"

// ErrForeignTable means a table ip netmon or ip6 netmon is someone else's.
var ErrForeignTable = errors.New("not netmon-agent's")

// A ForeignTableError names the foreign table and what gives it away.
type ForeignTableError struct {
	Family Family
	Why    string
}

func (e *ForeignTableError) Error() string {
	return fmt.Sprintf("table %s %s is not netmon-agent's (%s): it is left alone, and %s is not counted until it is renamed or deleted",
		nftFamily(e.Family), nftTable, e.Why, e.Family)
}

func (e *ForeignTableError) Unwrap() error { return ErrForeignTable }

// ForeignFamilies are the families err (possibly joined) names a foreign
// table of.
func ForeignFamilies(err error) map[Family]bool {
	out := map[Family]bool{}
	var walk func(error)
	walk = func(err error) {
		var fe *ForeignTableError
		switch x := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range x.Unwrap() {
				walk(e)
			}
		default:
			if errors.As(err, &fe) {
				out[fe.Family] = true
			}
		}
	}
	if err != nil {
		walk(err)
	}
	return out
}

// owner returns nil if d, our table's name in family f, is ours.
func (d *nftDump) owner(f Family) error {
	if d.Comment == nftOwner {
		return nil
	}
	if d.Comment != "" {
		return &ForeignTableError{Family: f, Why: fmt.Sprintf("its comment is %q", d.Comment)}
	}
	for _, name := range slices.Sorted(maps.Keys(d.Sets)) {
		if !strings.HasPrefix(name, setPrefix) {
			return &ForeignTableError{Family: f, Why: "set " + name + " is not one of ours"}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(d.Chains)) {
		if _, builtin := hooks[name]; !builtin && name != nftHostChain && !strings.HasPrefix(name, ChainPrefix+"-") {
			return &ForeignTableError{Family: f, Why: "chain " + name + " is not one of ours"}
		}
		for _, r := range d.Chains[name].Rules {
			if !strings.HasPrefix(r.Comment, nftCommentPrefix) && ParseComment(r.Comment).Kind == KindForeign {
				return &ForeignTableError{Family: f, Why: fmt.Sprintf("rule handle %d of chain %s has no comment of ours", r.Handle, name)}
			}
		}
	}
	return nil
}

// addTable is the nft line that makes our table of family f, with our
// comment; on a table that exists it changes nothing.
func addTable(f Family) string {
	return fmt.Sprintf("add table %s %s { comment %q; }", nftFamily(f), nftTable, nftOwner)
}
