package config

import (
	"fmt"
	"strings"

	"github.com/netmon-agent/netmon-agent/agent/uci"
)

// Sections given as arguments: what LuCI's settings page is about to save,
// checked by the very readers that check the file (`netmon-agent config
// check @agent=main interval=30 @meter=wan in=wan chain=FORWARD`). A
// section starts with "@TYPE" (anonymous) or "@TYPE=NAME"; an option is
// "NAME=VALUE", a list entry "NAME+=VALUE". A value may hold anything,
// '=' included: only the first one splits.

// ArgsPath names the arguments in errors where a file would be named.
const ArgsPath = "settings"

// SectionsFromArgs reads sections from args as above.
func SectionsFromArgs(args []string) ([]uci.Section, error) {
	var out []uci.Section
	for i, a := range args {
		if t, ok := strings.CutPrefix(a, "@"); ok {
			typ, name, _ := strings.Cut(t, "=")
			if !validWord(typ) || strings.Contains(a, "=") && name == "" {
				return nil, fmt.Errorf("argument %d %q: a section is @TYPE or @TYPE=NAME", i+1, a)
			}
			out = append(out, uci.Section{Type: typ, Name: name})
			continue
		}
		key, value, ok := strings.Cut(a, "=")
		list := strings.HasSuffix(key, "+")
		key = strings.TrimSuffix(key, "+")
		if !ok || !validWord(key) {
			return nil, fmt.Errorf("argument %d %q: an option is NAME=VALUE (a list entry NAME+=VALUE)", i+1, a)
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("argument %d %q: an option before any @TYPE section", i+1, a)
		}
		s := &out[len(out)-1]
		s.Options = append(s.Options, uci.Option{Name: key, Value: value, List: list})
	}
	return out, nil
}

// validWord is what UCI allows in a type or an option name; a section's
// name is the readers' to judge.
func validWord(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
